"""Support points of a 3-D film's end frame: the few particles the camera fit needs (numpy only).

The 3-D camera frames the shape itself, not its box (camera.setup_camera): the distance is the smallest
that keeps every end-frame particle in view at every angle. That fit is a maximum of linear functions of
the particles (camera.fit_distance_spheres), so only the particles on the convex hull can set it. The add-on
runs in Blender's own Python, which has numpy but no scipy (Blender's bundled Python ships none; Debian's
Blender 3.4 cannot import it, checked), so instead of scipy.spatial.ConvexHull the hull is approximated by
support points: for each of N_DIRECTIONS directions spread evenly over the sphere (a Fibonacci lattice),
the particle farthest along it.
Each is a true hull vertex, so the fit on them can only come out short, never long: for a direction u the
true reach h(u) exceeds the support points' by at most R (1 - cos theta) on a smooth shape (R the largest
distance from the centre, theta the angle from u to the nearest lattice direction). `cover_pad` is that
bound at the lattice's covering angle; the camera grows every support point by it on top of the radius, so
the shape stays in frame. Measured (bench/bench_support.py, bench/results/support.md): at 1024 directions the
pad is 0.4 % of R and the fit lands 0.2-0.75 % farther than the exact all-particle fit (never closer) on a
sphere, an 8 x 2 x 2 ellipsoid, a cube and Blender's monkey (512: up to 1.5 %, 256: 3 %); 1M particles
reduce in about half a second in 16 MiB blocks.
"""

from __future__ import annotations

import math

import numpy as np

from ..scene import pointcache

N_DIRECTIONS = 1024  # bench/results/support.md: error against direction count
_DIRS: dict[int, tuple[np.ndarray, float]] = {}


def directions(n: int = N_DIRECTIONS) -> tuple[np.ndarray, float]:
    """([n, 3] unit vectors of a Fibonacci lattice on the sphere, its covering angle in radians).

    The covering angle (the largest angle from any direction to its nearest lattice direction) is measured
    once per n against 20 000 fixed random probes and rounded up by a tenth for directions between them."""
    if n not in _DIRS:
        i = np.arange(n, dtype=np.float64) + 0.5
        z = 1.0 - 2.0 * i / n
        phi = i * math.pi * (3.0 - math.sqrt(5.0))
        s = np.sqrt(1.0 - z * z)
        dirs = np.stack([s * np.cos(phi), s * np.sin(phi), z], axis=1)
        rng, cos_near = np.random.default_rng(0), 1.0
        for _ in range(20000 // 100):  # 100 probes at a time: a small block, whatever n is
            probes = rng.normal(size=(100, 3))
            probes /= np.linalg.norm(probes, axis=1, keepdims=True)
            cos_near = min(cos_near, float((probes @ dirs.T).max(axis=1).min()))
        _DIRS[n] = (dirs, 1.1 * math.acos(min(1.0, float(cos_near))))
    return _DIRS[n]


def support_points(points: np.ndarray, n: int = N_DIRECTIONS) -> np.ndarray:
    """The distinct particles [k <= n, 3] (float64) farthest along each lattice direction.

    Streams `points` [N, 3] in blocks, so memory stays flat: one float32 block of n x rows products of
    the add-on's streaming size (pointcache.CHUNK_BYTES, 16 MiB) and the running maxima."""
    pts = np.asarray(points)
    if pts.ndim != 2 or pts.shape[1] < 3 or len(pts) == 0:
        raise ValueError("support_points needs [N, 3] positions")
    dirs, _ = directions(n)
    d32 = dirs.astype(np.float32)
    best = np.full(n, -np.inf)
    arg = np.zeros(n, dtype=np.int64)
    chunk = int(min(len(pts), max(16, pointcache.CHUNK_BYTES // (4 * n))))
    block_dots = np.empty((n, chunk), dtype=np.float32)  # directions x particles: the argmax runs along rows
    rows = np.arange(n)
    for lo in range(0, len(pts), chunk):
        block = np.ascontiguousarray(pts[lo:lo + chunk, :3], dtype=np.float32)
        dots = block_dots[:, :len(block)]
        np.matmul(d32, block.T, out=dots)
        i = dots.argmax(axis=1)
        v = dots[rows, i]
        better = v > best
        best[better], arg[better] = v[better], i[better] + lo
    return np.asarray(pts[np.unique(arg), :3], dtype=np.float64)


def cover_pad(support: np.ndarray, center: np.ndarray, n: int = N_DIRECTIONS) -> float:
    """How far the true shape may reach past its support points along any direction (see the module's text):
    R (1 - cos theta), R the support points' largest distance from `center`, theta the covering angle."""
    _, theta = directions(n)
    r = float(np.linalg.norm(np.asarray(support) - np.asarray(center), axis=1).max()) if len(support) else 0.0
    return r * (1.0 - math.cos(theta))
