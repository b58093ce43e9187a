"""Recording the bridge's traffic to MCAP, and replaying a recording into a twin.

Every message the bridge takes in (``in/SET``, ``in/STEP``, ``in/SNAPSHOT?``, ``in/PING``,
``in/HEALTH?``) or sends out (``out/BULK``, ``out/DELTA``, ``out/HUGZ``, ``out/SNAPSHOT``,
``out/ACK``, ``out/STEPPED``, ``out/NACK``, ``out/PONG``, ``out/HEALTH``) is written to an MCAP
file as it happens: one channel per direction and kind (message encoding ``msgpack``: the
message's header frame as sent; for ``BULK`` the header with one more key, ``data``, the array
frame's bytes), and ``config/groups`` (the signal groups, at the start and when reconfigured), ``log_time`` the wall clock and ``publish_time``
the twin's simulated time, in nanoseconds. MCAP is what robotics and integration tools read
(Foxglove and others), so a plant incident can be looked at, and fed back.

:func:`replay` builds a fresh twin of the same scene and seed, applies each recorded write at the
simulated time it was applied (writes are taken in before the control step, so the twin's
trajectory is reproduced exactly), runs to the end of the recording, and compares the deltas it
publishes with the recorded ones.
"""

from __future__ import annotations

import time
from pathlib import Path

import msgpack

from ..errors import UsageError

__all__ = ["Recorder", "read_recording", "replay"]


class Recorder:
    def __init__(self, path: str | Path) -> None:
        from mcap.writer import Writer

        try:
            self._fh = open(path, "wb")  # noqa: SIM115 - closed in close()
        except OSError as exc:
            raise UsageError(f"cannot write the recording {str(path)!r}: {exc.strerror}") from None
        self._writer = Writer(self._fh)
        self._writer.start(profile="twin-bridge", library="twin")
        self._channels: dict[str, int] = {}
        self._seq = 0

    def write(self, topic: str, body: bytes, sim_t_s: float) -> None:
        channel = self._channels.get(topic)
        if channel is None:
            channel = self._writer.register_channel(topic=topic, message_encoding="msgpack", schema_id=0)
            self._channels[topic] = channel
        self._seq += 1
        self._writer.add_message(channel_id=channel, log_time=time.time_ns(), data=bytes(body),
                                 publish_time=max(0, round(sim_t_s * 1e9)), sequence=self._seq)

    def close(self) -> None:
        if self._fh is not None:
            self._writer.finish()
            self._fh.close()
            self._fh = None


def read_recording(path: str | Path) -> list[tuple[str, float, dict]]:
    """(topic, simulated time s, header) of every recorded message, in recording order."""
    from mcap.reader import make_reader

    try:
        fh = open(path, "rb")  # noqa: SIM115
    except OSError as exc:
        raise UsageError(f"cannot read the recording {str(path)!r}: {exc.strerror}") from None
    out = []
    with fh:
        try:
            for _, channel, message in make_reader(fh).iter_messages(log_time_order=False):
                out.append((channel.topic, message.publish_time / 1e9, msgpack.unpackb(message.data)))
        except Exception as exc:  # a truncated or foreign file
            raise UsageError(f"{str(path)!r} is not a readable twin recording: {exc}") from None
    return out


def replay(twin, recording: list[tuple[str, float, dict]], speed: float = 0.0) -> dict:
    """Feed a recording's writes into ``twin`` (a fresh Twin of the recorded scene and seed).

    ``speed``: simulated seconds per wall second (0: as fast as possible). Returns counts and how
    many recorded deltas (``BULK`` and ``DELTA`` messages) the replay reproduced exactly.
    """
    from .groups import Publisher
    from .signals import SignalMap

    signals = SignalMap(twin)
    configs = [h for topic, _, h in recording if topic == "config/groups"]
    config = configs[-1] if configs else {}  # the groups as configured before the first step
    publisher = Publisher(signals, config.get("groups"), config.get("deadbands"))
    writes = [(t, h["values"]) for topic, t, h in recording if topic == "in/SET"]
    steps = [(t, h["steps"]) for topic, t, h in recording if topic == "in/STEP"]
    recorded = [_published(topic, h) for topic, _, h in recording if topic in ("out/BULK", "out/DELTA")]
    end = max((t for _, t, _ in recording), default=0.0)
    applied = refused = 0
    published: list = []
    publisher.start(signals.read())
    start = time.monotonic()
    wi = 0

    def publish() -> None:
        values = signals.read()
        strings: dict = {}
        for group, numbers, changed in publisher.step(values, values["t_s"]):
            if numbers is not None:
                published.append(("BULK", group.name, numbers.astype("<f8").tobytes()))
            strings.update(changed or {})
        if strings:
            published.append(("DELTA", strings))

    while True:
        while wi < len(writes) and writes[wi][0] <= twin.time_s + 1e-9:
            values = writes[wi][1]
            if all(signals.check(n, v) is None for n, v in values.items()):
                for n, v in values.items():
                    signals.write(n, v)
                applied += 1
            else:
                refused += 1
            wi += 1
        if twin.time_s >= end - 1e-9:
            break
        twin.step()
        publish()
        if speed > 0:
            ahead = twin.time_s / speed - (time.monotonic() - start)
            if ahead > 0:
                time.sleep(min(ahead, 0.1))
    matched = sum(1 for rec, rep in zip(recorded, published, strict=False) if rec == rep)
    return {"writes_applied": applied, "writes_refused": refused, "lockstep_requests": len(steps),
            "t_end_s": twin.time_s, "recorded_deltas": len(recorded), "replayed_deltas": len(published),
            "deltas_matching": matched}


def _published(topic: str, header: dict) -> tuple:
    """A recorded BULK or DELTA, as :func:`replay` lists what it publishes."""
    if topic == "out/BULK":
        return ("BULK", header["group"], header["data"])
    return ("DELTA", header["values"])
