"""PC2 point caches streamed from a trajectory file, frame by frame, so memory stays flat in T.

PC2 layout (read by Blender's Mesh Cache modifier): a 32-byte header
``b"POINTCACHE2\\0"``, int32 version (1), int32 points, float32 start frame, float32 sample rate,
int32 samples; then float32 x, y, z per point per sample (little-endian). 2-D trajectories get z = 0.

Pure numpy (no bpy): the scene builder and the benchmarks both use it.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from ..core.atomic import atomic_write
from ..core.trajformat import Trajectory, TrajectoryError, nonfinite_message

MAGIC = b"POINTCACHE2\0"
HEADER = struct.Struct("<12siiffi")  # magic, version, points, start, rate, samples = 32 bytes
CHUNK_BYTES = 16 << 20  # how much of the source file one read pulls in (bounds memory, whatever T is)


@dataclass
class CacheInfo:
    """What one pass over the trajectory learnt besides writing the cache."""

    path: str
    n_points: int
    n_samples: int
    bbox: tuple[float, float, float, float, float, float]  # xmin, xmax, ymin, ymax, zmin, zmax over all samples
    start: np.ndarray  # float32 [n, 3]: positions at t = 0 (the first sample)
    resampled: bool  # True when non-uniform `times` were resampled onto a uniform grid


def uniform_times(times: np.ndarray, tol: float = 1e-4, knots: Sequence[int] | None = None) -> bool:
    """True when times are (close to) an even grid 0..1; then sample k of the cache is time k/(T-1).

    With `knots` (a sequence's key indices): True when times are even between each pair of neighbouring
    knots (each move is sampled equally in time, at its own rate); the add-on then keys each key's sample."""
    times = np.asarray(times, dtype=np.float64)
    knots = [0, len(times) - 1] if knots is None else list(knots)
    if len(knots) <= 2:
        grid = np.linspace(0.0, 1.0, len(times))
    else:
        moves = [np.linspace(times[a], times[b], b - a + 1)[:-1] for a, b in zip(knots, knots[1:], strict=False)]
        grid = np.concatenate([*moves, times[-1:]])
    return bool(np.max(np.abs(times - grid)) <= tol)


def iter_source_frames(traj: Trajectory) -> Iterator[tuple[int, np.ndarray]]:
    """Yield (first_frame, float32 [k, N, D]) chunks of `positions`.

    A memory-mapped `positions` is read with plain file reads at the member's offset instead of
    through the mapping: pages touched through a mapping count towards Blender's resident memory
    until unmapped, which would make RSS grow with T; file reads leave them in the page cache only.
    """
    p = traj.positions
    T, N, D = p.shape
    frame_bytes = N * D * 4
    k = max(1, CHUNK_BYTES // max(1, frame_bytes))
    filename = getattr(p, "filename", None)
    if isinstance(p, np.memmap) and filename and p.dtype == np.float32 and p.flags.c_contiguous:
        base = int(p.offset)
        with open(filename, "rb") as f:
            for i in range(0, T, k):
                n = min(k, T - i)
                f.seek(base + i * frame_bytes)
                chunk = np.fromfile(f, dtype="<f4", count=n * N * D)
                if chunk.size != n * N * D:
                    raise TrajectoryError(f"{os.path.basename(filename)}: 'positions' is truncated at frame {i}")
                yield i, chunk.reshape(n, N, D)
    else:
        for i in range(0, T, k):
            yield i, np.asarray(p[i : i + k], dtype=np.float32)


def _column_range(frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-coordinate min and max of [k, n, D]; transposed first because numpy reduces long
    contiguous rows many times faster than an axis of length D."""
    cols = np.ascontiguousarray(frames.reshape(-1, frames.shape[-1]).T)
    return cols.min(axis=1).astype(np.float64), cols.max(axis=1).astype(np.float64)


def _to_xyz(frames: np.ndarray) -> np.ndarray:
    """[k, n, 2|3] -> float32 [k, n, 3] with z = 0 for 2-D data."""
    if frames.shape[-1] == 3:
        return np.ascontiguousarray(frames, dtype="<f4")
    out = np.empty(frames.shape[:-1] + (3,), dtype="<f4")
    out[..., :2] = frames
    out[..., 2] = 0.0
    return out


def write_pc2(
    traj: Trajectory,
    path: str,
    indices: np.ndarray | None = None,
    progress: Callable[[float], None] | None = None,
    name: str = "trajectory",
) -> CacheInfo:
    """Write the PC2 cache of `traj` (particles `indices`, default all) to `path` atomically.

    One streaming pass also checks every frame for NaN/inf (raising TrajectoryError before the
    cache appears) and gathers the bounding box over all frames for camera framing. Samples are
    evenly spaced in flow time; non-uniform `times` are linearly resampled onto that grid so the
    Mesh Cache evaluation frame is simply t * (T - 1).
    """
    T, N, _ = traj.positions.shape
    idx = None if indices is None else np.asarray(indices, dtype=np.int64)
    n = N if idx is None else len(idx)
    times = np.asarray(traj.times, dtype=np.float64)
    # A sequence's moves may each have their own rate (frames per unit of time): keep its frames as they
    # are when every move is even, so key k stays at sample keys[k].index.
    resample = not uniform_times(times, knots=[int(k["index"]) for k in traj.keys])
    lo = np.full(3, np.inf)
    hi = np.full(3, -np.inf)
    start: np.ndarray | None = None

    # The cache's size is known: a disk without room for it refuses before a byte is written (errors.DiskError).
    with atomic_write(path, size=HEADER.size + T * n * 12) as f:
        f.write(HEADER.pack(MAGIC, 1, n, 0.0, 1.0, T))

        def emit(xyz: np.ndarray) -> None:
            nonlocal start
            if start is None:
                start = xyz[0].copy()
            f.write(memoryview(np.ascontiguousarray(xyz)).cast("B"))  # no extra copy

        grid = np.linspace(0.0, 1.0, T)
        out_k = 0  # next output sample (resampling only)
        prev: np.ndarray | None = None  # last source frame of the previous chunk (resampling only)
        for first, chunk in iter_source_frames(traj):
            c_lo, c_hi = _column_range(chunk)
            if not (np.all(np.isfinite(c_lo)) and np.all(np.isfinite(c_hi))):  # min/max propagate NaN, show inf
                raise TrajectoryError(f"{name}: {nonfinite_message(chunk, first)}")
            picked = chunk if idx is None else chunk[:, idx]
            if idx is not None:
                c_lo, c_hi = _column_range(picked)
            d = chunk.shape[-1]
            lo[:d], hi[:d] = np.minimum(lo[:d], c_lo), np.maximum(hi[:d], c_hi)
            if d == 2:
                lo[2], hi[2] = min(lo[2], 0.0), max(hi[2], 0.0)
            sub = _to_xyz(picked)
            if not resample:
                emit(sub)
            else:
                # Source frames first-1 (prev) .. first+len-1 are available: emit every output
                # sample whose time lies within them.
                src = sub if prev is None else np.concatenate([prev[None], sub])
                base = first if prev is None else first - 1
                last = first + len(sub) - 1
                while out_k < T and (grid[out_k] <= times[last] or last == T - 1):
                    t = grid[out_k]
                    j = int(np.clip(np.searchsorted(times, t, side="right") - 1, 0, T - 2))
                    w = float((t - times[j]) / (times[j + 1] - times[j]))
                    a, b = src[j - base], src[min(j + 1, last) - base]
                    emit(((1.0 - w) * a + w * b).astype("<f4")[None])
                    out_k += 1
                prev = sub[-1]
            if progress is not None:
                progress(min(1.0, (first + len(chunk)) / T))
    assert start is not None
    bbox = (float(lo[0]), float(hi[0]), float(lo[1]), float(hi[1]), float(lo[2]), float(hi[2]))
    return CacheInfo(path=path, n_points=n, n_samples=T, bbox=bbox, start=start, resampled=resample)


def read_pc2_header(path: str) -> tuple[int, int, float, float, int]:
    """(version, points, start frame, sample rate, samples) of a PC2 file."""
    with open(path, "rb") as f:
        raw = f.read(HEADER.size)
    if len(raw) != HEADER.size or raw[:12] != MAGIC:
        raise TrajectoryError(f"{os.path.basename(path)}: not a PC2 point cache")
    _, version, points, start, rate, samples = HEADER.unpack(raw)
    return version, points, start, rate, samples


def read_pc2_sample(path: str, k: int) -> np.ndarray:
    """Sample `k` of a PC2 file as float32 [points, 3] (reads only that sample)."""
    _, points, _, _, samples = read_pc2_header(path)
    if not 0 <= k < samples:
        raise IndexError(f"sample {k} out of range 0..{samples - 1}")
    with open(path, "rb") as f:
        f.seek(HEADER.size + k * points * 12)
        return np.fromfile(f, dtype="<f4", count=points * 3).reshape(points, 3)
