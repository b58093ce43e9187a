"""A client of the twin's bridge: a consistent copy of its signals, and writes to it.

``CloneClient`` follows the Clone pattern's late-join rule: it subscribes to the deltas *first*,
then asks for a snapshot, and applies only deltas newer than the snapshot. While active it applies
each delta whose sequence is exactly one more than the last; a gap (a dropped message), or a new
epoch (the twin restarted), makes it drop its copy and re-snapshot. A publisher silent for longer
than ``timeout_s`` marks the copy stale (``stale_since``), never silently good.
"""

from __future__ import annotations

import itertools
import time

import zmq

from .server import parse_endpoint
from .wire import WireError, decode, encode

__all__ = ["CloneClient"]


class CloneClient:
    def __init__(self, endpoint: str = "tcp://127.0.0.1:5556", timeout_s: float = 3.0,
                 context: zmq.Context | None = None, server_key=None, client_key=None) -> None:
        """``server_key`` (the twin's ``server.key``) and ``client_key`` (this client's
        ``.key_secret``): connect with CURVE, as a twin served with keys requires."""
        self._secure = None
        if server_key is not None or client_key is not None:
            from .security import client_options

            self._secure = client_options(server_key, client_key)
        host, port = parse_endpoint(endpoint)
        host = "127.0.0.1" if host == "*" else host
        self._ctx = context or zmq.Context.instance()
        self._addr = (host, port)
        self.timeout_s = float(timeout_s)
        self.values: dict = {}
        self.meta: dict = {}
        self.epoch: str | None = None
        self.seq = -1
        self.t_s = float("nan")
        self.stale_since: float | None = None
        self.stats = {"deltas": 0, "snapshots": 0, "gaps": 0, "epochs": 0, "malformed": 0}
        self._ids = itertools.count(1)
        self._sub = self._socket(zmq.SUB, port + 1)
        self._sub.setsockopt(zmq.SUBSCRIBE, b"")
        self._snap = self._socket(zmq.DEALER, port)
        self._cmd = self._socket(zmq.DEALER, port + 2)
        self._last_heard = time.monotonic()

    def _socket(self, kind: int, port: int):
        sock = self._ctx.socket(kind)
        sock.setsockopt(zmq.LINGER, 0)
        if self._secure is not None:
            self._secure(sock)
        sock.connect(f"tcp://{self._addr[0]}:{port}")
        return sock

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
        kind, header = decode(self._snap.recv_multipart())
        if kind != b"SNAPSHOT":
            raise WireError(f"expected SNAPSHOT, got {kind.decode()}: {header.get('reason', '')}")
        if self.epoch is not None and header["epoch"] != self.epoch:
            self.stats["epochs"] += 1
        self.values, self.meta = dict(header["values"]), dict(header["meta"])
        self.epoch, self.seq, self.t_s = header["epoch"], header["seq"], float(header["t"])
        self.stats["snapshots"] += 1
        self._last_heard = time.monotonic()
        self.stale_since = None

    def poll(self, timeout_s: float = 0.0) -> int:
        """Apply the deltas received (waiting up to ``timeout_s`` for the first); return how many."""
        applied = 0
        wait = int(1000 * timeout_s)
        while self._sub.poll(wait):
            wait = 0
            try:
                kind, header = decode(self._sub.recv_multipart())
            except WireError:
                self.stats["malformed"] += 1
                continue
            self._last_heard = time.monotonic()
            self.stale_since = None
            if header["epoch"] != self.epoch:  # the twin restarted: our copy is from another life
                self.stats["epochs"] += 1
                self.sync()
                continue
            if kind == b"HUGZ":
                if header["seq"] != self.seq:  # we missed deltas while idle
                    self.stats["gaps"] += 1
                    self.sync()
                continue
            if header["seq"] <= self.seq:
                continue  # already in the snapshot, or a duplicate
            if header["seq"] != self.seq + 1:
                self.stats["gaps"] += 1
                self.sync()
                continue
            self.values.update(header["values"])
            self.seq, self.t_s = header["seq"], float(header["t"])
            self.stats["deltas"] += 1
            applied += 1
        if time.monotonic() - self._last_heard > self.timeout_s and self.stale_since is None:
            self.stale_since = time.time()
        return applied

    def set(self, values: dict) -> dict:
        """Write ``values`` to the twin; return its reply (``accepted``, ``rejected`` with reasons)."""
        request = next(self._ids)
        self._send(self._cmd, encode(b"SET", id=request, values=values))
        if not self._cmd.poll(int(1000 * self.timeout_s)):
            raise TimeoutError(f"no reply from the twin within {self.timeout_s} s")
        kind, header = decode(self._cmd.recv_multipart())
        if kind == b"NACK":
            return {"accepted": [], "rejected": {"*": header["reason"]}}
        return {"accepted": header["accepted"], "rejected": header["rejected"]}

    def step(self, steps: int = 1) -> float:
        """Lockstep: ask the twin to advance ``steps`` control steps; return its new time."""
        request = next(self._ids)
        self._send(self._cmd, encode(b"STEP", id=request, steps=int(steps)))
        if not self._cmd.poll(int(1000 * self.timeout_s)):
            raise TimeoutError(f"no reply from the twin within {self.timeout_s} s")
        kind, header = decode(self._cmd.recv_multipart())
        if kind == b"NACK":
            raise WireError(header["reason"])
        return float(header["t"])

    def close(self) -> None:
        for sock in (self._sub, self._snap, self._cmd):
            sock.close(0)

    def __enter__(self) -> CloneClient:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
