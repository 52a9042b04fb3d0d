"""Smooth upsampling of a small picture to its working size (issue 23: no pixel staircase at the end).

A 48 px logo read pixel by pixel lands as flat squares of particles, one colour each. Resampled to the
working size with a bicubic filter, its curves are curves and its colours blend, and every exact sample
(a working pixel by weight, uniform inside it) lies at a sub-pixel position of the source.

- Colour premultiplied by the ink's weight (alpha, or darkness on paper): neither a transparent pixel's
  colour nor the paper's white bleeds into the ink, so a red mark stays red to its edge. Colours are
  interpolated bilinearly (positive weights: each new colour is a blend of its neighbours' colours, never
  a hue none of them has, as ringing ratios of two faint values would give); the ink itself bicubically.
- Clamped to the source's local range (the 2x2 source pixels around each new pixel): bicubic rings
  near hard edges, and the ringing would put faint ink on the empty background (and negative weight
  inside); clamped, an empty neighbourhood stays exactly empty and a solid one exactly solid.
"""

from __future__ import annotations

import numpy as np
from PIL import Image


def _neighbours(n_src: int, n_dst: int) -> tuple[np.ndarray, np.ndarray]:
    """For each destination pixel centre, the two source pixels whose centres bracket it (edge-clamped)."""
    u = (np.arange(n_dst) + 0.5) * (n_src / n_dst) - 0.5
    i0 = np.clip(np.floor(u).astype(np.int64), 0, n_src - 1)
    return i0, np.minimum(i0 + 1, n_src - 1)


def _local_range(chan: np.ndarray, size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """(min, max) over the 2x2 source neighbourhood of every pixel of the (w, h) destination."""
    h, w = chan.shape
    c0, c1 = _neighbours(w, size[0])
    r0, r1 = _neighbours(h, size[1])
    corners = [chan[r][:, c] for r in (r0, r1) for c in (c0, c1)]
    return np.minimum.reduce(corners), np.maximum.reduce(corners)


def _bilinear(chan: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    return np.asarray(Image.fromarray(np.ascontiguousarray(chan, dtype=np.float32)).resize(size, Image.BILINEAR))


def _bicubic(chan: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """One float channel resized to (w, h) by bicubic interpolation, clamped to its local source range."""
    out = np.asarray(Image.fromarray(np.ascontiguousarray(chan, dtype=np.float32)).resize(size, Image.BICUBIC))
    lo, hi = _local_range(chan, size)
    return np.clip(out, lo, hi)


def upsample(rgba: np.ndarray, weight: np.ndarray, size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """A picture and its ink weights at size (W, H), smooth and clamped: (RGBA uint8 [H, W, 4], weights float [H, W]).

    Colours are premultiplied by `weight` (the ink's: alpha, or darkness) while resampling, so each new
    pixel's colour is the ink's around it; a pixel with no ink keeps the resampled straight colour.
    """
    src = np.asarray(rgba, dtype=np.float32)
    w = np.asarray(weight, dtype=np.float32)
    ink = _bicubic(w, size)
    out = np.empty((size[1], size[0], 4), np.float32)
    out[..., 3] = _bicubic(src[..., 3], size)
    near = _bilinear(w, size)
    for k in range(3):
        with np.errstate(divide="ignore", invalid="ignore"):
            out[..., k] = np.where(near > 0, _bilinear(src[..., k] * w, size) / near, _bilinear(src[..., k], size))
    return np.clip(out + 0.5, 0, 255).astype(np.uint8), ink
