"""A picture with depth: the picture's density in x, y (trainer/targets/picture.py) times a uniform slab in z.

`--depth D` gives a logo a body D world units thick: z is uniform in [-D/2, D/2], the colour is the pixel's.
"""

from __future__ import annotations

import os

import numpy as np

from flowreel.trainer.targets.picture import ImageDensity
from flowreel.trainer.targets.target3d import RUN_FILE, save_npz


class PictureSlab:
    """ImageDensity x uniform [-depth/2, depth/2] in z; the 3-D target protocol of trainer/targets/registry.py."""

    dim = 3
    kind = "picture"
    run_file = RUN_FILE

    def __init__(self, density: ImageDensity, depth: float) -> None:
        if not (np.isfinite(depth) and depth > 0):
            raise ValueError(f"depth must be > 0, got {depth}")
        self.density = density
        self.depth = float(depth)
        self.name = density.name
        self.sha256 = density.sha256
        self.options = {**density.options, "depth": self.depth}
        self.extent = (*density.extent, -self.depth / 2, self.depth / 2)

    def _z(self, n: int, rng: np.random.Generator) -> np.ndarray:
        return ((rng.random(n) - 0.5) * self.depth).astype(np.float32)

    def sample_with_colors(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        xy, flat = self.density.sample_with_pixels(n, rng)
        return np.column_stack([xy, self._z(len(xy), rng)]), self.density.rgba.reshape(-1, 4)[flat]

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        return self.sample_with_colors(n, rng)[0]

    def colors_at(self, points: np.ndarray) -> np.ndarray:
        return self.density.colors_at(np.asarray(points).reshape(-1, 3)[:, :2])

    def meta(self) -> dict:
        return {"kind": self.kind, **self.density.meta(), "depth": self.depth,
                "extent": [float(v) for v in self.extent]}  # fmt: skip

    def describe(self) -> str:
        h, w = self.density.shape
        return f"picture {w}x{h}, depth {self.depth:g}"

    def save(self, path: str | os.PathLike) -> None:
        d = self.density
        info = {"kind": self.kind, "name": d.name, "sha256": d.sha256, "options": d.options,
                "source_size": d.source_size, "crop_box": d.crop_box, "frame_info": d.frame_info,
                "depth": self.depth}  # fmt: skip
        save_npz(path, info, weights=d.weights, rgba=d.rgba)

    @classmethod
    def from_saved(cls, z, info: dict) -> PictureSlab:
        d = ImageDensity(z["weights"], z["rgba"], name=info["name"], sha256=info["sha256"],
                         options=info.get("options"), source_size=info.get("source_size"),
                         crop_box=info.get("crop_box"), frame_info=info.get("frame_info"))  # fmt: skip
        return cls(d, info["depth"])
