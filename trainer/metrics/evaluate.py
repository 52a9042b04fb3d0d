"""Scoring a fitted run (`trainer eval`): NLL of held-out image samples against the density's entropy,
and the histogram / excess TV of the flow's t=1 particles."""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np
import torch

from flowreel.trainer.flow import integrate as flow
from flowreel.trainer.flow.export import initial_noise
from flowreel.trainer.metrics.picture import excess_tv, histogram_tv


def evaluate_run(run, samples: int, tv_particles: int, seed: int, progress: bool = True) -> dict[str, Any]:
    """The scores of `run` (a runs.Run) as the dict `trainer eval` writes to eval.json (less run_dir)."""
    if getattr(run.density, "dim", 2) == 3:  # Chamfer and coverage instead of NLL and TV (trainer/metrics/shape.py)
        from flowreel.trainer.metrics.shape import evaluate_run_3d

        return evaluate_run_3d(run, tv_particles, seed, progress=progress)
    rng = np.random.default_rng(seed)
    density = run.density
    device = next(run.model.parameters()).device
    t0 = time.perf_counter()
    x = torch.from_numpy(density.sample(samples, rng)).to(device)
    lp = flow.log_prob(run.model, x).double().cpu().numpy()
    nll = float(-lp.mean())
    nll_se = float(lp.std(ddof=1) / math.sqrt(len(lp))) if len(lp) > 1 else float("nan")
    t_nll = time.perf_counter() - t0
    t0 = time.perf_counter()
    z0 = torch.from_numpy(initial_noise(tv_particles, seed)).to(device)
    pos, _ = flow.integrate(run.model, z0, torch.tensor([0.0, 1.0], device=device), progress=progress)
    x1 = pos[-1]
    tv = histogram_tv(x1, density)
    etv = excess_tv(x1, density, rng)
    t_tv = time.perf_counter() - t0
    entropy = density.entropy()
    return {
        "image": density.name,
        "method": run.metrics.get("method"),
        "steps": run.metrics.get("steps"),
        "nll_nats": nll,
        "nll_stderr": nll_se,
        "entropy_nats": entropy,
        "nll_gap_nats": nll - entropy,
        "nll_samples": samples,
        "histogram_tv": tv,
        "excess_tv": etv,
        "tv_particles": tv_particles,
        "seed": seed,
        "seconds": {"nll": round(t_nll, 3), "tv": round(t_tv, 3)},
    }


def report_rows(result: dict[str, Any]) -> list[tuple[str, str]]:
    """(label, value) lines of the table `trainer eval` prints."""
    if "chamfer" in result:
        from flowreel.trainer.metrics.shape import report_rows_3d

        return report_rows_3d(result)
    return [
        ("NLL of held-out image samples", f"{result['nll_nats']:.4f} ± {result['nll_stderr']:.4f} nats"),
        ("entropy of the image density (lower bound)", f"{result['entropy_nats']:.4f} nats"),
        ("gap (NLL - entropy = KL)", f"{result['nll_gap_nats']:.4f} nats"),
        ("histogram TV, 64x64 bins", f"{result['histogram_tv']:.4f}"),
        ("excess TV (0 = exact sampling)", f"{result['excess_tv']:.4f}"),
    ]
