"""Per-part vision inspection in the line: the camera judges every part (``inspection.vision.per_part``).

Such a station is externally timed in the core: when a part starts there, the core stops and
hands the server over (as it does for transports). This module then draws the part's inspection
time from the station's ``process_time`` (its own stream), builds the part on an
:class:`~twin.sensors.inspection.InspectionBench` — perfect, or, if the core made it defective
upstream, with one of the design's ``defect_kinds`` (drawn from the part's own stream) — takes the
camera's picture, lets the :class:`~twin.sensors.inspection.Inspector` decide, and completes the
server with that verdict. The core routes the part by it and scores it against the truth (the
station's confusion matrix), so precision and recall in the KPIs are the camera's own.
"""

from __future__ import annotations

import numpy as np

from ..core.rng import stream_seed
from ..sampling import draw
from .inspection import InspectionBench, PartDesign

__all__ = ["InlineInspections"]


class InlineInspections:
    """The per-part vision stations of one twin, with one inspection bench each."""

    def __init__(self, scene, engine, seed: int) -> None:
        self.engine = engine
        self.seed = int(seed)
        p, names = engine.params, engine.names
        node_id = {name: i for i, name in enumerate(names.nodes)}
        self._stations: dict[int, tuple] = {}  # node -> (station model, bench, time stream)
        self.servers: set[int] = set()
        for st in scene.stations:
            insp = st.inspection
            if insp is None or insp.vision is None or not insp.vision.per_part:
                continue
            v = insp.vision
            design = PartDesign(length_m=v.length_m, width_m=v.width_m, height_m=v.height_m, hole_m=v.hole_m,
                                tolerance_m=v.tolerance_m)
            n = node_id[st.name]
            times = np.random.default_rng(int(stream_seed(self.seed, st.name, "inspection_time")) >> 1)
            self._stations[n] = (st, InspectionBench(design, v.depth_noise_m, v.pixel_noise), times)
            off = int(p.st_srv_off[n])
            self.servers.update(range(off, off + int(p.node_cap[n])))
        self.judged = 0

    def request(self, servers: list[int], t: float) -> None:
        """Judge the parts that just started on ``servers`` and schedule their completion."""
        e = self.engine
        for server in servers:
            n = int(e.params.srv_node[server])
            st, bench, times = self._stations[n]
            slot = int(e.state.srv_part[server])
            uid = int(e.state.part_uid[slot])
            ptype = e.names.part_types[int(e.state.part_type[slot])]
            duration = draw(st.process_time_by_type.get(ptype, st.process_time), times)
            part_rng = np.random.default_rng(int(stream_seed(self.seed, f"{st.name}#{uid}", "part")) >> 1)
            kinds = st.inspection.vision.defect_kinds
            defect = kinds[int(part_rng.integers(len(kinds)))] if e.state.part_defect[slot] else None
            bench.camera.reseed(int(part_rng.integers(2**62)))
            verdict = bench.judge(defect, part_rng)
            e.complete_external(server, t + duration, failed=not verdict.passed)
            self.judged += 1

    def get_state(self) -> dict:
        return {"times": {n: times.bit_generator.state for n, (_, _, times) in self._stations.items()},
                "judged": self.judged}

    def set_state(self, snapshot: dict) -> None:
        for n, state in snapshot["times"].items():
            self._stations[n][2].bit_generator.state = state
        self.judged = snapshot["judged"]

    def close(self) -> None:
        for _, bench, _ in self._stations.values():
            bench.close()
