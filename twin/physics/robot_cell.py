"""Robot cells: measure a station's robot cycle time from real motion in a physics world.

Each cell is built on its own in a fresh World (DIRECT mode): the arm at its base pose, a stand
under the place point, and either a stand under the pick point with a part on it, or (``pick_from``
a conveyor) a belt through the pick point moving at the conveyor's speed with the part riding on it,
or (``pick_from`` a bin fixture) the bin with parts tipped into it, picked topmost first.
The gripper is a suction cup or the arm's two fingers. Two pick-and-place cycles are played in
physics; the second one, which starts where a cycle ends in steady state (above the place point),
is the cycle time, without the time spent waiting for a part on the belt (in the line that wait is
the core's: the robot is starved). It becomes part of the station's process time, so the line's
KPIs reflect the robot's real motion. Everything is deterministic, so it is measured once, when the
scene loads.
"""

from __future__ import annotations

import math
import zlib
from pathlib import Path

import numpy as np

from ..errors import SceneError, SimulationError
from ..scene.assets_path import candidates
from ..scene.models import RobotCell, Scene
from .belt import Belt
from .fingers import TwoFingerGripper
from .gripper import SuctionGripper
from .pick_place import PickPlace
from .robot import Robot
from .world import World

__all__ = ["measure_cycle_s", "resolve_robot_cells", "layout_obstacles", "part_type_at", "offset_by_yaw"]

_BELT_BEFORE_M, _BELT_AFTER_M = 1.2, 0.8  # belt length upstream and downstream of the pick point
_SIGHT_AT_M = 0.18  # where along that belt a part is put on and (vision_guided) seen by the camera
_OUT_BEFORE_M, _OUT_AFTER_M = 0.2, 1.0  # a belt without geometry: its length before and after the place point
_RIM_CLEARANCE_M = 0.05  # a bin pick's straight approach starts this far above the bin's rim


