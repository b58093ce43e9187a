"""The twin's side of the bridge: ZeroMQ's Clone pattern with an epoch.

Three sockets on consecutive ports of one address (``tcp://host:P``):

- P, ROUTER: snapshot requests (``SNAPSHOT?``), answered with one ``SNAPSHOT`` (all values, the
  signals' metadata, the epoch and the sequence of the last delta included in it);
- P+1, PUB: per signal group (``groups.py``), ``BULK`` (the group's numbers as one raw float64
  array) and ``DELTA`` (strings, a msgpack map), one strictly increasing 64-bit sequence within an
  epoch over both; ``HUGZ`` once a second when idle;
- P+2, ROUTER: device writes (``SET``), answered with ``ACK`` (accepted names, rejected names with
  reasons) or ``NACK`` (a malformed message); ``PING`` (answered ``PONG``), ``HEALTH?`` (answered
  ``HEALTH``: counters, per-peer liveness and latency, stale signals) and, in lockstep, ``STEP``.

The epoch is a random id chosen when the server starts: clients that see a new one drop their copy
and re-snapshot. The simulation never waits for a peer: sockets have bounded queues (high-water
marks), sends never block (a message a slow subscriber cannot take is dropped; the subscriber sees
the sequence gap and re-snapshots), and each poll handles a bounded number of requests. Malformed
messages and refused writes are counted in ``stats``, never raised.
"""

from __future__ import annotations

import math
import re
import secrets
import time

import msgpack
import zmq

from ..errors import UsageError
from .groups import Publisher
from .signals import SignalMap
from .wire import MAX_FRAME_BYTES, WireError, decode, encode, encode_bulk

__all__ = ["BridgeServer", "parse_endpoint"]

_ENDPOINT = re.compile(r"^tcp://([A-Za-z0-9.\-]+|\*|\[[0-9a-fA-F:]+\]):(\d{1,5})$")


def parse_endpoint(endpoint: str) -> tuple[str, int]:
    """(host, base port) of ``tcp://host:port``.

    Raises:
        UsageError: not of that form, or the port range P..P+2 is invalid.
    """
    m = _ENDPOINT.match(endpoint or "")
    if not m:
        raise UsageError(f"--bind must look like tcp://127.0.0.1:5556, got {endpoint!r}")
    port = int(m.group(2))
    if not 1 <= port <= 65533:
        raise UsageError(f"--bind port must be in 1..65533 (the bridge uses it and the next two), got {port}")
    return m.group(1), port


