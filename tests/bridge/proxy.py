"""A test proxy between a twin's bridge and its clients that drops, duplicates, reorders and
corrupts the published stream on purpose (requests and replies pass through untouched).

It binds its own three consecutive ports, so a ``CloneClient`` connects to it as to a twin. Each
client routing id gets its own upstream DEALER with the same id, so the twin's health report
still names the clients.
"""

from __future__ import annotations

import random
import threading
from collections import deque

import zmq


class LossyProxy:
    def __init__(self, upstream_port: int, port: int, seed: int = 0) -> None:
        self.ctx = zmq.Context.instance()
        self.up, self.port = upstream_port, port
        self.rng = random.Random(seed)
        #: probabilities per published message (random mode)
        self.drop = self.duplicate = self.reorder = 0.0
        #: queued one-shot actions, applied to the next published messages: "drop", "dup", "swap"
        self.actions: deque[str] = deque()
        #: malformed messages to publish, as they are
        self.inject: deque[list[bytes]] = deque()
        self.counts = {"forwarded": 0, "dropped": 0, "duplicated": 0, "reordered": 0, "injected": 0}
        self._held = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._socks = []
        self.front_snap = self._sock(zmq.ROUTER, bind=port)
        self.front_cmd = self._sock(zmq.ROUTER, bind=port + 2)
        self.pub = self._sock(zmq.PUB, bind=port + 1)
        self.sub = self._sock(zmq.SUB, connect=upstream_port + 1)
        self.sub.setsockopt(zmq.SUBSCRIBE, b"")
        self._backs: dict[tuple[int, bytes], zmq.Socket] = {}
        self._route: dict = {}  # upstream DEALER -> (front ROUTER, client routing id)
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def _sock(self, kind, bind=None, connect=None, routing_id=None):
        s = self.ctx.socket(kind)
        s.setsockopt(zmq.LINGER, 0)
        if routing_id is not None:
            s.setsockopt(zmq.ROUTING_ID, routing_id)
        if bind is not None:
            s.bind(f"tcp://127.0.0.1:{bind}")
        else:
            s.connect(f"tcp://127.0.0.1:{connect}")
        self._socks.append(s)
        return s

    def heal(self) -> None:
        """Faithful from now on; a held (reordered) message is sent."""
        with self._lock:
            self.drop = self.duplicate = self.reorder = 0.0
            self.actions.clear()
            if self._held is not None:
                self.pub.send_multipart(self._held)
                self._held = None

    def _publish(self, frames) -> None:
        with self._lock:
            while self.inject:
                self.pub.send_multipart(self.inject.popleft())
                self.counts["injected"] += 1
            action = self.actions.popleft() if self.actions else None
            r = self.rng.random()
            if action == "drop" or action is None and r < self.drop:
                self.counts["dropped"] += 1
                return
            if action == "swap" or action is None and r < self.drop + self.reorder and self._held is None:
                if self._held is None:
                    self._held = frames
                    self.counts["reordered"] += 1
                    return
            self.pub.send_multipart(frames)
            self.counts["forwarded"] += 1
            if action == "dup" or action is None and r > 1 - self.duplicate:
                self.pub.send_multipart(frames)
                self.counts["duplicated"] += 1
            if self._held is not None:  # the held message goes out after the one that overtook it
                self.pub.send_multipart(self._held)
                self._held = None

    def _loop(self) -> None:
        poller = zmq.Poller()
        for s in (self.front_snap, self.front_cmd, self.sub):
            poller.register(s, zmq.POLLIN)
        while not self._stop.is_set():
            for sock, _ in poller.poll(10):
                if sock is self.sub:
                    self._publish(sock.recv_multipart())
                elif sock in (self.front_snap, self.front_cmd):
                    peer, *frames = sock.recv_multipart()
                    port = self.up if sock is self.front_snap else self.up + 2
                    back = self._backs.get((port, peer))
                    if back is None:
                        back = self._sock(zmq.DEALER, connect=port, routing_id=peer if peer[:1] != b"\x00" else None)
                        self._backs[(port, peer)] = back
                        self._route[back] = (sock, peer)
                        poller.register(back, zmq.POLLIN)
                    back.send_multipart(frames)
                else:  # a reply from upstream, back to its client
                    front, peer = self._route[sock]
                    front.send_multipart([peer, *sock.recv_multipart()])
        for s in self._socks:
            s.close(0)

    def close(self) -> None:
        self._stop.set()
        self.thread.join(5)
