"""Drawing emissive points the way Cycles sees them, without tracing rays (pure numpy, no bpy).

A Flowreel point under an emission look is a sphere of constant radiance: from the camera it is a
flat disc of its colour, and Cycles' pixel is the integral of those discs under the pixel filter,
over the shutter when motion blur is on. Path tracing estimates that integral with noise; here it is
computed directly:

- each disc covers cells of a grid `supersample` times finer than the image, with an anti-aliased
  edge that keeps the disc's area; a moving point covers each cell for the share of the shutter it
  spends over it (the disc swept along a straight path, as a motion-blur step in Cycles);
- where discs overlap, a cell's coverage is that of the union of independently placed discs,
  1 - prod(1 - c), and it shows their coverage-weighted mean colour (Cycles shows the sphere bulging
  nearest the camera; overlapping points are mostly neighbours of one flow and share a colour);
- the fine grid is filtered down with Cycles' own pixel filter, Blackman-Harris over twice the
  scene's filter size (Cycles doubles the width of that filter).

What this costs and how close it comes to Cycles' converged image: bench/bench_quality.py and
bench/RESULTS.md "Final quality at a tenth of the cost".
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

STILL = 0.05  # fine cells: a point that moves less during the shutter is drawn as a still disc
CHUNK = 4_000_000  # fine-cell entries computed at once (bounds the temporaries to a few tens of MB)
FLUSH = 16_000_000  # fine-cell entries summed at once (about 0.3 GB waiting; each sum passes the whole grid)


@dataclass
class Discs:
    """Points as the camera sees them, in pixels of the image (x right, y down from the top-left
    corner): centres at the shutter's opening (`x0`, `y0`) and closing (`x1`, `y1`; the same
    arrays when there is no motion blur), radii, and linear RGB radiance."""

    x0: np.ndarray
    y0: np.ndarray
    x1: np.ndarray
    y1: np.ndarray
    radius: np.ndarray
    rgb: np.ndarray  # float [n, 3]


def blackman_harris(x: np.ndarray, width: float) -> np.ndarray:
    """Cycles' Blackman-Harris window over [-width/2, width/2] (0 outside)."""
    v = 2.0 * np.pi * (x / width + 0.5)
    w = 0.35875 - 0.48829 * np.cos(v) + 0.14128 * np.cos(2 * v) - 0.01168 * np.cos(3 * v)
    return np.where(np.abs(x) <= width / 2, w, 0.0)


def filter_taps(supersample: int, width: float) -> tuple[np.ndarray, np.ndarray]:
    """(offsets, weights): output pixel j = sum_k weights[k] * fine[j * supersample + offsets[k]]."""
    s = supersample
    half = int(np.ceil(width / 2 * s)) + 1
    offsets = np.arange(-half, half + s)
    w = blackman_harris((offsets + 0.5) / s - 0.5, width)
    keep = w > 0
    return offsets[keep], (w[keep] / w[keep].sum()).astype(np.float32)


