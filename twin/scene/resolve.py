"""Cross-reference and topology checks that a single field cannot express.

Every reference (``to:``, diverter outputs, part types, calendars) must name an existing element of
the right kind; every element must be reachable from a source and have a path to a sink; routers
(diverters, merges) must not form a loop by themselves; and no zero-time path may let an
always-available source release infinitely many parts in one instant. Finally the scene as a
whole must fit the preallocated state arrays (:data:`MAX_TOTAL_SLOTS`).
"""

from __future__ import annotations

import difflib
import math
from collections import defaultdict, deque

from .lanes import clearance_problem
from .models import Scene
from .yaml_source import YamlSource
from .yaml_source import shorten as _short

__all__ = ["check_references", "element_kinds", "MAX_TOTAL_SLOTS"]

#: Upper bound on the summed capacity of all elements, and on elements x part types: the engine
#: preallocates arrays of these sizes, and per-element caps alone let 100 000 buffers ask for 10^11.
MAX_TOTAL_SLOTS = 10_000_000

SENDERS = ("sources", "buffers", "conveyors", "stations", "transports", "storages")
RECEIVERS = ("buffers", "conveyors", "stations", "sinks", "diverters", "merges", "transports", "storages")
_KIND_WORD = {"sources": "source", "buffers": "buffer", "conveyors": "conveyor", "stations": "station",
              "sinks": "sink", "diverters": "diverter", "merges": "merge", "transports": "transport",
              "storages": "storage"}
#: every section of line elements, in the order their ids are given
ELEMENT_SECTIONS = ("sources", "buffers", "conveyors", "stations", "diverters", "merges", "sinks",
                    "transports", "storages")


SENSOR_SECTIONS = ("cameras", "break_beams", "proximity", "laser_profilers", "logical_cameras", "encoders")


def element_kinds(scene: Scene) -> dict[str, str]:
    """Map every element name to its section (``'stations'``, ``'buffers'``, ...)."""
    out: dict[str, str] = {}
    for section in ELEMENT_SECTIONS:
        for el in getattr(scene, section):
            out[el.name] = section
    return out


def _suggest(name: str, valid: list[str]) -> str:
    close = difflib.get_close_matches(name, valid, n=1, cutoff=0.6)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    shown = valid if len(valid) <= 20 else valid[:20] + ["..."]
    return f"{hint} Valid: {shown}"


