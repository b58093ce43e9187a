"""Typed, frozen models of scene format v1 (the line part).

These pydantic models are the single definition of the format: the loader validates YAML into
them, ``twin schema`` exports their JSON Schema, and ``docs/scene-format.md`` documents them.
All quantities are SI (m, s); names with a unit suffix (``_s``, ``_m``, ``_mps``) say so.
Cross-references between elements are by full name and are resolved in :mod:`twin.scene.resolve`.
"""

from __future__ import annotations

import math
from types import UnionType
from typing import Annotated, Literal, Union, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

from .durations import parse_clock_s, parse_duration_s

__all__ = [
    "Distribution", "PartType", "Source", "ScheduledRelease", "Buffer", "Conveyor", "PhotoEye",
    "Station", "Failure", "Inspection", "Diverter", "Merge", "Sink", "Calendar", "TimeWindow",
    "BoxGeometry", "ConveyorGeometry", "RobotCell", "SlotPattern", "AgvNode", "AgvFleet", "Transport", "CraneAxes", "Storage",
    "VisionInspection", "Fixture", "CameraSensor", "CameraPose", "CameraMount", "Sensors", "SensorFault", "BreakBeamSensor",
    "Viz", "OrbitPath", "WaypointPath", "CameraWaypoint",
    "ProximitySensor", "LaserProfilerSensor", "LogicalCameraSensor", "EncoderSensor",
    "ScheduledFault", "SimSettings", "Scene", "NAME_PATTERN", "MAX_CAPACITY",
]

#: Hierarchical names: segments of letters, digits, ``_`` and ``-`` joined by ``/`` (``smt/printer``).
NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_\-]*(/[A-Za-z_][A-Za-z0-9_\-]*)*$"
#: Upper bound on any capacity: state arrays are preallocated, so a hostile file must not ask for 10^12.
MAX_CAPACITY = 1_000_000
MAX_SAMPLES = 1_000_000

Name = Annotated[str, Field(pattern=NAME_PATTERN, max_length=200)]
PositiveFloat = Annotated[float, Field(gt=0, allow_inf_nan=False)]
NonNegFloat = Annotated[float, Field(ge=0, allow_inf_nan=False)]
Probability = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]


class _Model(BaseModel):
    """Strict types: a quoted ``"5"`` is not a capacity and ``0`` is not ``false`` (YAML gives
    real numbers and booleans, so a string or a bool in their place is a mistake to report)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True, strict=True)

    @model_validator(mode="before")
    @classmethod
    def _lists_to_tuples(cls, data):
        # YAML has lists only; strict validation takes a tuple field only from a tuple
        if isinstance(data, dict):
            fields = cls.model_fields
            return {k: _as_tuples(v, fields[k].annotation) if k in fields else v for k, v in data.items()}
        return data


def _as_tuples(value, annotation):
    """``value`` with every list that ``annotation`` types as a tuple turned into one (recursively)."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return _as_tuples(value, get_args(annotation)[0])
    if origin in (Union, UnionType):
        for arg in get_args(annotation):
            converted = _as_tuples(value, arg)
            if converted is not value:
                return converted
        return value
    if origin is tuple and isinstance(value, list):
        args = get_args(annotation)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_as_tuples(v, args[0]) for v in value)
        if len(args) == len(value):
            return tuple(_as_tuples(v, a) for v, a in zip(value, args, strict=True))
        return tuple(value)
    if origin is list and isinstance(value, list):
        (arg,) = get_args(annotation) or (object,)
        return [_as_tuples(v, arg) for v in value]
    if origin is dict and isinstance(value, dict):
        args = get_args(annotation)
        return {k: _as_tuples(v, args[1]) for k, v in value.items()} if len(args) == 2 else value
    return value


class Distribution(_Model):
    """A random variable in seconds (or any non-negative quantity).

    A bare number in a scene means ``{dist: constant, value: <number>}``. ``normal`` is truncated
    at 0 (resampled until non-negative); ``lognormal`` takes the mean and standard deviation of the
    variable itself, not of its logarithm; ``empirical`` draws uniformly from the listed samples.
    """

    dist: Literal["constant", "uniform", "triangular", "normal", "lognormal", "exponential", "empirical"]
    value: NonNegFloat | None = Field(None, description="constant: the value")
    mean: PositiveFloat | None = Field(None, description="exponential, normal, lognormal: the mean")
    std: NonNegFloat | None = Field(None, description="normal, lognormal: the standard deviation")
    low: NonNegFloat | None = Field(None, description="uniform, triangular: the lower bound")
    high: NonNegFloat | None = Field(None, description="uniform, triangular: the upper bound")
    mode: NonNegFloat | None = Field(None, description="triangular: the most likely value")
    samples: list[NonNegFloat] | None = Field(None, max_length=MAX_SAMPLES,
                                              description="empirical: observed values")

    @model_validator(mode="before")
    @classmethod
    def _constant_shorthand(cls, data):
        if isinstance(data, int | float) and not isinstance(data, bool):
            return {"dist": "constant", "value": data}
        return data

    @model_validator(mode="after")
    def _check_parameters(self) -> Distribution:
        needed = {
            "constant": ("value",), "uniform": ("low", "high"), "triangular": ("low", "mode", "high"),
            "normal": ("mean", "std"), "lognormal": ("mean", "std"), "exponential": ("mean",),
            "empirical": ("samples",),
        }[self.dist]
        allowed = set(needed) | {"dist"}
        given = {k for k, v in self.__dict__.items() if v is not None}
        missing = [k for k in needed if getattr(self, k) is None]
        if missing:
            raise ValueError(f"distribution '{self.dist}' needs {', '.join(needed)}; missing {', '.join(missing)}")
        extra = sorted(given - allowed)
        if extra:
            raise ValueError(f"distribution '{self.dist}' takes only {', '.join(needed)}; "
                             f"remove {', '.join(extra)}")
        if self.dist in ("uniform", "triangular") and self.low > self.high:
            raise ValueError(f"low ({self.low}) must be <= high ({self.high})")
        if self.dist == "triangular" and not (self.low <= self.mode <= self.high):
            raise ValueError(f"mode ({self.mode}) must lie in [low, high] = [{self.low}, {self.high}]")
        if self.dist == "empirical" and not self.samples:
            raise ValueError("empirical distribution needs at least one sample")
        return self

    def mean_value(self) -> float:
        """The expected value (for normal: of the normal truncated at 0, as drawn)."""
        if self.dist == "constant":
            return self.value
        if self.dist == "uniform":
            return 0.5 * (self.low + self.high)
        if self.dist == "triangular":
            return (self.low + self.mode + self.high) / 3.0
        if self.dist == "empirical":
            return math.fsum(self.samples) / len(self.samples)
        if self.dist == "normal" and self.std > 0:
            # E[X | X >= 0] = mu + sigma * phi(a) / (1 - Phi(a)), a = -mu / sigma
            a = -self.mean / self.std
            tail = 0.5 * math.erfc(a / math.sqrt(2.0))
            if tail > 0.0:
                return self.mean + self.std * math.exp(-0.5 * a * a) / math.sqrt(2.0 * math.pi) / tail
        return self.mean


