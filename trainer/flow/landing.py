"""Exact landing: trajectories that start on exact N(0, I) samples and end on exact picture samples.

A fitted flow is never exact: its t=1 cloud leaves dust between strokes and blurs thin lines, and
the film's last frame inherits that error. Landing keeps the flow for the motion and replaces the
end. We draw N exact samples of the picture (a pixel picked by weight, jittered inside it, with
that pixel's colour), pair the flow's t=1 ends with them by an approximate optimal transport, and
blend each particle's offset (its sample minus its flow end) into its path along a ramp in t.

Pairing: recursive median bisection of both point sets along the wider axis, down to leaves of
LEAF points, then an exact assignment (scipy's linear_sum_assignment) in each leaf. The cuts of
one tree leave seams: particles on either side of a cut are paired within their own half, so the
offset field jumps across the cut and a half-applied offset opens a thin crack there. REFINE more
passes re-solve the assignment inside the leaves of trees cut at other angles and leaf sizes (each pass can only
lower the total squared distance, since the current pairing is feasible in every leaf), which
softens those seams.

Schedule: the offset is applied as ``positions[k] += ramp(t_k) * offset`` with a smoothstep ramp
over the whole film (0 at t=0 so the start is untouched; zero slope at both ends so the correction
starts and stops without a jolt). Spreading it over the whole film keeps the step it adds to any
frame small; the measurement behind the choice is in bench/RESULTS.md.
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np
from scipy.optimize import linear_sum_assignment

METHODS = ("exact", "flow")
SCHEDULES = ("smoothstep", "linear-tail")
LEAF = 64  # points per exact assignment: 64x64 solves are ~50 us each, the seams get rarer with size
REFINE = 1  # extra passes on another tree: a second costs as much again for a few % lower cost (bench/RESULTS.md)
TAIL = 0.4  # the "linear-tail" schedule (kept for comparison): a linear fade over the last 40 % of t


def ramp(t: np.ndarray | float, schedule: str = "smoothstep") -> np.ndarray:
    """Fraction of the offset applied at flow time t in [0, 1]: 0 at t=0, 1 at t=1."""
    t = np.clip(np.asarray(t, dtype=np.float64), 0.0, 1.0)
    if schedule == "smoothstep":
        return t * t * (3.0 - 2.0 * t)
    if schedule == "linear-tail":
        return np.clip((t - (1.0 - TAIL)) / TAIL, 0.0, 1.0)
    raise ValueError(f"landing schedule must be one of {', '.join(SCHEDULES)}, got {schedule!r}")


def _rotation(angle: float, dim: int) -> np.ndarray:
    """Rotation by `angle`: in the plane for 2-D; in 3-D about the (1, 1, 1) diagonal, so no cut stays on an axis."""
    c, s = math.cos(angle), math.sin(angle)
    if dim == 2:
        return np.array([[c, s], [-s, c]])
    k = np.full(3, 1 / math.sqrt(3))
    kx = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    return np.eye(3) + s * kx + (1 - c) * (kx @ kx)  # Rodrigues


def _leaves(points: np.ndarray, idx: np.ndarray, leaf: int, angle: float) -> list[np.ndarray]:
    """Median-bisection tree of `points[idx]` (axes rotated by `angle`): the index arrays of its leaves."""
    rotated = points @ _rotation(angle, points.shape[1]).T
    out: list[np.ndarray] = []
    stack = [idx]
    while stack:
        node = stack.pop()
        n = len(node)
        if n <= leaf:
            out.append(node)
            continue
        coords = rotated[node]
        key = coords[:, int(np.argmax(np.ptp(coords, axis=0)))]  # the widest rotated axis (the first on a tie)
        k = n // 2
        part = np.argpartition(key, k)
        stack.append(node[part[k:]])
        stack.append(node[part[:k]])
    return out


def _solve_leaf(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Column order of y that minimises the summed squared distance to x (both [m, D], float64)."""
    cost = ((x[:, None, :] - y[None, :, :]) ** 2).sum(axis=2)
    _, cols = linear_sum_assignment(cost)
    return cols