def check_references(scene: Scene, src: YamlSource) -> None:
    """Raise SceneError (with file, line, key path) for the first broken reference or topology rule."""
    kinds: dict[str, str] = {}
    first_at: dict[str, tuple] = {}
    for section in ELEMENT_SECTIONS:
        for i, el in enumerate(getattr(scene, section)):
            if el.name in kinds:
                raise src.error((section, i, "name"), f"duplicate element name {el.name!r} "
                                f"(first defined at {_fmt(first_at[el.name])})")
            kinds[el.name] = section
            first_at[el.name] = (section, i)
    _unique(scene.part_types, "part_types", src)
    _unique(scene.calendars, "calendars", src)
    part_types = [p.name for p in scene.part_types]
    calendars = [c.name for c in scene.calendars]
    receivers = sorted(n for n, k in kinds.items() if k in RECEIVERS)

    def need_receiver(name: str, where: tuple) -> None:
        if name not in kinds:
            raise src.error(where, f"no element named {_short(name)}.{_suggest(name, receivers)}")
        if kinds[name] == "sources":
            raise src.error(where, f"{name!r} is a source and cannot receive parts.{_suggest(name, receivers)}")

    def need_part_type(name: str, where: tuple) -> None:
        if name not in part_types:
            raise src.error(where, f"no part type named {name!r}.{_suggest(name, part_types)}")

    def need_calendar(name: str | None, where: tuple) -> None:
        if name is not None and name not in calendars:
            raise src.error(where, f"no calendar named {_short(name)}.{_suggest(name, calendars)}")

    eye_names: set[str] = set()
    for i, cv in enumerate(scene.conveyors):
        for j, eye in enumerate(cv.photo_eyes):
            full = f"{cv.name}/{eye.name}"
            if full in eye_names or full in kinds:
                raise src.error(("conveyors", i, "photo_eyes", j, "name"), f"duplicate name {full!r}")
            eye_names.add(full)

    for section in ("sources", "buffers", "conveyors", "stations", "merges", "transports", "storages"):
        for i, el in enumerate(getattr(scene, section)):
            need_receiver(el.to, (section, i, "to"))
    for i, s in enumerate(scene.sources):
        if s.part_type:
            need_part_type(s.part_type, ("sources", i, "part_type"))
        for key in s.part_mix or {}:
            need_part_type(key, ("sources", i, "part_mix", key))
        for j, rel in enumerate(s.schedule or []):
            if rel.part_type:
                need_part_type(rel.part_type, ("sources", i, "schedule", j, "part_type"))
        need_calendar(s.calendar, ("sources", i, "calendar"))
        if s.interarrival is not None and _always_zero(s.interarrival):
            raise src.error(("sources", i, "interarrival"), "interarrival time is always 0 "
                            "(infinitely many parts per instant); use a positive time")
    for i, st in enumerate(scene.stations):
        for key in st.process_time_by_type:
            need_part_type(key, ("stations", i, "process_time_by_type", key))
        need_calendar(st.calendar, ("stations", i, "calendar"))
        for key, dist in [("process_time", st.process_time)] + [
                (("process_time_by_type", k), d) for k, d in st.process_time_by_type.items()]:
            if _always_zero(dist) and st.robot_cell is None:
                path = ("stations", i) + (key if isinstance(key, tuple) else (key,))
                raise src.error(path, "process time is always 0; a station needs a positive time")
        cell = st.robot_cell
        if cell is not None and cell.pick_from is not None:
            _check_pick_from(scene, i, st, kinds, src)
        if cell is not None and cell.place_on is not None:
            _check_place_on(scene, i, st, kinds, src)
        malfunctions = [] if cell is None else [(("robot_cell", "malfunctions", j), f)
                                                for j, f in enumerate(cell.malfunctions)]
        for where, f in [(("failures", j), f) for j, f in enumerate(st.failures)] + malfunctions:
            # Failing the instant it is repaired: never works, and with a zero repair time the
            # fail/repair events repeat forever at one instant.
            if _always_zero(f.ttf()):
                raise src.error(("stations", i, *where, "time_to_failure"),
                                "time to failure is always 0; use a positive time")
    for i, d in enumerate(scene.diverters):
        if d.rule == "by_part_type":
            for key, target in d.routes.items():
                need_part_type(key, ("diverters", i, "routes", key))
                need_receiver(target, ("diverters", i, "routes", key))
            if d.default:
                need_receiver(d.default, ("diverters", i, "default"))
            else:
                missing = [p for p in part_types if p not in d.routes]
                if missing:
                    raise src.error(("diverters", i, "routes"), f"no route for part type(s) {missing}; "
                                    "add them or give 'default'")
        elif d.rule == "by_inspection":
            need_receiver(d.on_pass, ("diverters", i, "on_pass"))
            need_receiver(d.on_fail, ("diverters", i, "on_fail"))
        else:
            for j, target in enumerate(d.outputs):
                need_receiver(target, ("diverters", i, "outputs", j))
    for i, m in enumerate(scene.merges):
        for j, name in enumerate(m.inputs or []):
            if kinds.get(name) not in SENDERS:
                valid = sorted(n for n, k in kinds.items() if k in SENDERS)
                raise src.error(("merges", i, "inputs", j), f"no source, buffer, conveyor or station named "
                                f"{name!r}.{_suggest(name, valid)}")
        if m.rule == "priority" and not m.inputs:
            raise src.error(("merges", i, "inputs"), "rule 'priority' needs 'inputs' in priority order")
    _check_fleets(scene, src)
    _check_robot_bases(scene, src)
    _check_cameras(scene, src)
    _check_faults(scene, src)
    for i, fx in enumerate(scene.fixtures):
        if fx.name in kinds:
            raise src.error(("fixtures", i, "name"), f"fixture name {fx.name!r} is also an element name; "
                            "bodies of the 3D world need distinct names")
    _unique(scene.fixtures, "fixtures", src)
    _check_size(scene, src)
    _check_topology(scene, kinds, src, first_at)
    _check_merge_inputs(scene, kinds, src)


#: two robot bases closer than this stand in each other (an arm's base is about 0.3 m across)
MIN_ROBOT_BASE_DISTANCE_M = 0.5