DistLike = Annotated[Distribution, Field(description="a distribution, or a number for a constant")]


Coord = Annotated[float, Field(allow_inf_nan=False, ge=-1e5, le=1e5)]
Size = Annotated[float, Field(gt=0, le=1e3, allow_inf_nan=False)]


class BoxGeometry(_Model):
    """Where an element stands in the 3D world: a box centred at ``xyz_m`` (metres), turned by
    ``yaw_deg`` about the vertical axis. Optional: elements without it exist only in the line model."""

    xyz_m: tuple[Coord, Coord, Coord]
    size_m: tuple[Size, Size, Size]
    yaw_deg: Annotated[float, Field(ge=-360, le=360)] = 0.0

    def part_on_top(self, server: int, capacity: int, part_size_m) -> tuple[tuple[float, float, float], float]:
        """Centre (m) and yaw (rad) of the part held by ``server`` of a station of ``capacity`` servers:
        on the box's top face, servers side by side along the box's x axis. The 3D world and the web
        viewer both show station parts here."""
        yaw = math.radians(self.yaw_deg)
        offset = (server - 0.5 * (capacity - 1)) * 1.1 * part_size_m[0]
        x, y, z = self.xyz_m
        return ((x + offset * math.cos(yaw), y + offset * math.sin(yaw),
                 z + 0.5 * self.size_m[2] + 0.5 * part_size_m[2]), yaw)


class ConveyorGeometry(_Model):
    """A conveyor's belt in the 3D world: parts travel on the belt surface from ``start_xyz_m`` to
    ``end_xyz_m`` (metres; the distance between them must equal the conveyor's ``length_m``)."""

    start_xyz_m: tuple[Coord, Coord, Coord]
    end_xyz_m: tuple[Coord, Coord, Coord]
    width_m: Size = 0.4


class PartType(_Model):
    """A kind of part that flows through the line."""

    name: Name
    length_m: PositiveFloat = Field(0.2, description="length along the conveyor (blocks photo-eyes)")
    size_m: tuple[Size, Size, Size] | None = Field(
        None, description="body in the 3D world (length, width, height); default length_m x 0.8 x 0.25 of it")
    mass_kg: Annotated[float, Field(gt=0, le=1e4, allow_inf_nan=False)] = 0.5
    friction: Annotated[float, Field(ge=0, le=10, allow_inf_nan=False)] = 0.6
    description: str = ""

    def body_size_m(self) -> tuple[float, float, float]:
        """(length, width, height) of the part's body."""
        return self.size_m or (self.length_m, 0.8 * self.length_m, 0.25 * self.length_m)


class ScheduledRelease(_Model):
    """A planned release of ``count`` parts at time ``at_s`` (a production order)."""

    at_s: NonNegFloat
    count: Annotated[int, Field(ge=1, le=MAX_CAPACITY)] = 1
    part_type: Name | None = None


class Source(_Model):
    """Where parts enter the line: an arrival process, an always-available supply, or a schedule.

    Exactly one of ``interarrival``, ``always_available: true`` or ``schedule`` is given.
    Part types come from ``part_type`` (one type) or ``part_mix`` (weights, sampled per part).
    """

    name: Name
    to: Name
    interarrival: DistLike | None = None
    always_available: bool = False
    schedule: list[ScheduledRelease] | None = Field(None, max_length=100_000)
    part_type: Name | None = None
    part_mix: dict[Name, PositiveFloat] | None = None
    on_blocked: Literal["wait", "drop"] = Field(
        "wait", description="wait: hold the arrived part and pause arrivals; drop: count it as lost")
    max_parts: Annotated[int, Field(ge=1, lt=2**63)] | None = Field(None, description="stop after this many parts have arrived (with on_blocked: drop, lost arrivals count)")
    start_s: NonNegFloat = Field(0.0, description="first arrival is not before this time")
    calendar: Name | None = None
    geometry: BoxGeometry | None = None

    @model_validator(mode="after")
    def _one_mode(self) -> Source:
        modes = [self.interarrival is not None, self.always_available, self.schedule is not None]
        if sum(modes) != 1:
            raise ValueError("give exactly one of 'interarrival', 'always_available: true' or 'schedule'")
        if self.part_type is not None and self.part_mix is not None:
            raise ValueError("give 'part_type' or 'part_mix', not both")
        # The engine honours these two only for some modes; refuse rather than silently ignore them.
        if self.on_blocked == "drop" and self.interarrival is None:
            raise ValueError("'on_blocked: drop' applies to 'interarrival' sources only")
        if self.max_parts is not None and self.schedule is not None:
            raise ValueError("'max_parts' does not apply to a 'schedule' (it releases what it lists)")
        return self


class Buffer(_Model):
    """A FIFO store with finite capacity; parts pass through it in zero time when downstream is free."""

    name: Name
    to: Name
    capacity: Annotated[int, Field(ge=1, le=MAX_CAPACITY)]
    geometry: BoxGeometry | None = None


class PhotoEye(_Model):
    """A photo-eye on a conveyor, blocked while a part covers ``at_m`` (full name ``<conveyor>/<name>``)."""

    name: Name
    at_m: NonNegFloat