class BridgeServer:
    """Publishes a twin's signals and takes device writes.

    Args:
        twin: a ``twin.Twin``.
        endpoint: ``tcp://host:P``; ports P, P+1, P+2 are bound.
        heartbeat_s: idle time (wall clock) after which a ``HUGZ`` is published.
        hwm: high-water mark (messages) of every socket.
        record: a file path: every message in and out is recorded there (MCAP, ``recording.py``).
        lockstep: the twin advances only when a partner asks (``STEP`` on the command socket), one
            control step per step asked, and answers ``STEPPED``; :meth:`serve_once` does the rest.
        keys_dir: a keys folder (``twin.bridge.security``): every socket is a CURVE server and only
            clients whose public key is in ``<keys_dir>/clients`` can connect. None: plain TCP.
        device_timeout_s: a written signal whose writer has not written it again for this long
            (simulated time) is stale, and ``fallback`` applies: ``hold``, ``simulate`` or ``safe``
            (see ``SignalMap.fall_back``). None: written values never go stale.
        groups: signal groups, ``{name: {signals, mode, rate_hz, deadband}}`` (``groups.py``);
            signals no group names are in ``default`` (on change).
        deadbands: signal name -> dead band of its on-change reporting.
        max_peers: peers whose health is kept (the least recently seen are forgotten first).
    """

    def __init__(self, twin, endpoint: str = "tcp://127.0.0.1:5556", heartbeat_s: float = 1.0,
                 hwm: int = 1000, context: zmq.Context | None = None, device_timeout_s: float | None = None,
                 fallback: str = "hold", keys_dir=None, lockstep: bool = False, record=None, groups=None,
                 deadbands: dict | None = None, max_peers: int = 1024) -> None:
        if fallback not in ("hold", "simulate", "safe"):
            raise UsageError(f"fallback must be 'hold', 'simulate' or 'safe', got {fallback!r}")
        if device_timeout_s is not None and not device_timeout_s > 0:
            raise UsageError(f"device_timeout_s must be > 0, got {device_timeout_s}")
        self.device_timeout_s, self.fallback = device_timeout_s, fallback
        self.lockstep = bool(lockstep)
        self.recorder = None
        if record is not None:
            from .recording import Recorder

            self.recorder = Recorder(record)
        self._written: dict[str, float] = {}  # signal -> simulated time of its last write
        host, port = parse_endpoint(endpoint)
        self.twin = twin
        self.signals = SignalMap(twin)
        self.publisher_state = Publisher(self.signals, groups, deadbands)
        self.max_peers = int(max_peers)
        #: per peer (its routing id, see ``_peer_name``): liveness, messages, refusals, latency
        self.peers: dict[str, dict] = {}
        self.epoch = secrets.token_hex(8)
        self.seq = 0
        self.heartbeat_s = float(heartbeat_s)
        self.stats = {"published": 0, "dropped": 0, "bulk": 0, "deltas": 0, "heartbeats": 0, "snapshots": 0,
                      "sets_accepted": 0, "sets_rejected": 0, "malformed": 0, "pings": 0, "health": 0}
        self._ctx = context or zmq.Context.instance()
        self._sockets = []
        self.security = None
        if keys_dir is not None:
            from .security import ServerSecurity

            self.security = ServerSecurity(self._ctx, keys_dir)
        try:
            self.snapshot = self._bind(zmq.ROUTER, host, port, hwm)
            self.publisher = self._bind(zmq.PUB, host, port + 1, hwm)
            self.commands = self._bind(zmq.ROUTER, host, port + 2, hwm)
        except UsageError:
            self.close()
            raise
        self.endpoint = endpoint
        self._values = self.signals.read()
        self.publisher_state.start(self._values)
        self._record_config()
        self._last_send = time.monotonic()
        self._last_send_seq = 0

    def set_groups(self, groups=None, deadbands: dict | None = None) -> None:
        """Configure the signal groups anew (e.g. once adapters have added their signals). Clients
        see new layouts in the next messages and re-snapshot.

        Raises:
            UsageError: a name or pattern matching no signal, a signal in two groups.
        """
        state = Publisher(self.signals, groups, deadbands)
        state.start(self.signals.read())
        self.publisher_state = state
        self._record_config()
        self.signals.revision += 1  # the next publish_out publishes every group in its new layout

    def _bind(self, kind: int, host: str, port: int, hwm: int):
        sock = self._ctx.socket(kind)
        sock.setsockopt(zmq.LINGER, 0)
        sock.setsockopt(zmq.SNDHWM, hwm)
        sock.setsockopt(zmq.RCVHWM, hwm)
        sock.setsockopt(zmq.MAXMSGSIZE, MAX_FRAME_BYTES + 256)
        if kind == zmq.ROUTER:
            sock.setsockopt(zmq.ROUTER_MANDATORY, 0)
        if self.security is not None:
            self.security.apply(sock)
        try:
            sock.bind(f"tcp://{host}:{port}")
        except zmq.ZMQError as exc:
            sock.close(0)
            raise UsageError(f"cannot bind tcp://{host}:{port}: {exc.strerror}") from None
        self._sockets.append(sock)
        return sock

    # -- the step's two bridge phases ---------------------------------------------------------

    def poll_in(self, max_messages: int = 100) -> int:
        """Phase bridge_in: answer snapshot requests and apply device writes; never blocks."""
        handled = 0
        for sock, handler in ((self.snapshot, self._on_snapshot_request), (self.commands, self._on_set)):
            for _ in range(max_messages):
                try:
                    frames = sock.recv_multipart(zmq.NOBLOCK, copy=True)
                except zmq.Again:
                    break
                handler(frames[0], frames[1:])
                handled += 1
        return handled

    def publish_out(self) -> bool:
        """Phase bridge_out: publish the groups that are due (``BULK`` per group with numbers due,
        one ``DELTA`` with the strings due), or a heartbeat when idle."""
        values = self.signals.read()
        self._values = values
        t = values["t_s"]
        strings: dict = {}
        for group, numbers, changed in self.publisher_state.step(values, t):
            if numbers is not None:
                self.seq += 1
                self._send(encode_bulk(self.epoch, self.seq, t, group.name, group.layout_id, numbers), bulk=True)
            if changed:
                strings.update(changed)
        if strings:
            self.seq += 1
            self._send(encode(b"DELTA", epoch=self.epoch, seq=self.seq, t=t, values=strings))
            self.stats["deltas"] += 1
        if self._last_send_seq != self.seq:
            self._last_send_seq = self.seq
            return True
        if time.monotonic() - self._last_send >= self.heartbeat_s:
            self._send(encode(b"HUGZ", epoch=self.epoch, seq=self.seq, t=t))
            self.stats["heartbeats"] += 1
        return False

    def published(self) -> dict:
        """The clients' copy: every signal as last published, ``t_s`` the time of the last step
        published (what a client that applied everything up to ``seq`` holds)."""
        return {"t_s": self._values["t_s"], **self.publisher_state.published()}

    def step(self, dt_s: float | None = None) -> float:
        """One control step in the fixed phase order: bridge_in, the twin's step, bridge_out."""
        self.poll_in()
        self.check_silence()
        t = self.twin.step(dt_s)
        self.publish_out()
        return t

    def check_silence(self) -> list[str]:
        """Apply the fallback to written signals whose writer went silent; return them."""
        if self.device_timeout_s is None:
            return []
        now = self.twin.engine.t
        silent = [name for name, t in self._written.items()
                  if name not in self.signals.stale and now - t > self.device_timeout_s]
        for name in silent:
            self.signals.fall_back(name, self.fallback)
        return silent

    # -- handlers -----------------------------------------------------------------------------

    def _record_config(self) -> None:
        if self.recorder is not None:  # replay publishes with the same groups
            self.recorder.write("config/groups", msgpack.packb(self.publisher_state.config()), self.twin.engine.t)

    def _record(self, direction: str, frames: list[bytes]) -> None:
        if self.recorder is not None:
            self.recorder.write(f"{direction}/{frames[0].decode()}", frames[1], self.twin.engine.t)

    def _send(self, frames: list, bulk: bool = False) -> None:
        if self.recorder is not None:
            if bulk:  # recorded as one map: the header plus ``data``, the array's bytes
                body = msgpack.packb({**msgpack.unpackb(frames[1]), "data": frames[2].tobytes()})
                self.recorder.write("out/BULK", body, self.twin.engine.t)
            else:
                self._record("out", frames)
        try:
            self.publisher.send_multipart(frames, zmq.NOBLOCK)
            self.stats["published"] += 1
            self.stats["bulk"] += bulk
        except zmq.Again:
            self.stats["dropped"] += 1
        self._last_send = time.monotonic()

    def _peer(self, peer: bytes) -> dict:
        """The health record of ``peer`` (its routing id), created when first seen."""
        name = _peer_name(peer)
        rec = self.peers.get(name)
        now = time.time()
        if rec is None:
            if len(self.peers) >= self.max_peers:  # bounded: forget the least recently seen
                del self.peers[min(self.peers, key=lambda k: self.peers[k]["last_seen"])]
            rec = self.peers[name] = {"first_seen": now, "last_seen": now, "in": 0, "out": 0, "rejected": 0,
                                      "malformed": 0, "rtt_s": None}
        rec["last_seen"] = now
        return rec

    def health(self) -> dict:
        """Counters, per-peer health (``last_seen_s``: seconds since its last message) and stale
        signals (name -> simulated time it went silent), as the ``HEALTH`` reply carries them."""
        now = time.time()
        peers = {name: {"last_seen_s": now - r["last_seen"], "connected_s": now - r["first_seen"], "in": r["in"],
                        "out": r["out"], "rejected": r["rejected"], "malformed": r["malformed"], "rtt_s": r["rtt_s"]}
                 for name, r in self.peers.items()}
        return {"epoch": self.epoch, "seq": self.seq, "t": float(self.twin.engine.t), "stats": dict(self.stats),
                "peers": peers, "stale": {k: float(v) for k, v in self.signals.stale.items()}}

    def _reply(self, sock, peer: bytes, frames: list[bytes]) -> None:
        self._record("out", frames)
        self._peer(peer)["out"] += 1
        try:
            sock.send_multipart([peer, *frames], zmq.NOBLOCK)
        except zmq.ZMQError:
            self.stats["dropped"] += 1

    def _decode_request(self, sock, peer: bytes, frames: list[bytes], allowed: tuple[bytes, ...]):
        """(kind, header) of a valid request of an ``allowed`` kind; else answer NACK, count it, None."""
        try:
            kind, header = decode(frames)
            if kind == b"STEP" and not self.lockstep:
                raise WireError("STEP is only accepted by a twin served in lockstep")
            if kind == b"STEP" and not 1 <= header["steps"] <= 100_000:
                raise WireError(f"STEP: steps must be in 1..100000, got {header['steps']}")
            if kind not in allowed:
                raise WireError(f"expected {' or '.join(a.decode() for a in allowed)} on this socket, "
                                f"got {kind.decode()}")
        except WireError as exc:
            self.stats["malformed"] += 1
            self._peer(peer)["malformed"] += 1
            self._reply(sock, peer, encode(b"NACK", reason=exc.reason))
            return None
        self._peer(peer)["in"] += 1
        self._record("in", frames)
        return kind, header

    def _on_snapshot_request(self, peer: bytes, frames: list[bytes]) -> None:
        if self._decode_request(self.snapshot, peer, frames, (b"SNAPSHOT?",)) is None:
            return
        self.stats["snapshots"] += 1
        self._reply(self.snapshot, peer, encode(b"SNAPSHOT", epoch=self.epoch, seq=self.seq, t=self._values["t_s"],
                                                values=self.published(), meta=self.signals.meta(),
                                                groups=self.publisher_state.describe()))

    def _on_set(self, peer: bytes, frames: list[bytes]) -> None:
        request = self._decode_request(self.commands, peer, frames, (b"SET", b"STEP", b"PING", b"HEALTH?"))
        if request is None:
            return
        kind, header = request
        if kind == b"PING":  # echo the client's clock; it may report the round trip it measured last
            self.stats["pings"] += 1
            rtt = header.get("rtt_s")
            if isinstance(rtt, float | int) and not isinstance(rtt, bool) and math.isfinite(rtt) and rtt >= 0:
                self._peer(peer)["rtt_s"] = float(rtt)
            self._reply(self.commands, peer, encode(b"PONG", id=header["id"], sent=header["sent"],
                                                    t=float(self.twin.engine.t)))
            return
        if kind == b"HEALTH?":
            self.stats["health"] += 1
            self._reply(self.commands, peer, encode(b"HEALTH", id=header["id"], **self.health()))
            return
        if kind == b"STEP":  # lockstep: the partner's tick advances the twin, then we answer
            for _ in range(header["steps"]):
                self.check_silence()
                self.twin.step()
                self.publish_out()
            self.stats["steps"] = self.stats.get("steps", 0) + header["steps"]
            self._reply(self.commands, peer, encode(b"STEPPED", id=header["id"], t=float(self.twin.time_s),
                                                    seq=self.seq))
            return
        accepted, rejected = [], {}
        for name, value in header["values"].items():
            reason = self.signals.check(name, value)
            if reason is None:
                accepted.append(name)
            else:
                rejected[str(name)[:200]] = reason
        if rejected:  # all or nothing: a write with any bad value changes nothing
            accepted = []
            self.stats["sets_rejected"] += 1
            self._peer(peer)["rejected"] += 1
        else:
            for name in header["values"]:
                self.signals.write(name, header["values"][name])
                self._written[name] = self.twin.engine.t
            self.stats["sets_accepted"] += 1
        self._reply(self.commands, peer, encode(b"ACK", id=header["id"], accepted=accepted, rejected=rejected))

    def close(self) -> None:
        for sock in self._sockets:
            sock.close(0)
        self._sockets = []
        if getattr(self, "recorder", None) is not None:
            self.recorder.close()
            self.recorder = None
        if self.security is not None:
            self.security.stop()
            self.security = None


def _peer_name(peer: bytes) -> str:
    """A peer's name in health reports: its routing id when a client chose a printable one (the
    reference client sets ``name``), else ``0x`` and the id in hex (ZeroMQ's random ids)."""
    if peer and peer[0] != 0 and all(32 < b < 127 for b in peer):
        return peer.decode()
    return "0x" + peer.hex()
