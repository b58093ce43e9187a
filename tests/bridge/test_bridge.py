"""The bridge over real ZeroMQ sockets on 127.0.0.1: late join, restart, gaps, bad input, slow peers."""

from __future__ import annotations

import threading
import time

import msgpack
import numpy as np
import pytest
import zmq

import twin
from tests.net import BELT_SCENE, free_port
from twin.bridge import BridgeServer, CloneClient
from twin.bridge.wire import WireError, decode, encode
from twin.errors import UsageError

SCENE = BELT_SCENE


class Served:
    """A twin stepping with its bridge in a background thread (as `twin serve` does)."""

    def __init__(self, endpoint: str, steps: int | None = None) -> None:
        self.tw = twin.Twin(twin.load_scene_text(SCENE), seed=1)
        self.server = BridgeServer(self.tw, endpoint, heartbeat_s=0.2)
        self._stop = threading.Event()
        self._steps = steps
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def _loop(self) -> None:
        k = 0
        while not self._stop.is_set() and (self._steps is None or k < self._steps):
            self.server.step()
            k += 1
            time.sleep(0.002)
        while not self._stop.is_set():  # keep answering requests when done stepping
            self.server.poll_in()
            self.server.publish_out()
            time.sleep(0.005)

    def stop(self) -> None:
        self._stop.set()
        self.thread.join(5)
        self.server.close()


@pytest.fixture
def endpoint():
    return f"tcp://127.0.0.1:{free_port(3)}"


def test_late_joiner_converges_to_the_twin(endpoint):
    served = Served(endpoint, steps=300)
    try:
        time.sleep(0.3)  # the twin has been publishing for a while
        with CloneClient(endpoint) as client:
            client.sync()
            deadline = time.monotonic() + 10
            while served.thread.is_alive() and time.monotonic() < deadline and served.server.seq < 1:
                client.poll(0.05)
            time.sleep(1.5)  # stepping has finished (300 steps)
            client.poll(0.5)
            truth = served.server.signals.read()
            assert client.epoch == served.server.epoch and client.seq == served.server.seq
            assert {k: v for k, v in client.values.items() if k != "t_s"} == {k: v for k, v in truth.items()
                                                                               if k != "t_s"}
            assert client.values["line.throughput_total"] > 0
            assert client.meta["belt.speed_mps"]["direction"] == "both"
    finally:
        served.stop()


def test_a_restarted_twin_makes_clients_resnapshot(endpoint):
    served = Served(endpoint, steps=50)
    client = CloneClient(endpoint)
    try:
        client.sync()
        first_epoch = client.epoch
        time.sleep(0.5)
        served.stop()
        for _ in range(50):  # ZeroMQ releases the ports asynchronously after close
            try:
                served = Served(endpoint, steps=50)  # as a new process would: new epoch, seq from 0
                break
            except UsageError:
                time.sleep(0.1)
        deadline = time.monotonic() + 10
        while client.epoch == first_epoch and time.monotonic() < deadline:
            client.poll(0.1)
        assert client.epoch == served.server.epoch != first_epoch
        assert client.stats["epochs"] >= 1
        time.sleep(0.6)
        client.poll(0.5)
        assert client.values["line.throughput_total"] == served.server.signals.read()["line.throughput_total"]
    finally:
        client.close()
        served.stop()


def test_writes_are_validated_all_or_nothing_and_counted(endpoint):
    served = Served(endpoint, steps=10)
    try:
        with CloneClient(endpoint) as client:
            client.sync()
            before = served.server.signals.read()["belt.speed_mps"]
            for values, reason in [({"belt.speed_mps": float("nan")}, "not finite"),
                                   ({"belt.speed_mps": float("inf")}, "not finite"),
                                   ({"belt.speed_mps": 99.0}, "out of range"),
                                   ({"belt.speed_mps": "fast"}, "type mismatch"),
                                   ({"belt.speed_mps": True}, "type mismatch"),
                                   ({"press.state": "busy"}, "read-only"),
                                   ({"nope.speed_mps": 1.0}, "unknown signal"),
                                   ({"belt.speed_mps": 0.2, "bogus": 1}, "unknown signal")]:
                reply = client.set(values)
                assert reply["accepted"] == [] and any(reason in r for r in reply["rejected"].values()), values
            assert served.server.signals.read()["belt.speed_mps"] == before  # nothing applied
            reply = client.set({"belt.speed_mps": 0.25})
            assert reply == {"accepted": ["belt.speed_mps"], "rejected": {}}
            time.sleep(0.3)
            client.poll(0.3)
            assert client.values["belt.speed_mps"] == 0.25
            assert served.server.stats["sets_rejected"] == 8 and served.server.stats["sets_accepted"] == 1
    finally:
        served.stop()


