"""3-D targets, declared once for the trainer and the add-on: the file kinds, each format's axis convention,
and the shape's front (the view a 3-D film resolves on). Numpy only.

Axes. World coordinates are Blender's: x right, y away from the viewer (Blender's "forward"), z up. Every
format names its own: `CONVENTIONS[suffix] = (up, forward)`, the file axis that becomes world +Z and the
one that becomes world +Y (the names of Blender's importers and exporters: Up = Y, Forward = -Z is what
Blender's OBJ and glTF exporters write by default; its PLY and STL exporters write Up = Z, Forward = Y,
Blender's own axes). Point clouds are taken z up. `--up` / `--forward` override a format's pair.

Front. The view onto the largest face of the shape's bounding box: a word lying flat (as Blender's Text
tool makes it) is read from above (+z) with its own +y as the picture's up; a standing figure is seen
from the front (-y, Blender's Front view). Faces within NEAR_TIE of the largest count as ties, which go to
-y, then +z, then +x (Blender's Front, Top, Right views). A front names where the camera is, seen from the
shape: "-y" = the camera at -y looking towards +y. `FRONT_VIEWS` gives each front's screen axes as Blender's
numpad views have them.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

MESH_SUFFIXES = (".obj", ".ply", ".stl", ".glb", ".gltf")
POINT_SUFFIXES = (".npy", ".xyz")
SHAPE_SUFFIXES = MESH_SUFFIXES + POINT_SUFFIXES
FILLS = ("surface", "volume")

AXES = ("x", "y", "z", "-x", "-y", "-z")
Z_UP = ("z", "y")  # Blender's own axes: what its PLY and STL exporters write
Y_UP = ("y", "-z")  # Blender's OBJ and glTF exporters' defaults (Up = Y, Forward = -Z)
CONVENTIONS: dict[str, tuple[str, str]] = {
    ".obj": Y_UP, ".glb": Y_UP, ".gltf": Y_UP,  # glTF: y up by its specification
    ".ply": Z_UP, ".stl": Z_UP, ".npy": Z_UP, ".xyz": Z_UP,
}  # fmt: skip
FORMAT_NAMES = {".obj": "OBJ", ".glb": "glTF", ".gltf": "glTF", ".ply": "PLY", ".stl": "STL", ".npy": "point cloud",
                ".xyz": "point cloud"}  # fmt: skip

# front -> (towards the camera, screen up, screen right), world unit vectors; right x up = towards.
FRONT_VIEWS: dict[str, tuple[tuple[int, int, int], ...]] = {
    "-y": ((0, -1, 0), (0, 0, 1), (1, 0, 0)),  # Blender's Front view
    "+y": ((0, 1, 0), (0, 0, 1), (-1, 0, 0)),  # Back
    "+x": ((1, 0, 0), (0, 0, 1), (0, 1, 0)),  # Right
    "-x": ((-1, 0, 0), (0, 0, 1), (0, -1, 0)),  # Left
    "+z": ((0, 0, 1), (0, 1, 0), (1, 0, 0)),  # Top: the picture's up is +y
    "-z": ((0, 0, -1), (0, -1, 0), (1, 0, 0)),  # Bottom
}
FRONTS = tuple(FRONT_VIEWS)
FRONT_PREFERENCE = ("-y", "+z", "+x")  # near-ties: Front, then Top, then Right
NEAR_TIE = 0.9  # a face at least this fraction of the largest face's area ties with it


AXIS_FLAGS = ("--up", "--forward", "--front")  # command-line flags whose values may start with "-"


def join_axis_values(argv: Sequence[str]) -> list[str]:
    """["--front", "-y"] -> ["--front=-y"]: argparse takes "-y" for an option and says the flag has no value."""
    out: list[str] = []
    i = 0
    while i < len(argv):
        a = argv[i]
        if a in AXIS_FLAGS and i + 1 < len(argv) and argv[i + 1][:1] == "-" and argv[i + 1][1:2] in "xyzXYZ":
            out.append(f"{a}={argv[i + 1]}")
            i += 2
            continue
        out.append(a)
        i += 1
    return out


class AxisError(ValueError):
    """An axis or front that cannot work (the message is one line; callers wrap it in their FlowreelError)."""


def parse_axis(text: str) -> str:
    """'Y', '+y', '-Z', 'neg_z' ... -> 'y', '-z'; AxisError for anything else."""
    t = str(text).strip().lower().replace("negative_", "-").replace("neg_", "-").replace("positive_", "")
    t = t[1:] if t.startswith("+") else t
    if t not in AXES:
        raise AxisError(f"an axis must be one of {', '.join(AXES)}, got {text!r}")
    return t


def parse_front(text: str) -> str:
    """'-Y', 'z', '+z' ... -> '-y', '+z'; AxisError for anything else."""
    a = parse_axis(text)
    return a if a.startswith("-") else "+" + a


def axis_vector(name: str) -> np.ndarray:
    a = parse_axis(name)
    v = np.zeros(3)
    v["xyz".index(a[-1])] = -1.0 if a.startswith("-") else 1.0
    return v


def resolve_axes(suffix: str, up: str | None = None, forward: str | None = None) -> tuple[str, str, str]:
    """(up, forward, how) for a file: the format's convention, with `up` / `forward` overriding it. A given
    axis keeps the other of the format's pair when that one is perpendicular to it, else the first of
    Blender's own axes that is. `how` says where the pair came from, for the file's metadata."""
    default_up, default_fwd = CONVENTIONS.get(suffix.lower(), Z_UP)
    u = parse_axis(up) if up else None
    f = parse_axis(forward) if forward else None
    if u and f and u[-1] == f[-1]:
        raise AxisError(f"--up {u} and --forward {f} must be different axes")
    if u is None and f is None:
        return default_up, default_fwd, f"{FORMAT_NAMES.get(suffix.lower(), suffix)} convention"
    if f is None:
        f = next(a for a in (default_fwd, "y", "-z", "x") if a[-1] != u[-1])
    if u is None:
        u = next(a for a in (default_up, "z", "y", "x") if a[-1] != f[-1])
    return u, f, "--up/--forward"


def axes_matrix(up: str, forward: str) -> np.ndarray:
    """[3, 3] rotation R with world = R @ file: the file's `up` becomes +z, its `forward` +y (x = y cross z)."""
    u, f = axis_vector(up), axis_vector(forward)
    if abs(float(u @ f)) > 0.5:
        raise AxisError(f"up {up} and forward {forward} must be different axes")
    return np.stack([np.cross(f, u), f, u])


