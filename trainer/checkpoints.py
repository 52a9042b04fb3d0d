"""A run directory's files: the checkpoint (`flowreel.ckpt/1`) and its JSON files, written atomically."""

from __future__ import annotations

import json
from pathlib import Path

import torch

from flowreel.addon.core.atomic import atomic_write
from flowreel.addon.core.errors import FlowreelError

CHECKPOINT = "checkpoint.pt"
CKPT_FORMAT = "flowreel.ckpt/1"


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
    atomic_write_bytes(run_dir / CHECKPOINT, lambda f: torch.save(state, f))


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
