"""Fixtures: a twin stepping in a thread (as `twin serve` does) with its PLC adapters on free ports."""

from __future__ import annotations

import threading
import time

import pytest

import twin
from tests.net import BELT_SCENE, free_port
from twin.bridge.adapters.host import PlcAdapters
from twin.bridge.signals import SignalMap

SCENE = BELT_SCENE.replace("name: belt_line", "name: adapters_test")


class Served:
    """A twin with PLC adapters, stepped in real time by a background thread until ``close``."""

    def __init__(self, speed: float = 1.0, **adapter_kw) -> None:
        self.tw = twin.Twin(twin.load_scene_text(SCENE), seed=1, trace=False)
        self.signals = SignalMap(self.tw)
        self.adapters = PlcAdapters(self.signals, "adapters_test", **adapter_kw)
        self.adapters.start()
        self.speed = speed
        self._stop = threading.Event()
        self.steps = 0
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def _loop(self) -> None:
        start = time.monotonic()
        while not self._stop.is_set():
            self.adapters.before_step()
            self.tw.step()
            self.adapters.after_step()
            self.steps += 1
            ahead = self.tw.time_s / self.speed - (time.monotonic() - start)
            if ahead > 0:
                time.sleep(ahead)

    def wait_steps(self, n: int = 2, timeout_s: float = 5.0) -> None:
        """Wait until the twin has taken ``n`` more steps (writes are applied, a snapshot is out)."""
        target = self.steps + n
        end = time.monotonic() + timeout_s
        while self.steps < target and time.monotonic() < end:
            time.sleep(0.005)
        assert self.steps >= target, "the twin stopped stepping"

    def close(self) -> None:
        self._stop.set()
        self.thread.join(5)
        self.adapters.close()


@pytest.fixture(scope="module")
def served():
    """Modbus and OPC UA (no security) on free ports, shared by a module's tests."""
    mb, ua_port = free_port(), free_port()
    s = Served(modbus=("127.0.0.1", mb), opcua_url=f"opc.tcp://127.0.0.1:{ua_port}", insecure=True)
    s.modbus_port, s.opcua_url = mb, f"opc.tcp://127.0.0.1:{ua_port}"
    yield s
    s.close()
