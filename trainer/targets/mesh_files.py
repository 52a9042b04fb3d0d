"""Reading mesh and point-cloud files into 3-D targets (trimesh reads meshes; numpy reads .npy/.xyz).

Coordinates and colours as trainer/targets/mesh.py describes: the file's axes turned to Blender's by the
format's convention or --up/--forward (addon/core/contract/shapes3d.py), then centred and scaled like a picture;
colours from texture, vertex, face or material, else grey.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from flowreel.addon.core.contract.shapes3d import AxisError, resolve_axes, to_world
from flowreel.trainer.targets.mesh import FILLS, MeshTarget, PointCloudTarget
from flowreel.trainer.targets.mesh_inside import watertight
from flowreel.trainer.targets.picture import file_sha256
from flowreel.trainer.targets.target3d import GREY, fail, normalise


def _first_line(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return f"{type(e).__name__}: {text[0]}" if text else type(e).__name__


def _rgba(colors: np.ndarray | None, n: int) -> np.ndarray | None:
    """uint8 [n, 4] from RGB/RGBA in 0..255 (or 0..1 floats), or None when there is nothing usable."""
    if colors is None:
        return None
    c = np.asarray(colors)
    if c.ndim != 2 or len(c) != n or c.shape[1] not in (3, 4):
        return None
    c = c.astype(np.float64)
    if not np.all(np.isfinite(c)):
        return None
    if c.size and c.max() <= 1.0 and not np.issubdtype(np.asarray(colors).dtype, np.integer):
        c = c * 255.0
    if c.shape[1] == 3:
        c = np.concatenate([c, np.full((n, 1), 255.0)], axis=1)
    return np.clip(np.round(c), 0, 255).astype(np.uint8)


def _material_colour(material) -> tuple[np.ndarray | None, np.ndarray | None]:
    """(texture RGBA [H, W, 4] or None, a flat RGBA colour or None) of a trimesh material."""
    image = getattr(material, "image", None) or getattr(material, "baseColorTexture", None)
    flat = None
    for attr in ("baseColorFactor", "main_color", "diffuse"):
        v = getattr(material, attr, None)
        if v is not None:
            flat = _rgba(np.asarray(v).reshape(1, -1), 1)
            if flat is not None:
                flat = flat[0]
                break
    tex = np.asarray(image.convert("RGBA")) if image is not None else None
    return tex, flat


def _mesh_colours(mesh) -> dict[str, np.ndarray]:
    """The colour arrays of one trimesh.Trimesh (see MeshTarget.colours), {} when it has none."""
    visual = mesh.visual
    kind = getattr(visual, "kind", None)
    nv, nf = len(mesh.vertices), len(mesh.faces)
    if kind == "texture":
        uv = getattr(visual, "uv", None)
        tex, flat = _material_colour(getattr(visual, "material", None))
        if tex is not None and uv is not None and len(uv) == nv and tex.size:
            return {"uv": np.asarray(uv, dtype=np.float64), "texture": tex}
        return {} if flat is None else {"color": flat}
    if kind == "vertex":
        c = _rgba(visual.vertex_colors, nv)
        return {} if c is None else {"vertex_colors": c}
    if kind == "face":
        c = _rgba(visual.face_colors, nf)
        return {} if c is None else {"face_colors": c}
    return {}


def _to_vertex_colours(mesh, colours: dict) -> np.ndarray:
    """Per-vertex RGBA of any colour kind (for joining parts whose colours differ in kind)."""
    nv = len(mesh.vertices)
    if "vertex_colors" in colours:
        return colours["vertex_colors"]
    if "texture" in colours:
        tex = colours["texture"]
        h, w = tex.shape[:2]
        uv = colours["uv"]
        col = np.clip(np.floor(np.mod(uv[:, 0], 1) * w), 0, w - 1).astype(np.int64)
        row = np.clip(np.floor((1 - np.mod(uv[:, 1], 1)) * h), 0, h - 1).astype(np.int64)
        return tex[row, col]
    out = np.tile(colours.get("color", GREY), (nv, 1)).astype(np.uint8)
    if "face_colors" in colours:
        out[mesh.faces.ravel()] = np.repeat(colours["face_colors"], 3, axis=0)
    return out


def _join(parts: list) -> tuple[np.ndarray, np.ndarray, dict]:
    """One (vertices, faces, colours) from the meshes of a file (a glTF scene may hold several)."""
    cols = [_mesh_colours(m) for m in parts]
    if len(parts) == 1:
        return np.asarray(parts[0].vertices, np.float64), np.asarray(parts[0].faces, np.int64), cols[0]
    verts, faces, base = [], [], 0
    for m in parts:
        verts.append(np.asarray(m.vertices, np.float64))
        faces.append(np.asarray(m.faces, np.int64) + base)
        base += len(m.vertices)
    colours = {}
    if any(cols):  # several parts: their colours meet as vertex colours (a texture per part would not join)
        per_part = [_to_vertex_colours(m, c) for m, c in zip(parts, cols, strict=True)]
        colours = {"vertex_colors": np.concatenate(per_part)}
    return np.concatenate(verts), np.concatenate(faces), colours


def file_axes(path: str, up: str | None = None, forward: str | None = None) -> tuple[str, str, dict]:
    """(up, forward, the metadata saying what was applied) of a 3-D file: its format's convention or the
    overrides; TargetError for an axis that cannot work."""
    try:
        u, f, how = resolve_axes(Path(path).suffix, up, forward)
    except AxisError as e:
        raise fail(path, str(e)) from None
    return u, f, {"up": u, "forward": f, "axes": how}


def _axis_options(up: str | None, forward: str | None) -> dict:
    """The overrides as target options (only when given: a default file's options stay what they were)."""
    return {k: v for k, v in (("up", up), ("forward", forward)) if v}


def _polygon_ply(path: str):
    """A binary PLY of mixed polygons (Blender's PLY exporter's default) as a trimesh.Trimesh, or None."""
    import trimesh

    from flowreel.trainer.targets.ply_polygons import PlyError, read_polygon_ply

    try:
        vertices, faces, colors = read_polygon_ply(path)
    except (PlyError, OSError):
        return None
    return trimesh.Trimesh(vertices, faces, vertex_colors=colors, process=False)


def load_mesh_file(path: str, *, fill: str = "surface", up: str | None = None,
                   forward: str | None = None) -> MeshTarget | PointCloudTarget:
    """Read a mesh file (or a points-only .ply) into a target; TargetError names the file and the problem.
    `up` / `forward` override the format's axis convention (addon/core/contract/shapes3d.py)."""
    import trimesh

    if fill not in FILLS:
        raise fail(path, f"--fill must be one of {', '.join(FILLS)}, got {fill!r}")
    axis_up, axis_fwd, axes = file_axes(path, up, forward)
    suffix = Path(path).suffix.lower()
    try:
        loaded = trimesh.load(path, process=False)
    except Exception as e:  # noqa: BLE001 - trimesh's parsers raise many types for a broken file
        loaded = _polygon_ply(path) if suffix == ".ply" else None
        if loaded is None:
            raise fail(path, f"cannot read as a mesh ({_first_line(e)})") from None
    geoms = loaded.dump() if isinstance(loaded, trimesh.Scene) else [loaded]
    meshes = [g for g in geoms if isinstance(g, trimesh.Trimesh) and len(g.faces)]
    clouds = [g for g in geoms if isinstance(g, trimesh.PointCloud) and len(g.vertices)]
    if not meshes and clouds and suffix == ".ply":
        if fill == "volume":
            raise fail(path, "--fill volume needs a closed mesh, this file has points only")
        pc = clouds[0]
        colors = getattr(pc, "colors", None)
        colors = colors if colors is not None and len(colors) == len(pc.vertices) else None
        return _cloud(path, np.asarray(pc.vertices, np.float64), colors, up, forward)
    if not meshes:
        raise fail(path, "empty mesh (no faces)")
    vertices, faces, colours = _join(meshes)
    if not np.all(np.isfinite(vertices)):
        raise fail(path, "mesh has NaN or infinite vertex coordinates")
    vertices = to_world(vertices, axis_up, axis_fwd)
    if fill == "volume" and not watertight(vertices, faces):
        raise fail(path, "--fill volume needs a watertight (closed) mesh; this one has holes or open edges")
    centre, scale = normalise(vertices[np.unique(faces)])
    world = (vertices - centre) * scale
    source = {**axes, "source_bounds": [[float(v) for v in vertices.min(0)], [float(v) for v in vertices.max(0)]],
              "scale": float(scale)}  # fmt: skip
    tri = world[faces]
    area = 0.5 * np.linalg.norm(np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]), axis=1).sum()
    if not area > 0:
        raise fail(path, "mesh has zero surface area (every face is degenerate)")
    return MeshTarget(world, faces, colours, name=os.path.basename(path), sha256=file_sha256(path),
                      options={"fill": fill, **_axis_options(up, forward)}, source=source)  # fmt: skip