def _check_robot_bases(scene: Scene, src: YamlSource) -> None:
    cells = [(i, st) for i, st in enumerate(scene.stations) if st.robot_cell is not None]
    for k, (i, a) in enumerate(cells):
        for j, b in cells[:k]:
            d = math.dist(a.robot_cell.base_xyz_m, b.robot_cell.base_xyz_m)
            if d < MIN_ROBOT_BASE_DISTANCE_M:
                raise src.error(("stations", i, "robot_cell", "base_xyz_m"),
                                f"the robot of {a.name!r} stands {d:.2f} m from the robot of {b.name!r} "
                                f"(stations[{j}]); two arms need their bases at least "
                                f"{MIN_ROBOT_BASE_DISTANCE_M} m apart")


def _check_pick_bin(scene: Scene, i: int, st, fixture, src: YamlSource) -> None:
    """A robot cell picking from a bin: a static ``bin`` fixture, ``pick_xyz_m`` over its inside,
    no camera (it looks at a belt). Whether the part fits is checked when the cell is measured."""
    cell = st.robot_cell
    where = ("stations", i, "robot_cell")
    if fixture.shape != "bin":
        raise src.error(where + ("pick_from",), f"fixture {fixture.name!r} is a {fixture.shape}; pick_from takes "
                                                "a conveyor or a fixture of shape bin")
    if fixture.mass_kg > 0:
        raise src.error(where + ("pick_from",), f"bin {fixture.name!r} is a loose body (mass_kg "
                                                f"{fixture.mass_kg:g}); a robot picks from a static bin (mass_kg 0)")
    if cell.vision_guided:
        raise src.error(where + ("vision_guided",), "vision_guided: the camera looks at a belt; pick_from names "
                                                    f"the bin {fixture.name!r}")
    sx, sy, _ = fixture.size_m
    wall = min(fixture.wall_m, 0.25 * min(sx, sy))
    yaw = math.radians(fixture.yaw_deg)
    dx, dy = cell.pick_xyz_m[0] - fixture.xyz_m[0], cell.pick_xyz_m[1] - fixture.xyz_m[1]
    lx, ly = dx * math.cos(yaw) + dy * math.sin(yaw), -dx * math.sin(yaw) + dy * math.cos(yaw)
    if abs(lx) > 0.5 * sx - wall or abs(ly) > 0.5 * sy - wall:
        raise src.error(where + ("pick_xyz_m",), f"pick_xyz_m ({cell.pick_xyz_m[0]:g}, {cell.pick_xyz_m[1]:g}) is "
                                                 f"not over the inside of bin {fixture.name!r}")


def _check_pick_from(scene: Scene, i: int, st, kinds: dict[str, str], src: YamlSource) -> None:
    """A robot cell's ``pick_from`` is a conveyor that feeds its station (directly, or through
    merges and diverters), and ``pick_xyz_m`` lies on that belt when the conveyor has a geometry;
    or a bin fixture (``_check_pick_bin``)."""
    cell = st.robot_cell
    where = ("stations", i, "robot_cell", "pick_from")
    conveyors = {c.name: c for c in scene.conveyors}
    fixture = next((f for f in scene.fixtures if f.name == cell.pick_from), None)
    if fixture is not None:
        _check_pick_bin(scene, i, st, fixture, src)
        return
    if kinds.get(cell.pick_from) != "conveyors":
        bins = [f.name for f in scene.fixtures if f.shape == "bin"]
        raise src.error(where, f"no conveyor or bin fixture named {cell.pick_from!r}."
                               f"{_suggest(cell.pick_from, list(conveyors) + bins)}")
    cv = conveyors[cell.pick_from]
    succ = successors(scene)
    routers = {n: succ[n] for n in succ if kinds.get(n) in ("merges", "diverters")}
    if st.name not in reachable_from([cv.to], routers):
        raise src.error(where, f"conveyor {cv.name!r} does not feed station {st.name!r} (it sends its parts to "
                               f"{cv.to!r}); a robot picks from the belt that brings its station's parts")
    _check_over_belt(cv, cell.pick_xyz_m, ("stations", i, "robot_cell", "pick_xyz_m"), src)


