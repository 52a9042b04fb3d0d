"""Meshes and point clouds as 3-D fit targets (trimesh reads the files; sampling is numpy, from our own rng).

A mesh (.obj, .ply with faces, .stl, .glb, .gltf) is sampled on its SURFACE, each triangle picked with
probability proportional to its area and a point drawn uniformly inside it; ``fill="volume"`` samples
the INSIDE of a watertight mesh instead. A point cloud (.ply without faces, .npy or .xyz [N, 3]) is
itself the target: samples are its points.

Coordinates: Blender's, z up, y forward. Each format's file axes are turned into them by its convention
(addon/core/contract/shapes3d.py: OBJ and glTF y up, forward -z; PLY, STL and point clouds z up), or by --up and
--forward. Then everything is centred and scaled like a picture (trainer/targets/target3d.py). `meta()` records
the axes applied and the shape's front (shapes3d.choose_front), which the add-on's camera resolves on.

Colours (RGBA uint8): a texture sampled at the point's interpolated UV, else vertex colours interpolated
across the triangle, else face colours, else the material's colour, else grey (target3d.GREY). Volume
samples take the colour of the nearest surface point.
"""

from __future__ import annotations

import os

import numpy as np

from flowreel.addon.core.contract.shapes3d import FILLS, MESH_SUFFIXES, POINT_SUFFIXES, choose_front  # noqa: F401
from flowreel.trainer.targets.mesh_inside import inside_mesh
from flowreel.trainer.targets.target3d import GREY, RUN_FILE, NearestColour, box_extent, save_npz

VOLUME_POOL = 1 << 18  # exact inside samples drawn once per volume target (saved with the run)


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
                "extent": [float(v) for v in self.extent], "front": choose_front(self.extent),
                **self.source}  # fmt: skip

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
                "front": choose_front(self.extent), **self.source}  # fmt: skip

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