class Conveyor(_Model):
    """An accumulating (zero-pressure) conveyor.

    Parts enter at 0 and travel at ``speed_mps``; a part that reaches ``length_m`` waits there until
    downstream accepts it, and parts behind it queue at ``spacing_m`` (centre to centre). A new part
    can enter once the last part has moved ``spacing_m`` from the entrance.
    """

    name: Name
    to: Name
    length_m: PositiveFloat
    speed_mps: PositiveFloat
    spacing_m: PositiveFloat
    photo_eyes: list[PhotoEye] = Field(default_factory=list, max_length=1000)
    geometry: ConveyorGeometry | None = None

    @model_validator(mode="after")
    def _check_geometry(self) -> Conveyor:
        if self.geometry is not None:
            g = self.geometry
            span = math.dist(g.start_xyz_m, g.end_xyz_m)
            if abs(span - self.length_m) > 1e-3:
                raise ValueError(f"geometry: the belt from start_xyz_m to end_xyz_m is {span:.4f} m long, "
                                 f"but length_m is {self.length_m}; they must agree within 1 mm")
        if self.spacing_m > self.length_m:
            raise ValueError(f"spacing_m ({self.spacing_m}) must be <= length_m ({self.length_m})")
        if self.length_m / self.spacing_m > MAX_CAPACITY:
            raise ValueError(f"length_m / spacing_m must be <= {MAX_CAPACITY}")
        for eye in self.photo_eyes:
            if eye.at_m > self.length_m:
                raise ValueError(f"photo-eye '{eye.name}' at_m ({eye.at_m}) is past the end "
                                 f"(length_m = {self.length_m})")
        return self


class Failure(_Model):
    """A failure mode: time to failure and time to repair.

    ``mtbf_s``/``mttr_s`` are shorthands for exponential distributions. ``basis: operating`` counts
    time to failure only while the station is processing (operation-dependent failures);
    ``calendar`` counts wall-clock time.
    """

    name: Name = "failure"
    mtbf_s: PositiveFloat | None = None
    mttr_s: PositiveFloat | None = None
    time_to_failure: DistLike | None = None
    time_to_repair: DistLike | None = None
    basis: Literal["operating", "calendar"] = "operating"

    @model_validator(mode="after")
    def _one_each(self) -> Failure:
        if (self.mtbf_s is None) == (self.time_to_failure is None):
            raise ValueError("give exactly one of 'mtbf_s' or 'time_to_failure'")
        if (self.mttr_s is None) == (self.time_to_repair is None):
            raise ValueError("give exactly one of 'mttr_s' or 'time_to_repair'")
        return self

    def ttf(self) -> Distribution:
        return self.time_to_failure or Distribution(dist="exponential", mean=self.mtbf_s)

    def ttr(self) -> Distribution:
        return self.time_to_repair or Distribution(dist="exponential", mean=self.mttr_s)


class VisionInspection(_Model):
    """Pass/fail from a camera: the station's detection and false-reject rates are measured when the
    scene loads, by a top-down camera inspector (``twin.sensors.inspection``) judging ``samples``
    simulated parts of this design, half of them with a defect (the kinds in turn). By default the
    line then draws each part's verdict from those rates; with ``per_part`` the camera judges each
    part itself (the station's process time is then drawn outside the core, from its own stream)."""

    samples: Annotated[int, Field(ge=20, le=5000)] = 200
    length_m: Size = 0.10
    width_m: Size = 0.06
    height_m: Size = 0.02
    hole_m: NonNegFloat = 0.02
    tolerance_m: PositiveFloat = 0.0015
    defect_kinds: list[Literal["missing_hole", "dent", "discolored", "oversize"]] = Field(
        default_factory=lambda: ["missing_hole", "dent", "discolored", "oversize"], min_length=1)
    depth_noise_m: NonNegFloat = 0.0003
    pixel_noise: Annotated[float, Field(ge=0, le=255, allow_inf_nan=False)] = 3.0
    per_part: bool = Field(
        False, description="judge every part of the line with the camera as it is inspected (a defective "
                           "part shows one of defect_kinds), instead of drawing pass/fail from the measured "
                           "rates; costs a render per part")


class Inspection(_Model):
    """Makes a station an inspection: each part gets a pass/fail result that diverters can route by.

    With ``vision``, ``detect_prob`` and ``false_reject_prob`` are not given: they are measured."""

    detect_prob: Probability = Field(1.0, description="P(fail | part is defective)")
    false_reject_prob: Probability = Field(0.0, description="P(fail | part is good)")
    vision: VisionInspection | None = None
    _measured: tuple[float, float] | None = PrivateAttr(None)

    @model_validator(mode="after")
    def _given_or_measured(self) -> Inspection:
        if self.vision is not None and ({"detect_prob", "false_reject_prob"} & self.model_fields_set):
            raise ValueError("with 'vision', detect_prob and false_reject_prob are measured, not given")
        return self

    @property
    def rates(self) -> tuple[float, float]:
        """(detect_prob, false_reject_prob) in use: measured with vision, else as given."""
        return self._measured if self._measured is not None else (self.detect_prob, self.false_reject_prob)


class SlotPattern(_Model):
    """A grid of places (a tray's pockets, a pallet's slots): ``rows`` x ``cols`` points, the first
    at the cell's point and the others ``pitch_m`` apart along world x (rows) and y (columns)."""

    rows: Annotated[int, Field(ge=1, le=20)]
    cols: Annotated[int, Field(ge=1, le=20)]
    pitch_m: tuple[Size, Size]

    def offsets(self) -> list[tuple[float, float]]:
        """(dx, dy) of every slot from the first, row by row."""
        return [(i * self.pitch_m[0], j * self.pitch_m[1]) for i in range(self.rows) for j in range(self.cols)]


