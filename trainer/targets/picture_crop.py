"""The box of a picture's ink: what `--crop ink` (the default) keeps of the canvas.

Logos and titles come with empty space around them; framing and the working resolution should go to
the ink, not to the padding. The box must be robust, so that what a viewer does not see as part of
the picture does not stretch it:

- Paper is not ink, even off-white or grainy paper in a photo: its level and noise are read from the
  canvas's border (median and MAD), and a pixel counts for the box only above the paper by MIN_LEVEL,
  by 4 sigmas of its noise, and by LEVEL of the way from the paper to the ink's level. JPEG ringing and
  anti-aliasing halos are fainter than that; the margin keeps the halos themselves.
- Dust and stray specks are small and far: ink is grouped into clusters (ink closer than a few
  percent of the picture's size joins one cluster, so a full stop stays with its sentence and a
  tagline is a cluster of its own), and the lightest clusters, each under SPECK of the ink and
  together under SPECK_TOTAL, are left out.

Numpy and scipy.ndimage only; the box is found on a copy of at most PROBE_SIDE pixels.
"""

from __future__ import annotations

import numpy as np

CROPS = ("ink", "none")  # --crop: the ink's box plus a margin, or the whole canvas
LEVEL = 0.08  # a pixel is ink for the box this far (a fraction) from the paper's level to the ink's ...
MIN_LEVEL = 0.04  # ... and at least this much (about 10 of 255) above the paper
PAPER_MAX = 0.25  # a border darker than this is ink reaching the edges (a full-bleed picture), not paper
BORDER = 0.01  # the border the paper is read from, a fraction of each side (at least 1 pixel)
SPECK = 0.005  # a cluster carrying less than this fraction of the ink may be a speck ...
SPECK_TOTAL = 0.02  # ... and all the specks left out carry less than this together
CLUSTER = 0.03  # ink within this fraction of the picture's longer side joins a cluster
MARGIN = 0.02  # room around the ink's box, a fraction of its longer side (at least MIN_MARGIN pixels)
MIN_MARGIN = 2
PROBE_SIDE = 1024  # the box is found on a copy this size at most (source pixels map back exactly)


def paper(weight: np.ndarray) -> tuple[float, float]:
    """(level, noise sigma) of the paper: median and MAD of the weights on the canvas's border; (0, 0) when
    the border is mostly ink (the picture is full-bleed: there is no paper to cut)."""
    h, w = weight.shape
    b = max(1, int(BORDER * min(h, w)))
    ring = np.concatenate([weight[:b].ravel(), weight[-b:].ravel(), weight[:, :b].ravel(), weight[:, -b:].ravel()])
    level = float(np.median(ring))
    if level > PAPER_MAX:
        return 0.0, 0.0
    return level, 1.4826 * float(np.median(np.abs(ring - level)))


def ink_level(weight: np.ndarray) -> float | None:
    """The weight above which a pixel counts for the box (see the module docstring); None: no ink at all."""
    base, sigma = paper(weight)
    floor = base + max(MIN_LEVEL, 4 * sigma)
    above = weight[weight > floor]
    if above.size == 0:
        return None if not (weight > 0).any() else float(weight.max()) * 0.5  # faint ink only: its brighter half
    ink = float(np.percentile(above, 90))
    return max(floor, base + LEVEL * (ink - base))


def ink_box(weight: np.ndarray) -> tuple[int, int, int, int] | None:
    """(x0, y0, x1, y1), half-open pixel bounds of the ink that makes the picture; None when there is none."""
    from scipy import ndimage

    weight = np.asarray(weight, dtype=np.float32)
    level = ink_level(weight)
    if level is None:
        return None
    mask = weight >= level
    reach = max(1, int(round(CLUSTER * max(weight.shape))))
    near = ndimage.maximum_filter(mask, size=2 * reach + 1, mode="constant")  # ink within `reach` touches
    clusters, n = ndimage.label(near, structure=np.ones((3, 3), bool))
    clusters[~mask] = 0  # a cluster's own pixels are its ink, not the dilation's
    mass = ndimage.sum_labels(weight, clusters, index=np.arange(1, n + 1))
    total = float(mass.sum())
    keep = np.ones(n, bool)
    dropped = 0.0
    for k in np.argsort(mass):  # lightest first
        if mass[k] >= SPECK * total or dropped + mass[k] >= SPECK_TOTAL * total:
            break
        keep[k] = False
        dropped += float(mass[k])
    kept = np.isin(clusters, np.flatnonzero(keep) + 1)
    rows, cols = np.flatnonzero(kept.any(axis=1)), np.flatnonzero(kept.any(axis=0))
    return int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1


def with_margin(box: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
    """The box grown by its margin on every side; it may reach past the canvas (that part is empty)."""
    x0, y0, x1, y1 = box
    m = max(MIN_MARGIN, int(np.ceil(MARGIN * max(x1 - x0, y1 - y0))))
    return x0 - m, y0 - m, x1 + m, y1 + m


def scale_box(box: tuple[int, int, int, int], factor: int, size: tuple[int, int]) -> tuple[int, int, int, int]:
    """A box found on a copy reduced `factor` times, in the pixels of the full image of `size` (w, h)."""
    x0, y0, x1, y1 = box
    return x0 * factor, y0 * factor, min(x1 * factor, size[0]), min(y1 * factor, size[1])
