"""The trajectory file `flowreel.traj/1`: the only contract between trainer and add-on.

Pure numpy + json (no torch, no bpy), so both halves import this one copy: the trainer to
write, the add-on (inside Blender) to read. Files are plain uncompressed ``.npz`` archives,
readable with ``np.load(path, allow_pickle=False)``; because members are stored, not
deflated, `open_positions` can memory-map ``positions`` so Blender never holds all frames.

Arrays:
  positions  float32 [T, N, D]  D in {2, 3}; world units, x right, y up
  times      float32 [T]        strictly increasing, times[0] == 0 (noise), times[-1] == 1 (image)
  colors     uint8   [N, 4]     optional RGBA of the image at each particle's final position
  logp       float32 [T, N]     optional log-density along each path
  meta       str (0-d unicode)  JSON object; must contain "format" and "extent"
"""

from __future__ import annotations

import json
import os
import zipfile
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .atomic import atomic_write
from .errors import FlowreelError

FORMAT = "flowreel.traj/1"
REQUIRED = ("positions", "times", "meta")
OPTIONAL = ("colors", "logp")


class TrajectoryError(FlowreelError, ValueError):
    """A trajectory file is missing, unreadable or breaks the format; the message is one line."""


@dataclass
class Trajectory:
    positions: np.ndarray  # float32 [T, N, D] (may be a read-only memmap)
    times: np.ndarray  # float32 [T]
    meta: dict[str, Any] = field(default_factory=dict)
    colors: np.ndarray | None = None  # uint8 [N, 4]
    logp: np.ndarray | None = None  # float32 [T, N]

    @property
    def n_frames(self) -> int:
        return int(self.positions.shape[0])

    @property
    def n_particles(self) -> int:
        return int(self.positions.shape[1])

    @property
    def dim(self) -> int:
        return int(self.positions.shape[2])

    @property
    def extent(self) -> list[float]:
        return [float(v) for v in self.meta["extent"]]


def _fail(path: str, why: str) -> TrajectoryError:
    return TrajectoryError(f"{os.path.basename(str(path)) or path}: {why}")


