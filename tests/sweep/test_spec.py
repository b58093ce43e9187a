"""Sweep specifications: --set values, spec files, grids and Latin hypercube designs."""

from __future__ import annotations

import numpy as np
import pytest

from twin.errors import UsageError
from twin.sweep.spec import SweepSpec, load_spec_file, parse_set


def test_integer_range_is_inclusive():
    p = parse_set("b1.capacity=2..10")
    assert p.values == tuple(range(2, 11)) and p.integer and (p.low, p.high) == (2.0, 10.0)


def test_float_range_with_step_has_no_rounding_noise():
    assert parse_set("m.speed_mps=0.8..1.2:0.1").values == (0.8, 0.9, 1.0, 1.1, 1.2)


def test_list_items_are_yaml_scalars():
    assert parse_set("x.y=0.8,1,8h,true").values == (0.8, 1, "8h", True)
    assert parse_set("x.y=5").values == (5,)
    assert parse_set("m.process_time={dist: exponential, mean: 2}").values == ({"dist": "exponential", "mean": 2},)


@pytest.mark.parametrize("text, words", [
    ("b1.capacity=10..2", ["empty range", "10 > 2", "'2..10'"]),
    ("b1.capacity=1..3:0", ["step must be > 0"]),
    ("b1.capacity=a..3", ["'a' is not a number"]),
    ("b1.capacity=", ["no values"]),
    ("b1.capacity", ["expected NAME=VALUES"]),
    ("b1.capacity=1,,2", ["an empty value"]),
])
def test_bad_values_say_what_is_wrong(text, words):
    with pytest.raises(UsageError) as info:
        parse_set(text)
    assert all(w in str(info.value) for w in words), str(info.value)


def test_grid_is_every_combination_in_order():
    spec = SweepSpec([parse_set("a.x=1..3"), parse_set("b.y=0.5,1.5")])
    configs = spec.configurations()
    assert len(configs) == 6
    assert configs[0] == {"a.x": 1, "b.y": 0.5} and configs[1] == {"a.x": 1, "b.y": 1.5}
    assert configs[-1] == {"a.x": 3, "b.y": 1.5}


def test_latin_hypercube_stratifies_every_parameter():
    """Each of n samples falls in its own 1/n stratum of each range; integers and lists stay valid."""
    n = 20
    spec = SweepSpec([parse_set("a.x=0.0..10.0:0.5"), parse_set("b.y=1..20"), parse_set("c.z=u,v,w,q")],
                     design="lhs", samples=n, sample_seed=4)
    configs = spec.configurations()
    assert len(configs) == n
    xs = np.array([c["a.x"] for c in configs])
    assert sorted(np.floor(xs / 10.0 * n).astype(int)) == list(range(n))  # one point per stratum
    assert sorted(c["b.y"] for c in configs) == list(range(1, 21))  # 20 integers, 20 strata: each once
    assert {c["c.z"] for c in configs} == {"u", "v", "w", "q"}
    assert [c["c.z"] for c in configs].count("u") == 5
    assert spec.configurations() == configs  # same sample seed, same design


def test_spec_file(tmp_path):
    path = tmp_path / "study.yaml"
    path.write_text("scene: line.yaml\nparameters:\n  b1.capacity: 2..4\n  m2.process_time.mean: [0.8, 1.0]\n"
                    "  m1.process_time.mean: {low: 0.5, high: 1.0, step: 0.25}\nreplications: 7\nuntil: 1h\n")
    spec = load_spec_file(path)
    assert [p.name for p in spec.parameters] == ["b1.capacity", "m2.process_time.mean", "m1.process_time.mean"]
    assert spec.parameters[2].values == (0.5, 0.75, 1.0)
    assert spec.settings == {"scene": "line.yaml", "replications": 7, "until": "1h"}
    assert len(spec.configurations()) == 18


def test_spec_file_unknown_key(tmp_path):
    path = tmp_path / "study.yaml"
    path.write_text("parameters: {b1.capacity: 2..4}\nreplication: 7\n")
    with pytest.raises(UsageError, match="unknown key 'replication'. Did you mean 'replications'"):
        load_spec_file(path)


def test_a_continuous_range_needs_a_step_on_a_grid():
    p = parse_set("m.speed_mps=0.5..2")
    assert p.values == () and (p.low, p.high) == (0.5, 2.0)
    with pytest.raises(UsageError, match=r"needs a step for a grid, e.g. '0.5..2:0.1', or sample it with --lhs N"):
        SweepSpec([p]).configurations()
    assert len(SweepSpec([p], design="lhs", samples=3).configurations()) == 3


def test_lhs_needs_samples():
    with pytest.raises(UsageError, match="samples >= 1"):
        SweepSpec([parse_set("a.x=1..3")], design="lhs", samples=0)