def measure_cycle_s(cell: RobotCell, part_size_m: tuple[float, float, float], name: str = "robot",
                    belt_speed_mps: float | None = None, belt_direction=(1.0, 0.0, 0.0),
                    belt_width_m: float = 0.4, motion_out: list | None = None,
                    sightings_out: list | None = None, part_mass_kg: float = 0.2,
                    part_friction: float = 0.8, obstacles=(), bin_fixture=None, place_belt=None) -> float:
    """Physics time (s) of one steady-state pick-and-place cycle of ``cell``.

    ``motion_out``: a list that receives the cycle's commanded joint rows (one per physics step at
    240 Hz, waiting excluded), for showing the arm in the 3D world.

    ``belt_speed_mps``: the part arrives on a belt at this speed, moving along ``belt_direction``
    (horizontal), and is picked on the move as it passes ``pick_xyz_m``; ``None``: it rests on a stand.
    With ``cell.vision_guided``, a top-down depth camera over the belt, upstream of the pick point,
    locates the part and the arm aims at that sighting; ``sightings_out`` receives, per cycle, the
    sighting's error against the truth: (position error m, yaw error rad).

    ``place_belt``: (speed m/s, (start, end) of its surface or None, width m) of the belt that the part
    is put down on at ``place_xyz_m`` (and that carries it away), instead of a stand; None for the
    ends: a belt along +x through the place point.

    ``bin_fixture``: (outer size, wall, centre, yaw rad) of an open bin the parts are picked from:
    ``cell.bin_parts`` parts are tipped in around ``pick_xyz_m`` (x, y) and each cycle picks the
    topmost where it came to rest; the approach is raised to clear the rim by 5 cm where needed.

    Raises:
        SimulationError: when a pose is out of reach, the part cannot be gripped, the belt is too
            fast for the arm, or the part does not fit in the bin.
    """
    half = tuple(0.5 * v for v in part_size_m)
    pick, place = np.array(cell.pick_xyz_m, float), np.array(cell.place_xyz_m, float)
    guided = cell.vision_guided and belt_speed_mps is not None
    with World(renderer="auto" if guided else None) as world:
        world.add_floor()
        for label, top in (("pick", pick), ("place", place)):
            surface = top[2] - 2 * half[2]  # the part's top face is at the given point
            if surface <= 0.005 and not (label == "pick" and bin_fixture is not None):
                shown = tuple(round(float(v), 4) for v in top)
                raise SimulationError(f"robot {name!r}: {label}_xyz_m {shown} is too low for a part "
                                      f"{2 * half[2]:.3f} m tall standing on a surface above the floor")
            if (label == "place" and place_belt is None) or (label == "pick" and belt_speed_mps is None
                                                               and bin_fixture is None):
                # a stand 0.3 m square under the point, or under the whole tray or pallet pattern
                pattern = cell.pick_pattern if label == "pick" else cell.place_pattern
                dx, dy = ((pattern.rows - 1) * pattern.pitch_m[0], (pattern.cols - 1) * pattern.pitch_m[1]) \
                    if pattern is not None else (0.0, 0.0)
                world.add_box(f"{label}_stand", (0.15 + 0.5 * dx, 0.15 + 0.5 * dy, 0.5 * surface),
                              (top[0] + 0.5 * dx, top[1] + 0.5 * dy, 0.5 * surface))
        belt = None
        if belt_speed_mps is not None:
            d = np.array(belt_direction, float)
            d[2] = 0.0
            d /= np.linalg.norm(d)
            surface = pick - np.array([0.0, 0.0, 2 * half[2]])
            belt = Belt(world, "belt", surface - _BELT_BEFORE_M * d, surface + _BELT_AFTER_M * d,
                        belt_width_m, belt_speed_mps)
            camera = _belt_camera(world, belt, surface, d) if guided else None
        out_belt = None
        if place_belt is not None:  # the belt that takes the parts away, through the place point
            speed, ends, width = place_belt
            surface = place - np.array([0.0, 0.0, 2 * half[2]])
            if ends is None:  # no geometry: a belt along +x through the place point
                ends = (surface - [_OUT_BEFORE_M, 0.0, 0.0], surface + [_OUT_AFTER_M, 0.0, 0.0])
            out_belt = Belt(world, "__place_belt__", ends[0], ends[1], width, speed)
            top = float(out_belt.point(_along(out_belt, place), 0.0, 2 * half[2])[2])
            if abs(top - place[2]) > 0.01:
                raise SimulationError(f"robot {name!r}: place_xyz_m is at z = {place[2]:g} m, but a part on the "
                                      f"belt it places on has its top face at z = {top:.3f} m there")
        for ob_name, ob_half, ob_xyz, ob_yaw in obstacles:  # the cell's neighbours in the scene's layout
            world.add_box(ob_name, ob_half, ob_xyz, yaw_rad=ob_yaw)
        robot = Robot(world, name, cell.urdf, base_xyz_m=cell.base_xyz_m,
                      base_yaw_rad=math.radians(cell.base_yaw_deg))
        for ob_name, *_ in obstacles:
            if world.client.getClosestPoints(robot.body, world.body(ob_name), -0.005):
                raise SimulationError(f"robot {name!r}: the arm, standing at base_xyz_m {tuple(cell.base_xyz_m)} in "
                                      f"its ready pose, runs into {ob_name!r} of the scene's layout")
        for label, top in (("pick", pick), ("place", place)):
            stand = f"{label}_stand"
            if stand in world.names() and world.client.getClosestPoints(robot.body, world.body(stand), 0.0):
                shown = tuple(round(float(v), 4) for v in top)
                raise SimulationError(f"robot {name!r}: {label}_xyz_m {shown} is too close to the robot: the "
                                      f"stand under it (0.3 m square) would stand inside the arm's base or "
                                      f"links; move it away from base_xyz_m {tuple(cell.base_xyz_m)}")
        approach = cell.approach_m
        if bin_fixture is not None:
            binned = _tip_into_bin(world, bin_fixture, pick, half, cell.bin_parts, name, part_mass_kg, part_friction)
            size, _, centre, _ = bin_fixture
            rim = centre[2] + 0.5 * size[2]
            lowest_top = min(world.state(p).xyz_m[2] for p in binned) + half[2]
            approach = max(approach, rim - lowest_top + _RIM_CLEARANCE_M)
        gripper = TwoFingerGripper(robot) if cell.gripper == "two_finger" else SuctionGripper(robot)
        if isinstance(gripper, TwoFingerGripper):
            # Coulomb friction: two contacts each pressing with force_n hold at most 2 mu F / g
            most = 2.0 * part_friction * gripper.force_n / 9.81
            if part_mass_kg > most:
                raise SimulationError(
                    f"robot {name!r}: a two-finger gripper squeezing with {gripper.force_n:g} N per finger holds "
                    f"at most {most:.3g} kg of a part with friction {part_friction:g}; the part is "
                    f"{part_mass_kg:g} kg (use a suction gripper, or a lighter or grippier part type)")
        pick_place = PickPlace(robot, gripper, approach_m=approach)
        pick_yaw, place_yaw = math.radians(cell.pick_yaw_deg), math.radians(cell.place_yaw_deg)
        cycles = []
        robot.log_holds = False
        picks = _points(pick, cell.pick_pattern)
        places = _points(place, cell.place_pattern)
        rounds = max(len(picks), len(places))  # one round of the pattern(s), after a warm-up cycle
        if bin_fixture is not None:
            rounds = max(len(binned) - 1, 1)  # the bin emptied, after a warm-up pick
        first_cycle: list = []  # the joint rows of the first measured cycle (what the 3D world replays)
        for k in range(rounds + 1):
            robot.command_log = first_cycle if k == 1 else None
            part = f"part/{k}"
            # the warm-up cycle ends above the last slot, as the cycle before the first one would
            pick = picks[(k - 1) % len(picks)]
            place = places[(k - 1) % len(places)]
            if bin_fixture is not None:
                start = world.time_s
                part = _pick_from_bin(pick_place, world, binned, half, name)
                _place(pick_place, cell, place, place_yaw, out_belt)
                cycles.append(world.time_s - start)
                _remove_part(world, part, out_belt)
                continue
            world.add_box(part, half, (pick[0], pick[1], pick[2] - half[2] + 0.001), yaw_rad=pick_yaw,
                          mass_kg=part_mass_kg, friction=part_friction)
            if belt is not None:
                belt.carry(part, _SIGHT_AT_M, yaw_rad=pick_yaw - belt.yaw_rad)
                seen = _sight(camera, belt, part, name, sightings_out) if camera is not None else None
                start = world.time_s
                pick_place.pick_from_belt(part, belt, seen=seen, meet_s_m=_BELT_BEFORE_M,
                                          place_hint=(place, place_yaw))
                start += pick_place.last_wait_s  # waiting for the part is not part of the cycle
            else:
                world.step(24)  # settle on the stand
                start = world.time_s
                pick_place.pick(part, pick, pick_yaw)
            _place(pick_place, cell, place, place_yaw, out_belt)
            cycles.append(world.time_s - start)  # physics time: every commanded step counted
            _remove_part(world, part, out_belt)
        if motion_out is not None:
            motion_out.extend(first_cycle)
        return float(np.mean(cycles[1:]))