class RobotCell(_Model):
    """A robot that serves its station by pick-and-place; its cycle time comes from its motion.

    When the scene loads, the cell is built in a physics world: the arm (URDF) at its base pose
    picks a part of the first part type whose top face is at ``pick_xyz_m`` and places it with its
    top face at ``place_xyz_m``, moving within its joint limits (tool pointing down, straight
    vertical approach and retreat of ``approach_m``, collision-checked moves in between). With
    ``pick_from`` naming a conveyor, the part arrives on that conveyor's belt at its speed and the
    arm tracks it, gripping it as it passes ``pick_xyz_m``. With ``pick_from`` naming a ``bin``
    fixture, ``bin_parts`` parts are tipped into the bin around ``pick_xyz_m`` and the arm picks
    the topmost each cycle, wherever and however turned it came to rest. With ``pick_pattern`` (a tray) or
    ``place_pattern`` (a pallet), successive cycles pick from or place into the pattern's slots in
    turn, and the cycle time is the mean over one round of them. With ``place_entry_deg`` the part
    goes into its place sideways (a rack or shelf slot with a shelf above it); with ``place_on`` it
    is put down on the moving belt of the conveyor that takes it away. The measured cycle time is added
    to the station's ``process_time``. A pose out of reach is a scene error.
    """

    urdf: str = Field("kuka_iiwa/model.urdf", max_length=500,
                      description="a path, or a path inside pybullet_data")
    gripper: Literal["suction", "two_finger"] = Field(
        "suction", description="two_finger needs an arm with two finger joints (franka_panda/panda.urdf)")
    base_xyz_m: tuple[Coord, Coord, Coord] = (0.0, 0.0, 0.0)
    base_yaw_deg: Annotated[float, Field(ge=-360, le=360)] = 0.0
    pick_xyz_m: tuple[Coord, Coord, Coord]
    pick_yaw_deg: Annotated[float, Field(ge=-360, le=360)] = 0.0
    pick_from: Name | None = Field(
        None, description="a conveyor whose moving belt the part is picked from, or a bin fixture the parts "
                          "lie jumbled in")
    bin_parts: Annotated[int, Field(ge=2, le=12)] = Field(
        6, description="with pick_from a bin: parts tipped into it for the measurement (the first pick warms "
                       "up; the cycle time is the mean over the others)")
    vision_guided: bool = Field(
        False, description="with pick_from: a camera over the belt upstream of the pick point locates each "
                           "part (position and yaw, from its depth image) and the arm picks where the camera "
                           "saw it, not at the ground truth")
    place_xyz_m: tuple[Coord, Coord, Coord]
    place_yaw_deg: Annotated[float, Field(ge=-360, le=360)] = 0.0
    pick_pattern: SlotPattern | None = Field(
        None, description="a tray: parts rest in a grid of pockets starting at pick_xyz_m (not with pick_from)")
    place_pattern: SlotPattern | None = Field(
        None, description="a pallet: parts go into a grid of slots starting at place_xyz_m")
    place_on: Name | None = Field(
        None, description="a conveyor the station sends its parts to: the part is put down on its moving belt "
                          "at place_xyz_m, and the belt carries it on")
    place_entry_deg: Annotated[float, Field(ge=-360, le=360)] | None = Field(
        None, description="a slot under a shelf: the part goes in level along this horizontal direction "
                          "(degrees from world +x), is set down and the tool drawn back out; null: from above")
    approach_m: Annotated[float, Field(gt=0, le=2, allow_inf_nan=False)] = 0.15
    malfunctions: list[Failure] = Field(
        default_factory=list, max_length=100,
        description="robot stops (time to failure, time to repair), added to the station's failures")
    drop_prob: Probability = Field(0.0, description="P(the gripper loses the part during a cycle); the part is lost")

    @model_validator(mode="after")
    def _fingers_pick_still_parts(self) -> RobotCell:
        if self.gripper == "two_finger" and self.pick_from is not None:
            raise ValueError("pick_from: picking from a moving conveyor or a bin needs gripper: suction")
        if self.vision_guided and self.pick_from is None:
            raise ValueError("vision_guided: the camera looks at a belt; give pick_from (a conveyor)")
        if self.place_on is not None and (self.place_pattern is not None or self.place_entry_deg is not None):
            raise ValueError("place_on: a part put down on a belt goes to one point from above; drop "
                             "place_pattern and place_entry_deg")
        if self.pick_pattern is not None and self.pick_from is not None:
            raise ValueError("pick_pattern: parts picked from a belt arrive at one point; a pick pattern is "
                             "for a tray on a stand (drop pick_from or the pattern)")
        return self


class Station(_Model):
    """A machine with ``capacity`` parallel servers; blocking after service.

    A finished part stays on its server until the downstream element accepts it.
    """

    name: Name
    to: Name
    capacity: Annotated[int, Field(ge=1, le=10_000)] = 1
    process_time: DistLike
    process_time_by_type: dict[Name, DistLike] = Field(default_factory=dict)
    setup_time: DistLike | None = Field(None, description="changeover when the part type changes")
    failures: list[Failure] = Field(default_factory=list, max_length=100)
    scrap_prob: Probability = Field(0.0, description="part is scrapped at the end of processing")
    defect_prob: Probability = Field(0.0, description="part gets a latent defect (found by inspection)")
    inspection: Inspection | None = None
    calendar: Name | None = None
    geometry: BoxGeometry | None = None
    robot_cell: RobotCell | None = Field(
        None, description="a robot serves this station; its measured cycle time is added to process_time")
    _robot_cycle_s: float = PrivateAttr(0.0)
    _robot_motion: object = PrivateAttr(None)  # joint rows of the measured cycle, at 240 Hz
    _robot_sighting_errors: list = PrivateAttr(default_factory=list)

    @model_validator(mode="after")
    def _one_arm_one_server(self) -> Station:
        if self.robot_cell is not None and self.capacity != 1:
            raise ValueError(f"capacity: a robot cell has one arm, which handles one part at a time; capacity "
                             f"must be 1 (got {self.capacity}); model parallel cells as separate stations")
        return self

    @property
    def robot_cycle_s(self) -> float:
        """The robot cell's measured cycle time (s), filled in when the scene loads; 0 without one."""
        return self._robot_cycle_s

    @property
    def robot_motion(self):
        """Joint positions of the robot cell's measured cycle, one row per 1/240 s (None without one)."""
        return self._robot_motion

    @property
    def robot_sighting_errors(self) -> list[tuple[float, float]]:
        """A vision-guided robot cell's camera errors per measured pick: (position m, yaw rad)."""
        return self._robot_sighting_errors

    @property
    def all_failures(self) -> list[Failure]:
        """The station's failure modes, then its robot's malfunctions (named ``robot/<name>``)."""
        robot = [] if self.robot_cell is None else [
            f.model_copy(update={"name": f"robot/{f.name}"}) for f in self.robot_cell.malfunctions]
        return list(self.failures) + robot

    @property
    def gripper_drop_prob(self) -> float:
        return 0.0 if self.robot_cell is None else self.robot_cell.drop_prob


