"""A run directory's files: the checkpoint (`flowreel.ckpt/1`) and its JSON files, written atomically."""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
from pathlib import Path

import torch

from flowreel.addon.core.atomic import atomic_write
from flowreel.addon.core.errors import FlowreelError

CHECKPOINT = "checkpoint.pt"
CKPT_FORMAT = "flowreel.ckpt/1"
# FitConfig fields that do not change what a fit learns: a fit with other values of these resumes as it is.
HOW_NOT_WHAT = ("device", "threads", "workers", "max_seconds", "checkpoint_every", "eval_samples", "eval_tol")


class RunFileError(FlowreelError, ValueError):
    """A run directory's file is unreadable or not Flowreel's (one-line message)."""


class MissingRunFileError(FlowreelError, FileNotFoundError):
    """A run directory, or a file it needs, does not exist (one-line message)."""


def atomic_write_bytes(path: Path, write) -> None:
    with atomic_write(path) as f:
        write(f)


def write_json(path: Path, data: dict) -> None:
    atomic_write_bytes(path, lambda f: f.write((json.dumps(data, indent=2) + "\n").encode()))


def save_checkpoint(run_dir: Path, state: dict) -> None:
    """Serialise in memory first: torch's own writer reports a full disk as an unrelated C++ assertion, and
    the size known up front lets atomic_write refuse before writing anything (one line with the space needed)."""
    buf = io.BytesIO()
    torch.save(state, buf)
    with atomic_write(run_dir / CHECKPOINT, size=buf.getbuffer().nbytes) as f:
        f.write(buf.getbuffer())


def settings_differ(run_dir: Path, config, dim: int) -> list[str]:
    """The FitConfig fields (what the fit learns) in which `config` differs from the run's saved config.json."""
    from flowreel.trainer.fit.loop import FitConfig

    try:
        saved = FitConfig.from_json(json.loads((Path(run_dir) / "config.json").read_text())).resolved().to_json()
    except (OSError, ValueError, TypeError, KeyError) as e:
        raise RunFileError(f"{run_dir}/config.json: unreadable ({type(e).__name__}); --restart starts over") from None
    wanted = dataclasses.replace(config.resolved(), dim=dim).to_json()
    return sorted(k for k in wanted.keys() | saved.keys() if k not in HOW_NOT_WHAT and wanted.get(k) != saved.get(k))


def discard_run(run_dir: Path) -> None:
    """Remove a run's checkpoint and metrics (a fit starting over): nothing says the old fit is still there."""
    for name in (CHECKPOINT, "metrics.json"):
        with contextlib.suppress(FileNotFoundError):
            (Path(run_dir) / name).unlink()


def load_checkpoint(path: Path, device) -> dict:
    try:
        ck = torch.load(path, map_location=device, weights_only=True)
    except FileNotFoundError:
        raise MissingRunFileError(f"{path}: no checkpoint to resume from") from None
    except Exception as e:  # corrupt or foreign file: one line, no traceback in the CLI
        raise RunFileError(f"{path}: not a Flowreel checkpoint ({type(e).__name__})") from None
    if not isinstance(ck, dict) or ck.get("format") != CKPT_FORMAT:
        raise RunFileError(f"{path}: not a Flowreel checkpoint")
    return ck
