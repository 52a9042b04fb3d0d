"""Export as Flowreel target: a Blender object's evaluated mesh, in world space, as .ply or .obj.

The trainer fits 3-D flows to meshes it reads with trimesh (vertices + triangles, vertex colours when
present), so a target can be modelled in Blender: the selected object is evaluated (modifiers
applied; a Text or Curve object converted to a mesh), triangulated, moved to world space (Blender's
units) and written with numpy, not with Blender's exporters, whose operators and options differ between
3.4 and 5.0. Axes follow each format's convention as the trainer reads it (core/contract/shapes3d.py), the same
Blender's own exporters write by default: PLY z up as in the scene, OBJ y up and forward -z; so the
file reads back exactly as it lay in the scene. The file appears complete or not at all (core.atomic).

PLY (binary little-endian by default, ASCII on request):
    element vertex N: property float x, y, z [+ property uchar red, green, blue, alpha]
    element face F:   property list uchar int vertex_indices   (triangles)
OBJ: `v x y z [r g b]` (y up: a scene point (x, y, z) is written (x, z, -y); colours 0..1, sRGB) and
`f i j k` (1-based).
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass

import numpy as np

from ..core.atomic import atomic_write
from ..core.contract.shapes3d import from_world
from ..core.errors import TargetError

EXPORTABLE = {"MESH": "mesh", "CURVE": "curve", "FONT": "text"}
FORMATS = (".ply", ".obj")


@dataclass
class TargetMesh:
    vertices: np.ndarray  # float32 [n, 3], world space
    faces: np.ndarray  # int32 [F, 3], triangles
    colors: np.ndarray | None  # uint8 [n, 4] sRGB, or None


def pick_object(context, purpose: str = "export as a Flowreel target"):
    """The object to export: the active object when it is selected, else the first selected one."""
    selected = list(getattr(context, "selected_objects", None) or [])
    if not selected:
        raise TargetError(f"select a mesh, text or curve object to {purpose}")
    active = getattr(context, "active_object", None)
    obj = active if active is not None and active in selected else selected[0]
    if obj.type not in EXPORTABLE:
        raise TargetError(f"'{obj.name}' is a {obj.type.lower()} object: select a mesh, text or curve object")
    return obj


def _linear_to_srgb(c: np.ndarray) -> np.ndarray:
    c = np.clip(c, 0.0, 1.0)
    return np.where(c <= 0.0031308, 12.92 * c, 1.055 * np.power(c, 1.0 / 2.4) - 0.055)


def _vertex_colors(mesh, n: int) -> np.ndarray | None:
    """uint8 sRGB RGBA per vertex from the mesh's colour attribute (face-corner colours averaged)."""
    from .. import compat

    attr = compat.mesh_color_attribute(mesh)
    if attr is None or attr.domain not in ("POINT", "CORNER"):
        return None
    values = np.empty(len(attr.data) * 4, dtype=np.float32)
    attr.data.foreach_get("color", values)  # scene-linear floats for byte and float colours alike
    values = values.reshape(-1, 4).astype(np.float64)
    if attr.domain == "CORNER":
        loop_vertex = np.empty(len(mesh.loops), dtype=np.int32)
        mesh.loops.foreach_get("vertex_index", loop_vertex)
        sums = np.zeros((n, 4))
        np.add.at(sums, loop_vertex, values)
        count = np.bincount(loop_vertex, minlength=n)[:, None]
        values = np.where(count > 0, sums / np.maximum(count, 1), 1.0)
    rgba = values.copy()
    rgba[:, :3] = _linear_to_srgb(values[:, :3])
    return np.round(np.clip(rgba, 0.0, 1.0) * 255.0).astype(np.uint8)


def target_mesh(obj, depsgraph) -> TargetMesh:
    """The evaluated, triangulated, world-space mesh of `obj`. TargetError when it has no vertices."""
    from .. import compat

    ob_eval, mesh = compat.evaluated_mesh(obj, depsgraph)
    try:
        n = len(mesh.vertices) if mesh is not None else 0
        if n == 0:
            raise TargetError(f"'{obj.name}' has no vertices to export (an empty mesh)")
        co = np.empty(n * 3, dtype=np.float32)
        mesh.vertices.foreach_get("co", co)
        m = np.array(ob_eval.matrix_world, dtype=np.float64)
        world = co.reshape(-1, 3).astype(np.float64) @ m[:3, :3].T + m[:3, 3]
        faces = compat.mesh_triangles(mesh)
        if np.linalg.det(m[:3, :3]) < 0:  # a mirroring transform turns the triangles inside out
            faces = faces[:, ::-1]
        colors = _vertex_colors(mesh, n)
    finally:
        ob_eval.to_mesh_clear()
    return TargetMesh(world.astype(np.float32), np.ascontiguousarray(faces, dtype=np.int32), colors)


