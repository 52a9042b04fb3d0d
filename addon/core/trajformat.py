"""The trajectory file `flowreel.traj/2` (and its reader for `/1`): the only contract between trainer and add-on.

Pure numpy + json (no torch, no bpy), so both halves import this one copy: the trainer to
write, the add-on (inside Blender) to read. Files are plain uncompressed ``.npz`` archives,
readable with ``np.load(path, allow_pickle=False)``; because members are stored, not
deflated, `open_positions` can memory-map ``positions`` so Blender never holds all frames.

Arrays:
  positions  float32 [T, N, D]  D in {2, 3}; world units, x right, y up (z up in 3-D)
  times      float32 [T]        strictly increasing, times[0] == 0 (first key), times[-1] == 1 (last key)
  colors     uint8   [N, 4]     optional RGBA of each particle at the last key
  key_colors uint8   [K, N, 4]  optional (v2) RGBA of each particle at each key; colours blend between keys
  logp       float32 [T, N]     optional log-density along each path
  meta       str (0-d unicode)  JSON object; must contain "format" and "extent"; v2 also "keys" and "segments"

A film is a list of K >= 2 keys (noise, picture A, picture B, ...) at frame indices of `positions`,
and a timeline (`segments`) of moves between consecutive keys and holds at keys. Holds take no
frames in the file: a hold is time at rest, added by the scene's timing. A version 1 file reads as
the two keys noise -> picture with one move (`keys_v1`), so old files import unchanged.
"""

from __future__ import annotations

import json
import math
import os
import zipfile
import zlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .atomic import atomic_write
from .errors import FlowreelError, megabytes

FORMAT = "flowreel.traj/2"
FORMAT_V1 = "flowreel.traj/1"
FORMATS = (FORMAT_V1, FORMAT)
REQUIRED = ("positions", "times", "meta")
KEY_KINDS = ("noise", "picture", "mesh", "points")
VIAS = ("flow", "direct", "noise")  # flow: noise -> target; direct: target -> target; noise: back through noise
# The largest `positions` a reader takes unless told otherwise: a file claiming more (a 2 MB deflated
# archive can expand to gigabytes) is refused before anything is allocated. Raised by `max_bytes`,
# $FLOWREEL_MAX_POSITIONS_GB or the commands' --max-positions-gb.
MAX_POSITIONS_GB = 8.0
MAX_POSITIONS_ENV = "FLOWREEL_MAX_POSITIONS_GB"


class TrajectoryError(FlowreelError, ValueError):
    """A trajectory file is missing, unreadable or breaks the format; the message is one line."""


@dataclass
class Trajectory:
    positions: np.ndarray  # float32 [T, N, D] (may be a read-only memmap)
    times: np.ndarray  # float32 [T]
    meta: dict[str, Any] = field(default_factory=dict)
    colors: np.ndarray | None = None  # uint8 [N, 4]
    logp: np.ndarray | None = None  # float32 [T, N]
    key_colors: np.ndarray | None = None  # uint8 [K, N, 4]

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
        """[xmin, xmax, ymin, ymax] in 2-D, [xmin, xmax, ymin, ymax, zmin, zmax] in 3-D."""
        return [float(v) for v in self.meta["extent"]]

    @property
    def keys(self) -> list[dict[str, Any]]:
        """The film's keys (v2 `meta.keys`; for a v1 file the two keys noise -> picture)."""
        return self.meta["keys"] if "keys" in self.meta else keys_v1(self.meta, self.n_frames)[0]

    @property
    def segments(self) -> list[dict[str, Any]]:
        """The film's timeline of moves and holds (v2 `meta.segments`; for a v1 file one move)."""
        return self.meta["segments"] if "segments" in self.meta else keys_v1(self.meta, self.n_frames)[1]

    def colors_at_key(self, k: int) -> np.ndarray | None:
        """uint8 [N, 4] colours at key `k` (the last key's `colors` where a file has no key colours)."""
        if self.key_colors is not None:
            return self.key_colors[k]
        return self.colors