def _check_over_belt(cv, xyz, where: tuple, src: YamlSource) -> None:
    """A robot cell's pick or place point lies over conveyor ``cv``'s belt (when it has a geometry)."""
    g = cv.geometry
    if g is None:
        return
    sx, sy, _ = g.start_xyz_m
    ex, ey, _ = g.end_xyz_m
    px, py, _ = xyz
    dx, dy = ex - sx, ey - sy
    length = math.hypot(dx, dy)
    if length == 0:
        return
    along = ((px - sx) * dx + (py - sy) * dy) / length
    across = abs((px - sx) * dy - (py - sy) * dx) / length
    if not (-1e-6 <= along <= length + 1e-6) or across > 0.5 * g.width_m + 1e-6:
        raise src.error(where, f"{where[-1]} ({px:g}, {py:g}) is not over conveyor {cv.name!r}: it is {along:.2f} m "
                               f"along its {length:.2f} m and {across:.2f} m from its centre line (belt "
                               f"{g.width_m:g} m wide)")


def _check_place_on(scene: Scene, i: int, st, kinds: dict[str, str], src: YamlSource) -> None:
    """A robot cell's ``place_on`` is a conveyor its station sends parts to (directly, or through merges
    and diverters), and ``place_xyz_m`` lies on that belt when the conveyor has a geometry."""
    cell = st.robot_cell
    where = ("stations", i, "robot_cell", "place_on")
    conveyors = {c.name: c for c in scene.conveyors}
    if kinds.get(cell.place_on) != "conveyors":
        raise src.error(where, f"no conveyor named {cell.place_on!r}.{_suggest(cell.place_on, list(conveyors))}")
    succ = successors(scene)
    routers = {n: succ[n] for n in succ if kinds.get(n) in ("merges", "diverters")}
    if cell.place_on not in reachable_from([st.to], routers):
        raise src.error(where, f"station {st.name!r} does not send its parts to conveyor {cell.place_on!r} (it "
                               f"sends them to {st.to!r}); a robot places onto the belt that takes its parts away")
    _check_over_belt(conveyors[cell.place_on], cell.place_xyz_m, ("stations", i, "robot_cell", "place_xyz_m"), src)


def _check_fleets(scene: Scene, src: YamlSource) -> None:
    """AGV path graphs: unique nodes, edges between known nodes, connected, dead-end stations."""
    _unique(scene.agv_fleets, "agv_fleets", src)
    graphs: dict[str, tuple[dict[str, set[str]], list[str]]] = {}
    for i, fleet in enumerate(scene.agv_fleets):
        adj: dict[str, set[str]] = {}
        for j, node in enumerate(fleet.nodes):
            if node.name in adj:
                raise src.error(("agv_fleets", i, "nodes", j, "name"), f"duplicate node name {node.name!r}")
            adj[node.name] = set()
        names = list(adj)
        for j, (a, b) in enumerate(fleet.edges):
            for k, n in enumerate((a, b)):
                if n not in adj:
                    raise src.error(("agv_fleets", i, "edges", j, k), f"no node named {n!r}.{_suggest(n, names)}")
            if a == b:
                raise src.error(("agv_fleets", i, "edges", j), f"edge from {a!r} to itself")
            adj[a].add(b)
            adj[b].add(a)
        reached = reachable_from([names[0]], {n: sorted(m) for n, m in adj.items()})
        if len(reached) != len(names):
            lost = [n for n in names if n not in reached]
            raise src.error(("agv_fleets", i, "edges"), f"the path graph is disconnected: {lost[:10]} "
                            f"cannot be reached from {names[0]!r}")
        xy = {node.name: (float(node.xy_m[0]), float(node.xy_m[1])) for node in fleet.nodes}
        diagonal = math.hypot(fleet.chassis_m[0], fleet.chassis_m[1])
        problem = clearance_problem(xy, [tuple(e) for e in fleet.edges], diagonal)
        if problem:
            raise src.error(("agv_fleets", i, "edges"), problem)
        seen: set[str] = set()
        for j, p in enumerate(fleet.parking):
            where = ("agv_fleets", i, "parking", j)
            if p not in adj:
                raise src.error(where, f"no node named {p!r}.{_suggest(p, names)}")
            if len(adj[p]) != 1:
                raise src.error(where, f"parking node {p!r} must be a dead end (one edge), it has {len(adj[p])}")
            if p in seen:
                raise src.error(where, f"two vehicles cannot share parking node {p!r}")
            seen.add(p)
        graphs[fleet.name] = (adj, names)
    for i, st in enumerate(scene.storages):
        for j, (b, lv) in enumerate(st.blocked_slots):
            if b >= st.bays or lv >= st.levels:
                raise src.error(("storages", i, "blocked_slots", j), f"rack slot ({b}, {lv}) does not exist: "
                                f"bays are 0..{st.bays - 1}, levels 0..{st.levels - 1}")
        if st.capacity < 1:
            raise src.error(("storages", i, "blocked_slots"), "every slot of the rack is blocked")
    for i, tr in enumerate(scene.transports):
        if tr.fleet not in graphs:
            raise src.error(("transports", i, "fleet"),
                            f"no AGV fleet named {tr.fleet!r}.{_suggest(tr.fleet, list(graphs))}")
        adj, names = graphs[tr.fleet]
        fleet = next(f for f in scene.agv_fleets if f.name == tr.fleet)
        for key in ("pickup", "dropoff"):
            n = getattr(tr, key)
            if n not in adj:
                raise src.error(("transports", i, key), f"no node named {n!r} in fleet {tr.fleet!r}."
                                f"{_suggest(n, names)}")
            if len(adj[n]) != 1:
                raise src.error(("transports", i, key), f"station node {n!r} must be a dead end (one edge), "
                                f"it has {len(adj[n])}")
            if n in fleet.parking:
                raise src.error(("transports", i, key), f"{n!r} is a parking node; use another dead end")
        if tr.pickup == tr.dropoff:
            raise src.error(("transports", i, "dropoff"), "pickup and dropoff are the same node")