def validate(traj: Trajectory, path: str = "trajectory", check_finite: bool = True) -> Trajectory:
    """Check shapes, dtypes, times and metadata; raise TrajectoryError naming the first problem."""
    p, t = traj.positions, traj.times
    if p.ndim != 3 or p.shape[2] not in (2, 3):
        raise _fail(path, f"'positions' must have shape [T, N, 2|3], got {list(p.shape)}")
    T, N, _ = p.shape
    if T < 2 or N < 1:
        raise _fail(path, f"needs at least 2 frames and 1 particle, got {T} frames x {N} particles")
    if p.dtype != np.float32:
        raise _fail(path, f"'positions' must be float32, got {p.dtype}")
    if t.shape != (T,):
        raise _fail(path, f"'times' must have shape [{T}] to match positions, got {list(t.shape)}")
    if not np.issubdtype(t.dtype, np.floating) or not np.all(np.isfinite(t)):
        raise _fail(path, "'times' must be finite floats")
    if not np.all(np.diff(t) > 0):
        raise _fail(path, "'times' must be strictly increasing")
    if abs(float(t[0])) > 1e-6 or abs(float(t[-1]) - 1.0) > 1e-6:
        raise _fail(path, f"'times' must run from 0 to 1, got {float(t[0]):g} to {float(t[-1]):g}")
    if traj.colors is not None and (traj.colors.shape != (N, 4) or traj.colors.dtype != np.uint8):
        raise _fail(path, f"'colors' must be uint8 [{N}, 4], got {traj.colors.dtype} {list(traj.colors.shape)}")
    if traj.logp is not None and (traj.logp.shape != (T, N) or traj.logp.dtype != np.float32):
        raise _fail(path, f"'logp' must be float32 [{T}, {N}], got {traj.logp.dtype} {list(traj.logp.shape)}")
    m = traj.meta
    if not isinstance(m, dict):
        raise _fail(path, "'meta' must be a JSON object")
    if m.get("format") != FORMAT:
        raise _fail(path, f"'meta.format' must be {FORMAT!r}, got {m.get('format')!r}")
    ext = m.get("extent")
    if (
        not isinstance(ext, (list, tuple))
        or len(ext) != 4
        or not all(isinstance(v, (int, float)) and np.isfinite(v) for v in ext)
        or not (ext[0] < ext[1] and ext[2] < ext[3])
    ):
        raise _fail(path, f"'meta.extent' must be [xmin, xmax, ymin, ymax] with min < max, got {ext!r}")
    if check_finite:
        # Chunked so a memory-mapped file is scanned without loading all frames at once.
        step = max(1, (1 << 24) // max(1, N * p.shape[2]))
        for i in range(0, T, step):
            if not np.all(np.isfinite(p[i : i + step])):
                raise _fail(path, nonfinite_message(p[i : i + step], i))
    return traj


def nonfinite_message(chunk: np.ndarray, first: int) -> str:
    """Name the first frame of `chunk` (frames first, first+1, ...) that holds a NaN or inf."""
    bad = ~np.isfinite(chunk.reshape(len(chunk), -1)).all(axis=1)
    k = first + int(np.argmax(bad))
    return f"'positions' contains NaN or inf at frame {k}"


def write(path: str | os.PathLike, traj: Trajectory) -> None:
    """Validate and write atomically: a temporary file beside `path`, renamed when complete."""
    path = os.fspath(path)
    meta = dict(traj.meta)
    meta.setdefault("format", FORMAT)
    traj = Trajectory(traj.positions, traj.times, meta, traj.colors, traj.logp)
    validate(traj, path)
    arrays: dict[str, np.ndarray] = {
        "positions": np.ascontiguousarray(traj.positions, dtype=np.float32),
        "times": np.asarray(traj.times, dtype=np.float32),
        "meta": np.array(json.dumps(meta, sort_keys=True)),
    }
    if traj.colors is not None:
        arrays["colors"] = np.ascontiguousarray(traj.colors, dtype=np.uint8)
    if traj.logp is not None:
        arrays["logp"] = np.ascontiguousarray(traj.logp, dtype=np.float32)
    with atomic_write(path) as f:
        np.savez(f, **arrays)  # uncompressed on purpose: members can be memory-mapped


def _member_memmap(path: str, zf: zipfile.ZipFile, name: str) -> np.ndarray | None:
    """Memory-map a stored .npy member of an .npz, or None if it is compressed."""
    info = zf.getinfo(name)
    if info.compress_type != zipfile.ZIP_STORED:
        return None
    with open(path, "rb") as f:
        f.seek(info.header_offset)
        local = f.read(30)
        if local[:4] != b"PK\x03\x04":
            return None
        name_len = int.from_bytes(local[26:28], "little")
        extra_len = int.from_bytes(local[28:30], "little")
        f.seek(info.header_offset + 30 + name_len + extra_len)
        version = np.lib.format.read_magic(f)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(f)
        else:
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(f)
        offset = f.tell()
    if dtype.hasobject or fortran:
        return None
    return np.memmap(path, dtype=dtype, mode="r", offset=offset, shape=shape)


def read(path: str | os.PathLike, mmap: bool = False, check_finite: bool = True) -> Trajectory:
    """Read and validate a trajectory file; with mmap=True `positions` stays on disk."""
    path = os.fspath(path)
    if os.path.isdir(path):
        raise _fail(path, "is a directory, not a trajectory file")
    if not os.path.exists(path):
        raise _fail(path, "no such file")
    try:
        with np.load(path, allow_pickle=False) as z:
            names = set(z.files)
            missing = [k for k in REQUIRED if k not in names]
            if missing:
                raise _fail(path, f"not a {FORMAT} file: missing {', '.join(missing)}")
            positions = None
            if mmap:
                with zipfile.ZipFile(path) as zf:
                    positions = _member_memmap(path, zf, "positions.npy")
            if positions is None:
                positions = z["positions"]
            times = z["times"]
            raw_meta = z["meta"]
            colors = z["colors"] if "colors" in names else None
            logp = z["logp"] if "logp" in names else None
    except TrajectoryError:
        raise
    except (OSError, ValueError, zipfile.BadZipFile, EOFError, KeyError) as e:
        detail = str(e).splitlines()[0] if str(e) else "corrupt"
        raise _fail(path, f"not a readable .npz trajectory file ({type(e).__name__}: {detail})") from None
    try:
        meta = json.loads(str(raw_meta.item() if raw_meta.ndim == 0 else raw_meta))
    except (ValueError, TypeError):
        raise _fail(path, "'meta' is not valid JSON") from None
    traj = Trajectory(positions=positions, times=times, meta=meta, colors=colors, logp=logp)
    return validate(traj, path, check_finite=check_finite)