def test_malformed_frames_are_refused_and_the_twin_runs_on(endpoint):
    served = Served(endpoint, steps=None)
    ctx = zmq.Context.instance()
    host, port = endpoint.rsplit(":", 1)
    dealer = ctx.socket(zmq.DEALER)
    dealer.setsockopt(zmq.LINGER, 0)
    dealer.connect(f"{host}:{int(port) + 2}")
    try:
        bad = [[b"SET"], [b"SET", b"\xc1\xc1"], [b"SET", msgpack.packb([1, 2])], [b"SET", msgpack.packb({"v": 9})],
               [b"WHAT", msgpack.packb({"v": 2})], [b"SET", msgpack.packb({"v": 2, "id": "x", "values": {}})],
               [b"SET", b"x" * 100, b"extra"]]
        for frames in bad:
            dealer.send_multipart(frames)
            assert dealer.poll(3000)
            kind, header = decode(dealer.recv_multipart())
            assert kind == b"NACK" and header["reason"]
        assert served.server.stats["malformed"] == len(bad)
        t0 = served.tw.time_s
        time.sleep(0.3)
        assert served.tw.time_s > t0  # still stepping
    finally:
        dealer.close(0)
        served.stop()


def test_a_frozen_subscriber_never_slows_the_twin(endpoint):
    tw = twin.Twin(twin.load_scene_text(SCENE), seed=1)
    server = BridgeServer(tw, endpoint, hwm=10)
    frozen = zmq.Context.instance().socket(zmq.SUB)
    frozen.setsockopt(zmq.RCVHWM, 10)
    frozen.setsockopt(zmq.SUBSCRIBE, b"")
    frozen.connect(endpoint.rsplit(":", 1)[0] + f":{int(endpoint.rsplit(':', 1)[1]) + 1}")
    try:
        time.sleep(0.2)
        start = time.perf_counter()
        for _ in range(2000):
            server.step()  # nobody reads: queues fill, sends are dropped, steps never wait
        elapsed = time.perf_counter() - start
        assert elapsed < 10.0
        assert server.stats["dropped"] > 0 or server.stats["published"] > 0
    finally:
        frozen.close(0)
        server.close()


def test_a_client_missing_deltas_resnapshots(endpoint):
    served = Served(endpoint, steps=200)
    try:
        with CloneClient(endpoint) as client:
            client.sync()
            client.seq -= 5  # as if five deltas had been lost: the next one shows a gap
            client.arrays["default"][:] = -1
            time.sleep(0.3)
            client.poll(0.5)
            assert client.stats["gaps"] >= 1 and client.values["line.throughput_total"] >= 0
    finally:
        served.stop()


def test_bad_endpoints_and_ports_in_use(endpoint):
    tw = twin.Twin(twin.load_scene_text(SCENE), seed=1)
    for bad in ("127.0.0.1:5556", "tcp://127.0.0.1", "tcp://127.0.0.1:70000", "udp://x:1"):
        with pytest.raises(UsageError, match="--bind"):
            BridgeServer(tw, bad)
    first = BridgeServer(tw, endpoint)
    try:
        with pytest.raises(UsageError, match="cannot bind .* in use"):
            BridgeServer(tw, endpoint)
    finally:
        first.close()


def test_wire_codec_round_trip_and_refusals():
    kind, header = decode(encode(b"DELTA", epoch="ab", seq=3, t=1.5, values={"x": 1}))
    assert kind == b"DELTA" and header["seq"] == 3 and header["values"] == {"x": 1}
    for frames in ([b"DELTA"], [b"DELTA", msgpack.packb({"v": 2, "epoch": "a", "seq": -1, "t": 0.0, "values": {}})],
                   [b"DELTA", msgpack.packb({"v": 2, "epoch": "a", "seq": 1, "t": float("nan"), "values": {}})],
                   [b"DELTA", msgpack.packb({"v": 1, "epoch": "a", "seq": 1, "t": 0.0, "values": {}})],
                   [b"DELTA", b"\x00" * (2 << 20)]):
        with pytest.raises(WireError):
            decode(frames)