def _along(belt: Belt, xyz: np.ndarray) -> float:
    """How far along ``belt`` (m, within its length) the point ``xyz`` lies, seen from above."""
    d = belt.direction[:2]
    along = float(np.dot(np.asarray(xyz, float)[:2] - belt.start[:2], d) / np.dot(d, d)) * float(np.linalg.norm(d))
    return min(max(along, 0.0), belt.length_m)


def _remove_part(world: World, part: str, out_belt) -> None:
    """Take a placed part out of the world (off the belt first: PyBullet reuses the body id)."""
    if out_belt is not None:
        out_belt.release(part)
    world.remove(part)


def _place(pick_place: PickPlace, cell: RobotCell, place: np.ndarray, place_yaw: float, out_belt) -> None:
    """Put the held part down at ``place``: from above (onto ``out_belt`` where there is one, which
    carries it away), or sideways into a slot (``place_entry_deg``)."""
    if out_belt is not None:
        pick_place.place_on_belt(out_belt, _along(out_belt, place), yaw_rad=place_yaw - out_belt.yaw_rad)
    elif cell.place_entry_deg is None:
        pick_place.place(place, place_yaw)
    else:
        entry = math.radians(cell.place_entry_deg)
        pick_place.place_in_slot(place, place_yaw, (math.cos(entry), math.sin(entry)))