def _check_cameras(scene: Scene, src: YamlSource) -> None:
    """Camera names are unique; intrinsics are valid; a mount names a robot cell and one of its links."""
    from ..errors import UsageError

    seen: dict[str, tuple] = {}
    for section in SENSOR_SECTIONS:
        for i, sensor in enumerate(getattr(scene.sensors, section)):
            if sensor.name in seen:
                raise src.error(("sensors", section, i, "name"), f"duplicate sensor name {sensor.name!r} "
                                f"(first: sensors.{seen[sensor.name][0]}[{seen[sensor.name][1]}])")
            seen[sensor.name] = (section, i)
    conveyors = [c.name for c in scene.conveyors]
    for i, enc in enumerate(scene.sensors.encoders):
        if enc.conveyor not in conveyors:
            raise src.error(("sensors", "encoders", i, "conveyor"), f"encoder {enc.name!r}: no conveyor named "
                            f"{enc.conveyor!r}.{_suggest(enc.conveyor, conveyors)}")
    robots = {st.name: st.robot_cell for st in scene.stations if st.robot_cell is not None}
    for i, cam in enumerate(scene.sensors.cameras):
        where = ("sensors", "cameras", i)
        try:
            cam.intrinsics()
        except UsageError as exc:
            raise src.error(where + ("k" if cam.k is not None else "width",), f"camera {cam.name!r}: {exc}") from None
        if cam.mount is None:
            continue
        if cam.mount.robot not in robots:
            raise src.error(where + ("mount", "robot"), f"camera {cam.name!r}: no station with a robot cell named "
                            f"{cam.mount.robot!r}.{_suggest(cam.mount.robot, sorted(robots))}")
        links = _urdf_links(robots[cam.mount.robot].urdf, src.path)
        if links is not None and cam.mount.link not in links:
            raise src.error(where + ("mount", "link"), f"camera {cam.name!r}: robot {cam.mount.robot!r} has no link "
                            f"named {cam.mount.link!r}.{_suggest(cam.mount.link, sorted(links))}")