class Diverter(_Model):
    """Routes each part to one of several outputs, in zero time.

    Rules: ``by_part_type`` (``routes`` maps part type to output, ``default`` for the rest),
    ``by_inspection`` (``on_pass``/``on_fail``), ``round_robin`` (next output in turn that can
    accept), ``shortest_queue`` (the accepting output holding the fewest parts; ties to the first).
    """

    name: Name
    rule: Literal["by_part_type", "by_inspection", "round_robin", "shortest_queue"]
    outputs: list[Name] | None = Field(None, max_length=1000)
    routes: dict[Name, Name] | None = None
    default: Name | None = None
    on_pass: Name | None = None
    on_fail: Name | None = None

    @model_validator(mode="after")
    def _rule_fields(self) -> Diverter:
        need = {"by_part_type": ("routes",), "by_inspection": ("on_pass", "on_fail"),
                "round_robin": ("outputs",), "shortest_queue": ("outputs",)}[self.rule]
        missing = [k for k in need if getattr(self, k) is None]
        if missing:
            raise ValueError(f"rule '{self.rule}' needs {', '.join(need)}; missing {', '.join(missing)}")
        allowed = set(need) | ({"default"} if self.rule == "by_part_type" else set())
        extra = [k for k in ("outputs", "routes", "default", "on_pass", "on_fail")
                 if k not in allowed and getattr(self, k) is not None]
        if extra:
            raise ValueError(f"rule '{self.rule}' does not use {', '.join(extra)}; remove it")
        if self.rule in ("round_robin", "shortest_queue") and len(self.outputs) < 1:
            raise ValueError("outputs must not be empty")
        return self

    def targets(self) -> list[str]:
        """Every element this diverter can send to, in a stable order."""
        if self.rule == "by_part_type":
            out = list(self.routes.values()) + ([self.default] if self.default else [])
        elif self.rule == "by_inspection":
            out = [self.on_pass, self.on_fail]
        else:
            out = list(self.outputs)
        return list(dict.fromkeys(out))


class Merge(_Model):
    """Joins several flows into one. ``fifo`` serves the longest-waiting input first;
    ``priority`` serves inputs in the order listed in ``inputs``."""

    name: Name
    to: Name
    rule: Literal["fifo", "priority"] = "fifo"
    inputs: list[Name] | None = None


class Sink(_Model):
    """Where parts leave the line. Parts reaching an output sink count as throughput; a reject sink
    (``reject: true``, e.g. the bin behind an inspection) counts them as rejects instead."""

    name: Name
    reject: bool = False
    geometry: BoxGeometry | None = None


class Fixture(_Model):
    """An object of the 3D layout that is not a line element: a guard, table, bin, tray, pallet...

    ``shape: box`` is a box of ``size_m`` centred at ``xyz_m``; ``bin`` an open box (floor and
    walls ``wall_m`` thick) of outer size ``size_m`` centred at ``xyz_m``; ``mesh`` the mesh file
    ``mesh`` (STL, OBJ, PLY, GLB... read by trimesh; a relative path is relative to the scene file's
    folder) scaled by ``scale``, its origin at ``xyz_m``. A mesh that is not watertight is replaced
    by its convex hull, with a warning. ``mass_kg: 0`` makes the object static.
    """

    name: Name
    shape: Literal["box", "bin", "mesh"] = "box"
    xyz_m: tuple[Coord, Coord, Coord]
    yaw_deg: Annotated[float, Field(ge=-360, le=360)] = 0.0
    size_m: tuple[Size, Size, Size] | None = None
    wall_m: Size = 0.01
    mesh: str | None = Field(None, max_length=1000)
    scale: Annotated[float, Field(gt=0, le=1e3, allow_inf_nan=False)] = 1.0
    mass_kg: Annotated[float, Field(ge=0, le=1e5, allow_inf_nan=False)] = 0.0
    friction: Annotated[float, Field(ge=0, le=10, allow_inf_nan=False)] = 0.6
    rgba: tuple[Probability, Probability, Probability, Probability] = (0.6, 0.6, 0.65, 1.0)
    _mesh_path: str | None = PrivateAttr(None)

    @model_validator(mode="after")
    def _shape_fields(self) -> Fixture:
        if self.shape == "mesh" and self.mesh is None:
            raise ValueError("shape 'mesh' needs 'mesh' (a mesh file)")
        if self.shape != "mesh" and self.size_m is None:
            raise ValueError(f"shape '{self.shape}' needs 'size_m'")
        if self.shape != "mesh" and self.mesh is not None:
            raise ValueError(f"'mesh' is only for shape 'mesh', not '{self.shape}'")
        return self

    @property
    def mesh_path(self) -> str | None:
        """The mesh file, resolved when the scene loads."""
        return self._mesh_path


class CameraPose(_Model):
    """A fixed camera: at ``xyz_m`` looking at ``look_at_m``, the image's up towards ``up``."""

    xyz_m: tuple[Coord, Coord, Coord]
    look_at_m: tuple[Coord, Coord, Coord]
    up: tuple[Coord, Coord, Coord] = (0.0, 0.0, 1.0)

    @model_validator(mode="after")
    def _not_at_target(self) -> CameraPose:
        if self.xyz_m == self.look_at_m:
            raise ValueError("look_at_m: the camera cannot look at its own position")
        return self


class CameraMount(_Model):
    """A camera on a robot's link: ``robot`` names a station with a robot cell, ``link`` a link of its
    URDF; ``xyz_m`` and ``rpy_deg`` place the camera frame (+z along the optical axis, +x right,
    +y down the image) in the link's frame."""

    robot: Name
    link: str = Field(max_length=200)
    xyz_m: tuple[Coord, Coord, Coord] = (0.0, 0.0, 0.0)
    rpy_deg: tuple[float, float, float] = (0.0, 0.0, 0.0)


class CameraSensor(_Model):
    """An RGB-D camera with segmentation (see ``twin.sensors.camera``): fixed (``pose``) or mounted
    on a robot link (``mount``); intrinsics from ``fov_deg`` (horizontal, square pixels, centred) or
    a ``k`` matrix."""

    name: Name
    width: Annotated[int, Field(ge=1, le=8192)] = 640
    height: Annotated[int, Field(ge=1, le=8192)] = 480
    fov_deg: Annotated[float, Field(gt=0, lt=180)] | None = None
    k: tuple[tuple[float, float, float], tuple[float, float, float], tuple[float, float, float]] | None = None
    near_m: PositiveFloat = 0.05
    far_m: PositiveFloat = 10.0
    rate_hz: Annotated[float, Field(gt=0, le=1000, allow_inf_nan=False)] = 5.0
    pose: CameraPose | None = None
    mount: CameraMount | None = None
    depth_noise_m: NonNegFloat = 0.0
    pixel_noise: Annotated[float, Field(ge=0, le=255, allow_inf_nan=False)] = 0.0

    @model_validator(mode="after")
    def _one_of_each(self) -> CameraSensor:
        if (self.pose is None) == (self.mount is None):
            raise ValueError("give exactly one of 'pose' (a fixed camera) or 'mount' (on a robot link)")
        if self.fov_deg is not None and self.k is not None:
            raise ValueError("give 'fov_deg' or 'k', not both")
        if self.near_m >= self.far_m:
            raise ValueError(f"near_m ({self.near_m}) must be less than far_m ({self.far_m})")
        return self

    def intrinsics(self):
        """The camera's :class:`twin.sensors.camera.Intrinsics` (raises UsageError when invalid)."""
        from ..sensors.camera import Intrinsics

        if self.k is not None:
            return Intrinsics.from_matrix(self.width, self.height, self.k)
        return Intrinsics.from_fov(self.width, self.height, 60.0 if self.fov_deg is None else self.fov_deg)