def ply_bytes(tm: TargetMesh, ascii: bool = False, comment: str = "Flowreel target") -> bytes:
    n, f = len(tm.vertices), len(tm.faces)
    header = ["ply", f"format {'ascii' if ascii else 'binary_little_endian'} 1.0", f"comment {comment}",
              f"element vertex {n}", "property float x", "property float y", "property float z"]
    if tm.colors is not None:
        header += [f"property uchar {c}" for c in ("red", "green", "blue", "alpha")]
    header += [f"element face {f}", "property list uchar int vertex_indices", "end_header"]
    head = ("\n".join(header) + "\n").encode("ascii")
    if ascii:
        out = io.StringIO()
        if tm.colors is None:
            np.savetxt(out, tm.vertices, fmt="%.9g")
        else:
            cols = [tm.vertices[:, 0], tm.vertices[:, 1], tm.vertices[:, 2], *tm.colors.T]
            np.savetxt(out, np.rec.fromarrays(cols), fmt=["%.9g"] * 3 + ["%d"] * 4)
        if f:
            np.savetxt(out, np.c_[np.full(f, 3), tm.faces], fmt="%d")
        return head + out.getvalue().encode("ascii")
    vfields = [("x", "<f4"), ("y", "<f4"), ("z", "<f4")]
    if tm.colors is not None:
        vfields += [(c, "u1") for c in ("red", "green", "blue", "alpha")]
    verts = np.empty(n, dtype=vfields)
    for i, axis in enumerate("xyz"):
        verts[axis] = tm.vertices[:, i]
    if tm.colors is not None:
        for i, c in enumerate(("red", "green", "blue", "alpha")):
            verts[c] = tm.colors[:, i]
    faces = np.empty(f, dtype=[("n", "u1"), ("v", "<i4", (3,))])
    faces["n"] = 3
    faces["v"] = tm.faces
    return head + verts.tobytes() + faces.tobytes()


def obj_bytes(tm: TargetMesh, comment: str = "Flowreel target") -> bytes:
    out = io.StringIO()
    out.write(f"# {comment}\n")
    verts = from_world(tm.vertices, ".obj").astype(np.float32)  # exact: the turn only swaps and negates axes
    if tm.colors is None:
        np.savetxt(out, verts, fmt="v %.9g %.9g %.9g")
    else:
        rgb = tm.colors[:, :3] / 255.0
        np.savetxt(out, np.c_[verts, rgb], fmt="v %.9g %.9g %.9g %.6g %.6g %.6g")
    if len(tm.faces):
        np.savetxt(out, tm.faces + 1, fmt="f %d %d %d")
    return out.getvalue().encode("ascii")


def export_target(context, path: str, ascii: bool = False) -> tuple[str, TargetMesh]:
    """Write the selected object's target mesh to `path` (.ply or .obj); returns (object name, mesh).
    TargetError (nothing written) for no selection, an object that is not a mesh/text/curve, an empty
    mesh, or another file type."""
    ext = os.path.splitext(path)[1].lower()
    if ext not in FORMATS:
        raise TargetError(f"{os.path.basename(path) or path}: a target is written as .ply or .obj, "
                          f"not {ext or 'no extension'}")
    obj = pick_object(context)
    tm = target_mesh(obj, context.evaluated_depsgraph_get())
    comment = "Flowreel target from " + obj.name.encode("ascii", "replace").decode().replace("\n", " ")
    data = obj_bytes(tm, comment) if ext == ".obj" else ply_bytes(tm, ascii, comment)
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise TargetError(f"folder {folder} does not exist")
    try:
        with atomic_write(path) as f:
            f.write(data)
    except OSError as e:
        raise TargetError(f"cannot write {path} ({e.strerror or type(e).__name__})") from None
    return obj.name, tm
