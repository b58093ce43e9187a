"""Vision inspection of 200 parts with a 10% rate of each defect kind: precision and recall >= 0.98."""

from __future__ import annotations

import math

import numpy as np
import pytest

from twin.physics import World
from twin.sensors.camera import Camera, Intrinsics, look_at
from twin.sensors.inspection import DEFECT_KINDS, Inspector, PartDesign, confusion, make_part


@pytest.mark.parametrize("renderer", ["auto"])  # EGL where it works, else TinyRenderer
def test_inspection_finds_every_kind_of_defect(renderer):
    rng = np.random.default_rng(12)
    design = PartDesign()
    inspector = Inspector(design)
    truth, failed, by_kind = [], [], {k: [] for k in (None, *DEFECT_KINDS)}
    with World(renderer=renderer) as w:
        w.add_floor()
        w.add_box("table", (0.3, 0.3, 0.2), (0.0, 0.0, 0.2))
        cam = Camera(w, "inspection", Intrinsics.from_fov(640, 480, 40), far_m=2.0, depth_noise_m=0.0003,
                     pixel_noise=3.0, seed=1, pose=look_at((0, 0, 0.75), (0, 0, 0.4), up=(1, 0, 0)))
        for i in range(200):
            u = rng.random()
            kind = None if u < 0.6 else DEFECT_KINDS[int((u - 0.6) / 0.1)]
            body = make_part(w, f"part/{i}", design, kind, (rng.uniform(-0.03, 0.03), rng.uniform(-0.03, 0.03), 0.4),
                             rng.uniform(-math.pi, math.pi), rng)
            verdict = inspector.inspect(cam.capture(), body)  # the camera frame and the part's pixels only
            truth.append(kind is not None)
            failed.append(not verdict.passed)
            by_kind[kind].append(not verdict.passed)
            w.remove(f"part/{i}")
    scores = confusion(truth, failed)
    assert sum(truth) >= 60  # about 10% of each of the four kinds
    assert scores["precision"] >= 0.98 and scores["recall"] >= 0.98, scores
    for kind in DEFECT_KINDS:
        assert np.mean(by_kind[kind]) >= 0.95, kind  # each kind is found


def test_confusion_matrix():
    c = confusion([1, 1, 0, 0, 1], [1, 0, 0, 1, 1])
    assert (c["true_positive"], c["false_negative"], c["false_positive"], c["true_negative"]) == (2, 1, 1, 1)
    assert c["precision"] == pytest.approx(2 / 3) and c["recall"] == pytest.approx(2 / 3)


def test_a_line_inspection_station_uses_the_measured_vision_rates():
    """A station with `inspection: {vision: ...}` gets its detection and false-reject rates from the
    camera inspector, measured when the scene loads; defective parts go to the reject bin."""
    import twin

    text = """
version: 1
part_types: [{name: plate}]
sources: [{name: src, to: mill, interarrival: 20}]
stations:
  - {name: mill, to: aoi, process_time: 10, defect_prob: 0.1}
  - name: aoi
    to: sort
    process_time: 4
    inspection: {vision: {samples: 60}}
diverters: [{name: sort, rule: by_inspection, on_pass: out, on_fail: rejects}]
sinks: [{name: out}, {name: rejects, reject: true}]
"""
    scene = twin.load_scene_text(text)
    detect, false_reject = scene.stations[1].inspection.rates
    assert detect >= 0.98 and false_reject <= 0.02
    tw = twin.Twin(scene, seed=2, warmup_s=0)
    tw.run(until="24h")
    k = tw.kpis()
    assert k["rejected"] > 300 and k["escaped_defects"] <= 0.03 * k["rejected"]
    with pytest.raises(twin.SceneError, match="measured, not given"):
        twin.load_scene_text(text.replace("{vision: {samples: 60}}", "{vision: {samples: 60}, detect_prob: 0.5}"))


def test_large_thin_boards_are_judged_as_well_as_small_parts():
    """A 200 x 150 x 2 mm board is seen from farther away (coarser pixels, with depth and pixel
    noise): the inspector's grid follows the pixel footprint, so good boards are not failed for
    empty cells and every kind of defect is still found."""
    from twin.sensors.inspection import PartDesign, measure_inspector

    scores = measure_inspector(PartDesign(length_m=0.20, width_m=0.15, height_m=0.02, hole_m=0.02), samples=120)
    assert scores["precision"] >= 0.98 and scores["recall"] >= 0.98, scores
    assert scores["false_reject_prob"] <= 0.02