def _check_faults(scene: Scene, src: YamlSource) -> None:
    """Scheduled faults have unique names and a target of the kind they act on."""
    stations = {s.name: s for s in scene.stations}
    sensors = [s.name for sec in SENSOR_SECTIONS for s in getattr(scene.sensors, sec)]
    targets = {
        "station_down": sorted(stations),
        "robot_malfunction": sorted(n for n, s in stations.items() if s.robot_cell is not None),
        "conveyor_stop": sorted(c.name for c in scene.conveyors),
        "sensor_blackout": sorted(sensors + [n for n, s in stations.items()
                                             if s.inspection is not None and s.inspection.vision is not None]),
    }
    what = {"station_down": "station", "robot_malfunction": "station with a robot_cell",
            "conveyor_stop": "conveyor", "sensor_blackout": "sensor, camera or vision-inspection station"}
    seen: dict[str, int] = {}
    for i, fault in enumerate(scene.faults):
        if fault.name in seen:
            raise src.error(("faults", i, "name"), f"duplicate fault name {fault.name!r} (first: faults[{seen[fault.name]}])")
        seen[fault.name] = i
        valid = targets[fault.kind]
        if fault.target not in valid:
            raise src.error(("faults", i, "target"), f"fault {fault.name!r} ({fault.kind}): no "
                            f"{what[fault.kind]} named {fault.target!r}.{_suggest(fault.target, valid)}")


def _urdf_links(urdf: str, scene_path: str) -> list[str] | None:
    """Link names of a URDF file (next to the scene file, or in pybullet_data); None if not found
    (the robot cell reports a missing URDF itself)."""
    import xml.etree.ElementTree as ET

    from .assets_path import candidates

    for candidate in candidates(urdf, scene_path):
        if candidate.is_file():
            try:
                return [el.get("name") for el in ET.parse(candidate).getroot().iter("link")]
            except ET.ParseError:
                return None
    return None


def _check_size(scene: Scene, src: YamlSource) -> None:
    slots = sum(b.capacity for b in scene.buffers) + sum(s.capacity for s in scene.stations) + sum(
        int(c.length_m / c.spacing_m) + 1 for c in scene.conveyors) + sum(
        t.capacity for t in scene.transports) + sum(s.capacity for s in scene.storages)
    if slots > MAX_TOTAL_SLOTS:
        raise src.error((), f"the scene holds {slots} parts at most (buffer capacities + station "
                        f"capacities + conveyor places); the limit is {MAX_TOTAL_SLOTS}")
    n_elements = sum(len(getattr(scene, section)) for section in _KIND_WORD)
    if n_elements * len(scene.part_types) > MAX_TOTAL_SLOTS:
        raise src.error(("part_types",), f"{n_elements} elements x {len(scene.part_types)} part types is "
                        f"more than {MAX_TOTAL_SLOTS}; use fewer part types or elements")


def _check_merge_inputs(scene: Scene, kinds: dict[str, str], src: YamlSource) -> None:
    """A merge's ``inputs`` must be exactly the senders that feed it (directly or through routers).

    The engine ranks a priority merge's feeders by their place in ``inputs``: a listed element that
    does not feed the merge would be a silent no-op, and an unlisted feeder would get no rank.
    """
    listed = {m.name for m in scene.merges if m.inputs is not None}
    if not listed:
        return
    succ = successors(scene)
    routers = {n: succ[n] for n, k in kinds.items() if k in ("diverters", "merges")}
    # One closure per sender, as the engine's compile step does: linear in the senders.
    feeders: dict[str, list[str]] = defaultdict(list)
    for section in SENDERS:
        for el in getattr(scene, section):
            for name in reachable_from([el.to], routers) & listed:
                feeders[name].append(el.name)
    for i, m in enumerate(scene.merges):
        if m.inputs is None:
            continue
        feeding = set(feeders[m.name])
        seen: set[str] = set()
        for j, name in enumerate(m.inputs):
            if name in seen:
                raise src.error(("merges", i, "inputs", j), f"{name!r} is listed twice")
            seen.add(name)
            if name not in feeding:
                raise src.error(("merges", i, "inputs", j), f"{name!r} does not send parts to merge "
                                f"{m.name!r}; elements that do: {feeders[m.name]}")
        unlisted = [f for f in feeders[m.name] if f not in seen]
        if m.rule == "priority" and unlisted:
            raise src.error(("merges", i, "inputs"), f"rule 'priority' ranks every input, but {unlisted} "
                            f"also send(s) to {m.name!r}; add them to 'inputs'")


def _unique(items, section: str, src: YamlSource) -> None:
    seen: set[str] = set()
    for i, item in enumerate(items):
        if item.name in seen:
            raise src.error((section, i, "name"), f"duplicate name {item.name!r}")
        seen.add(item.name)


