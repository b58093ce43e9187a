"""State sync under loss: a proxy that drops, duplicates, reorders and corrupts published messages
never corrupts a client's copy; after healing every copy equals the twin's. Signal groups (rates,
dead bands, bulk layouts) and the health report."""

from __future__ import annotations

import threading
import time

import msgpack
import numpy as np
import pytest
import zmq

import twin
from tests.net import BELT_SCENE as SCENE
from tests.net import free_port
from twin.bridge import BridgeServer, CloneClient
from twin.bridge.signals import Signal
from twin.bridge.wire import decode, encode_bulk
from twin.errors import UsageError

from .proxy import LossyProxy


class Recorded(BridgeServer):
    """A server that remembers the clients' copy after every step, by sequence number."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.history = {self.seq: self.published()}

    def publish_out(self) -> bool:
        sent = super().publish_out()
        self.history[self.seq] = self.published()
        return sent


class Stepper:
    """Steps a server in a thread; ``pause`` stops the stepping (requests are still answered)."""

    def __init__(self, server) -> None:
        self.server, self.lock = server, threading.Lock()
        self.paused = threading.Event()
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def _loop(self) -> None:
        while not self._stop.is_set():
            with self.lock:
                if self.paused.is_set():
                    self.server.poll_in()
                    self.server.publish_out()
                else:
                    self.server.step()
            time.sleep(0.002)

    def stop(self) -> None:
        self._stop.set()
        self.thread.join(5)


def _converge(client, server, stepper, timeout_s: float = 5.0) -> None:
    """Pause the twin, and poll until the client holds everything it published."""
    stepper.paused.set()
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        client.poll(0.05)
        if client.epoch == server.epoch and client.seq == server.seq:
            return
    pytest.fail(f"client did not converge: seq {client.seq} vs {server.seq}")


def _copy(client) -> dict:
    return {k: v for k, v in client.values.items() if k != "t_s"}


def test_drops_duplicates_and_reorders_never_corrupt_a_copy():
    port, front = free_port(3), free_port(3)
    tw = twin.Twin(twin.load_scene_text(SCENE), seed=1)
    server = Recorded(tw, f"tcp://127.0.0.1:{port}", heartbeat_s=0.05)
    stepper = Stepper(server)
    proxy = LossyProxy(port, front, seed=3)
    proxy.drop, proxy.duplicate, proxy.reorder = 0.05, 0.05, 0.05
    try:
        time.sleep(0.2)
        with CloneClient(f"tcp://127.0.0.1:{front}", timeout_s=5) as client:
            client.sync()
            checked = 0
            end = time.monotonic() + 2.0
            while time.monotonic() < end:
                client.poll(0.01)
                with stepper.lock:
                    expected = server.history.get(client.seq)
                if expected is not None:  # at a step boundary: the copy is exactly what was published
                    assert _copy(client) == {k: v for k, v in expected.items() if k != "t_s"}
                    checked += 1
            assert checked > 20
            assert proxy.counts["dropped"] and proxy.counts["duplicated"] and proxy.counts["reordered"]
            assert client.stats["gaps"] >= 1 and client.stats["snapshots"] >= 2
            proxy.heal()
            _converge(client, server, stepper)
            assert _copy(client) == {k: v for k, v in server.published().items() if k != "t_s"}
            assert server.published() | {"t_s": 0} == server.signals.read() | {"t_s": 0}  # dead band 0
    finally:
        proxy.close()
        stepper.stop()
        server.close()


class Probe:
    """A provider of two float signals whose values the test sets."""

    def __init__(self) -> None:
        self.values = {"probe.a": 0.0, "probe.b": 0.0}

    def provided(self):
        return [Signal("probe.a", "float", "m", False, deadband=0.1), Signal("probe.b", "float", "m", False)]

    def read(self, values) -> None:
        values.update(self.values)

    def write(self, name, value) -> None:
        raise AssertionError(name)

    def fall_back(self, name, mode) -> None:
        pass


def _drain(sub) -> list:
    out = []
    while sub.poll(100):
        out.append(decode(sub.recv_multipart()))
    return out


def test_groups_rates_dead_bands_and_bulk_layouts():
    port = free_port(3)
    tw = twin.Twin(twin.load_scene_text(SCENE), seed=1)  # control step 0.05 s
    server = BridgeServer(tw, f"tcp://127.0.0.1:{port}", heartbeat_s=100)
    probe = Probe()
    server.signals.add_provider(probe)
    server.set_groups({"belt": {"signals": ["belt.*", "belt/*"], "rate_hz": 2}, "probe": {"signals": ["probe.*"]}},
                      deadbands={"probe.b": 0.5})
    sub = zmq.Context.instance().socket(zmq.SUB)
    sub.setsockopt(zmq.LINGER, 0)
    sub.setsockopt(zmq.SUBSCRIBE, b"")
    sub.connect(f"tcp://127.0.0.1:{port + 1}")
    time.sleep(0.3)
    try:
        groups = server.publisher_state.describe()
        assert groups["belt"]["layout"] == ["belt.speed_mps", "belt.speed_mps.stale", "belt.motor_on", "belt.parts",
                                            "belt/eye.blocked"]
        assert groups["belt"]["mode"] == "periodic" and groups["belt"]["rate_hz"] == 2.0
        assert groups["probe"]["layout"] == ["probe.a", "probe.b"]
        assert groups["default"]["strings"] == ["press.state"] and "t_s" not in groups["default"]["layout"]
        server.step()  # new layouts: every group is published at once
        first = _drain(sub)
        assert {h["group"] for k, h in first if k == b"BULK"} == {"belt", "probe", "default"}
        for probe_a, probe_b, published, copy_a in ((0.05, 0.4, False, 0.0), (0.15, 0.4, True, 0.15),
                                                    (0.2, 0.4, False, 0.15), (0.2, 0.95, True, 0.2)):
            probe.values = {"probe.a": probe_a, "probe.b": probe_b}
            server.step()
            bulks = [h for k, h in _drain(sub) if k == b"BULK" and h["group"] == "probe"]
            assert bool(bulks) == published, (probe_a, probe_b)
            if bulks:  # the whole group, in layout order, raw little-endian float64
                assert bulks[0]["data"].tolist() == [probe_a, probe_b] and bulks[0]["count"] == 2
            assert server.published()["probe.a"] == copy_a  # the clients' copy: as last published
        belt_times = []
        for _ in range(40):  # 2 s at 0.05 s: the periodic group goes out every 0.5 s, changed or not
            server.step()
            belt_times += [h["t"] for k, h in _drain(sub) if k == b"BULK" and h["group"] == "belt"]
        assert np.allclose(np.diff(belt_times), 0.5) and len(belt_times) == 4
        seqs = [h["seq"] for _, h in _drain(sub)]
        assert seqs == sorted(seqs)
        with pytest.raises(UsageError, match="Did you mean 'belt.speed_mps'"):
            server.set_groups({"g": {"signals": ["belt.sped_mps"]}})
        with pytest.raises(UsageError, match="in two groups"):
            server.set_groups({"a": {"signals": ["belt.*"]}, "b": {"signals": ["belt.parts"]}})
        with pytest.raises(UsageError, match="Did you mean 'rate_hz'"):
            server.set_groups({"a": {"signals": ["belt.*"], "rate": 5}})
        with pytest.raises(UsageError, match="no signal matches 'nothing.\\*'"):
            server.set_groups({"a": {"signals": ["nothing.*"]}})
    finally:
        sub.close(0)
        server.close()


def test_bad_bulk_frames_are_refused_and_a_layout_change_resnapshots(endpoint):
    from twin.bridge.wire import WireError

    frames = encode_bulk("e", 1, 0.0, "g", 7, np.arange(3.0))
    assert decode(frames)[1]["data"].tolist() == [0.0, 1.0, 2.0]
    for bad in ([frames[0], frames[1], b"\x00" * 20], [frames[0], frames[1]], [b"DELTA", frames[1], frames[2]],
                [frames[0], msgpack.packb({**msgpack.unpackb(frames[1]), "dtype": ">f4"}), frames[2]],
                [frames[0], msgpack.packb({**msgpack.unpackb(frames[1]), "count": -1}), b""]):
        with pytest.raises(WireError):
            decode(bad)
    port = int(endpoint.rsplit(":", 1)[1])
    tw = twin.Twin(twin.load_scene_text(SCENE), seed=1)
    server = BridgeServer(tw, endpoint)
    stepper = Stepper(server)
    try:
        with CloneClient(endpoint) as client:
            time.sleep(0.2)
            client.sync()
            with stepper.lock:  # a provider adds signals: new layouts, the client learns them
                server.signals.add_provider(Probe())
            deadline = time.monotonic() + 3
            while "probe.a" not in client.meta and time.monotonic() < deadline:
                client.poll(0.05)
            assert client.stats["layouts"] >= 1 and client.get("probe.a") == 0.0
        assert port
    finally:
        stepper.stop()
        server.close()


@pytest.fixture
def endpoint():
    return f"tcp://127.0.0.1:{free_port(3)}"


def test_health_reports_peers_latency_refusals_and_stale_signals(endpoint):
    tw = twin.Twin(twin.load_scene_text(SCENE), seed=1)
    server = BridgeServer(tw, endpoint, device_timeout_s=0.5, fallback="safe")
    stepper = Stepper(server)
    try:
        with CloneClient(endpoint, name="hmi") as hmi, CloneClient(endpoint) as anon:
            hmi.sync()
            assert hmi.set({"belt.speed_mps": 0.3})["accepted"]
            assert hmi.set({"belt.speed_mps": float("nan")})["rejected"]
            first = hmi.ping()
            second = hmi.ping()  # reports the first round trip to the twin
            assert 0 < first < 1 and 0 < second < 1
            anon.sync()
            time.sleep(0.8)  # the writer goes silent: stale after 0.5 s of twin time
            report = hmi.health()
            peers = report["peers"]
            assert peers["hmi"]["in"] == 6 and peers["hmi"]["rejected"] == 1 and peers["hmi"]["rtt_s"] == first
            assert peers["hmi"]["last_seen_s"] < 1.0 and peers["hmi"]["out"] == 5  # this reply not yet
            assert any(name.startswith("0x") for name in peers)  # the anonymous client, by its routing id
            assert report["stats"]["sets_rejected"] == 1 and report["stats"]["pings"] == 2
            assert 0.5 < report["stale"]["belt.speed_mps"] < report["t"]  # when it went silent
            hmi.poll(0.2)
            assert hmi.get("belt.speed_mps.stale") is True and hmi.get("belt.speed_mps") == 0.0  # safe: stopped
    finally:
        stepper.stop()
        server.close()


def test_oversized_frames_are_cut_off_by_the_transport_and_the_twin_runs_on(endpoint):
    tw = twin.Twin(twin.load_scene_text(SCENE), seed=1)
    server = BridgeServer(tw, endpoint)
    stepper = Stepper(server)
    ctx = zmq.Context.instance()
    host, port = endpoint.rsplit(":", 1)
    big = ctx.socket(zmq.DEALER)
    big.setsockopt(zmq.LINGER, 0)
    big.connect(f"{host}:{int(port) + 2}")
    try:
        big.send_multipart([b"SET", b"x" * (2 << 20)])  # over MAXMSGSIZE: dropped before any parsing
        time.sleep(0.5)
        assert not big.poll(200) and server.stats["malformed"] == 0 and server.stats["sets_rejected"] == 0
        with CloneClient(endpoint) as client:  # everyone else is served as before
            client.sync()
            assert client.set({"belt.speed_mps": 0.4})["accepted"] == ["belt.speed_mps"]
            assert client.ping() < 1.0
    finally:
        big.close(0)
        stepper.stop()
        server.close()
