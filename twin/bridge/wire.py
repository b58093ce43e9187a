"""The bridge's wire format (protocol version 1): a pure codec, no sockets.

Every message is a ZeroMQ multipart message of exactly two frames: a kind (ASCII bytes) and a
msgpack map (the header). Kinds and their header keys are listed in ``docs/protocol.md``. Decoding
never trusts the peer: frame count, sizes, msgpack limits, the version and every key's type are
checked, and anything wrong raises :class:`WireError` with a reason (the caller counts and drops
it, or answers with ``NACK``). No pickle, ever.
"""

from __future__ import annotations

import math

import msgpack

__all__ = ["VERSION", "MAX_FRAME_BYTES", "WireError", "encode", "decode", "KINDS"]

VERSION = 1
MAX_FRAME_BYTES = 1 << 20  # 1 MiB: larger frames are refused before decoding

#: kind -> required header keys and their types
KINDS: dict[bytes, dict[str, tuple[type, ...]]] = {
    b"SNAPSHOT?": {},
    b"SNAPSHOT": {"epoch": (str,), "seq": (int,), "t": (float, int), "values": (dict,), "meta": (dict,)},
    b"DELTA": {"epoch": (str,), "seq": (int,), "t": (float, int), "values": (dict,)},
    b"HUGZ": {"epoch": (str,), "seq": (int,), "t": (float, int)},
    b"SET": {"id": (int,), "values": (dict,)},
    b"ACK": {"id": (int,), "accepted": (list,), "rejected": (dict,)},
    b"NACK": {"reason": (str,)},
    b"STEP": {"id": (int,), "steps": (int,)},
    b"STEPPED": {"id": (int,), "t": (float, int), "seq": (int,)},
}


class WireError(ValueError):
    """A message that does not follow the protocol; ``reason`` says how."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def encode(kind: bytes, **header) -> list[bytes]:
    """The two frames of a message of ``kind`` (header keys as in ``KINDS``; ``v`` is added)."""
    if kind not in KINDS:
        raise ValueError(f"unknown message kind {kind!r}")
    return [kind, msgpack.packb({"v": VERSION, **header}, use_bin_type=True)]


def decode(frames: list[bytes]) -> tuple[bytes, dict]:
    """(kind, header) of a received message.

    Raises:
        WireError: wrong frame count, oversized frame, unknown kind, undecodable msgpack, another
            protocol version, a missing key or a key of the wrong type.
    """
    if len(frames) != 2:
        raise WireError(f"expected 2 frames (kind, header), got {len(frames)}")
    kind, body = bytes(frames[0]), frames[1]
    if len(body) > MAX_FRAME_BYTES:
        raise WireError(f"header frame of {len(body)} bytes exceeds {MAX_FRAME_BYTES}")
    if kind not in KINDS:
        raise WireError(f"unknown message kind {kind[:32]!r}")
    try:
        header = msgpack.unpackb(bytes(body), raw=False, strict_map_key=True,
                                 max_str_len=MAX_FRAME_BYTES, max_bin_len=0, max_array_len=100_000,
                                 max_map_len=100_000, max_ext_len=0)
    except Exception as exc:  # msgpack raises several types for corrupt input
        raise WireError(f"header is not valid msgpack ({type(exc).__name__})") from None
    if not isinstance(header, dict):
        raise WireError("header is not a map")
    if header.get("v") != VERSION:
        raise WireError(f"protocol version {header.get('v')!r} is not {VERSION}")
    for key, types in KINDS[kind].items():
        if key not in header:
            raise WireError(f"{kind.decode()}: missing key {key!r}")
        value = header[key]
        if isinstance(value, bool) or not isinstance(value, types):
            raise WireError(f"{kind.decode()}: key {key!r} has type {type(value).__name__}")
    if "seq" in header and header["seq"] < 0:
        raise WireError("seq must be >= 0")
    if "t" in header and not math.isfinite(header["t"]):
        raise WireError("t must be finite")
    return kind, header
