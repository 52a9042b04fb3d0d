"""What every 3-D target shares: the world box, errors, colours at points, the saved-file helpers.

World coordinates of a 3-D target: z up (Blender's convention), centred on the origin (the centre of the
bounding box), the longest side of the bounding box spanning [-BOX, BOX] = [-4, 4] as for pictures.
``extent`` is the bounding box after that: [xmin, xmax, ymin, ymax, zmin, zmax].
"""

from __future__ import annotations

import json
import os

import numpy as np

from flowreel.addon.core.atomic import atomic_write
from flowreel.addon.core.errors import TargetError
from flowreel.trainer.targets.picture import BOX

GREY = np.array([200, 200, 200, 255], dtype=np.uint8)  # the colour of a target whose file has none
COLOR_REFERENCE = 65536  # exact samples behind colors_at (nearest one's colour)
MIN_THICKNESS = 1e-3 * BOX  # a flat target's zero-width axis gets this half-width in `extent` (min < max)
RUN_FILE = "target.npz"  # the saved target in a run directory (pictures keep density.npz)


def fail(path: str | os.PathLike, why: str) -> TargetError:
    return TargetError(f"{os.path.basename(os.fspath(path)) or path}: {why}")


def normalise(points: np.ndarray) -> tuple[np.ndarray, float]:
    """(centre [3], scale): world = (p - centre) * scale puts the bounding box's longest side on [-BOX, BOX]."""
    lo, hi = points.min(axis=0), points.max(axis=0)
    side = float((hi - lo).max())
    return (lo + hi) / 2.0, (2.0 * BOX / side if side > 0 else 1.0)


def box_extent(points: np.ndarray) -> tuple[float, ...]:
    """[xmin, xmax, ymin, ymax, zmin, zmax] of `points`, a zero-width axis widened to +-MIN_THICKNESS."""
    lo, hi = points.min(axis=0), points.max(axis=0)
    out: list[float] = []
    for a, b in zip(lo, hi, strict=True):
        if b - a < 2 * MIN_THICKNESS:
            mid = (a + b) / 2
            a, b = mid - MIN_THICKNESS, mid + MIN_THICKNESS
        out += [float(a), float(b)]
    return tuple(out)


class NearestColour:
    """colors_at for sampled targets: the colour of the nearest of a fixed set of exact samples."""

    def __init__(self, sample_with_colors) -> None:
        self._draw = sample_with_colors
        self._tree = None
        self._colors: np.ndarray | None = None

    def __call__(self, points: np.ndarray) -> np.ndarray:
        from scipy.spatial import cKDTree

        if self._tree is None:
            ref, self._colors = self._draw(COLOR_REFERENCE, np.random.default_rng(7))
            self._tree = cKDTree(ref)
        pts = np.nan_to_num(np.asarray(points, dtype=np.float64).reshape(-1, 3))
        _, idx = self._tree.query(pts)
        return self._colors[idx]


def save_npz(path: str | os.PathLike, info: dict, **arrays: np.ndarray) -> None:
    """A target's run-directory copy: its arrays and a JSON `info` (kind, name, sha256, options ...), atomically."""
    with atomic_write(os.fspath(path)) as f:
        np.savez_compressed(f, info=np.array(json.dumps(info)), **arrays)