class SensorFault(_Model):
    """A fault of a sensor in the window [start_s, end_s): ``blackout`` (no reading), ``stuck`` (the
    last good reading repeats), ``drift`` (an offset growing at ``drift_per_s``)."""

    kind: Literal["blackout", "stuck", "drift"]
    start_s: NonNegFloat
    end_s: PositiveFloat | None = None
    drift_per_s: float = Field(0.0, allow_inf_nan=False)

    @model_validator(mode="after")
    def _window(self) -> SensorFault:
        if self.end_s is not None and self.end_s <= self.start_s:
            raise ValueError(f"end_s ({self.end_s}) must be after start_s ({self.start_s})")
        return self


class _Cheap(_Model):
    """Common keys of the ray and ground-truth sensors."""

    name: Name
    rate_hz: Annotated[float, Field(gt=0, le=10_000, allow_inf_nan=False)]
    noise_m: NonNegFloat = 0.0
    latency_s: NonNegFloat = 0.0
    faults: list[SensorFault] = Field(default_factory=list, max_length=100)


class BreakBeamSensor(_Cheap):
    """A light barrier from ``from_xyz_m`` to ``to_xyz_m``: true while something is in the beam."""

    rate_hz: Annotated[float, Field(gt=0, le=10_000, allow_inf_nan=False)] = 30.0
    from_xyz_m: tuple[Coord, Coord, Coord]
    to_xyz_m: tuple[Coord, Coord, Coord]


class ProximitySensor(_Cheap):
    """Distance along one ray to the first surface (``range_m`` when none)."""

    rate_hz: Annotated[float, Field(gt=0, le=10_000, allow_inf_nan=False)] = 10.0
    xyz_m: tuple[Coord, Coord, Coord]
    direction: tuple[Coord, Coord, Coord] = (0.0, 0.0, -1.0)
    range_m: PositiveFloat = 1.0


class LaserProfilerSensor(_Cheap):
    """A laser line: ``n_rays`` rays fanned over ``fan_deg`` about ``direction``, towards ``fan_axis``."""

    rate_hz: Annotated[float, Field(gt=0, le=10_000, allow_inf_nan=False)] = 30.0
    xyz_m: tuple[Coord, Coord, Coord]
    direction: tuple[Coord, Coord, Coord] = (0.0, 0.0, -1.0)
    fan_axis: tuple[Coord, Coord, Coord] = (0.0, 1.0, 0.0)
    fan_deg: Annotated[float, Field(gt=0, lt=180)] = 30.0
    n_rays: Annotated[int, Field(ge=2, le=10_000)] = 400
    range_m: PositiveFloat = 1.0


class LogicalCameraSensor(_Cheap):
    """Ground truth for tests: the parts whose origin is in the camera's frustum, with their poses."""

    rate_hz: Annotated[float, Field(gt=0, le=10_000, allow_inf_nan=False)] = 10.0
    pose: CameraPose
    fov_deg: Annotated[float, Field(gt=0, lt=180)] = 60.0
    aspect: PositiveFloat = 4 / 3
    range_m: PositiveFloat = 2.0


class EncoderSensor(_Cheap):
    """Counts of a conveyor's belt travel (``counts_per_m``)."""

    rate_hz: Annotated[float, Field(gt=0, le=10_000, allow_inf_nan=False)] = 100.0
    conveyor: Name
    counts_per_m: PositiveFloat = 1000.0


class Sensors(_Model):
    """Sensors of the 3D world."""

    cameras: list[CameraSensor] = Field(default_factory=list, max_length=1000)
    break_beams: list[BreakBeamSensor] = Field(default_factory=list, max_length=10_000)
    proximity: list[ProximitySensor] = Field(default_factory=list, max_length=10_000)
    laser_profilers: list[LaserProfilerSensor] = Field(default_factory=list, max_length=1000)
    logical_cameras: list[LogicalCameraSensor] = Field(default_factory=list, max_length=1000)
    encoders: list[EncoderSensor] = Field(default_factory=list, max_length=10_000)

    def cheap(self) -> list:
        """Every sensor but the cameras, in section order."""
        return [*self.break_beams, *self.proximity, *self.laser_profilers, *self.logical_cameras, *self.encoders]


class AgvNode(_Model):
    """A node of an AGV path graph: a point on the floor (x, y in metres)."""

    name: Name
    xy_m: tuple[Coord, Coord]


class AgvFleet(_Model):
    """AGVs on a path graph (see ``twin.physics.agv`` for the traffic rules).

    Vehicles drive node to node along ``edges`` (straight lines, both directions) by shortest
    paths, stopping at each node (trapezoidal speed profile with ``speed_mps`` and ``accel_mps2``).
    Before each trip a vehicle books a time window on every node of its path, none overlapping
    another vehicle's, and nodes are entered in booking order, so vehicles never collide or
    deadlock. Transport orders are dispatched in the order they were raised, as their stations
    allow (a station loads for one order at a time, unloads for any number, never both at once),
    to the nearest idle vehicle, which returns to its own ``parking`` node after each delivery. Stations and parking places must be
    dead-end nodes (one edge). ``breakdowns`` strike vehicles on calendar time; a broken vehicle
    stops at the next node it reaches (keeping its node and windows) until repaired.
    """

    name: Name
    nodes: list[AgvNode] = Field(min_length=2, max_length=100_000)
    edges: list[tuple[Name, Name]] = Field(min_length=1, max_length=1_000_000)
    parking: list[Name] = Field(min_length=1, max_length=10_000,
                                description="one dead-end node per vehicle: the fleet has len(parking) vehicles")
    speed_mps: Annotated[float, Field(gt=0, le=20, allow_inf_nan=False)] = 1.0
    accel_mps2: Annotated[float, Field(gt=0, le=20, allow_inf_nan=False)] = 0.5
    handling_s: NonNegFloat = Field(10.0, description="time to load or unload at a station")
    breakdowns: Failure | None = Field(None, description="per vehicle; basis is always calendar time")
    chassis_m: tuple[Size, Size, Size] = Field((0.9, 0.6, 0.3), description="box body in the 3D world")
    urdf: str | None = Field(None, max_length=1000,
                             description="a URDF for the vehicles' bodies instead of the box (e.g. husky/husky.urdf)")
    _urdf_path: str | None = PrivateAttr(None)

    @property
    def urdf_path(self) -> str | None:
        """The vehicles' URDF file, resolved when the scene loads (None: box chassis)."""
        return self._urdf_path


