"""Fuzzing the bridge with hypothesis: arbitrary frames and headers never crash it or change state
unless they are a valid write."""

from __future__ import annotations

import msgpack
import pytest
import zmq
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import twin
from twin.bridge import BridgeServer
from twin.bridge.wire import decode

from .test_bridge import SCENE

values = st.recursive(st.none() | st.booleans() | st.integers(-2**63, 2**64 - 1) | st.floats() | st.text(max_size=20),
                      lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner,
                                                                                     max_size=4), max_leaves=10)
headers = st.dictionaries(st.sampled_from(["v", "id", "values", "epoch", "seq", "x"]), values, max_size=5)
kinds = st.sampled_from([b"SET", b"SNAPSHOT?", b"DELTA", b"ACK", b"", b"\xff\x00"]) | st.binary(max_size=12)


def _frames(draw_kind, header, raw):
    body = raw if raw is not None else msgpack.packb(header, use_bin_type=True)
    return [draw_kind, body]


@pytest.fixture(scope="module")
def rig():
    from .test_bridge import _free_port

    port = _free_port()
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
    assert reply_kind in (b"ACK", b"NACK")
    after = server.signals.read()
    if reply_kind == b"NACK" or reply["rejected"] or not reply["accepted"]:
        assert after == before  # refused: nothing changed
    tw.step()  # and the twin runs on
