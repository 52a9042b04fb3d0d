"""The fit's preview.png for a 3-D target: front (x-z) and top (x-y) views of the flow's t=1 samples,
next to the same views of exact samples of the target, ink dark on white."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from flowreel.trainer.fit.checkpoints import atomic_write_bytes


def _view(points: np.ndarray, box: tuple[float, float, float, float], axes: tuple[int, int], size: int) -> np.ndarray:
    """A size x size histogram of two coordinates over `box` (row 0 at the top), as counts."""
    p = np.asarray(points, dtype=np.float64)[:, list(axes)]
    h, _, _ = np.histogram2d(p[:, 1], p[:, 0], bins=size, range=[[box[2], box[3]], [box[0], box[1]]])
    return h[::-1]


def preview_png_3d(path: Path, samples: np.ndarray, target: Any, size: int = 192) -> None:
    """[flow front | exact front] over [flow top | exact top]."""
    from PIL import Image

    exact = target.sample(len(samples), np.random.default_rng(5))
    e = target.extent
    half = max(abs(float(v)) for v in e) * 1.05
    box = (-half, half, -half, half)
    rows = []
    for axes in ((0, 2), (0, 1)):  # front: x right, z up; top: x right, y up
        left, right = _view(samples, box, axes, size), _view(exact, box, axes, size)
        scale = np.quantile(right[right > 0], 0.99) if (right > 0).any() else 1.0
        tiles = [(255 * (1 - np.clip(a / scale, 0, 1))).astype(np.uint8) for a in (left, right)]
        rows.append(np.concatenate([tiles[0], np.full((size, 4), 128, np.uint8), tiles[1]], axis=1))
    img = np.concatenate([rows[0], np.full((4, rows[0].shape[1]), 128, np.uint8), rows[1]], axis=0)
    atomic_write_bytes(path, lambda f: Image.fromarray(img, mode="L").save(f, format="PNG"))
