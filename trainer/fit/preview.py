"""The fit's preview image: the flow's t=1 samples next to the target density."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from flowreel.trainer.fit.checkpoints import atomic_write_bytes
from flowreel.trainer.targets.picture import ImageDensity


def preview_png(path: Path, samples: np.ndarray, density: ImageDensity, size: int = 256) -> None:
    """Histogram of the flow's t=1 samples (left) next to the target density (right), ink dark on white."""
    if getattr(density, "dim", 2) == 3:  # a mesh, cloud or slab: projections (trainer/fit/preview3d.py)
        from flowreel.trainer.fit.preview3d import preview_png_3d

        return preview_png_3d(path, samples, density)
    from PIL import Image

    from flowreel.trainer.metrics.picture import density_histogram, sample_histogram

    h, w = density.shape
    bins = max(8, min(size, max(h, w)))
    left, _ = sample_histogram(samples, density, bins)
    right = density_histogram(density, bins)

    def to_img(a: np.ndarray) -> np.ndarray:
        scale = np.quantile(right[right > 0], 0.99) if (right > 0).any() else 1.0
        return (255 * (1 - np.clip(a / scale, 0, 1))).astype(np.uint8)

    gap = np.full((bins, 4), 128, np.uint8)
    img = Image.fromarray(np.concatenate([to_img(left), gap, to_img(right)], axis=1), mode="L")
    atomic_write_bytes(path, lambda f: img.save(f, format="PNG"))
