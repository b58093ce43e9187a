"""Fuzzing the bridge with hypothesis: arbitrary frames and headers never crash it or change state
unless they are a valid write."""

from __future__ import annotations

import os

import msgpack
import pytest
import zmq
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import twin
from tests.net import BELT_SCENE as SCENE
from tests.net import free_port
from twin.bridge import BridgeServer
from twin.bridge.wire import decode

values = st.recursive(st.none() | st.booleans() | st.integers(-2**63, 2**64 - 1) | st.floats() | st.text(max_size=20),
                      lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner,
                                                                                     max_size=4), max_leaves=10)
headers = st.dictionaries(st.sampled_from(["v", "id", "values", "epoch", "seq", "sent", "rtt_s", "steps", "x"]),
                          values, max_size=6)
headers = headers | headers.map(lambda h: {**h, "v": 2})  # often the right version, to get past it
kinds = st.sampled_from([b"SET", b"SNAPSHOT?", b"DELTA", b"ACK", b"PING", b"HEALTH?", b"STEP", b"BULK", b"",
                         b"\xff\x00"]) | st.binary(max_size=12)


def _frames(draw_kind, header, raw):
    body = raw if raw is not None else msgpack.packb(header, use_bin_type=True)
    return [draw_kind, body]


@pytest.fixture(scope="module")
def rig():
    port = free_port(3)
    tw = twin.Twin(twin.load_scene_text(SCENE), seed=1)
    server = BridgeServer(tw, f"tcp://127.0.0.1:{port}")
    dealer = zmq.Context.instance().socket(zmq.DEALER)
    dealer.setsockopt(zmq.LINGER, 0)
    dealer.connect(f"tcp://127.0.0.1:{port + 2}")
    yield tw, server, dealer
    dealer.close(0)
    server.close()


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(kind=kinds, header=headers, raw=st.none() | st.binary(max_size=64), extra=st.lists(st.binary(max_size=8),
                                                                                          max_size=2))
def test_any_message_gets_an_answer_and_never_breaks_the_twin(rig, kind, header, raw, extra):
    tw, server, dealer = rig
    before = server.signals.read()
    dealer.send_multipart(_frames(kind, header, raw) + extra)
    for _ in range(40):  # wait (at most 2 s) for the message to arrive, then let the server handle it
        if server.commands.poll(50) and server.poll_in():
            break
    assert dealer.poll(2000), "no answer"
    reply_kind, reply = decode(dealer.recv_multipart())
    assert reply_kind in (b"ACK", b"NACK", b"PONG", b"HEALTH")
    after = server.signals.read()
    if reply_kind != b"ACK" or reply["rejected"] or not reply["accepted"]:
        assert after == before  # refused: nothing changed
    tw.step()  # and the twin runs on


# -- the whole protocol as a state machine ----------------------------------------------------------

from hypothesis.stateful import RuleBasedStateMachine, invariant, rule  # noqa: E402

from twin.bridge import CloneClient  # noqa: E402

from .proxy import LossyProxy  # noqa: E402
from .test_sync import Recorded, Stepper, _converge, _copy  # noqa: E402

write_values = st.floats(allow_nan=True, allow_infinity=True) | st.integers(-5, 20) | st.booleans() | \
    st.text(max_size=4) | st.none()
garbage = st.lists(st.binary(max_size=40), min_size=1, max_size=4) | st.builds(
    lambda seq, count, n: [b"BULK", msgpack.packb({"v": 2, "epoch": "x", "seq": seq, "t": 0.0, "group": "default",
                                                   "layout": 0, "dtype": "<f8", "count": count}), b"\0" * n],
    st.integers(0, 2**64 - 1), st.integers(-1, 50), st.integers(0, 400))


class BridgeProtocol(RuleBasedStateMachine):
    """A twin, a proxy that loses, duplicates, reorders and corrupts its stream on command, and a
    client: at every step boundary the client's copy is exactly what the twin published; after
    healing it equals the twin's state; writes are accepted exactly when valid; the twin never breaks."""

    def __init__(self) -> None:
        super().__init__()
        self.port, front = free_port(3), free_port(3)
        self.server = self._server()
        self.stepper = Stepper(self.server)
        self.stepper.paused.set()  # rules step the twin; the thread answers requests, sends heartbeats
        self.proxy = LossyProxy(self.port, front)
        self.client = CloneClient(f"tcp://127.0.0.1:{front}", timeout_s=5)
        import time

        time.sleep(0.15)
        self.client.sync()

    def _server(self):
        import time

        tw = twin.Twin(twin.load_scene_text(SCENE), seed=1)
        for _ in range(40):  # the old server's port may take a moment to be free
            try:
                return Recorded(tw, f"tcp://127.0.0.1:{self.port}", heartbeat_s=0.02,  # belt: every step
                                groups={"belt": {"signals": ["belt.*", "belt/*"], "rate_hz": 20}})
            except Exception:
                time.sleep(0.05)
        raise AssertionError("cannot bind")

    @rule(n=st.integers(1, 10))
    def step(self, n):
        with self.stepper.lock:
            for _ in range(n):
                self.server.step()

    @rule(k=st.integers(1, 3))
    def drop(self, k):
        self.proxy.actions.extend(["drop"] * k)

    @rule()
    def duplicate(self):
        self.proxy.actions.append("dup")

    @rule()
    def reorder(self):
        self.proxy.actions.append("swap")

    @rule(frames=garbage)
    def corrupt(self, frames):
        self.proxy.inject.append(frames)

    @rule(name=st.sampled_from(["belt.speed_mps", "belt.motor_on", "belt.parts", "nope", "press.state"]),
          value=write_values)
    def write(self, name, value):
        with self.stepper.lock:
            valid = self.server.signals.check(name, value) is None
        reply = self.client.set({name: value})
        assert bool(reply["accepted"]) == valid and bool(reply["rejected"]) != valid, (name, value, reply)

    @rule()
    def restart(self):
        with self.stepper.lock:
            self.server.close()
            self.server = self.stepper.server = self._server()

    @rule()
    def poll(self):
        for _ in range(5):  # a heartbeat ends a poll early: take what else is on its way
            self.client.poll(0.01)

    @rule()
    def heal(self):
        self._heal()

    def _heal(self):
        self.proxy.heal()
        _converge(self.client, self.server, self.stepper)
        assert _copy(self.client) == {k: v for k, v in self.server.published().items() if k != "t_s"}

    @invariant()
    def copy_is_what_was_published(self):
        with self.stepper.lock:
            expected = self.server.history.get(self.client.seq) if self.client.epoch == self.server.epoch else None
        if expected is not None:
            assert _copy(self.client) == {k: v for k, v in expected.items() if k != "t_s"}

    def teardown(self):
        if os.environ.get("TWIN_TEST_VERBOSE"):
            print(self.client.stats, self.proxy.counts, self.server.seq)
        try:
            self._heal()
            assert self.server.twin.time_s >= 0  # still a working twin
        finally:
            self.client.close()
            self.proxy.close()
            self.stepper.stop()
            self.server.close()


BridgeProtocol.TestCase.settings = settings(max_examples=10, stateful_step_count=20, deadline=None)
test_the_whole_protocol_under_loss_corruption_and_restarts = BridgeProtocol.TestCase
