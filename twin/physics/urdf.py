"""Why a URDF file cannot be loaded.

PyBullet reports a URDF it cannot load as "Cannot load URDF file." (and prints the details to the
console), whatever the cause: a file that is not XML, a missing mesh, a directory. These checks
find the common causes and name them: the XML line, the mesh path and where it was looked for.
"""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET

__all__ = ["diagnose_urdf", "MAX_URDF_BYTES"]

#: larger files are refused unread (a robot description is kilobytes)
MAX_URDF_BYTES = 20 * 1024 * 1024


def diagnose_urdf(path: str) -> str | None:
    """Why the URDF at ``path`` cannot be loaded, as the end of a sentence ("it is a directory"),
    or None when these checks find nothing wrong.

    Meant for after PyBullet has refused a file: its own parser is more lenient than XML (some of
    ``pybullet_data``'s files are not well-formed), so a file is never refused on these grounds
    alone. Mesh file names are taken relative to the URDF's folder; a ``package://name/`` prefix
    is looked for with and without the package folder, as PyBullet does.
    """
    if os.path.isdir(path):
        return "it is a directory, not a URDF file"
    if not os.path.isfile(path):
        return "the file does not exist"
    size = os.path.getsize(path)
    if size > MAX_URDF_BYTES:
        return f"it is {size / 2**20:.0f} MiB, more than the {MAX_URDF_BYTES // 2**20} MiB a URDF may have"
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as exc:
        line, column = exc.position
        return f"it is not valid XML (line {line}, column {column + 1})"
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        return f"it cannot be read ({exc})"
    if root.tag != "robot":
        return f"its root element is <{root.tag}>, where a URDF has <robot>"
    if root.find("link") is None:
        return "it has no <link> element"
    folder = os.path.dirname(os.path.abspath(path))
    for mesh in root.iter("mesh"):
        name = mesh.get("filename")
        if not name:
            return "a <mesh> element in it has no filename"
        searched = _mesh_candidates(name, folder)
        if not any(os.path.isfile(c) for c in searched):
            return f"it refers to mesh {name!r}, which is not there (searched: {', '.join(searched)})"
    return None


def _mesh_candidates(name: str, folder: str) -> list[str]:
    if name.startswith("package://"):
        rest = name[len("package://"):]
        inside = rest.split("/", 1)[1] if "/" in rest else rest
        return [os.path.join(folder, rest), os.path.join(folder, inside),
                os.path.join(os.path.dirname(folder), rest)]
    if name.startswith("file://"):
        name = name[len("file://"):]
    return [name] if os.path.isabs(name) else [os.path.join(folder, name)]