def _fmt(where: tuple) -> str:
    return f"{where[0]}[{where[1]}]"


def _always_zero(dist) -> bool:
    if dist.dist == "constant":
        return dist.value == 0
    if dist.dist == "uniform":
        return dist.high == 0
    if dist.dist == "triangular":
        return dist.high == 0
    if dist.dist == "empirical":
        return max(dist.samples) == 0
    return False


def successors(scene: Scene) -> dict[str, list[str]]:
    """Directed flow graph: element name -> names it can send parts to."""
    succ: dict[str, list[str]] = defaultdict(list)
    for section in ("sources", "buffers", "conveyors", "stations", "merges", "transports", "storages"):
        for el in getattr(scene, section):
            succ[el.name].append(el.to)
    for d in scene.diverters:
        succ[d.name].extend(d.targets())
    return succ


def _check_topology(scene: Scene, kinds: dict[str, str], src: YamlSource, first_at: dict) -> None:
    succ = successors(scene)
    pred: dict[str, list[str]] = defaultdict(list)
    for a, outs in succ.items():
        for b in outs:
            pred[b].append(a)
    reach = reachable_from([s.name for s in scene.sources], succ)
    to_sink = reachable_from([s.name for s in scene.sinks], pred)
    for name, section in kinds.items():
        where = first_at[name] + ("name",)
        if name not in reach:
            raise src.error(where, f"{_KIND_WORD[section]} {name!r} is unreachable from any source")
        if name not in to_sink:
            raise src.error(where, f"{_KIND_WORD[section]} {name!r} has no path to a sink")
    # In file order (not set order), so that the reported element does not depend on hash seeds.
    router_order = [n for n, k in kinds.items() if k in ("diverters", "merges")]
    routers = set(router_order)
    # A loop made only of routers would route a part forever in zero time.
    color: dict[str, int] = {}
    for start in router_order:
        if start in color:
            continue
        stack = [(start, iter(succ[start]))]
        color[start] = 1
        while stack:
            node, it = stack[-1]
            nxt = next((n for n in it if n in routers), None)
            if nxt is None:
                color[node] = 2
                stack.pop()
            elif color.get(nxt) == 1:
                raise src.error(first_at[nxt] + ("name",), f"diverters/merges form a loop through {nxt!r} "
                                "with no buffer, conveyor or station in it")
            elif nxt not in color:
                color[nxt] = 1
                stack.append((nxt, iter(succ[nxt])))
    # round_robin / shortest_queue choose among concrete receivers: their outputs may pass merges and
    # deterministic diverters, but not another choosing diverter.
    choosing = {d.name for d in scene.diverters if d.rule in ("round_robin", "shortest_queue")}
    for i, d in enumerate(scene.diverters):
        if d.name not in choosing:
            continue
        for j, out in enumerate(d.outputs):
            seen = reachable_from([out], {n: succ[n] for n in routers})
            bad = sorted((seen & choosing) - {d.name} | ({d.name} & seen))
            if bad:
                raise src.error(("diverters", i, "outputs", j), f"output {out!r} leads to choosing diverter "
                                f"{bad[0]!r} without a buffer, conveyor or station between them")
    # Zero-time path from an always-available source to a sink: infinite parts in one instant.
    zero_time = {n for n, k in kinds.items() if k in ("buffers", "diverters", "merges")}
    for i, s in enumerate(scene.sources):
        if not s.always_available:
            continue
        frontier = deque([s.to])
        seen: set[str] = set()
        while frontier:
            n = frontier.popleft()
            if n in seen:
                continue
            seen.add(n)
            if kinds[n] == "sinks":
                raise src.error(("sources", i, "always_available"), f"always-available source {s.name!r} "
                                f"reaches sink {n!r} through buffers/routers only, which would release "
                                "infinitely many parts at one instant; put a station or conveyor between")
            if n in zero_time:
                frontier.extend(succ[n])


def reachable_from(starts: list[str], edges: dict[str, list[str]]) -> set[str]:
    """Every element reachable from ``starts`` along ``edges`` (``starts`` included)."""
    seen = set(starts)
    frontier = deque(starts)
    while frontier:
        n = frontier.popleft()
        for m in edges.get(n, ()):
            if m not in seen:
                seen.add(m)
                frontier.append(m)
    return seen