def draw(discs: Discs, width: int, height: int, supersample: int = 2, filter_size: float = 1.5,
         ) -> tuple[np.ndarray, np.ndarray]:
    """(rgb, alpha): float32 [height, width, 3] premultiplied colour and [height, width] coverage,
    row 0 at the top of the image."""
    s = supersample
    fw = 2.0 * filter_size  # Cycles: "width *= 2" for Blackman-Harris
    offsets, weights = filter_taps(s, fw)
    margin = int(max(-offsets.min(), offsets.max())) + 1  # fine cells outside the image the filter reads
    rs = np.asarray(discs.radius, np.float32) * s
    pad = margin + 1  # the fine grid: the image and the filter's reach around it
    fw_, fh_ = width * s + 2 * pad, height * s + 2 * pad
    # Centres in fine cells of the padded grid, at the shutter's two ends.
    x0 = np.asarray(discs.x0, np.float32) * s + pad
    y0 = np.asarray(discs.y0, np.float32) * s + pad
    x1 = np.asarray(discs.x1, np.float32) * s + pad
    y1 = np.asarray(discs.y1, np.float32) * s + pad
    lo_x, hi_x, lo_y, hi_y = pad - margin, fw_ - pad + margin, pad - margin, fh_ - pad + margin
    seen = ((np.maximum(x0, x1) + rs + 1 > lo_x) & (np.minimum(x0, x1) - rs - 1 < hi_x)
            & (np.maximum(y0, y1) + rs + 1 > lo_y) & (np.minimum(y0, y1) - rs - 1 < hi_y))
    idx = np.nonzero(seen)[0]
    if len(idx) == 0:
        return np.zeros((height, width, 3), np.float32), np.zeros((height, width), np.float32)
    x0, y0, x1, y1, r_pt = x0[idx], y0[idx], x1[idx], y1[idx], rs[idx]
    # The anti-aliased edge, clip(rho + 0.5 - d, 0, 1), covers pi (rho^2 + 1/12) cells: with rho^2 = r^2 - 1/12
    # each disc covers its own area (a disc under a third of a cell wide: the edge's least, scaled down).
    rho = np.sqrt(np.maximum(r_pt * r_pt - 1.0 / 12.0, 0.0)).astype(np.float32)
    gain = (r_pt * r_pt / (rho * rho + 1.0 / 12.0)).astype(np.float32)
    rgb = np.asarray(discs.rgb, np.float32)[idx]
    # Each point's box of fine cells: the disc swept over the shutter, half a cell more for its soft edge.
    # (Cut to the grid: a streak may start far outside the image.)
    ix0 = np.maximum(np.floor(np.minimum(x0, x1) - r_pt - 0.5).astype(np.int64), 0)
    iy0 = np.maximum(np.floor(np.minimum(y0, y1) - r_pt - 0.5).astype(np.int64), 0)
    bw = np.minimum(np.floor(np.maximum(x0, x1) + r_pt + 0.5).astype(np.int64), fw_ - 1) - ix0 + 1
    bh = np.minimum(np.floor(np.maximum(y0, y1) + r_pt + 0.5).astype(np.int64), fh_ - 1) - iy0 + 1
    moving = np.hypot(x1 - x0, y1 - y0) > STILL
    n_cells = fw_ * fh_
    several = np.ptp(rgb, axis=0).max() > 0  # else one colour (a one-colour logo): no colour sums
    sums = _Sums(n_cells, rgb if several else None)
    groups = (bw * (fh_ + 1) + bh) * 2 + moving
    order = np.argsort(groups, kind="stable")  # within a group the points keep their (spatial) order
    bounds = np.flatnonzero(np.diff(groups[order])) + 1
    for sel in np.split(order, bounds):
        w_box, h_box, move = int(bw[sel[0]]), int(bh[sel[0]]), bool(moving[sel[0]])
        oy, ox = np.divmod(np.arange(w_box * h_box), w_box)
        per = max(1, CHUNK // len(ox))
        for a in range(0, len(sel), per):
            part = sel[a:a + per]
            mx, my = (x0[part] + x1[part]) / 2, (y0[part] + y1[part]) / 2
            # From the point's place mid-shutter to each cell's centre:
            fx = (ix0[part].astype(np.float32) + 0.5 - mx)[:, None] + ox.astype(np.float32)
            fy = (iy0[part].astype(np.float32) + 0.5 - my)[:, None] + oy.astype(np.float32)
            if move:
                cov = _swept(fx, fy, (x1 - x0)[part][:, None], (y1 - y0)[part][:, None], rho[part][:, None])
            else:
                cov = np.clip(rho[part][:, None] + 0.5 - np.sqrt(fx * fx + fy * fy), 0.0, 1.0)
            cov *= gain[part][:, None]
            hit = cov > 0
            sums.add(((iy0[part][:, None] + oy) * fw_ + (ix0[part][:, None] + ox))[hit],
                     -np.log1p(-np.minimum(cov[hit], 1.0 - 1e-4)),
                     np.broadcast_to(part.astype(np.int32)[:, None], hit.shape)[hit])
    sums.flush()
    alpha = -np.expm1(-sums.depth)
    a = _downsample(alpha.astype(np.float32).reshape(fh_, fw_), s, pad, offsets, weights, width, height)
    if not several:
        return a[..., None] * rgb[0], a
    scale = alpha / np.maximum(sums.depth, 1e-30)
    out = np.empty((height, width, 3), np.float32)
    for ch in range(3):
        fine = (sums.color[ch] * scale).astype(np.float32).reshape(fh_, fw_)
        out[..., ch] = _downsample(fine, s, pad, offsets, weights, width, height)
    return out, a


class _Sums:
    """Per fine cell: the sum of -log(1 - c) over the points covering it (c: a point's coverage of the cell,
    averaged over the shutter), and the same sums weighted by each colour channel. 1 - exp(-sum) is the
    coverage of the union of independently placed discs; the weighted mean is the colour of what shows.

    Entries wait in lists and are summed (np.bincount: far faster than scattered adds) every FLUSH entries,
    so memory stays bounded however many points, ghosts and streaks a frame has."""

    def __init__(self, n_cells: int, rgb: np.ndarray | None):
        self.n, self.rgb = n_cells, rgb
        self.depth = np.zeros(n_cells)
        self.color = np.zeros((3, n_cells)) if rgb is not None else None
        self.pending: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self.count = 0

    def add(self, cell: np.ndarray, weight: np.ndarray, owner: np.ndarray) -> None:
        self.pending.append((cell, weight, owner))
        self.count += len(cell)
        if self.count >= FLUSH:
            self.flush()

    def flush(self) -> None:
        if not self.pending:
            return
        cell, weight, owner = (np.concatenate(x) for x in zip(*self.pending, strict=True))
        self.pending, self.count = [], 0
        self.depth += np.bincount(cell, weight, self.n)
        if self.color is not None:
            for ch in range(3):
                self.color[ch] += np.bincount(cell, weight * self.rgb[owner, ch], self.n)


def _swept(fx: np.ndarray, fy: np.ndarray, dx: np.ndarray, dy: np.ndarray, r: np.ndarray) -> np.ndarray:
    """The share of the shutter during which a disc of radius `r` with an anti-aliased edge, moving
    uniformly by (dx, dy) and centred at the origin mid-shutter, covers a cell at (fx, fy).

    The soft edge, clip(r + 0.5 - d, 0, 1), is the mean over radii r - 0.5 .. r + 0.5 of a hard edge,
    taken at two radii; a hard disc covers the cell while the centre is within sqrt(rho^2 - h^2) of the
    cell's foot on the path (h: the cell's distance from the path's line)."""
    length = np.sqrt(dx * dx + dy * dy)
    ux, uy = dx / length, dy / length
    along = fx * ux + fy * uy + length / 2  # from the path's start
    h2 = (fx * uy - fy * ux) ** 2
    cov = np.zeros(np.broadcast(fx, r).shape, np.float32)
    for rho in (np.maximum(r - 0.25, 0.0), r + 0.25):
        half = np.sqrt(np.maximum(rho * rho - h2, 0.0))
        cov += np.clip(np.minimum(along + half, length) - np.maximum(along - half, 0.0), 0.0, None)
    return cov / (2 * length)


def _downsample(fine: np.ndarray, s: int, pad: int, offsets: np.ndarray, weights: np.ndarray,
                width: int, height: int) -> np.ndarray:
    """The separable pixel filter, then one value per pixel (strided slices, no [H, W, taps] temporaries)."""
    rows = np.zeros((fine.shape[0], width), np.float32)
    for o, w in zip(offsets, weights, strict=True):
        start = pad + int(o)
        rows += w * fine[:, start:start + width * s:s]
    out = np.zeros((height, width), np.float32)
    for o, w in zip(offsets, weights, strict=True):
        start = pad + int(o)
        out += w * rows[start:start + height * s:s]
    return out