def test_twin_serve_runs_in_real_time_and_a_client_follows(endpoint, tmp_path):
    import subprocess
    import sys

    path = tmp_path / "line.yaml"
    path.write_text(SCENE)
    proc = subprocess.Popen([sys.executable, "-m", "twin", "serve", str(path), "--bind", endpoint, "--until", "4",
                             "--speed", "2", "--insecure"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        with CloneClient(endpoint, timeout_s=10) as client:
            client.sync()
            t0, wall0 = client.t_s, time.monotonic()
            while time.monotonic() - wall0 < 1.0:
                client.poll(0.1)
            # paced at 2x real time: about 2 simulated seconds per wall second
            assert 1.0 < (client.t_s - t0) / (time.monotonic() - wall0) < 3.0
        out, err = proc.communicate(timeout=30)
        assert proc.returncode == 0, err
        assert "serving" in out and "stopped at t=4.00" in out
    finally:
        proc.kill()


def test_a_client_written_from_the_protocol_page_alone(endpoint):
    """Raw pyzmq + msgpack, following docs/protocol.md step by step, converges to the twin."""
    served = Served(endpoint, steps=200)
    host, port = endpoint.rsplit(":", 1)
    ctx = zmq.Context.instance()
    sub = ctx.socket(zmq.SUB)
    sub.setsockopt(zmq.LINGER, 0)
    sub.connect(f"{host}:{int(port) + 1}")
    sub.setsockopt(zmq.SUBSCRIBE, b"")
    req = ctx.socket(zmq.DEALER)
    req.setsockopt(zmq.LINGER, 0)
    req.connect(endpoint)
    try:
        time.sleep(0.1)
        req.send_multipart([b"SNAPSHOT?", msgpack.packb({"v": 2})])
        assert req.poll(3000)
        kind, body = req.recv_multipart()
        snap = msgpack.unpackb(body)
        assert kind == b"SNAPSHOT"
        values, epoch, seq, groups = snap["values"], snap["epoch"], snap["seq"], snap["groups"]
        deadline = time.monotonic() + 3.0
        while time.monotonic() < deadline:
            if not sub.poll(100):
                continue
            frames = sub.recv_multipart()
            msg = msgpack.unpackb(frames[1])
            assert msg["epoch"] == epoch and msg["v"] == 2
            if frames[0] == b"HUGZ" or msg["seq"] <= seq:
                continue
            assert msg["seq"] == seq + 1, "gap on a quiet loopback"
            if frames[0] == b"BULK":
                group = groups[msg["group"]]
                assert msg["layout"] == group["layout_id"] and msg["dtype"] == "<f8"
                array = np.frombuffer(frames[2], "<f8")
                assert array.size == msg["count"] == len(group["layout"])
                for name, x in zip(group["layout"], array.tolist(), strict=True):
                    kind_ = snap["meta"][name]["type"]
                    values[name] = bool(x) if kind_ == "bool" else int(x) if kind_ == "int" else x
            else:
                values.update(msg["values"])
            seq = msg["seq"]
        truth = served.server.signals.read()
        assert seq == served.server.seq
        assert {k: v for k, v in values.items() if k != "t_s"} == {k: v for k, v in truth.items() if k != "t_s"}
    finally:
        sub.close(0)
        req.close(0)
        served.stop()


@pytest.mark.parametrize("fallback,expected", [("hold", 0.3), ("simulate", 0.5), ("safe", 0.0)])
def test_a_silent_device_goes_stale_and_its_fallback_applies(endpoint, fallback, expected):
    """A controller writes the belt speed, then goes silent: after the timeout the value is marked
    stale (published) and the fallback applies; a new write makes it fresh again."""
    tw = twin.Twin(twin.load_scene_text(SCENE), seed=1)
    server = BridgeServer(tw, endpoint, device_timeout_s=1.0, fallback=fallback)
    ctx = zmq.Context.instance()
    host, port = endpoint.rsplit(":", 1)
    dev = ctx.socket(zmq.DEALER)
    dev.setsockopt(zmq.LINGER, 0)
    dev.connect(f"{host}:{int(port) + 2}")
    try:
        dev.send_multipart(encode(b"SET", id=1, values={"belt.speed_mps": 0.3}))
        time.sleep(0.1)
        server.step()
        assert dev.poll(2000) and decode(dev.recv_multipart())[1]["accepted"] == ["belt.speed_mps"]
        for _ in range(10):  # 0.5 s: still fresh
            server.step()
        values = server.signals.read()
        assert values["belt.speed_mps"] == 0.3 and values["belt.speed_mps.stale"] is False
        for _ in range(20):  # past the 1 s timeout
            server.step()
        values = server.signals.read()
        assert values["belt.speed_mps.stale"] is True and values["belt.speed_mps"] == expected
        assert server.signals.stale["belt.speed_mps"] == pytest.approx(1.1, abs=0.06)  # when it went silent
        dev.send_multipart(encode(b"SET", id=2, values={"belt.speed_mps": 0.4}))
        time.sleep(0.1)
        server.step()
        assert server.signals.read()["belt.speed_mps.stale"] is False
    finally:
        dev.close(0)
        server.close()


def test_only_clients_with_an_allowed_key_can_connect(endpoint, tmp_path):
    import subprocess
    import sys

    from twin.bridge.security import generate_keys

    r = subprocess.run([sys.executable, "-m", "twin", "keys", "generate", "--out", str(tmp_path / "keys"),
                        "--client", "hmi"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    generate_keys(tmp_path / "stranger", ["intruder"])  # a pair the twin does not know
    tw = twin.Twin(twin.load_scene_text(SCENE), seed=1)
    server = BridgeServer(tw, endpoint, keys_dir=tmp_path / "keys")
    stop = threading.Event()

    def loop():
        while not stop.is_set():
            server.step()
            time.sleep(0.005)

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    keys = tmp_path / "keys"
    try:
        with CloneClient(endpoint, server_key=keys / "server.key", client_key=keys / "hmi.key_secret") as ok:
            ok.sync()
            assert ok.values["line.throughput_total"] >= 0
            assert ok.set({"belt.speed_mps": 0.4})["accepted"] == ["belt.speed_mps"]
        with CloneClient(endpoint, timeout_s=1.0, server_key=keys / "server.key",
                         client_key=tmp_path / "stranger" / "intruder.key_secret") as intruder:
            with pytest.raises(TimeoutError):
                intruder.sync()
            with pytest.raises(TimeoutError):
                intruder.set({"belt.speed_mps": 0.0})
        with CloneClient(endpoint, timeout_s=1.0) as plain:
            with pytest.raises(TimeoutError):
                plain.sync()
        assert server.signals.read()["belt.speed_mps"] == 0.4  # the intruder changed nothing
    finally:
        stop.set()
        thread.join(5)
        server.close()
    with pytest.raises(UsageError, match="cannot read the key pair"):
        BridgeServer(tw, endpoint, keys_dir=tmp_path / "nothing-here")
    bad = subprocess.run([sys.executable, "-m", "twin", "serve", "x.yaml"], capture_output=True, text=True,
                         timeout=60)
    assert bad.returncode == 2 and "--insecure" in bad.stdout + bad.stderr


def test_lockstep_the_twin_advances_only_when_the_partner_steps(endpoint, tmp_path):
    import subprocess
    import sys

    path = tmp_path / "line.yaml"
    path.write_text(SCENE)
    proc = subprocess.Popen([sys.executable, "-m", "twin", "serve", str(path), "--bind", endpoint, "--clock",
                             "lockstep", "--until", "2", "--insecure"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        with CloneClient(endpoint, timeout_s=10) as plc:
            plc.sync()
            assert plc.values["t_s"] == 0.0
            time.sleep(0.5)
            plc.poll(0.2)
            assert plc.stats["deltas"] == 0  # nothing moves without a tick
            assert plc.step(1) == pytest.approx(0.05)  # one control step per tick (control_step_s 0.05)
            assert plc.step(10) == pytest.approx(0.55)
            plc.sync()
            assert plc.values["t_s"] == pytest.approx(0.55)
            assert plc.step(29) == pytest.approx(2.0)
        out, err = proc.communicate(timeout=30)
        assert proc.returncode == 0, err
        assert "stopped at t=2.00" in out
    finally:
        proc.kill()


def test_strict_realtime_reports_falling_behind(tmp_path, endpoint):
    import subprocess
    import sys

    path = tmp_path / "line.yaml"
    path.write_text(SCENE.replace("control_step_s: 0.05", "control_step_s: 0.001"))
    r = subprocess.run([sys.executable, "-m", "twin", "serve", str(path), "--bind", endpoint, "--until", "30",
                        "--speed", "1000", "--strict", "--insecure"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 1
    assert "fell" in r.stderr and "behind the wall clock" in r.stderr


def test_record_and_replay_reproduce_the_run(endpoint, tmp_path):
    """A served run with device writes is recorded to MCAP; `twin replay` feeds the writes into a
    fresh twin, which publishes exactly the recorded deltas."""
    import subprocess
    import sys

    path = tmp_path / "line.yaml"
    path.write_text(SCENE)
    rec = tmp_path / "run.mcap"
    proc = subprocess.Popen([sys.executable, "-m", "twin", "serve", str(path), "--bind", endpoint, "--clock",
                             "lockstep", "--until", "6", "--insecure", "--record", str(rec)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        with CloneClient(endpoint, timeout_s=10) as plc:
            plc.sync()
            plc.step(20)
            assert plc.set({"belt.speed_mps": 0.2})["accepted"]
            plc.step(40)
            assert plc.set({"belt.speed_mps": 99.0})["rejected"]  # refused: recorded, not applied
            assert plc.set({"belt.speed_mps": 0.7})["accepted"]
            plc.step(60)
        assert proc.wait(30) == 0
    finally:
        proc.kill()
    from twin.bridge.recording import read_recording

    topics = [t for t, _, _ in read_recording(rec)]
    assert topics.count("in/SET") == 3 and topics.count("in/STEP") == 3 and "out/DELTA" in topics
    r = subprocess.run([sys.executable, "-m", "twin", "replay", str(rec), str(path)], capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "'writes_applied': 2" in r.stdout and "'writes_refused': 1" in r.stdout
    report = r.stdout
    recorded = int(report.split("'recorded_deltas': ")[1].split(",")[0])
    assert recorded > 10 and f"'deltas_matching': {recorded}" in report
    (tmp_path / "junk.mcap").write_bytes(b"not an mcap file")
    bad = subprocess.run([sys.executable, "-m", "twin", "replay", str(tmp_path / "junk.mcap"), str(path)],
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "not a readable twin recording" in bad.stderr + bad.stdout


def test_signal_values_agree_with_the_engine_and_kpis():
    """The signal map's fast read against independent figures: KPIs, conveyor contents, server states."""
    from twin.bridge.signals import SignalMap

    text = SCENE.replace("stations: [{name: press, to: out, process_time: 0.8}]",
                         "stations: [{name: press, to: out, process_time: 2.5, capacity: 3}]")
    tw = twin.Twin(twin.load_scene_text(text), seed=4, warmup_s=0)
    sm = SignalMap(tw)
    for _ in range(997):
        tw.step()
    v = sm.read()
    k = tw.kpis()
    press = next(s for s in k["stations"] if s["name"] == "press")
    assert v["press.processed"] == press["processed"]
    assert v["line.throughput_total"] == k["throughput"]["total"]
    assert v["belt.parts"] == len(tw.engine.conveyor_parts()[2])
    assert v["feed.released"] == next(e for e in k["elements"] if e["name"] == "feed")["released"]
    eff = tw.engine.state.srv_eff[:3]
    assert v["press.busy"] == int(((eff == 1) | (eff == 2)).sum())
    assert v["press.state"] == ("idle", "busy", "setup", "blocked", "down", "off_shift")[int(eff[0])]
    assert v["belt/eye.blocked"] == tw.engine.photo_eyes()["belt/eye"]


def test_motor_on_and_speed_set_point_drive_the_belt(endpoint):
    """Commissioning-style actuators: the motor bit stops and restarts the belt at its set-point."""
    from twin.bridge.signals import SignalMap

    tw = twin.Twin(twin.load_scene_text(SCENE), seed=1)
    sm = SignalMap(tw)
    assert sm.check("belt.motor_on", 1) == "type mismatch: expected bool, got int"
    sm.write("belt.speed_mps", 0.3)
    sm.write("belt.motor_on", False)
    assert tw.engine.state.cv_v[tw.engine.names.node_id("belt")] == 0.0
    assert sm.read()["belt.speed_mps"] == 0.0 and sm.read()["belt.motor_on"] is False
    for _ in range(100):
        tw.step()
    stopped = tw.engine.conveyor_parts()[1].copy()
    for _ in range(20):
        tw.step()
    assert np.array_equal(tw.engine.conveyor_parts()[1], stopped)  # nothing moves on a stopped belt
    sm.write("belt.motor_on", True)
    assert sm.read()["belt.speed_mps"] == 0.3  # back at the set-point
