"""The bridge between the twin and plant devices: ZeroMQ Clone pattern (``docs/protocol.md``)."""

from .client import CloneClient
from .server import BridgeServer

__all__ = ["BridgeServer", "CloneClient"]