def pair(ends: np.ndarray, targets: np.ndarray, leaf: int = LEAF, refine: int = REFINE) -> np.ndarray:
    """perm with targets[perm[i]] the partner of ends[i]: an approximate optimal transport pairing.

    Both arrays are [N, D] (D = 2 or 3) with the same N. See the module docstring for the method.
    """
    x = np.asarray(ends, dtype=np.float64)
    y = np.asarray(targets, dtype=np.float64)
    n = len(x)
    if len(y) != n:
        raise ValueError(f"pair: {n} ends but {len(y)} targets")
    perm = np.empty(n, dtype=np.int64)
    # First tree: bisect both sets with the same sequence of axes so halves stay matched in size.
    stack = [(np.arange(n), np.arange(n))]
    while stack:
        xi, yi = stack.pop()
        m = len(xi)
        if m <= leaf:
            perm[xi] = yi[_solve_leaf(x[xi], y[yi])]
            continue
        both = np.concatenate([x[xi], y[yi]])
        axis = int(np.argmax(np.ptp(both, axis=0)))
        k = m // 2
        px = np.argpartition(x[xi, axis], k)
        py = np.argpartition(y[yi, axis], k)
        stack.append((xi[px[k:]], yi[py[k:]]))
        stack.append((xi[px[:k]], yi[py[:k]]))
    # Refinement: other trees (rotated, and with a shifted leaf size so cuts land elsewhere).
    for r in range(int(refine)):
        angle = math.pi / 4 * (r + 1) / max(1, int(refine)) + 0.3 * r
        for node in _leaves(x, np.arange(n), leaf + leaf // 2 * ((r + 1) % 2), angle):
            partners = perm[node]
            perm[node] = partners[_solve_leaf(x[node], y[partners])]
    return perm


def exact_samples(density: Any, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """n exact target samples (float32 [n, D]) and their RGBA (uint8 [n, 4]): a picture's pixels' colours, a
    mesh's texture, vertex or face colours (trainer/targets/registry.py)."""
    return density.sample_with_colors(n, rng)


def land(
    positions: np.ndarray,
    times: np.ndarray,
    density: Any,
    rng: np.random.Generator,
    *,
    schedule: str = "smoothstep",
    leaf: int = LEAF,
    refine: int = REFINE,
) -> tuple[np.ndarray, dict]:
    """Move the ends of `positions` [T, N, D] (float32, changed IN PLACE) onto exact picture samples.

    Returns (colors uint8 [N, 4] of the samples' pixels, a summary dict for the file's meta).
    Frame 0 is left exactly as it is (the ramp is 0 there), frame T-1 becomes the samples exactly.
    """
    ramp(0.0, schedule)  # an unknown schedule fails before any work
    t0 = time.perf_counter()
    n = positions.shape[1]
    targets, colors = exact_samples(density, n, rng)
    perm = pair(positions[-1], targets, leaf=leaf, refine=refine)
    targets = targets[perm]
    colors = colors[perm]
    offset = targets - positions[-1]  # float32 [N, D]; the only N-sized temporary
    dist = np.linalg.norm(offset, axis=1)
    weights = ramp(np.asarray(times, dtype=np.float64), schedule)
    for k, w in enumerate(weights):  # frame by frame: no [T, N, 2] temporary (1M x 241 is 1.9 GB)
        if w == 0.0:
            continue
        if w == 1.0:
            positions[k] = targets  # exactly the samples, not x + (y - x) rounded in float32
        else:
            positions[k] += np.float32(w) * offset
    # The largest extra distance one frame-to-frame step gains from the correction.
    max_added = float(np.max(np.diff(weights))) * float(dist.max()) if len(weights) > 1 else 0.0
    info = {
        "method": "exact",
        "schedule": schedule,
        "pairing": f"median bisection to leaves of {leaf}, exact assignment per leaf, {refine} refining passes",
        "median_offset": float(np.median(dist)),
        "p99_offset": float(np.percentile(dist, 99)),
        "max_offset": float(dist.max()),
        "max_added_step": max_added,
        "seconds": round(time.perf_counter() - t0, 3),
    }
    return colors, info


def check_method(method: str) -> str:
    """The landing method, or a one-line ValueError."""
    if method not in METHODS:
        raise ValueError(f"--landing must be one of {', '.join(METHODS)}, got {method!r}")
    return method