class Transport(_Model):
    """A line element whose parts are carried by an AGV fleet from ``pickup`` to ``dropoff``.

    A part entering the transport waits at the pickup station for a vehicle (a transport order is
    raised at once); the vehicle loads it, drives, unloads it at the drop-off station, and the part
    leaves to ``to`` when that accepts it. ``capacity`` bounds the parts inside (waiting, carried
    or waiting at the drop-off): when it is full the upstream element is blocked.
    """

    name: Name
    to: Name
    fleet: Name
    pickup: Name = Field(description="a dead-end node of the fleet's path graph")
    dropoff: Name = Field(description="a dead-end node of the fleet's path graph")
    capacity: Annotated[int, Field(ge=1, le=10_000)] = 1


class CraneAxes(_Model):
    """Stacker crane limits: travel along the aisle (x) and lift (z) move at the same time."""

    speed_x_mps: Annotated[float, Field(gt=0, le=20, allow_inf_nan=False)] = 3.0
    accel_x_mps2: Annotated[float, Field(gt=0, le=20, allow_inf_nan=False)] = 0.8
    speed_z_mps: Annotated[float, Field(gt=0, le=20, allow_inf_nan=False)] = 1.0
    accel_z_mps2: Annotated[float, Field(gt=0, le=20, allow_inf_nan=False)] = 0.8


class Storage(_Model):
    """An automated storage and retrieval system (rack + stacker crane) in the line.

    Each entering part raises a storage request: the crane (one move at a time, first come first
    served) takes it from the input/output point to a slot chosen by ``policy`` and comes back, a
    single-command cycle of ``2 x max(t_x, t_z) + 2 x handling_s``. With ``retrieval: immediate`` a
    retrieval request follows at once (first in, first out); with ``on_demand`` the line pulls:
    the oldest stored part is requested only when the output point is free (the part retrieved
    before it has left to ``to``). The crane fetches the part back to the output point, where it
    leaves to ``to`` when that accepts it. A part holds its slot from storage to retrieval; when
    every usable slot is taken the upstream element is blocked. ``blocked_slots`` are out of
    service. Slot (bay, level) is centred at ``(bay + 0.5) x bay_width_m`` along the aisle and
    ``(level + 0.5) x level_height_m`` above the input/output point.
    """

    name: Name
    to: Name
    bays: Annotated[int, Field(ge=1, le=1000)]
    levels: Annotated[int, Field(ge=1, le=100)]
    bay_width_m: Size = 1.0
    level_height_m: Size = 0.8
    crane: CraneAxes = Field(default_factory=CraneAxes)
    handling_s: NonNegFloat = 3.0
    policy: Literal["closest_open", "random"] = "closest_open"
    retrieval: Literal["immediate", "on_demand"] = "immediate"
    blocked_slots: list[tuple[Annotated[int, Field(ge=0)], Annotated[int, Field(ge=0)]]] = Field(
        default_factory=list, max_length=100_000)
    geometry: BoxGeometry | None = Field(None, description="where the rack stands in the 3D world")

    @property
    def capacity(self) -> int:
        """Usable slots."""
        return self.bays * self.levels - len(set(self.blocked_slots))


class OrbitPath(_Model):
    """A video camera circling a point (``twin record``): the eye turns about the vertical through
    ``center_m`` at ``radius_m`` horizontally and ``height_m`` above the centre, one turn every
    ``period_s`` seconds of video, looking at the centre. Omitted values are fitted to the bounding
    box of the scene's 3D layout, so that the whole line stays in view."""

    kind: Literal["orbit"]
    center_m: tuple[Coord, Coord, Coord] | None = Field(None, description="point looked at (default: layout centre)")
    radius_m: Annotated[float, Field(gt=0, le=1e4, allow_inf_nan=False)] | None = None
    height_m: Annotated[float, Field(ge=-1e4, le=1e4, allow_inf_nan=False)] | None = None
    period_s: Annotated[float, Field(gt=0, le=1e6, allow_inf_nan=False)] = Field(
        60.0, description="video seconds per full turn")
    start_deg: Annotated[float, Field(ge=-360, le=360)] = Field(
        -60.0, description="where the eye starts: angle about the vertical, from +x towards +y")
    clockwise: bool = Field(False, description="turn clockwise seen from above")


class CameraWaypoint(_Model):
    """One key pose of a fly-through: at ``t_s`` seconds of video the eye is at ``eye_m`` looking at
    ``target_m``."""

    t_s: NonNegFloat
    eye_m: tuple[Coord, Coord, Coord]
    target_m: tuple[Coord, Coord, Coord]

    @model_validator(mode="after")
    def _not_at_target(self) -> CameraWaypoint:
        if self.eye_m == self.target_m:
            raise ValueError("target_m: the camera cannot look at its own position")
        return self


class WaypointPath(_Model):
    """A fly-through: eye and target pass through the waypoints at their times, smoothly (a cubic
    Hermite spline with Catmull-Rom tangents, easing in and out at the ends); before the first and
    after the last waypoint the camera holds still."""

    kind: Literal["waypoints"]
    waypoints: list[CameraWaypoint] = Field(min_length=2, max_length=10_000)

    @model_validator(mode="after")
    def _increasing(self) -> WaypointPath:
        times = [w.t_s for w in self.waypoints]
        for i in range(1, len(times)):
            if times[i] <= times[i - 1]:
                raise ValueError(f"waypoints[{i}].t_s ({times[i]}) must be greater than the previous "
                                 f"waypoint's ({times[i - 1]}): times must increase")
        return self


CameraPath = Annotated[OrbitPath | WaypointPath, Field(discriminator="kind")]


class Viz(_Model):
    """How videos show the scene (``twin record``; see ``docs/media.md``)."""

    camera_path: CameraPath | None = Field(
        None, description="orbit or waypoints; default: an orbit fitted to the layout's bounding box")
    fov_deg: Annotated[float, Field(gt=0, lt=180)] = Field(50.0, description="horizontal field of view")


class TimeWindow(_Model):
    """A window of the calendar's period, ``start``/``end`` as ``"HH:MM"`` (may wrap past the period)."""

    start: str
    end: str

    @field_validator("start", "end")
    @classmethod
    def _clock(cls, v: str) -> str:
        parse_clock_s(v)
        return v