def to_world(points: np.ndarray, up: str, forward: str) -> np.ndarray:
    """File coordinates [N, 3] -> world (z up, y forward)."""
    return np.asarray(points, dtype=np.float64) @ axes_matrix(up, forward).T


def from_world(points: np.ndarray, suffix: str) -> np.ndarray:
    """World coordinates [N, 3] -> a file's, by its format's convention (what an exporter writes)."""
    up, forward = CONVENTIONS.get(suffix.lower(), Z_UP)
    return np.asarray(points, dtype=np.float64) @ axes_matrix(up, forward)


def face_areas(extent: Sequence[float]) -> dict[str, float]:
    """Area of the bounding box's face each front looks at ({'-y': dx * dz, ...})."""
    dx, dy, dz = (float(extent[2 * i + 1]) - float(extent[2 * i]) for i in range(3))
    by_axis = {"x": dy * dz, "y": dx * dz, "z": dx * dy}
    return {f: by_axis[f[-1]] for f in FRONTS}


def choose_front(extent: Sequence[float]) -> str:
    """The front of a shape with this box [xmin, xmax, ymin, ymax, zmin, zmax] (see the module's text)."""
    if len(extent) != 6:
        return "+z"  # a picture lies on the z = 0 plane, seen from above
    areas = face_areas(extent)
    big = max(areas.values())
    return next(f for f in FRONT_PREFERENCE if areas[f] >= NEAR_TIE * big)


def front_basis(front: str) -> np.ndarray:
    """[3, 3] with columns (screen right, screen up, towards the camera) of the front view."""
    towards, up, right = FRONT_VIEWS[parse_front(front)]
    return np.array([right, up, towards], dtype=np.float64).T


def file_front(meta: dict | None, extent: Sequence[float]) -> str:
    """The front a trajectory file records (meta.target.front), else the rule's choice from its extent."""
    target = (meta or {}).get("target") or {}
    try:
        return parse_front(target["front"])
    except (KeyError, TypeError, AxisError):
        return choose_front(extent)
