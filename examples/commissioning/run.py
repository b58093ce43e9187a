"""Virtual commissioning of a conveyor + robot cell: the twin plays the plant, a control program the PLC.

    .venv/bin/python examples/commissioning/run.py --transport modbus           # right logic: runs
    .venv/bin/python examples/commissioning/run.py --transport opcua --wrong    # wrong logic: caught

The twin serves the cell (``cell.yaml``) over Modbus TCP or OPC UA on 127.0.0.1, paced at ``--speed``
times real time; the control program (``plc_modbus.py`` / ``plc_opcua.py``, logic in ``plc_logic.py``)
runs its scan cycle against it. The robot station waits for the program's start command
(``twin.bridge.adapters.robotcell.RobotCell``), which also reports a jam or a collision with the signal
history that led to it. Exit code 0: parts flowed and nothing went wrong; 1: a fault was reported.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import plc_logic  # noqa: E402

import twin  # noqa: E402
from twin.bridge.adapters.host import PlcAdapters  # noqa: E402
from twin.bridge.adapters.tagmap import load_overrides, load_robot_cells  # noqa: E402
from twin.bridge.signals import SignalMap  # noqa: E402


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def commission(transport: str = "modbus", wrong: bool = False, sim_s: float = 40.0, speed: float = 4.0) -> dict:
    """Run the cell for ``sim_s`` simulated seconds under the control program; return what happened."""
    scene = twin.load_scene(HERE / "cell.yaml")
    tw = twin.Twin(scene, trace=False)
    signals = SignalMap(tw)
    port = _free_port()
    kw = {"modbus": ("127.0.0.1", port)} if transport == "modbus" else \
        {"opcua_url": f"opc.tcp://127.0.0.1:{port}", "insecure": True}
    adapters = PlcAdapters(signals, scene.name, overrides=load_overrides(HERE / "tags.yaml"), **kw)
    (cell,) = adapters.add_robot_cells(load_robot_cells(HERE / "tags.yaml"))  # the robot waits for the PLC
    adapters.start()
    stop = threading.Event()

    def plant() -> None:  # the twin's loop: bridge_in, step, bridge_out, paced to the wall clock
        start = time.monotonic()
        while not stop.is_set() and tw.time_s < sim_s:
            adapters.before_step()
            tw.step()
            adapters.after_step()
            ahead = tw.time_s / speed - (time.monotonic() - start)
            if ahead > 0:
                time.sleep(ahead)

    thread = threading.Thread(target=plant, name="plant", daemon=True)
    thread.start()
    logic = plc_logic.scan_wrong if wrong else plc_logic.scan
    try:
        if transport == "modbus":
            from plc_modbus import run_plc

            plc = asyncio.run(run_plc("127.0.0.1", port, sim_s / speed, logic=logic))
        else:
            from plc_opcua import run_plc

            plc = asyncio.run(run_plc(f"opc.tcp://127.0.0.1:{port}", adapters.tagmap.namespace, sim_s / speed,
                                      logic=logic))
    finally:
        stop.set()
        thread.join(10)
        adapters.close()
    report = cell.report()
    report.update(plc=plc, t_s=tw.time_s, parts_out=int(tw.engine.sink_counts().sum()),
                  released=signals.read()["cell/feeder.released"])
    return report


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--transport", choices=("modbus", "opcua"), default="modbus")
    ap.add_argument("--wrong", action="store_true", help="run the deliberately wrong control logic")
    ap.add_argument("--sim-s", type=float, default=40.0, help="simulated seconds to run")
    ap.add_argument("--speed", type=float, default=4.0, help="simulated seconds per wall second")
    a = ap.parse_args()
    r = commission(a.transport, a.wrong, a.sim_s, a.speed)
    print(f"{a.transport}, {'wrong' if a.wrong else 'right'} logic: {r['cycles']} robot cycles, {r['parts_out']} "
          f"parts out of {r['released']} released in {r['t_s']:.1f} s simulated ({r['plc']['scans']} PLC scans)")
    if r["fault"] != "none":
        print(f"FAULT {r['text']}\nsignal history before it (t_s, signal, value):")
        for row in r["history"][-15:]:
            print(f"  {row[0]:8.3f}  {row[1]:32s} {row[2]}")
        return 1
    return 0 if r["cycles"] > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
