"""Meshes and point clouds as 3-D fit targets (trimesh reads the files; sampling is numpy, from our own rng).

A mesh (.obj, .ply with faces, .stl, .glb, .gltf) is sampled on its SURFACE, each triangle picked with
probability proportional to its area and a point drawn uniformly inside it; ``fill="volume"`` samples
the INSIDE of a watertight mesh instead. A point cloud (.ply without faces, .npy or .xyz [N, 3]) is
itself the target: samples are its points.

Coordinates: z up. OBJ, PLY and STL are taken as they are (Blender's exporters write z up); glTF is y up
by its specification, and trimesh keeps it so, so glTF/glb are turned +90 degrees about x (y -> z). Then
everything is centred and scaled like a picture (trainer/target3d.py).

Colours (RGBA uint8): a texture sampled at the point's interpolated UV, else vertex colours interpolated
across the triangle, else face colours, else the material's colour, else grey (target3d.GREY). Volume
samples take the colour of the nearest surface point.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from flowreel.trainer.density import file_sha256
from flowreel.trainer.target3d import GREY, RUN_FILE, NearestColour, box_extent, fail, normalise, save_npz

MESH_SUFFIXES = (".obj", ".ply", ".stl", ".glb", ".gltf")
POINT_SUFFIXES = (".npy", ".xyz")
FILLS = ("surface", "volume")
VOLUME_POOL = 1 << 18  # exact inside samples drawn once per volume target (saved with the run)
Y_UP = (".glb", ".gltf")


# ---- inside test ---------------------------------------------------------------------------------
def inside_mesh(points: np.ndarray, triangles: np.ndarray) -> np.ndarray:
    """bool [n]: is each point inside the closed surface `triangles` [F, 3, 3]? (ray parity along +z)

    Triangles are binned on a grid over x, y so each point meets only the few whose shadow covers it.
    A ray through an edge exactly would count twice; random float64 points do not hit one.
    """
    pts = np.asarray(points, dtype=np.float64)
    tri = np.asarray(triangles, dtype=np.float64)
    out = np.zeros(len(pts), dtype=bool)
    a, b, c = tri[:, 0], tri[:, 1], tri[:, 2]
    det = (b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (b[:, 1] - a[:, 1]) * (c[:, 0] - a[:, 0])
    keep = np.abs(det) > 1e-300  # edge-on triangles are missed by a vertical ray
    a, b, c, det = a[keep], b[keep], c[keep], det[keep]
    if len(det) == 0:
        return out
    lo = np.minimum(np.minimum(a, b), c)[:, :2].min(axis=0)
    hi = np.maximum(np.maximum(a, b), c)[:, :2].max(axis=0)
    g = int(np.clip(np.sqrt(len(det) / 2), 4, 128))
    cell = (hi - lo) / g
    cell[cell <= 0] = 1.0

    def cells(xy: np.ndarray) -> np.ndarray:
        return np.clip(np.floor((xy - lo) / cell), 0, g - 1).astype(np.int64)

    t0 = cells(np.minimum(np.minimum(a, b), c)[:, :2])
    t1 = cells(np.maximum(np.maximum(a, b), c)[:, :2])
    nx, ny = t1[:, 0] - t0[:, 0] + 1, t1[:, 1] - t0[:, 1] + 1
    count = nx * ny
    tid = np.repeat(np.arange(len(det)), count)
    local = np.arange(int(count.sum())) - np.repeat(np.cumsum(count) - count, count)
    tcell = (t0[tid, 1] + local // nx[tid]) * g + (t0[tid, 0] + local % nx[tid])
    order = np.argsort(tcell, kind="stable")
    tcell, tid = tcell[order], tid[order]
    tstart = np.searchsorted(tcell, np.arange(g * g + 1))
    inbox = np.all((pts[:, :2] >= lo) & (pts[:, :2] <= hi), axis=1)
    pidx = np.flatnonzero(inbox)
    pc = cells(pts[pidx, :2])
    pcell = pc[:, 1] * g + pc[:, 0]
    porder = np.argsort(pcell, kind="stable")
    pidx, pcell = pidx[porder], pcell[porder]
    pstart = np.searchsorted(pcell, np.arange(g * g + 1))
    for k in np.unique(pcell):
        ts = tid[tstart[k] : tstart[k + 1]]
        ps = pidx[pstart[k] : pstart[k + 1]]
        if len(ts) == 0:
            continue
        px, py, pz = pts[ps, 0][:, None], pts[ps, 1][:, None], pts[ps, 2][:, None]
        ta, tb, tc, td = a[ts], b[ts], c[ts], det[ts]
        wa = ((tb[:, 0] - px) * (tc[:, 1] - py) - (tb[:, 1] - py) * (tc[:, 0] - px)) / td
        wb = ((tc[:, 0] - px) * (ta[:, 1] - py) - (tc[:, 1] - py) * (ta[:, 0] - px)) / td
        wc = 1.0 - wa - wb
        hit = (wa >= 0) & (wb >= 0) & (wc >= 0)
        z = wa * ta[:, 2] + wb * tb[:, 2] + wc * tc[:, 2]
        crossings = np.count_nonzero(hit & (z > pz), axis=1)
        out[ps] = crossings % 2 == 1
    return out


# ---- targets ---------------------------------------------------------------------------------------
class MeshTarget:
    """A triangle mesh in world coordinates, sampled on its surface (or inside, fill="volume")."""

    dim = 3
    kind = "mesh"
    run_file = RUN_FILE

    def __init__(
        self,
        vertices: np.ndarray,
        faces: np.ndarray,
        colours: dict[str, np.ndarray],
        *,
        name: str,
        sha256: str = "",
        options: dict | None = None,
        source: dict | None = None,
        pool: np.ndarray | None = None,
    ) -> None:
        self.vertices = np.asarray(vertices, dtype=np.float64)
        self.faces = np.asarray(faces, dtype=np.int64)
        self.colours = colours  # one of: vertex_colors [V,4] | face_colors [F,4] | uv [V,2] + texture [H,W,4]
        self.name = name
        self.sha256 = sha256
        self.options = dict(options or {"fill": "surface"})
        self.fill = self.options.get("fill", "surface")
        self.source = dict(source or {})
        tri = self.vertices[self.faces]
        self.areas = 0.5 * np.linalg.norm(np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]), axis=1)
        self.area = float(self.areas.sum())
        self._cdf = np.cumsum(self.areas)
        self.extent = box_extent(self.vertices[np.unique(self.faces)])
        self._surface_colour = NearestColour(self._surface_with_colors)
        self.pool = pool
        if self.fill == "volume" and self.pool is None:
            self.pool = self._draw_inside(VOLUME_POOL, np.random.default_rng([0, 3]))

    # surface
    def _surface_with_colors(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        n = int(n)
        f = np.searchsorted(self._cdf, rng.random(n) * self._cdf[-1], side="right")
        f = np.minimum(f, len(self.faces) - 1)
        r1, r2 = np.sqrt(rng.random(n)), rng.random(n)
        w = np.stack([1 - r1, r1 * (1 - r2), r1 * r2], axis=1)  # uniform barycentric coordinates
        corners = self.faces[f]
        pts = np.einsum("nk,nkd->nd", w, self.vertices[corners])
        return pts.astype(np.float32), self._colour(f, corners, w)

    def _colour(self, f: np.ndarray, corners: np.ndarray, w: np.ndarray) -> np.ndarray:
        c = self.colours
        if "texture" in c:
            uv = np.einsum("nk,nkd->nd", w, c["uv"][corners])
            tex = c["texture"]
            h, wd = tex.shape[:2]
            col = np.clip(np.floor(np.mod(uv[:, 0], 1.0) * wd), 0, wd - 1).astype(np.int64)
            row = np.clip(np.floor((1.0 - np.mod(uv[:, 1], 1.0)) * h), 0, h - 1).astype(np.int64)  # v up, rows down
            return tex[row, col]
        if "vertex_colors" in c:
            mixed = np.einsum("nk,nkd->nd", w, c["vertex_colors"][corners].astype(np.float64))
            return np.clip(np.round(mixed), 0, 255).astype(np.uint8)
        if "face_colors" in c:
            return c["face_colors"][f]
        return np.tile(c.get("color", GREY), (len(f), 1)).astype(np.uint8)

    # volume
    def _draw_inside(self, n: int, rng: np.random.Generator) -> np.ndarray:
        lo = np.array(self.extent[0::2])
        hi = np.array(self.extent[1::2])
        tri = self.vertices[self.faces]
        got, have = [], 0
        while have < n:
            cand = rng.uniform(lo, hi, (max(4096, 2 * (n - have)), 3))
            keep = cand[inside_mesh(cand, tri)]
            got.append(keep)
            have += len(keep)
        return np.concatenate(got)[:n].astype(np.float32)

    # the Target protocol
    def sample_with_colors(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """n exact samples float32 [n, 3] and their RGBA uint8 [n, 4]."""
        if self.fill != "volume":
            return self._surface_with_colors(n, rng)
        # Volume: distinct points of the saved pool while it lasts (the ray test is too slow to run per batch).
        idx = rng.choice(len(self.pool), int(n), replace=int(n) > len(self.pool))
        pts = self.pool[idx]
        return pts, self._surface_colour(pts)

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        if self.fill == "volume":
            return self.pool[rng.choice(len(self.pool), int(n), replace=int(n) > len(self.pool))]
        return self._surface_with_colors(n, rng)[0]

    def colors_at(self, points: np.ndarray) -> np.ndarray:
        """RGBA of the nearest exact surface sample (flow landing's colours)."""
        return self._surface_colour(points)

    def meta(self) -> dict:
        mode = next((k for k in ("texture", "vertex_colors", "face_colors") if k in self.colours), "none")
        return {"kind": self.kind, "name": self.name, "sha256": self.sha256, "fill": self.fill,
                "faces": int(len(self.faces)), "area": self.area, "colors": mode,
                "extent": [float(v) for v in self.extent], **self.source}  # fmt: skip

    def describe(self) -> str:
        return f"mesh, {len(self.faces)} faces, {self.fill}"

    def save(self, path: str | os.PathLike) -> None:
        arrays = {"vertices": self.vertices, "faces": self.faces, **self.colours}
        if self.pool is not None:
            arrays["pool"] = self.pool
        info = {"kind": self.kind, "name": self.name, "sha256": self.sha256, "options": self.options,
                "source": self.source}  # fmt: skip
        save_npz(path, info, **arrays)


class PointCloudTarget:
    """A point cloud in world coordinates: its points are the target's exact samples."""

    dim = 3
    kind = "points"
    run_file = RUN_FILE

    def __init__(self, points: np.ndarray, colors: np.ndarray | None, *, name: str, sha256: str = "",
                 options: dict | None = None, source: dict | None = None) -> None:  # fmt: skip
        self.points = np.asarray(points, dtype=np.float32)
        self.colors = np.tile(GREY, (len(self.points), 1)) if colors is None else np.asarray(colors, np.uint8)
        self.has_colors = colors is not None
        self.name, self.sha256 = name, sha256
        self.options = dict(options or {})
        self.source = dict(source or {})
        self.extent = box_extent(self.points.astype(np.float64))
        self._tree = None

    def sample_with_colors(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """n of the cloud's points (distinct while there are enough) and their colours."""
        idx = rng.choice(len(self.points), int(n), replace=int(n) > len(self.points))
        return self.points[idx], self.colors[idx]

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        return self.points[rng.choice(len(self.points), int(n), replace=int(n) > len(self.points))]

    def colors_at(self, points: np.ndarray) -> np.ndarray:
        from scipy.spatial import cKDTree

        if self._tree is None:
            self._tree = cKDTree(self.points)
        _, idx = self._tree.query(np.nan_to_num(np.asarray(points, dtype=np.float64).reshape(-1, 3)))
        return self.colors[idx]

    def meta(self) -> dict:
        return {"kind": self.kind, "name": self.name, "sha256": self.sha256, "points": int(len(self.points)),
                "colors": "file" if self.has_colors else "none", "extent": [float(v) for v in self.extent],
                **self.source}  # fmt: skip

    def describe(self) -> str:
        return f"point cloud, {len(self.points)} points"

    def save(self, path: str | os.PathLike) -> None:
        arrays = {"points": self.points}
        if self.has_colors:
            arrays["colors"] = self.colors
        info = {"kind": self.kind, "name": self.name, "sha256": self.sha256, "options": self.options,
                "source": self.source}  # fmt: skip
        save_npz(path, info, **arrays)


def load_saved(z, info: dict):
    """Rebuild a MeshTarget or PointCloudTarget from its saved arrays (target3d.save_npz)."""
    common = {"name": info["name"], "sha256": info["sha256"], "options": info.get("options"),
              "source": info.get("source")}  # fmt: skip
    if info["kind"] == "points":
        return PointCloudTarget(z["points"], z["colors"] if "colors" in z else None, **common)
    colours = {k: z[k] for k in ("vertex_colors", "face_colors", "uv", "texture", "color") if k in z}
    return MeshTarget(z["vertices"], z["faces"], colours, pool=z["pool"] if "pool" in z else None, **common)


# ---- reading files ---------------------------------------------------------------------------------
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


def _watertight(vertices: np.ndarray, faces: np.ndarray) -> bool:
    """Every edge shared by exactly two faces, vertices welded by position (UV seams split them)."""
    import trimesh

    return bool(trimesh.Trimesh(vertices=vertices, faces=faces, process=True).is_watertight)


def load_mesh_file(path: str, *, fill: str = "surface") -> MeshTarget | PointCloudTarget:
    """Read a mesh file (or a points-only .ply) into a target; TargetError names the file and the problem."""
    import trimesh

    if fill not in FILLS:
        raise fail(path, f"--fill must be one of {', '.join(FILLS)}, got {fill!r}")
    suffix = Path(path).suffix.lower()
    try:
        loaded = trimesh.load(path, process=False)
    except Exception as e:  # noqa: BLE001 - trimesh's parsers raise many types for a broken file
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
        return _cloud(path, np.asarray(pc.vertices, np.float64), colors)
    if not meshes:
        raise fail(path, "empty mesh (no faces)")
    vertices, faces, colours = _join(meshes)
    if not np.all(np.isfinite(vertices)):
        raise fail(path, "mesh has NaN or infinite vertex coordinates")
    if suffix in Y_UP:
        vertices = vertices[:, [0, 2, 1]] * np.array([1.0, -1.0, 1.0])  # +90 degrees about x: y up -> z up
    if fill == "volume" and not _watertight(vertices, faces):
        raise fail(path, "--fill volume needs a watertight (closed) mesh; this one has holes or open edges")
    centre, scale = normalise(vertices[np.unique(faces)])
    world = (vertices - centre) * scale
    source = {"up": "y (glTF), turned to z" if suffix in Y_UP else "z (taken as is)",
              "source_bounds": [[float(v) for v in vertices.min(0)], [float(v) for v in vertices.max(0)]],
              "scale": float(scale)}  # fmt: skip
    tri = world[faces]
    area = 0.5 * np.linalg.norm(np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]), axis=1).sum()
    if not area > 0:
        raise fail(path, "mesh has zero surface area (every face is degenerate)")
    return MeshTarget(world, faces, colours, name=os.path.basename(path), sha256=file_sha256(path),
                      options={"fill": fill}, source=source)  # fmt: skip


def _cloud(path: str, points: np.ndarray, colors) -> PointCloudTarget:
    if points.ndim != 2 or points.shape[1] != 3 or len(points) == 0:
        raise fail(path, f"a point cloud must be a non-empty [N, 3] array, got shape {list(points.shape)}")
    if not np.all(np.isfinite(points)):
        raise fail(path, "point cloud has NaN or infinite coordinates")
    if len(points) < 2 or float(np.ptp(points, axis=0).max()) <= 0:
        raise fail(path, "point cloud needs at least 2 distinct points")
    centre, scale = normalise(points)
    source = {"up": "z (taken as is)", "source_bounds": [[float(v) for v in points.min(0)],
              [float(v) for v in points.max(0)]], "scale": float(scale)}  # fmt: skip
    return PointCloudTarget((points - centre) * scale, _rgba(colors, len(points)), name=os.path.basename(path),
                            sha256=file_sha256(path), source=source)  # fmt: skip


def load_points_file(path: str) -> PointCloudTarget:
    """A .npy ([N, 3] floats) or .xyz (text, x y z per line, optionally r g b after) point cloud."""
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
    return _cloud(path, arr.astype(np.float64), colors)


def saved_info(z) -> dict:
    return json.loads(str(z["info"]))