def _yaw(quat) -> float:
    x, y, z, w = quat
    return math.atan2(2.0 * (w * z + x * y), 1.0 - 2.0 * (y * y + z * z))


def _pick_from_bin(pick_place: PickPlace, world: World, binned: list[str], half, name: str) -> str:
    """Pick the topmost part in the bin that the arm can get to (as a camera looking into the bin
    would choose: a part pressed against a wall may leave the tool no room), and return its name."""
    first_error = None
    for part in sorted(binned, key=lambda b: -world.state(b).xyz_m[2]):
        state = world.state(part)
        try:
            pick_place.pick(part, np.array(state.xyz_m) + [0.0, 0.0, half[2]], _yaw(state.quat_xyzw))
        except SimulationError as exc:
            first_error = first_error or exc
            continue
        binned.remove(part)
        return part
    raise SimulationError(f"robot {name!r}: picking from the bin: no part left in it can be picked; the "
                          f"topmost: {first_error}")


def _tip_into_bin(world: World, bin_fixture, pick: np.ndarray, half, n: int, name: str, mass_kg: float,
                  friction: float) -> list[str]:
    """Add the open bin and tip ``n`` parts into it, one by one, around ``pick`` (x, y) on a jittered
    grid inside its walls, at yaws drawn from a stream seeded by the robot's name; return their names."""
    from .assets import bin_mesh

    size, wall, centre, yaw = bin_fixture
    world.add_mesh("bin", bin_mesh(size, wall), centre, yaw_rad=yaw)
    wall = min(float(wall), 0.25 * min(size[0], size[1]), 0.5 * size[2])
    reach = max(half[0], half[1])  # a part turned any way stays within this of its centre
    room = [0.5 * size[0] - wall - reach, 0.5 * size[1] - wall - reach]
    if min(room) <= 0.0:
        raise SimulationError(f"robot {name!r}: a part {2 * reach:.3f} m long does not fit in the bin "
                              f"({size[0] - 2 * wall:.3f} x {size[1] - 2 * wall:.3f} m inside)")
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    cos, sin = math.cos(yaw), math.sin(yaw)
    # the drop point in the bin's frame, kept inside the walls
    lx = (pick[0] - centre[0]) * cos + (pick[1] - centre[1]) * sin
    ly = -(pick[0] - centre[0]) * sin + (pick[1] - centre[1]) * cos
    floor = centre[2] - 0.5 * size[2] + wall
    names = []
    for k in range(n):
        gx, gy = (k % 3 - 1) * 2.2 * reach, (k // 3 % 2 - 0.5) * 2.2 * reach
        x = float(np.clip(lx + gx + rng.uniform(-0.3, 0.3) * reach, -room[0], room[0]))
        y = float(np.clip(ly + gy + rng.uniform(-0.3, 0.3) * reach, -room[1], room[1]))
        part = f"bin_part/{k}"
        world.add_box(part, half, offset_by_yaw((centre[0], centre[1], floor), (x, y, half[2] + 0.02 + 2.5 * half[2] * (k // 6)), yaw),
                      yaw_rad=yaw + rng.uniform(-math.pi, math.pi), mass_kg=mass_kg, friction=friction)
        world.step(120)  # falls and settles
        names.append(part)
    return names


def _points(first: np.ndarray, pattern) -> list[np.ndarray]:
    """The pick or place point of every slot of ``pattern`` (just ``first`` without one)."""
    if pattern is None:
        return [first]
    return [first + np.array([dx, dy, 0.0]) for dx, dy in pattern.offsets()]


def _belt_camera(world: World, belt: Belt, surface: np.ndarray, d: np.ndarray):
    """A 640x480 depth camera 0.65 m over the belt where parts are sighted, image up along the belt."""
    from ..sensors.camera import Camera, Intrinsics, look_at

    at = surface - (_BELT_BEFORE_M - _SIGHT_AT_M) * d
    return Camera(world, "pick_camera", Intrinsics.from_fov(640, 480, 50),
                  pose=look_at(tuple(at + [0.0, 0.0, 0.65]), tuple(at), up=tuple(d)), far_m=2.0)


def _sight(camera, belt: Belt, part: str, name: str, errors_out: list | None):
    """Where the camera sees ``part`` on ``belt`` (a BeltSighting); a scene error when it sees none."""
    from ..sensors.vision import sight_belt_parts

    seen = sight_belt_parts(camera.capture(), belt, stride=2, voxel_m=0.0)
    if len(seen) != 1:
        raise SimulationError(f"robot {name!r}: the pick camera saw {len(seen)} parts on the belt instead of 1 "
                              "(is the part too small or too flat for a depth camera 0.65 m above it?)")
    if errors_out is not None:
        truth = belt.sighting(part)
        yaw = (seen[0].yaw_rad - truth.yaw_rad + math.pi / 2) % math.pi - math.pi / 2
        errors_out.append((math.hypot(seen[0].s_m - truth.s_m, seen[0].lateral_m - truth.lateral_m), abs(yaw)))
    return seen[0]


#: scene boxes whose nearest point is farther than this from a robot's base (horizontally) are
#: left out of its cell: no arm of pybullet_data reaches that far
REACH_RADIUS_M = 1.5


def offset_by_yaw(xyz, local, yaw_rad: float) -> tuple[float, float, float]:
    """``xyz`` plus the point ``local`` of a body turned ``yaw_rad`` about the vertical."""
    yaw = float(yaw_rad)
    lx, ly, lz = (float(v) for v in local)
    return (xyz[0] + lx * math.cos(yaw) - ly * math.sin(yaw), xyz[1] + lx * math.sin(yaw) + ly * math.cos(yaw),
            xyz[2] + lz)


def layout_obstacles(scene: Scene, station) -> list[tuple]:
    """The boxes of the scene's 3D layout around ``station``'s robot, as (name, half extents,
    centre, yaw): fixtures (a box; a bin as its floor and four walls, named ``<bin>/floor``,
    ``<bin>/wall_+x`` ...; a mesh as its bounding box) and the geometry of other stations,
    buffers, sources, sinks and storages, within reach of its base. Left out: the station's own box
    (the robot's pedestal or table), any box under the base, and the belt or bin it picks from (the
    cell models that one)."""
    from .assets import bin_boxes, mesh_bounds  # trimesh only where a layout has bins or meshes

    cell = station.robot_cell
    bx, by, bz = cell.base_xyz_m
    boxes = []
    for fx in scene.fixtures:
        if fx.name == cell.pick_from:
            continue  # the bin it picks from: the cell models that one
        if fx.shape == "box" and fx.size_m is not None:
            boxes.append((fx.name, fx.size_m, fx.xyz_m, fx.yaw_deg))
        elif fx.shape == "bin" and fx.size_m is not None:
            boxes += [(f"{fx.name}/{label}", size, offset_by_yaw(fx.xyz_m, centre, math.radians(fx.yaw_deg)), fx.yaw_deg)
                      for label, size, centre in bin_boxes(fx.size_m, fx.wall_m)]
        elif fx.shape == "mesh":
            lo, hi = mesh_bounds(fx.mesh_path, fx.scale)  # kept clear of as a whole: its bounding box
            boxes.append((fx.name, tuple(hi - lo), offset_by_yaw(fx.xyz_m, 0.5 * (lo + hi), math.radians(fx.yaw_deg)),
                          fx.yaw_deg))
    for section in ("stations", "buffers", "sources", "sinks", "storages"):
        for el in getattr(scene, section):
            if el.geometry is not None and el.name != station.name:
                g = el.geometry
                boxes.append((el.name, g.size_m, g.xyz_m, g.yaw_deg))
    out = []
    for name, size, xyz, yaw_deg in boxes:
        yaw = math.radians(yaw_deg)
        # the base in the box's frame: how far outside its footprint it stands
        dx, dy = bx - xyz[0], by - xyz[1]
        lx = dx * math.cos(yaw) + dy * math.sin(yaw)
        ly = -dx * math.sin(yaw) + dy * math.cos(yaw)
        gap = math.hypot(max(0.0, abs(lx) - 0.5 * size[0]), max(0.0, abs(ly) - 0.5 * size[1]))
        under = gap == 0.0 and bz >= xyz[2] + 0.5 * size[2] - 0.01
        if gap <= REACH_RADIUS_M and not under:
            out.append((name, tuple(0.5 * v for v in size), tuple(xyz), yaw))
    return out


def part_type_at(scene: Scene, station: str):
    """The part type a robot cell's cycle is measured with: the first, in the scene's order, of the
    types that the sources reaching ``station`` release (its geometry, mass and friction)."""
    from ..scene.resolve import reachable_from, successors

    succ = successors(scene)
    names: set[str] = set()
    for src in scene.sources:
        if station not in reachable_from([src.name], succ):
            continue
        if src.part_type is not None:
            names.add(src.part_type)
        elif src.part_mix is not None:
            names.update(src.part_mix)
        else:
            names.update(r.part_type for r in (src.schedule or []) if r.part_type is not None)
            if not src.schedule or any(r.part_type is None for r in src.schedule):
                names.add(scene.part_types[0].name)  # a source without a type releases the first one
    return next((p for p in scene.part_types if p.name in names), scene.part_types[0])


def resolve_robot_cells(scene: Scene, src) -> Scene:
    """Measure every robot cell's cycle and attach it to its station (errors name file and line).

    A relative ``urdf`` path is looked up next to the scene file first, then in ``pybullet_data``.
    """
    conveyors = {c.name: c for c in scene.conveyors}
    for i, station in enumerate(scene.stations):
        cell = station.robot_cell
        if cell is None:
            continue
        ptype = part_type_at(scene, station.name)
        belt = {}
        bin_fx = next((f for f in scene.fixtures if f.name == cell.pick_from), None)
        if bin_fx is not None:
            belt = {"bin_fixture": (tuple(bin_fx.size_m), bin_fx.wall_m, tuple(bin_fx.xyz_m),
                                    math.radians(bin_fx.yaw_deg))}
        elif cell.pick_from is not None:
            cv = conveyors[cell.pick_from]
            belt = {"belt_speed_mps": cv.speed_mps}
            if cv.geometry is not None:
                g = cv.geometry
                belt["belt_direction"] = tuple(np.subtract(g.end_xyz_m, g.start_xyz_m))
                belt["belt_width_m"] = g.width_m
        if cell.place_on is not None:
            out = conveyors[cell.place_on]
            g = out.geometry
            belt["place_belt"] = (out.speed_mps, (g.start_xyz_m, g.end_xyz_m) if g else None, g.width_m if g else 0.4)
        searched = candidates(cell.urdf, src.path)
        found = next((c for c in searched if c.is_file()), None)
        if found is None:
            kind = "is a directory, not a file" if any(c.is_dir() for c in searched) else "not found"
            raise src.error(("stations", i, "robot_cell", "urdf"), f"robot {station.name!r}: URDF {cell.urdf!r} "
                            f"{kind} (searched: {', '.join(str(c) for c in searched)})")
        if found == searched[0] and not Path(cell.urdf).expanduser().is_absolute():
            cell = cell.model_copy(update={"urdf": str(found)})  # next to the scene file
        motion: list = []
        sightings: list = []
        try:
            cycle = measure_cycle_s(cell, ptype.body_size_m(), name=station.name, motion_out=motion,
                                    sightings_out=sightings, part_mass_kg=ptype.mass_kg,
                                    part_friction=ptype.friction, obstacles=layout_obstacles(scene, station),
                                    **belt)
        except SimulationError as exc:
            raise src.error(("stations", i, "robot_cell"), str(exc)) from None
        except SceneError as exc:
            key = "gripper" if "gripper" in exc.detail else "urdf"
            raise src.error(("stations", i, "robot_cell", key), exc.detail) from None
        # private: frozen fields stay untouched
        station.__pydantic_private__["_robot_cycle_s"] = cycle
        station.__pydantic_private__["_robot_motion"] = np.array(motion)
        station.__pydantic_private__["_robot_sighting_errors"] = sightings
    return scene
