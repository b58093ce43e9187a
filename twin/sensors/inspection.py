"""Vision inspection: parts with real defects, and an inspector that finds them from a camera.

A :class:`PartDesign` is a rectangular plate with a square through-hole in its middle and a
nominal colour. :func:`make_part` builds it as one rigid body in a World, perfect or with one
defect of a kind users meet on real lines:

- ``missing_hole`` (geometric): the hole was not drilled;
- ``dent`` (geometric): a corner is pushed in (a notch ``dent_m`` x ``dent_m`` is missing);
- ``discolored`` (visual): a patch of another colour on the top face;
- ``oversize`` (dimensional): the length is ``oversize_m`` over nominal.

:class:`Inspector` decides pass or fail from one top-down camera frame, never from how the part
was made: the part's pixels (segmentation tells part from background, as a vision system's
segmentation step does) become top-face points; a minimum-area rectangle gives length and width
(checked against the design's tolerance); the points are rasterised on a 1 mm grid in the
rectangle's frame, where an uncovered square in the middle is the hole and uncovered cells in the
corners are a dent; pixels whose colour is far from the part's median colour are a patch.
:func:`confusion` scores verdicts against the truth: precision, recall and the confusion matrix.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..physics.world import World
from .camera import Frame
from .perception import min_area_rect
from .pointcloud import frame_points

__all__ = ["PartDesign", "DEFECT_KINDS", "make_part", "Inspector", "Verdict", "confusion", "InspectionBench",
           "measure_inspector", "resolve_vision_inspections"]

DEFECT_KINDS = ("missing_hole", "dent", "discolored", "oversize")


@dataclass(frozen=True)
class PartDesign:
    length_m: float = 0.10
    width_m: float = 0.06
    height_m: float = 0.02
    hole_m: float = 0.02
    rgba: tuple[float, float, float, float] = (0.55, 0.57, 0.62, 1.0)
    tolerance_m: float = 0.0015  # on length and width
    dent_m: float = 0.012
    patch_m: float = 0.015
    patch_rgba: tuple[float, float, float, float] = (0.45, 0.25, 0.12, 1.0)
    oversize_m: float = 0.004


def make_part(world: World, name: str, design: PartDesign, defect: str | None, xyz_m, yaw_rad: float,
              rng: np.random.Generator, mass_kg: float = 0.1) -> int:
    """Build the part (its bottom face at ``xyz_m[2]``), perfect or with ``defect``."""
    if defect not in (None, *DEFECT_KINDS):
        raise ValueError(f"defect must be one of {DEFECT_KINDS} or None, got {defect!r}")
    length = design.length_m + (design.oversize_m if defect == "oversize" else 0.0)
    w, h, hole = design.width_m, design.height_m, design.hole_m
    col = design.rgba
    half_h = 0.5 * h
    boxes = []
    if defect == "missing_hole":
        boxes.append(((0.5 * length, 0.5 * w, half_h), (0.0, 0.0, 0.0), col))
    else:
        side = 0.5 * (w - hole)  # the long bars along the length, beside the hole
        end = 0.5 * (length - hole)  # the short bars across, at the hole's ends
        boxes += [((0.5 * length, 0.5 * side, half_h), (0.0, 0.5 * (w - side), 0.0), col),
                  ((0.5 * length, 0.5 * side, half_h), (0.0, -0.5 * (w - side), 0.0), col),
                  ((0.5 * end, 0.5 * hole, half_h), (0.5 * (length - end), 0.0, 0.0), col),
                  ((0.5 * end, 0.5 * hole, half_h), (-0.5 * (length - end), 0.0, 0.0), col)]
        if defect == "dent":  # shorten one long bar at one end: a notch at that corner
            d = design.dent_m
            sx, sy = rng.choice([-1.0, 1.0], size=2)
            bar = 0 if sy > 0 else 1
            (hx, hy, hz), (ox, oy, oz), c = boxes[bar]
            boxes[bar] = ((hx - 0.5 * d, hy, hz), (ox - sx * 0.5 * d, oy, oz), c)
    if defect == "discolored":  # a thin patch on one long bar
        p = design.patch_m
        side = 0.5 * (w - hole)
        px = rng.uniform(-0.5 * length + 0.6 * p, 0.5 * length - 0.6 * p)
        py = rng.choice([-1.0, 1.0]) * 0.5 * (w - side)
        boxes.append(((0.5 * p, 0.5 * min(p, side), 0.0003), (px, py, half_h + 0.0003), design.patch_rgba))
    return world.add_compound(name, boxes, (xyz_m[0], xyz_m[1], xyz_m[2] + half_h), yaw_rad=yaw_rad,
                              mass_kg=mass_kg)


@dataclass(frozen=True)
class Verdict:
    passed: bool
    reasons: tuple[str, ...]
    length_m: float
    width_m: float
    hole_fraction: float  # of the hole's cells seen uncovered (1: hole there)
    corner_gap_fraction: float  # of the corner cells seen uncovered (0: no dent)
    off_color_fraction: float  # of the top-face pixels far from the median colour
    measures: dict = field(default_factory=dict)


class Inspector:
    """Pass/fail of one part from a top-down camera frame (see the module docstring)."""

    def __init__(self, design: PartDesign, grid_m: float = 0.001, color_distance: float = 40.0) -> None:
        self.design = design
        self.grid_m = float(grid_m)
        self.color_distance = float(color_distance)

    def inspect(self, frame: Frame, body: int) -> Verdict:
        d = self.design
        mask = frame.body == body
        pts = frame_points(frame, keep_bodies=[body])
        if len(pts) < 20:
            return Verdict(False, ("part not seen",), 0.0, 0.0, 0.0, 0.0, 0.0)
        top = pts[:, 2].max()
        on_top = pts[:, 2] >= top - 0.0015
        xy = pts[on_top, :2]
        pixel = (frame.translation[2] - top) / frame.intrinsics.fx
        centre, length, width, angle = min_area_rect(xy)
        length, width = length + pixel, width + pixel
        # the top face in the rectangle's frame, rasterised on a grid
        c, s = math.cos(angle), math.sin(angle)
        local = (xy - centre) @ np.array([[c, -s], [s, c]])
        g = max(self.grid_m, 2.5 * pixel)  # several pixels a cell, or noise leaves some cells empty
        nx, ny = max(1, int(round(length / g))), max(1, int(round(width / g)))
        ix = np.clip(((local[:, 0] + 0.5 * length) / g).astype(int), 0, nx - 1)
        iy = np.clip(((local[:, 1] + 0.5 * width) / g).astype(int), 0, ny - 1)
        covered = np.zeros((nx, ny), bool)
        covered[ix, iy] = True
        cx, cy = (np.arange(nx) + 0.5) * g - 0.5 * length, (np.arange(ny) + 0.5) * g - 0.5 * width
        gx, gy = np.meshgrid(cx, cy, indexing="ij")
        half_hole = 0.5 * d.hole_m - 2 * g
        in_hole = (np.abs(gx) < half_hole) & (np.abs(gy) < half_hole)
        hole_fraction = float(1.0 - covered[in_hole].mean()) if in_hole.any() else 0.0
        corner = 0.5 * d.dent_m
        # the corner squares, less the outermost ring of cells (half-covered at the edge of the image)
        in_corner = ((np.abs(gx) > 0.5 * length - corner) & (np.abs(gy) > 0.5 * width - corner)
                     & (np.abs(gx) < 0.5 * length - g) & (np.abs(gy) < 0.5 * width - g))
        corner_gap = float(1.0 - covered[in_corner].mean()) if in_corner.any() else 0.0
        # colour: distance of each top-face pixel's colour from the median colour
        rgb = frame.rgb[mask].astype(float)
        z_pix = frame.depth_m[mask]
        top_pix = rgb[z_pix <= np.min(z_pix) + 0.0015]
        median = np.median(top_pix, axis=0)
        chroma = top_pix / np.maximum(top_pix.sum(axis=1, keepdims=True), 1.0) * 255.0  # shading-independent
        chroma_median = median / max(median.sum(), 1.0) * 255.0
        off = float(np.mean(np.linalg.norm(chroma - chroma_median, axis=1) > 0.25 * self.color_distance))
        reasons = []
        if abs(length - d.length_m) > d.tolerance_m or abs(width - d.width_m) > d.tolerance_m:
            reasons.append(f"size {1000 * length:.1f} x {1000 * width:.1f} mm out of tolerance")
        if hole_fraction < 0.5:
            reasons.append("hole missing")
        if corner_gap > 0.1:  # a dent empties one corner of four: 0.25
            reasons.append("dented corner")
        patch_share = (d.patch_m * min(d.patch_m, 0.5 * (d.width_m - d.hole_m))) / (
            d.length_m * d.width_m - d.hole_m ** 2)
        if off > 0.3 * patch_share:
            reasons.append("discoloured")
        return Verdict(not reasons, tuple(reasons), length, width, hole_fraction, corner_gap, off)


def confusion(truth_defective, verdict_failed) -> dict:
    """Precision, recall and the confusion matrix of fail verdicts against the truth."""
    t = np.asarray(truth_defective, bool)
    f = np.asarray(verdict_failed, bool)
    tp, fp = int(np.sum(t & f)), int(np.sum(~t & f))
    fn, tn = int(np.sum(t & ~f)), int(np.sum(~t & ~f))
    return {"true_positive": tp, "false_positive": fp, "false_negative": fn, "true_negative": tn,
            "precision": tp / (tp + fp) if tp + fp else float("nan"),
            "recall": tp / (tp + fn) if tp + fn else float("nan")}


class InspectionBench:
    """An inspection table under a top-down camera in a World of its own, judging one part at a time.

    The camera is placed so the part fills about the same share of the image at any size; the part
    lies at a random place and yaw on the table. Used to measure an inspector (at load) and to judge
    each part of a line in turn (``inspection.vision.per_part``). Close it (or use ``with``).
    """

    def __init__(self, design: PartDesign, depth_noise_m: float = 0.0003, pixel_noise: float = 3.0,
                 seed: int = 0) -> None:
        from .camera import Camera, Intrinsics, look_at

        self.design = design
        self.inspector = Inspector(design)
        self.world = World(renderer="auto")
        self.world.add_floor()
        self.world.add_box("table", (0.3, 0.3, 0.2), (0.0, 0.0, 0.2))
        self.reach = max(design.length_m + design.oversize_m, design.width_m)
        distance = 0.35 * self.reach / 0.1
        self.camera = Camera(self.world, "inspection", Intrinsics.from_fov(640, 480, 40), far_m=distance + 1.0,
                             depth_noise_m=depth_noise_m, pixel_noise=pixel_noise, seed=seed,
                             pose=look_at((0, 0, 0.4 + distance), (0, 0, 0.4), up=(1, 0, 0)))
        self._n = 0

    def judge(self, defect: str | None, rng: np.random.Generator) -> Verdict:
        """Build a part (perfect, or with ``defect``) at a random place and yaw, photograph it, judge it."""
        self._n += 1
        name = f"part/{self._n}"
        body = make_part(self.world, name, self.design, defect, (rng.uniform(-0.2, 0.2) * self.reach,
                                                                  rng.uniform(-0.2, 0.2) * self.reach, 0.4),
                         rng.uniform(-math.pi, math.pi), rng)
        try:
            return self.inspector.inspect(self.camera.capture(), body)
        finally:
            self.world.remove(name)

    def close(self) -> None:
        self.world.close()

    def __enter__(self) -> InspectionBench:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def measure_inspector(design: PartDesign, samples: int = 200, kinds=DEFECT_KINDS, depth_noise_m: float = 0.0003,
                      pixel_noise: float = 3.0, seed: int = 0) -> dict:
    """Judge ``samples`` simulated parts (half perfect, half with a defect of each kind in turn) on an
    :class:`InspectionBench`; return :func:`confusion` plus ``detect_prob`` (recall) and
    ``false_reject_prob`` (good parts failed / good parts)."""
    rng = np.random.default_rng(seed)
    truth, failed = [], []
    with InspectionBench(design, depth_noise_m, pixel_noise, seed) as bench:
        for i in range(int(samples)):
            kind = None if i % 2 == 0 else kinds[(i // 2) % len(kinds)]
            truth.append(kind is not None)
            failed.append(not bench.judge(kind, rng).passed)
    scores = confusion(truth, failed)
    good = scores["false_positive"] + scores["true_negative"]
    scores["detect_prob"] = scores["recall"]
    scores["false_reject_prob"] = scores["false_positive"] / good if good else 0.0
    return scores


def resolve_vision_inspections(scene) -> None:
    """Measure every vision inspection of ``scene`` and set its station's rates (deterministic)."""
    for station in scene.stations:
        insp = station.inspection
        if insp is None or insp.vision is None:
            continue
        v = insp.vision
        design = PartDesign(length_m=v.length_m, width_m=v.width_m, height_m=v.height_m, hole_m=v.hole_m,
                            tolerance_m=v.tolerance_m)
        scores = measure_inspector(design, v.samples, tuple(v.defect_kinds), v.depth_noise_m, v.pixel_noise)
        insp.__pydantic_private__["_measured"] = (float(scores["detect_prob"]), float(scores["false_reject_prob"]))
