"""Parameters are applied by scene name and validated by the scene's own rules."""

from __future__ import annotations

from pathlib import Path

import pytest

from twin.errors import UsageError
from twin.sweep.params import SceneTemplate

SMT = Path(__file__).resolve().parents[2] / "scenes" / "smt_line.yaml"


@pytest.fixture(scope="module")
def smt():
    return SceneTemplate.from_path(SMT)


def _get(scene, section, name):
    return next(e for e in getattr(scene, section) if e.name == name)


def test_overrides_reach_the_scene(smt):
    scene = smt.build({"smt/oven_in.capacity": 9, "smt/reflow.speed_mps": 0.05,
                       "smt/place2.failures.feeder_jam.mttr_s": 123.0, "sim.warmup_s": 600})
    assert _get(scene, "buffers", "smt/oven_in").capacity == 9
    assert _get(scene, "conveyors", "smt/reflow").speed_mps == 0.05
    assert _get(scene, "stations", "smt/place2").failures[0].mttr_s == 123.0
    assert scene.sim.warmup_s == 600
    # the template itself is untouched
    assert _get(smt.build({}), "buffers", "smt/oven_in").capacity == 6


def test_a_field_missing_from_the_file_can_be_set(smt):
    scene = smt.build({"smt/spi.scrap_prob": 0.25})
    assert _get(scene, "stations", "smt/spi").scrap_prob == 0.25


@pytest.mark.parametrize("name, value, words", [
    ("smt/oven.capacity", 3, ["no element named 'smt/oven'", "Did you mean 'smt/oven_in'", "Valid: ["]),
    ("smt/oven_in.capacty", 3, ["smt/oven_in has no field 'capacty'", "Did you mean 'capacity'",
                                "Valid: ['to', 'capacity', 'geometry']"]),
    ("smt/place2.failures.feeder_jm.mttr_s", 3, ["no item 'feeder_jm'", "Did you mean 'feeder_jam'"]),
    ("smt/oven_in.capacity", 0, ["smt/oven_in.capacity=0", "greater than or equal to 1", "(got 0)"]),
    ("smt/oven_in.capacity", 2.5, ["valid integer", "(got 2.5)"]),
    ("smt/reflow.speed_mps", "fast", ["valid number", "(got 'fast')"]),
    ("smt/reflow.photo_eyes.exit.at_m", 9.0, ["past the end"]),
    ("sim.seed", 3, ["cannot be swept", "--seed"]),
    ("sim.until", "2h", ["cannot be swept", "--until"]),
    ("sim.warmup", 60, ["sim has no field 'warmup'", "Did you mean 'warmup_s'"]),
    ("smt/oven_in", 3, ["expected ELEMENT.FIELD"]),
])
def test_bad_parameters_give_one_clear_message(smt, name, value, words):
    with pytest.raises(UsageError) as info:
        smt.build({name: value})
    message = str(info.value)
    assert "\n" not in message
    assert all(w in message for w in words), message