def _cloud(path: str, points: np.ndarray, colors, up: str | None = None,
           forward: str | None = None) -> PointCloudTarget:
    if points.ndim != 2 or points.shape[1] != 3 or len(points) == 0:
        raise fail(path, f"a point cloud must be a non-empty [N, 3] array, got shape {list(points.shape)}")
    if not np.all(np.isfinite(points)):
        raise fail(path, "point cloud has NaN or infinite coordinates")
    axis_up, axis_fwd, axes = file_axes(path, up, forward)
    points = to_world(points, axis_up, axis_fwd)
    if len(points) < 2 or float(np.ptp(points, axis=0).max()) <= 0:
        raise fail(path, "point cloud needs at least 2 distinct points")
    centre, scale = normalise(points)
    source = {**axes, "source_bounds": [[float(v) for v in points.min(0)],
              [float(v) for v in points.max(0)]], "scale": float(scale)}  # fmt: skip
    return PointCloudTarget((points - centre) * scale, _rgba(colors, len(points)), name=os.path.basename(path),
                            sha256=file_sha256(path), options=_axis_options(up, forward),
                            source=source)  # fmt: skip


def load_points_file(path: str, up: str | None = None, forward: str | None = None) -> PointCloudTarget:
    """A .npy ([N, 3] floats) or .xyz (text, x y z per line, optionally r g b after) point cloud, z up unless
    `up` / `forward` say otherwise."""
    suffix = Path(path).suffix.lower()
    colors = None
    try:
        if suffix == ".npy":
            arr = np.load(path, allow_pickle=False)
        else:
            arr = np.loadtxt(path, dtype=np.float64, comments="#", ndmin=2)
            if arr.ndim == 2 and arr.shape[1] in (6, 7):
                arr, colors = arr[:, :3], arr[:, 3:]
    except (OSError, ValueError, EOFError) as e:
        raise fail(path, f"cannot read as a point cloud ({_first_line(e)})") from None
    arr = np.asarray(arr)
    if not np.issubdtype(arr.dtype, np.number):
        raise fail(path, f"a point cloud must hold numbers, got {arr.dtype}")
    return _cloud(path, arr.astype(np.float64), colors, up, forward)
