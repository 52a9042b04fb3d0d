"""Loading a fitted run directory (written by `fit`): the EMA model, its config, density and metrics."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flowreel.trainer.fit.checkpoints import CHECKPOINT, MissingRunFileError, RunFileError, load_checkpoint
from flowreel.trainer.fit.devices import resolve_device
from flowreel.trainer.fit.loop import FitConfig
from flowreel.trainer.flow.model import VectorField
from flowreel.trainer.targets.picture import ImageDensity
from flowreel.trainer.targets.registry import load_saved_target, saved_target_path


@dataclass
class Run:
    """A fitted run loaded from its directory: the EMA model in eval mode, its config, density, metrics."""

    model: VectorField
    config: FitConfig
    density: ImageDensity  # or any target of trainer/targets/registry.py (a mesh, a point cloud, a picture with depth)
    metrics: dict
    run_dir: Path


def load_run(run_dir: Path, device: str = "cpu") -> Run:
    """Load a fitted run directory; the model carries the EMA weights and is in eval mode."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise MissingRunFileError(f"{run_dir}: no such run directory")
    for name in ("config.json", CHECKPOINT):  # and the target: density.npz or target.npz (load_saved_target)
        if not (run_dir / name).exists():
            raise MissingRunFileError(f"{run_dir}: not a fitted run (missing {name})")
    if saved_target_path(run_dir) is None:
        raise MissingRunFileError(f"{run_dir}: not a fitted run (missing density.npz)")
    try:
        c = FitConfig.from_json(json.loads((run_dir / "config.json").read_text())).resolved()
    except (json.JSONDecodeError, TypeError) as e:
        raise RunFileError(f"{run_dir / 'config.json'}: unreadable config ({type(e).__name__})") from None
    dev = resolve_device(device)
    ck = load_checkpoint(run_dir / CHECKPOINT, dev)
    model = c.build_model().to(dev)
    model.load_state_dict(ck["ema"])
    model.eval()
    model.requires_grad_(False)
    metrics: dict[str, Any] = {}
    if (run_dir / "metrics.json").exists():
        metrics = json.loads((run_dir / "metrics.json").read_text())
    metrics.setdefault("steps", int(ck["step"]))
    metrics.setdefault("method", c.method)
    return Run(model=model, config=c, density=load_saved_target(run_dir), metrics=metrics, run_dir=run_dir)
