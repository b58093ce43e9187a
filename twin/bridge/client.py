"""A client of the twin's bridge: a consistent copy of its signals, and writes to it.

``CloneClient`` follows the Clone pattern's late-join rule: it subscribes to the published stream
*first*, then asks for a snapshot, and applies only messages newer than the snapshot. While active
it applies each ``BULK`` (a group's numbers, one raw float64 array copied into the group's array)
or ``DELTA`` (strings) whose sequence is exactly one more than the last; a gap (a dropped
message), a layout it does not know (signals were added) or a new epoch (the twin restarted)
makes it drop its copy and re-snapshot. A publisher silent for longer than ``timeout_s`` marks
the copy stale (``stale_since``), never silently good.
"""

from __future__ import annotations

import itertools
import time

import numpy as np
import zmq

from .groups import typed
from .server import parse_endpoint
from .wire import MAX_BULK_BYTES, MAX_SNAPSHOT_BYTES, WireError, decode, encode

__all__ = ["CloneClient"]


class CloneClient:
    """A copy of a served twin's signals.

    Args:
        endpoint: the twin's ``tcp://host:P``.
        timeout_s: how long a request waits for its reply, and the silence after which the copy
            is stale.
        server_key, client_key: the twin's ``server.key`` and this client's ``.key_secret``:
            connect with CURVE, as a twin served with keys requires.
        name: this client's name in the twin's health report (its ZeroMQ routing id; printable
            ASCII, unique among the twin's clients). None: an anonymous random id.
    """

    def __init__(self, endpoint: str = "tcp://127.0.0.1:5556", timeout_s: float = 3.0,
                 context: zmq.Context | None = None, server_key=None, client_key=None, name: str | None = None) -> None:
        self._secure = None
        if server_key is not None or client_key is not None:
            from .security import client_options

            self._secure = client_options(server_key, client_key)
        if name is not None and not (0 < len(name) <= 64 and all(32 < ord(c) < 127 for c in name)):
            raise ValueError(f"name must be 1-64 printable ASCII characters without spaces, got {name!r}")
        self.name = name
        host, port = parse_endpoint(endpoint)
        host = "127.0.0.1" if host == "*" else host
        self._ctx = context or zmq.Context.instance()
        self._addr = (host, port)
        self.timeout_s = float(timeout_s)
        self.meta: dict = {}
        #: group name -> its description from the snapshot (mode, rate_hz, layout, layout_id, strings)
        self.groups: dict = {}
        #: group name -> its numbers in layout order (float64; bool and int signals as 0/1 and integers)
        self.arrays: dict[str, np.ndarray] = {}
        self._strings: dict = {}
        self._index: dict[str, tuple[str, int]] = {}
        self.epoch: str | None = None
        self.seq = -1
        self.t_s = float("nan")
        self.stale_since: float | None = None
        self.rtt_s: float | None = None
        self.stats = {"deltas": 0, "bulk": 0, "snapshots": 0, "gaps": 0, "epochs": 0, "layouts": 0, "malformed": 0}
        self._ids = itertools.count(1)
        self._sub = self._socket(zmq.SUB, port + 1)
        self._sub.setsockopt(zmq.SUBSCRIBE, b"")
        self._snap = self._socket(zmq.DEALER, port)
        self._cmd = self._socket(zmq.DEALER, port + 2)
        self._last_heard = time.monotonic()

    def _socket(self, kind: int, port: int):
        sock = self._ctx.socket(kind)
        sock.setsockopt(zmq.LINGER, 0)
        sock.setsockopt(zmq.MAXMSGSIZE, (MAX_SNAPSHOT_BYTES if port == self._addr[1] else MAX_BULK_BYTES) + 4096)
        if kind == zmq.SUB:
            sock.setsockopt(zmq.RCVHWM, 10_000)
        if self.name is not None and kind == zmq.DEALER:
            sock.setsockopt(zmq.ROUTING_ID, self.name.encode())
        if self._secure is not None:
            self._secure(sock)
        sock.connect(f"tcp://{self._addr[0]}:{port}")
        return sock

    # -- the copy ---------------------------------------------------------------------------

    @property
    def values(self) -> dict:
        """Every signal's value (plain Python types), ``t_s`` the time of the last message applied.
        A new dict on each access: use :meth:`get` or :attr:`arrays` in a loop."""
        out = {"t_s": self.t_s}
        for name, g in self.groups.items():
            out.update(zip(g["layout"], typed(self._types[name], self.arrays[name]), strict=True))
        out.update(self._strings)
        return out

    def get(self, name: str):
        """One signal's value. Raises KeyError for a signal the twin does not have."""
        if name == "t_s":
            return self.t_s
        if name in self._strings:
            return self._strings[name]
        group, i = self._index[name]
        value = float(self.arrays[group][i])
        kind = self.meta[name]["type"]
        return bool(value) if kind == "bool" else int(value) if kind == "int" else value

    def _send(self, sock, frames: list[bytes]) -> None:
        """Send without ever blocking: a DEALER with no connected peer (the twin is down, or refused
        our key) would otherwise wait for ever."""
        if not sock.poll(int(1000 * self.timeout_s), zmq.POLLOUT):
            raise TimeoutError(f"cannot reach the twin within {self.timeout_s} s (not running, or it "
                               "refused this client's key)")
        sock.send_multipart(frames, zmq.NOBLOCK)

    def sync(self) -> None:
        """Take a snapshot (the subscription is already open, so nothing is missed)."""
        self._send(self._snap, encode(b"SNAPSHOT?"))
        if not self._snap.poll(int(1000 * self.timeout_s)):
            raise TimeoutError(f"no snapshot from the twin within {self.timeout_s} s")
        kind, header = decode(self._snap.recv_multipart(), MAX_SNAPSHOT_BYTES)
        if kind != b"SNAPSHOT":
            raise WireError(f"expected SNAPSHOT, got {kind.decode()}: {header.get('reason', '')}")
        if self.epoch is not None and header["epoch"] != self.epoch:
            self.stats["epochs"] += 1
        values, self.meta, self.groups = header["values"], dict(header["meta"]), dict(header["groups"])
        self.arrays, self._types, self._index = {}, {}, {}
        for name, g in self.groups.items():
            self.arrays[name] = np.array([values[n] for n in g["layout"]], np.float64)
            self._types[name] = [self.meta[n]["type"] for n in g["layout"]]
            self._index.update((n, (name, i)) for i, n in enumerate(g["layout"]))
        self._strings = {n: values[n] for g in self.groups.values() for n in g["strings"]}
        self.epoch, self.seq, self.t_s = header["epoch"], header["seq"], float(header["t"])
        self.stats["snapshots"] += 1
        self._last_heard = time.monotonic()
        self.stale_since = None

    def poll(self, timeout_s: float = 0.0) -> int:
        """Apply the messages received (waiting up to ``timeout_s`` for the first); return how many
        were applied."""
        applied = 0
        wait = int(1000 * timeout_s)
        while True:
            try:  # receive first, poll only when nothing is queued: one system call per message
                frames = self._sub.recv_multipart(zmq.NOBLOCK)
            except zmq.Again:
                if wait and self._sub.poll(wait):
                    wait = 0
                    continue
                break
            wait = 0
            try:
                kind, header = decode(frames)
            except WireError:
                self.stats["malformed"] += 1
                continue
            if kind not in (b"BULK", b"DELTA", b"HUGZ"):
                self.stats["malformed"] += 1
                continue
            self._last_heard = time.monotonic()
            self.stale_since = None
            if header["epoch"] != self.epoch:  # the twin restarted: our copy is from another life
                self.stats["epochs"] += 1
                self.sync()
                continue
            if kind == b"HUGZ":
                if header["seq"] != self.seq:  # we missed messages while idle
                    self.stats["gaps"] += 1
                    self.sync()
                continue
            if header["seq"] <= self.seq:
                continue  # already in the snapshot, or a duplicate
            if header["seq"] != self.seq + 1:
                self.stats["gaps"] += 1
                self.sync()
                continue
            if kind == b"BULK":
                group = self.groups.get(header["group"])
                data = header["data"]
                if group is None or group["layout_id"] != header["layout"] or data.size != len(group["layout"]):
                    self.stats["layouts"] += 1  # signals were added or removed: learn the new layouts
                    self.sync()
                    continue
                np.copyto(self.arrays[header["group"]], data)
                self.stats["bulk"] += 1
            else:
                self._strings.update(header["values"])
                self.stats["deltas"] += 1
            self.seq, self.t_s = header["seq"], float(header["t"])
            applied += 1
        if time.monotonic() - self._last_heard > self.timeout_s and self.stale_since is None:
            self.stale_since = time.time()
        return applied

    # -- requests ---------------------------------------------------------------------------

    def _request(self, kind: bytes, **header) -> tuple[bytes, dict]:
        self._send(self._cmd, encode(kind, id=next(self._ids), **header))
        if not self._cmd.poll(int(1000 * self.timeout_s)):
            raise TimeoutError(f"no reply from the twin within {self.timeout_s} s")
        return decode(self._cmd.recv_multipart())

    def set(self, values: dict) -> dict:
        """Write ``values`` to the twin; return its reply (``accepted``, ``rejected`` with reasons)."""
        kind, header = self._request(b"SET", values=values)
        if kind == b"NACK":
            return {"accepted": [], "rejected": {"*": header["reason"]}}
        return {"accepted": header["accepted"], "rejected": header["rejected"]}

    def step(self, steps: int = 1) -> float:
        """Lockstep: ask the twin to advance ``steps`` control steps; return its new time."""
        kind, header = self._request(b"STEP", steps=int(steps))
        if kind == b"NACK":
            raise WireError(header["reason"])
        return float(header["t"])

    def ping(self) -> float:
        """Round trip to the twin's command socket (s); the last one measured is reported to the
        twin with this ping, for its health report."""
        extra = {} if self.rtt_s is None else {"rtt_s": self.rtt_s}
        start = time.perf_counter()
        kind, header = self._request(b"PING", sent=start, **extra)
        if kind != b"PONG" or header["sent"] != start:
            raise WireError(f"expected PONG echoing {start}, got {kind.decode()}")
        self.rtt_s = time.perf_counter() - start
        return self.rtt_s

    def health(self) -> dict:
        """The twin's health report: ``stats``, ``peers`` and ``stale`` (see docs/protocol.md)."""
        kind, header = self._request(b"HEALTH?")
        if kind != b"HEALTH":
            raise WireError(f"expected HEALTH, got {kind.decode()}: {header.get('reason', '')}")
        return header

    def close(self) -> None:
        for sock in (self._sub, self._snap, self._cmd):
            sock.close(0)

    def __enter__(self) -> CloneClient:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
