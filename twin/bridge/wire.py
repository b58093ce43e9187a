"""The bridge's wire format (protocol version 2): a pure codec, no sockets.

A message is a ZeroMQ multipart message: a kind (ASCII bytes), one msgpack map (the header) and,
for ``BULK`` only, a third frame of raw little-endian float64 values. Kinds and their header keys
are listed in ``docs/protocol.md``. Decoding never trusts the peer: frame count, sizes, msgpack
limits, the version and every key's type are checked, and anything wrong raises
:class:`WireError` with a reason (the caller counts and drops it, or answers with ``NACK``). No
pickle, ever.
"""

from __future__ import annotations

import math
import zlib

import msgpack
import numpy as np

__all__ = ["VERSION", "MAX_FRAME_BYTES", "MAX_BULK_BYTES", "MAX_SNAPSHOT_BYTES", "WireError", "encode", "encode_bulk", "decode",
           "layout_id", "KINDS"]

VERSION = 2
MAX_FRAME_BYTES = 1 << 20  # 1 MiB: larger header frames are refused before decoding
MAX_BULK_BYTES = 8 << 20  # 8 MiB: a BULK array frame (a million float64 values)
MAX_SNAPSHOT_BYTES = 64 << 20  # 64 MiB: a SNAPSHOT's header, as a client accepts it from the twin
BULK_DTYPE = "<f8"

#: kind -> required header keys and their types
KINDS: dict[bytes, dict[str, tuple[type, ...]]] = {
    b"SNAPSHOT?": {},
    b"SNAPSHOT": {"epoch": (str,), "seq": (int,), "t": (float, int), "values": (dict,), "meta": (dict,),
                  "groups": (dict,)},
    b"DELTA": {"epoch": (str,), "seq": (int,), "t": (float, int), "values": (dict,)},
    b"BULK": {"epoch": (str,), "seq": (int,), "t": (float, int), "group": (str,), "layout": (int,),
              "dtype": (str,), "count": (int,)},
    b"HUGZ": {"epoch": (str,), "seq": (int,), "t": (float, int)},
    b"SET": {"id": (int,), "values": (dict,)},
    b"ACK": {"id": (int,), "accepted": (list,), "rejected": (dict,)},
    b"NACK": {"reason": (str,)},
    b"STEP": {"id": (int,), "steps": (int,)},
    b"STEPPED": {"id": (int,), "t": (float, int), "seq": (int,)},
    b"PING": {"id": (int,), "sent": (float, int)},
    b"PONG": {"id": (int,), "sent": (float, int), "t": (float, int)},
    b"HEALTH?": {"id": (int,)},
    b"HEALTH": {"id": (int,), "epoch": (str,), "seq": (int,), "t": (float, int), "stats": (dict,),
                "peers": (dict,), "stale": (dict,)},
}


class WireError(ValueError):
    """A message that does not follow the protocol; ``reason`` says how."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def layout_id(names) -> int:
    """The id of a group's layout (its ordered numeric signal names): CRC-32 of the names joined
    by ``\\n``, UTF-8."""
    return zlib.crc32("\n".join(names).encode())


def encode(kind: bytes, **header) -> list[bytes]:
    """The two frames of a message of ``kind`` (header keys as in ``KINDS``; ``v`` is added)."""
    if kind not in KINDS or kind == b"BULK":
        raise ValueError(f"unknown message kind {kind!r} (BULK: encode_bulk)")
    return [kind, msgpack.packb({"v": VERSION, **header}, use_bin_type=True)]


def encode_bulk(epoch: str, seq: int, t: float, group: str, layout: int, values: np.ndarray) -> list:
    """The three frames of a ``BULK``: kind, header, the values as raw little-endian float64
    (``values`` itself when it already is that, so that zmq can send it without a copy)."""
    data = np.ascontiguousarray(values, dtype=BULK_DTYPE)
    header = msgpack.packb({"v": VERSION, "epoch": epoch, "seq": seq, "t": t, "group": group, "layout": layout,
                            "dtype": BULK_DTYPE, "count": int(data.size)})
    return [b"BULK", header, data]


def decode(frames: list, max_header: int = MAX_FRAME_BYTES) -> tuple[bytes, dict]:
    """(kind, header) of a received message; for ``BULK`` the header has one more key, ``data``:
    the values, a read-only float64 array over the third frame (no copy). ``max_header``: the
    largest header frame accepted (a client takes snapshots up to ``MAX_SNAPSHOT_BYTES``).

    Raises:
        WireError: wrong frame count, oversized frame, unknown kind, undecodable msgpack, another
            protocol version, a missing key or a key of the wrong type, a bulk frame whose length
            is not ``count`` float64 values.
    """
    if len(frames) not in (2, 3):
        raise WireError(f"expected 2 frames (kind, header) or 3 (BULK), got {len(frames)}")
    kind, body = bytes(frames[0]), frames[1]
    if len(body) > max_header:
        raise WireError(f"header frame of {len(body)} bytes exceeds {max_header}")
    if kind not in KINDS:
        raise WireError(f"unknown message kind {kind[:32]!r}")
    if (len(frames) == 3) != (kind == b"BULK"):
        raise WireError(f"{kind.decode()}: expected {3 if kind == b'BULK' else 2} frames, got {len(frames)}")
    try:
        items = max(100_000, max_header // 16)
        header = msgpack.unpackb(bytes(body), raw=False, strict_map_key=True,
                                 max_str_len=MAX_FRAME_BYTES, max_bin_len=0, max_array_len=items,
                                 max_map_len=items, max_ext_len=0)
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
    schema = KINDS[kind]  # keys a kind does not define are ignored, whatever their type
    if "seq" in schema and header["seq"] < 0:
        raise WireError("seq must be >= 0")
    for key in ("t", "sent"):
        if key in schema and key in header and not math.isfinite(header[key]):
            raise WireError(f"{key} must be finite")
    if kind == b"BULK":
        header["data"] = _bulk_data(header, frames[2])
    return kind, header


def _bulk_data(header: dict, frame) -> np.ndarray:
    if header["dtype"] != BULK_DTYPE:
        raise WireError(f"BULK: dtype {header['dtype'][:16]!r} is not {BULK_DTYPE!r}")
    buf = memoryview(frame.buffer if hasattr(frame, "buffer") else frame)  # a zmq.Frame (copy=False), bytes
    size = buf.nbytes
    if size > MAX_BULK_BYTES:
        raise WireError(f"BULK: array frame of {size} bytes exceeds {MAX_BULK_BYTES}")
    if header["count"] < 0 or size != 8 * header["count"]:
        raise WireError(f"BULK: array frame of {size} bytes does not hold count={header['count']} float64 values")
    return np.frombuffer(buf.cast("B") if buf.ndim != 1 or buf.itemsize != 1 else buf, dtype=BULK_DTYPE)