def keys_v1(meta: dict[str, Any], n_frames: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Keys and segments of a single flow noise -> target over all `n_frames` (what a v1 file means)."""
    image = meta.get("image") if isinstance(meta.get("image"), dict) else {}
    target = meta.get("target") if isinstance(meta.get("target"), dict) else {}
    image = image or target
    end = {
        "index": n_frames - 1,
        "time": 1.0,
        "kind": target.get("kind") if target.get("kind") in KEY_KINDS else "picture",
        "name": image.get("name"),
        "sha256": image.get("sha256"),
        "extent": meta.get("extent"),
        "hold": None,
    }
    start = {"index": 0, "time": 0.0, "kind": "noise", "name": None, "sha256": None, "extent": None, "hold": None}
    return [start, end], [{"kind": "move", "from": 0, "to": 1, "via": "flow", "seconds": None}]


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
    if m.get("format") not in FORMATS:
        raise _fail(path, f"'meta.format' must be {FORMAT!r} (or {FORMAT_V1!r}), got {m.get('format')!r}")
    # A v1 file with D = 3 may carry the 2-D box only (the format reserved D = 3 before boxes had z).
    sizes = (4,) if p.shape[2] == 2 else ((6,) if m["format"] == FORMAT else (4, 6))
    _check_box(path, "meta.extent", m.get("extent"), sizes)
    if m["format"] == FORMAT:
        _check_keys(path, m, T, p.shape[2])
        kc = traj.key_colors
        if kc is not None and (kc.shape != (len(m["keys"]), N, 4) or kc.dtype != np.uint8):
            raise _fail(path, f"'key_colors' must be uint8 [{len(m['keys'])}, {N}, 4], got {kc.dtype} {list(kc.shape)}")
    elif traj.key_colors is not None:
        raise _fail(path, f"'key_colors' needs format {FORMAT!r}")
    if check_finite:
        # Chunked so a memory-mapped file is scanned without loading all frames at once.
        step = max(1, (1 << 24) // max(1, N * p.shape[2]))
        for i in range(0, T, step):
            if not np.all(np.isfinite(p[i : i + step])):
                raise _fail(path, nonfinite_message(p[i : i + step], i))
    return traj


def _check_box(path: str, name: str, box: Any, sizes: tuple[int, ...]) -> None:
    names = {4: "[xmin, xmax, ymin, ymax]", 6: "[xmin, xmax, ymin, ymax, zmin, zmax]"}
    want = " or ".join(names[n] for n in sizes)
    if (
        not isinstance(box, (list, tuple))
        or len(box) not in sizes
        or not all(isinstance(v, (int, float)) and not isinstance(v, bool) and np.isfinite(v) for v in box)
        or not all(box[i] < box[i + 1] for i in range(0, len(box), 2))
    ):
        raise _fail(path, f"'{name}' must be {want} with min < max, got {box!r}")


def _check_keys(path: str, m: dict[str, Any], T: int, dim: int) -> None:
    """v2: keys at increasing frame indices from 0 to T-1; a timeline of moves k -> k+1 and holds at keys."""
    keys, segs = m.get("keys"), m.get("segments")
    if not isinstance(keys, list) or len(keys) < 2 or not all(isinstance(k, dict) for k in keys):
        raise _fail(path, "'meta.keys' must be a list of at least 2 key objects")
    idx = [k.get("index") for k in keys]
    if not all(isinstance(i, int) and not isinstance(i, bool) for i in idx):
        raise _fail(path, "every key needs an integer 'index' (its frame)")
    if idx[0] != 0 or idx[-1] != T - 1 or any(b <= a for a, b in zip(idx, idx[1:], strict=False)):
        raise _fail(path, f"key indices must increase from 0 to {T - 1}, got {idx}")
    for i, k in enumerate(keys):
        if k.get("kind") not in KEY_KINDS:
            raise _fail(path, f"key {i}: 'kind' must be one of {', '.join(KEY_KINDS)}, got {k.get('kind')!r}")
        if k.get("extent") is not None:
            _check_box(path, f"meta.keys[{i}].extent", k["extent"], (4,) if dim == 2 else (6,))
        hold = k.get("hold")
        if hold is not None and (not isinstance(hold, (int, float)) or isinstance(hold, bool) or not hold >= 0):
            raise _fail(path, f"key {i}: 'hold' must be seconds >= 0 or null, got {hold!r}")
    if not isinstance(segs, list) or not all(isinstance(s, dict) for s in segs):
        raise _fail(path, "'meta.segments' must be a list of move and hold objects")
    moves = [s for s in segs if s.get("kind") == "move"]
    if [(s.get("from"), s.get("to")) for s in moves] != [(k, k + 1) for k in range(len(keys) - 1)]:
        raise _fail(path, "'meta.segments' must move from each key to the next, in order")
    at = 0  # the key the timeline is at
    held: set[int] = set()
    for s in segs:
        kind = s.get("kind")
        seconds = s.get("seconds")
        if seconds is not None and (not isinstance(seconds, (int, float)) or isinstance(seconds, bool)
                                    or not seconds >= 0):
            raise _fail(path, f"segment {s!r}: 'seconds' must be >= 0 or null")
        if kind == "move":
            if s.get("via") not in VIAS:
                vias = ", ".join(VIAS)
                raise _fail(path, f"move {at} -> {at + 1}: 'via' must be one of {vias}, got {s.get('via')!r}")
            at += 1
        elif kind == "hold":
            if s.get("key") != at or at in held:
                raise _fail(path, f"a hold must be at the key the film is at ({at}), once; got {s!r}")
            held.add(at)
        else:
            raise _fail(path, f"segment kind must be 'move' or 'hold', got {kind!r}")


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
    if meta["format"] == FORMAT and "keys" not in meta:  # a single flow: the v1 meaning, spelled out
        meta["keys"], meta["segments"] = keys_v1(meta, traj.n_frames)
    traj = Trajectory(traj.positions, traj.times, meta, traj.colors, traj.logp, traj.key_colors)
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
    if traj.key_colors is not None:
        arrays["key_colors"] = np.ascontiguousarray(traj.key_colors, dtype=np.uint8)
    size = sum(a.nbytes + 256 for a in arrays.values()) + 22  # members, their headers, the zip directory
    with atomic_write(path, size=size) as f:
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


def max_positions_bytes(max_bytes: float | None = None) -> float:
    """The size limit of `positions`: `max_bytes`, else $FLOWREEL_MAX_POSITIONS_GB, else MAX_POSITIONS_GB."""
    if max_bytes is not None:
        return float(max_bytes)
    env = os.environ.get(MAX_POSITIONS_ENV, "")
    try:
        gb = float(env) if env else MAX_POSITIONS_GB
    except ValueError:
        raise TrajectoryError(f"${MAX_POSITIONS_ENV}={env!r}: must be a number of GB") from None
    return gb * 1e9


def available_memory() -> int | None:
    """Bytes of memory the system can still give (Linux's MemAvailable), or None where unknown."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def member_header(zf: zipfile.ZipFile, name: str) -> tuple[tuple[int, ...], bool, np.dtype]:
    """(shape, fortran order, dtype) of a .npy member, from its header alone (stored or deflated)."""
    with zf.open(name) as f:
        version = np.lib.format.read_magic(f)
        if version == (1, 0):
            return np.lib.format.read_array_header_1_0(f)
        return np.lib.format.read_array_header_2_0(f)


def _check_sizes(path: str, zf: zipfile.ZipFile, max_bytes: float | None, mmap: bool) -> None:
    """Refuse, before anything is allocated, [T, ...] members larger than the limit (or, when they would be
    loaded into memory, than the memory there is)."""
    limit = max_positions_bytes(max_bytes)
    names = set(zf.namelist())
    for member in ("positions.npy", "logp.npy"):
        if member not in names:
            continue
        shape, _, dtype = member_header(zf, member)
        nbytes = math.prod(shape) * dtype.itemsize
        dims = " x ".join(str(n) for n in shape)
        what = f"'{member[:-4]}' is {megabytes(nbytes)} ({dims} {dtype})"
        if nbytes > limit:
            raise _fail(path, f"{what}, over the limit of {megabytes(limit)}: raise it with --max-positions-gb "
                              f"or ${MAX_POSITIONS_ENV} if the file is what you expect")
        in_memory = not mmap or zf.getinfo(member).compress_type != zipfile.ZIP_STORED
        free = available_memory() if in_memory else None
        if free is not None and nbytes > free:
            raise _fail(path, f"{what}, more than the {megabytes(free)} of memory available")


def read(path: str | os.PathLike, mmap: bool = False, check_finite: bool = True,
         max_bytes: float | None = None) -> Trajectory:
    """Read and validate a trajectory file; with mmap=True `positions` stays on disk.

    max_bytes: the largest `positions` taken (default: max_positions_bytes()); larger ones are refused
    from the members' headers, before anything is read."""
    path = os.fspath(path)
    if os.path.isdir(path):
        raise _fail(path, "is a directory, not a trajectory file")
    if not os.path.exists(path):
        raise _fail(path, "no such file")
    try:
        with zipfile.ZipFile(path) as zf:
            _check_sizes(path, zf, max_bytes, mmap)
        with np.load(path, allow_pickle=False) as z:
            names = set(z.files)
            missing = [k for k in REQUIRED if k not in names]
            if missing:
                raise _fail(path, f"not a {FORMAT} file: missing {', '.join(missing)}")
            positions = logp = None
            if mmap:  # the two [T, ...] members stay on disk: memory must not grow with the film's length
                with zipfile.ZipFile(path) as zf:
                    positions = _member_memmap(path, zf, "positions.npy")
                    if "logp" in names:
                        logp = _member_memmap(path, zf, "logp.npy")
            if positions is None:
                positions = z["positions"]
            times = z["times"]
            raw_meta = z["meta"]
            colors = z["colors"] if "colors" in names else None
            key_colors = z["key_colors"] if "key_colors" in names else None
            if logp is None and "logp" in names:
                logp = z["logp"]
    except TrajectoryError:
        raise
    except (OSError, ValueError, zipfile.BadZipFile, EOFError, KeyError, MemoryError, zlib.error,
            NotImplementedError, RuntimeError) as e:  # RuntimeError: zipfile's "encrypted" or "bad password"
        detail = str(e).splitlines()[0] if str(e) else "corrupt"
        raise _fail(path, f"not a readable .npz trajectory file ({type(e).__name__}: {detail})") from None
    try:
        meta = json.loads(str(raw_meta.item() if raw_meta.ndim == 0 else raw_meta))
    except (ValueError, TypeError):
        raise _fail(path, "'meta' is not valid JSON") from None
    traj = Trajectory(positions=positions, times=times, meta=meta, colors=colors, logp=logp, key_colors=key_colors)
    return validate(traj, path, check_finite=check_finite)