class Calendar(_Model):
    """A repeating shift calendar: working windows (shifts) minus breaks, repeating every ``period_h``."""

    name: Name
    # The engine samples the period on a 1 s grid, so it must span at least a minute (clock times
    # are HH:MM) and at most a leap year (a bigger period would allocate gigabytes).
    period_h: Annotated[float, Field(ge=1 / 60, le=8784, allow_inf_nan=False)] = Field(
        24.0, description="length of the repeating period in hours (1/60 to 8784)")
    shifts: list[TimeWindow] = Field(min_length=1, max_length=1000)
    breaks: list[TimeWindow] = Field(default_factory=list, max_length=1000)

    def windows(self, items: list[TimeWindow]) -> list[tuple[float, float]]:
        """``items`` as [start, end) intervals (s) within one period; a window that wraps past the
        period's end is split in two; an empty one (start = end) is left out."""
        period = self.period_h * 3600.0
        out = []
        for w in items:
            start, end = parse_clock_s(w.start) % period, parse_clock_s(w.end)
            end = end % period if end != period else period
            if end > start:
                out.append((start, end))
            elif end < start:
                out += [(start, period), (0.0, end)]
        return out

    def working_s(self) -> float:
        """Working time per period: the shifts' union minus the breaks' (s)."""
        on = _union(self.windows(self.shifts))
        off = _union(self.windows(self.breaks))
        overlap = sum(max(0.0, min(e, e2) - max(s, s2)) for s, e in on for s2, e2 in off)
        return sum(e - s for s, e in on) - overlap

    @model_validator(mode="after")
    def _some_working_time(self) -> Calendar:
        if self.working_s() < 1.0:
            raise ValueError("the calendar has no working time: its shifts are empty or its breaks cover them")
        return self


def _union(windows: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Disjoint, sorted intervals covering the same time as ``windows``."""
    out: list[list[float]] = []
    for s, e in sorted(windows):
        if out and s <= out[-1][1]:
            out[-1][1] = max(out[-1][1], e)
        else:
            out.append([s, e])
    return [(s, e) for s, e in out]


class ScheduledFault(_Model):
    """A fault injected on a schedule (as in NIST's ARIAC), recovered after ``duration_s``.

    Kinds and targets: ``station_down`` (a station stops: it finishes nothing until repaired),
    ``robot_malfunction`` (a station with a ``robot_cell``: its robot stops), ``conveyor_stop`` (a
    conveyor's belt stands; parts on it stay where they are), ``sensor_blackout`` (a sensor or camera
    gives no readings; when the target is a station with in-line ``inspection.vision``, the station
    cannot judge parts and stops until its camera is back). The fault starts at ``at_s`` and, with
    ``every_s``, again every ``every_s`` after that. Station faults count as failures in the KPIs
    (failure mode ``scheduled/<name>``).
    """

    name: Name
    kind: Literal["station_down", "robot_malfunction", "conveyor_stop", "sensor_blackout"]
    target: Name
    at_s: NonNegFloat
    duration_s: PositiveFloat
    every_s: PositiveFloat | None = Field(None, description="repeat period; must exceed duration_s")

    @model_validator(mode="after")
    def _period(self) -> ScheduledFault:
        if self.every_s is not None and self.every_s <= self.duration_s:
            raise ValueError(f"every_s ({self.every_s}) must be greater than duration_s ({self.duration_s})")
        return self

    def windows(self, until_s: float) -> list[tuple[float, float]]:
        """The fault's [start, end) windows that begin before ``until_s``."""
        if self.every_s is None:
            return [(self.at_s, self.at_s + self.duration_s)] if self.at_s < until_s else []
        n = max(0, math.ceil((until_s - self.at_s) / self.every_s))
        return [(self.at_s + k * self.every_s, self.at_s + k * self.every_s + self.duration_s) for k in range(n)]


class SimSettings(_Model):
    """Run settings; CLI options override them."""

    seed: Annotated[int, Field(ge=0, lt=2**63)] = 0
    warmup_s: NonNegFloat = 0.0
    control_step_s: PositiveFloat = Field(0.01, description="Twin.step() length (the PLC-scan analogue)")
    physics_hz: Annotated[float, Field(ge=30, le=10_000, allow_inf_nan=False)] = Field(
        240.0, description="physics rate of the 3D world (Twin(physics=True)); about 240 Hz keeps contacts stable")
    until: str | NonNegFloat | None = Field(None, description="default run length, e.g. '8h'")
    renderer: Literal["auto", "egl", "tiny"] = Field(
        "auto", description="camera renderer: EGL where it works (GPU or Mesa llvmpipe), else TinyRenderer")

    @field_validator("until")
    @classmethod
    def _until(cls, v):
        if v is not None and parse_duration_s(v) <= 0:
            raise ValueError(f"until must be > 0 (got {v!r})")
        return v

    @model_validator(mode="after")
    def _warmup_before_end(self) -> SimSettings:
        if self.until is not None and self.warmup_s >= parse_duration_s(self.until):
            raise ValueError(f"warmup_s ({self.warmup_s:g} s) must be shorter than until ({self.until!r})")
        return self


class Scene(_Model):
    """A whole scene file (format version 1)."""

    version: Literal[1]
    name: Name | None = None
    description: str = ""
    sim: SimSettings = Field(default_factory=SimSettings)
    part_types: list[PartType] = Field(min_length=1, max_length=10_000)
    sources: list[Source] = Field(min_length=1, max_length=10_000)
    buffers: list[Buffer] = Field(default_factory=list, max_length=100_000)
    conveyors: list[Conveyor] = Field(default_factory=list, max_length=100_000)
    stations: list[Station] = Field(default_factory=list, max_length=100_000)
    diverters: list[Diverter] = Field(default_factory=list, max_length=100_000)
    merges: list[Merge] = Field(default_factory=list, max_length=100_000)
    sinks: list[Sink] = Field(min_length=1, max_length=10_000)
    transports: list[Transport] = Field(default_factory=list, max_length=10_000)
    storages: list[Storage] = Field(default_factory=list, max_length=1000)
    agv_fleets: list[AgvFleet] = Field(default_factory=list, max_length=100)
    fixtures: list[Fixture] = Field(default_factory=list, max_length=100_000)
    sensors: Sensors = Field(default_factory=Sensors)
    viz: Viz = Field(default_factory=Viz)
    calendars: list[Calendar] = Field(default_factory=list, max_length=1000)
    faults: list[ScheduledFault] = Field(default_factory=list, max_length=10_000)
