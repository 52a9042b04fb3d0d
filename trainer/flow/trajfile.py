"""Writing `flowreel.traj/2` files from the trainer: metadata and safe output paths.

The format itself (arrays, validation, atomic write, reading) lives in `flowreel.addon.core.trajformat`, the one
copy both halves share; this module adds what only the trainer knows: where the particles came
from (image, fit, solver), and an early check that an output path can be written at all, so a
long export never fails at its last step.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
from dataclasses import asdict, is_dataclass
from pathlib import Path
from typing import Any

from flowreel import trainer
from flowreel.addon.core import trajformat
from flowreel.addon.core.errors import FlowreelError
from flowreel.addon.core.trajformat import FORMAT, Trajectory, TrajectoryError
from flowreel.trainer.targets.registry import file_meta

__all__ = ["FORMAT", "OutputPathError", "Trajectory", "TrajectoryError", "build_meta", "check_output_path", "write"]


class OutputPathError(FlowreelError, OSError):
    """An output path cannot be written (missing folder, not writable, wrong suffix); one-line message."""

    def __str__(self) -> str:  # OSError's default str() adds errno noise
        return str(self.args[0]) if self.args else "bad output path"


def check_output_path(path: str | os.PathLike, suffixes: tuple[str, ...] = (".npz",), what: str = "output") -> Path:
    """Fail fast if `path` cannot be written: call BEFORE the long work that produces it."""
    p = Path(path)
    if suffixes and p.suffix.lower() not in suffixes:
        raise OutputPathError(f"{what} {p}: must end in {' or '.join(suffixes)}")
    if p.is_dir():
        raise OutputPathError(f"{what} {p}: is a directory; give a file name")
    parent = p.parent if str(p.parent) else Path(".")
    if not parent.is_dir():
        raise OutputPathError(f"{what} {p}: folder {parent} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise OutputPathError(f"{what} {p}: folder {parent} is not writable")
    if p.exists() and not os.access(p, os.W_OK):
        raise OutputPathError(f"{what} {p}: file exists and is not writable")
    return p


def _jsonable(obj: Any) -> Any:
    """Round-trip through JSON so numpy scalars, paths and tuples become plain JSON values."""

    def default(o):
        if is_dataclass(o):
            return asdict(o)
        if hasattr(o, "item"):
            return o.item()
        if hasattr(o, "tolist"):
            return o.tolist()
        return str(o)

    return json.loads(json.dumps(obj, default=default))


def build_meta(
    run: Any,
    *,
    seed: int,
    n_particles: int,
    n_frames: int,
    solver: dict,
    logp: bool,
    landing: dict | None = None,
) -> dict:
    """The file's `meta` for trajectories integrated from `run` (a fit.Run: .density, .config, .metrics)."""
    density = run.density
    metrics = dict(getattr(run, "metrics", None) or {})
    config = getattr(run, "config", None)
    method = metrics.get("method") or getattr(config, "method", None)
    return _jsonable(
        {
            "format": FORMAT,
            "trainer": {"name": "flowreel", "version": trainer.__version__},
            "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
            "image": density.meta(),
            "extent": [float(v) for v in density.extent],
            "coordinates": "world units; x right, y up; image centred, longer side spans [-4, 4]",
            "time": "t=0 noise N(0, I), t=1 the image",
            "method": method,
            "seed": int(seed),
            "n_particles": int(n_particles),
            "n_frames": int(n_frames),
            "training": {
                "steps": metrics.get("steps"),
                "seconds": metrics.get("seconds"),
                "seed": getattr(config, "seed", None),
                "config": config,
            },
            "metrics": metrics,
            "solver": solver,
            "logp": bool(logp),
            "landing": landing or {"method": "flow"},
            "colors": (
                "RGBA of the pixel of the exact picture sample each particle lands on"
                if (landing or {}).get("method") == "exact"
                else "RGBA of the image at each particle's t=1 position (nearest inked pixel)"
            ),
            **file_meta(density),  # a 3-D target: its 6-number extent, "target", z-up coordinates (targets/registry.py)
        }
    )


def write(path: str | os.PathLike, traj: Trajectory) -> Path:
    """Validate and write atomically (core.trajformat.write); returns the path."""
    p = check_output_path(path)
    trajformat.write(p, traj)
    return p


read = trajformat.read
