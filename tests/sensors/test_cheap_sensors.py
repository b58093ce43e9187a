"""Break beams, proximity, laser profilers, logical cameras and encoders; rates, latency, noise, faults."""

from __future__ import annotations

import math

import numpy as np
import pytest

import twin
from twin.errors import UsageError
from twin.physics import World
from twin.sensors.channel import Channel, Fault
from twin.sensors.rays import BreakBeam, LaserProfiler, Proximity

SCENE = """
version: 1
sim: {control_step_s: 0.01}
part_types: [{name: box, length_m: 0.2, size_m: [0.2, 0.12, 0.06]}]
sources: [{name: feed, to: belt, interarrival: 2.0}]
conveyors:
  - name: belt
    to: out
    length_m: 3.0
    speed_mps: 0.5
    spacing_m: 0.3
    photo_eyes: [{name: eye, at_m: 1.5}]
    geometry: {start_xyz_m: [0.0, 0.0, 0.5], end_xyz_m: [3.0, 0.0, 0.5], width_m: 0.4}
sinks: [{name: out}]
sensors:
  break_beams:
    - {name: beam, from_xyz_m: [1.5, -0.3, 0.53], to_xyz_m: [1.5, 0.3, 0.53]}
  proximity:
    - {name: prox, xyz_m: [1.0, 0.0, 1.0], range_m: 1.0, noise_m: 0.001}
  laser_profilers:
    - {name: profiler, xyz_m: [2.0, 0.0, 1.0], fan_axis: [0, 1, 0], fan_deg: 40, n_rays: 400, range_m: 1.0}
  logical_cameras:
    - {name: truth, pose: {xyz_m: [1.5, 0.0, 1.5], look_at_m: [1.5, 0.0, 0.5]}, fov_deg: 60}
  encoders:
    - {name: enc, conveyor: belt, counts_per_m: 2000}
"""


def test_scene_sensors_read_the_world():
    with twin.Twin(twin.load_scene_text(SCENE), seed=1, physics=True) as tw:
        beam_edges, beam_prev = [], False
        eye_edges, eye_prev = [], False
        prox = []
        for _ in range(1500):  # 15 s
            tw.step()
            r = tw.readings["beam"]
            if r.value != beam_prev:
                beam_edges.append(r.t_s)
                beam_prev = r.value
            eye = tw.engine.photo_eyes()["belt/eye"]
            if eye != eye_prev:
                eye_edges.append(tw.time_s)
                eye_prev = eye
            prox.append(tw.readings["prox"].value)
        # the 3D break beam and the core's photo-eye at the same place see the same parts,
        # within one beam sample (30 Hz)
        assert len(beam_edges) == len(eye_edges) >= 10
        assert np.max(np.abs(np.array(beam_edges) - np.array(eye_edges))) <= 1 / 30 + 0.011
        # proximity: 0.44 m to a part's top or 0.5 m to the belt, plus 1 mm noise
        prox = np.array(prox)
        near = prox[prox < 0.47]
        assert near.size and abs(np.mean(near) - 0.44) < 5e-4 and np.std(near) == pytest.approx(0.001, rel=0.3)
        profile = tw.readings["profiler"].value
        assert profile.shape == (400,)
        enc = tw.readings["enc"]
        assert enc.value == math.floor(0.5 * enc.t_s * 2000)
        truth = tw.readings["truth"].value
        for name, xyz, _ in truth:
            assert name.startswith("part/") and abs(xyz[0] - 1.5) < 0.6


def test_laser_profile_of_a_box():
    with World() as w:
        w.add_floor()
        w.add_box("box", (0.05, 0.1, 0.04), (0.0, 0.0, 0.04))
        prof = LaserProfiler(w, "p", (0.0, 0.0, 1.0), (0, 0, -1), (0, 1, 0), fan_deg=30, n_rays=301, range_m=2.0)
        d = prof.value()
        h = prof.heights(d)
        y = prof.points(d)[:, 1]
        on_box = np.abs(y) < 0.1 - 0.002
        assert np.allclose(h[on_box], 0.08, atol=1e-4)
        assert np.allclose(h[np.abs(y) > 0.1 + 0.002], 0.0, atol=1e-4)
        width = np.ptp(y[h > 0.04])
        assert width == pytest.approx(0.2, abs=2 * 1.0 * math.tan(math.radians(30 / 300)) + 1e-3)


def test_beam_and_proximity_basics():
    with World() as w:
        w.add_floor()
        beam = BreakBeam(w, "b", (0, -1, 0.05), (0, 1, 0.05))
        prox = Proximity(w, "p", (0, 0, 1.0), (0, 0, -1), 2.0)
        assert beam.value() is False and prox.value() == pytest.approx(1.0)
        w.add_box("x", (0.05, 0.05, 0.05), (0, 0, 0.05))
        assert beam.value() is True and prox.value() == pytest.approx(0.9)
        with pytest.raises(UsageError):
            Proximity(w, "bad", (0, 0, 0), (0, 0, 0), 1.0)


def test_channel_rate_latency_noise_and_faults():
    ch = Channel(rate_hz=10, latency_s=0.05, faults=[Fault("blackout", 1.0, 1.5), Fault("stuck", 2.0, 2.5),
                                                     Fault("drift", 3.0, 4.0, drift_per_s=0.1)])
    delivered = {}
    for k in range(0, 500):
        t = k * 0.01
        if ch.due(t):
            ch.sample(t, t)  # the true value is the time itself
        r = ch.deliver(t)
        if r is not None:
            delivered[round(t, 2)] = r
    # 10 Hz, delivered 50 ms after sampling
    assert delivered[0.57].t_s == pytest.approx(0.5) and delivered[0.54].t_s == pytest.approx(0.4)
    r = delivered[1.25]
    assert r.value is None and not r.valid  # blackout
    assert delivered[2.35].value == pytest.approx(1.9) and delivered[2.35].valid  # stuck at the last good value
    assert delivered[3.56].value == pytest.approx(3.5 + 0.1 * 0.5)  # drifting
    assert delivered[4.26].value == pytest.approx(4.2)  # healthy again
    a = Channel(5, noise_sigma=0.01, seed=3)
    b = Channel(5, noise_sigma=0.01, seed=3)
    for ch2 in (a, b):
        ch2.sample(0.0, 1.0)
    assert a.deliver(0.0).value == b.deliver(0.0).value != 1.0


def test_bad_sensor_declarations():
    with pytest.raises(twin.SceneError, match=r"sensors\.encoders\[0\]\.conveyor: encoder 'enc': no conveyor named "
                                              r"'blet'\. Did you mean 'belt'"):
        twin.load_scene_text(SCENE.replace("conveyor: belt,", "conveyor: blet,"), "s.yaml")
    with pytest.raises(twin.SceneError, match=r"duplicate sensor name 'beam'"):
        twin.load_scene_text(SCENE.replace("{name: prox,", "{name: beam,"), "s.yaml")
    with pytest.raises(twin.SceneError, match=r"end_s \(1\.0\) must be after start_s \(2\.0\)"):
        twin.load_scene_text(SCENE.replace("range_m: 1.0, noise_m: 0.001}",
                                           "range_m: 1.0, faults: [{kind: stuck, start_s: 2, end_s: 1}]}"), "s.yaml")
