"""Shared by the network tests: free loopback ports and a small belt line to serve."""

from __future__ import annotations

import random
import socket

#: A feeder, a belt with a photo-eye and a press: signals of every kind, cheap to step.
BELT_SCENE = """
version: 1
name: belt_line
sim: {control_step_s: 0.05}
part_types: [{name: box, length_m: 0.2}]
sources: [{name: feed, to: belt, interarrival: 1.0}]
conveyors:
  - {name: belt, to: press, length_m: 2.0, speed_mps: 0.5, spacing_m: 0.3, photo_eyes: [{name: eye, at_m: 1.0}]}
stations: [{name: press, to: out, process_time: 0.8}]
sinks: [{name: out}]
"""


def free_port(count: int = 1) -> int:
    """A base port P with P .. P+count-1 free on 127.0.0.1, below Linux's ephemeral range
    (32768-60999), so that clients' own outgoing ports cannot take them while a test runs."""
    rng = random.Random()
    while True:
        port = rng.randrange(20_000, 32_000)
        try:
            for p in range(port, port + count):
                with socket.socket() as s:
                    s.bind(("127.0.0.1", p))
            return port
        except OSError:
            continue
