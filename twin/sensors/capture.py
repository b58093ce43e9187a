"""Writing camera frames to files: what ``twin run --capture <camera> --out <dir>`` produces.

Per captured frame of a camera, under ``<dir>/<camera>/``:

- ``<n>_rgb.png``: the colour image (8-bit RGB);
- ``<n>_depth.png``: metric depth as 16-bit millimetres along the optical axis (0: nothing seen);
- ``<n>_seg.png``: 16-bit segmentation, the PyBullet body id + 1 (0: nothing seen);
- ``<n>_cloud.ply``: the points seen, in world coordinates (metres), with their colours;

and one ``frames.csv`` per camera: frame number, time, camera position and rotation (row-major 3x3,
camera frame x right, y down, z forward), file names, and the number of points. ``<n>`` counts
from 0 with six digits.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from .camera import Frame
from .pointcloud import frame_points, write_ply

__all__ = ["FrameWriter", "write_png"]


def write_png(path: Path, image: np.ndarray) -> None:
    """Write an 8-bit RGB (H, W, 3) or a 16-bit single-channel (H, W) image as PNG (open3d)."""
    import open3d as o3d

    if not o3d.io.write_image(str(path), o3d.geometry.Image(np.ascontiguousarray(image))):
        raise OSError(f"could not write {path}")


class FrameWriter:
    """Writes the frames of the named cameras (at most ``max_frames`` each); call it with
    ``(camera name, frame)``, e.g. as a ``Twin.on_frame`` hook."""

    def __init__(self, folder: Path, cameras: list[str], max_frames: int = 100) -> None:
        self.folder = Path(folder)
        self.max_frames = int(max_frames)
        self.count = {name: 0 for name in cameras}
        self._index = {}
        for name in cameras:
            (self.folder / name).mkdir(parents=True, exist_ok=True)
            fh = (self.folder / name / "frames.csv").open("w", newline="")
            writer = csv.writer(fh)
            writer.writerow(["frame", "t_s", "x_m", "y_m", "z_m", *[f"r{i}{j}" for i in range(3) for j in range(3)],
                             "rgb", "depth", "seg", "cloud", "points"])
            self._index[name] = (fh, writer)

    def __call__(self, name: str, frame: Frame) -> None:
        if name not in self.count or self.count[name] >= self.max_frames:
            return
        n = self.count[name]
        self.count[name] += 1
        base = self.folder / name / f"{n:06d}"
        seen = frame.body >= 0
        depth_mm = np.where(seen, np.clip(np.rint(frame.depth_m * 1000.0), 0, 65535), 0).astype(np.uint16)
        seg = np.clip(frame.body + 1, 0, 65535).astype(np.uint16)
        write_png(Path(f"{base}_rgb.png"), frame.rgb)
        write_png(Path(f"{base}_depth.png"), depth_mm)
        write_png(Path(f"{base}_seg.png"), seg)
        points = frame_points(frame)
        colors = frame.rgb[seen] if len(points) == int(seen.sum()) else None
        write_ply(Path(f"{base}_cloud.ply"), points, colors)
        _, writer = self._index[name]
        writer.writerow([n, repr(frame.t_s), *[repr(float(v)) for v in frame.translation],
                         *[repr(float(v)) for v in frame.rotation.reshape(-1)],
                         f"{base.name}_rgb.png", f"{base.name}_depth.png", f"{base.name}_seg.png",
                         f"{base.name}_cloud.ply", len(points)])

    def close(self) -> None:
        for fh, _ in self._index.values():
            fh.close()

    def summary(self) -> str:
        return ", ".join(f"{name}: {k} frames" for name, k in self.count.items())
