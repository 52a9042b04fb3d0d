"""Quality of a 3-D fit: Chamfer distance and coverage against exact samples of the target.

Reference set: REFERENCE exact samples of the target (surface, volume, cloud or slab). For a set of points P:

  chamfer   mean distance from each point of P to its nearest reference sample, over the target box's diagonal
            (P on the shape scores only the reference's sampling gaps; dust between shapes scores its distance)
  coverage  fraction of the reference samples with a point of P within RADIUS x diagonal
            (a fit that piles onto part of the shape leaves the rest uncovered)

Both depend on how many points P has, so each is reported next to its sampling floor: what as many
independent exact samples score against the same reference (the role excess TV's floor plays for pictures).
excess_chamfer = chamfer - floor (0 = as good as sampling the shape), coverage_deficit = floor - coverage.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

REFERENCE = 20_000
RADIUS = 0.01  # of the box diagonal: ~0.14 world units for a target 8 units on every side


def diagonal(extent) -> float:
    e = [float(v) for v in extent]
    return math.sqrt(sum((e[2 * i + 1] - e[2 * i]) ** 2 for i in range(len(e) // 2)))


def _finite(points: np.ndarray) -> np.ndarray:
    p = np.asarray(points, dtype=np.float64).reshape(-1, 3)
    return np.nan_to_num(p, nan=1e6, posinf=1e6, neginf=-1e6)  # a lost particle is far from everything


def chamfer(points: np.ndarray, reference_tree, diag: float) -> float:
    """Mean nearest-reference distance of `points`, relative to `diag`."""
    d, _ = reference_tree.query(_finite(points))
    return float(np.mean(d) / diag)


def coverage(points: np.ndarray, reference: np.ndarray, radius: float) -> float:
    """Fraction of `reference` with a point of `points` within `radius` (world units)."""
    from scipy.spatial import cKDTree

    d, _ = cKDTree(_finite(points)).query(reference, distance_upper_bound=radius)
    return float(np.mean(np.isfinite(d)))


def quality3d(points: np.ndarray, target: Any, rng: np.random.Generator, reference: int = REFERENCE) -> dict:
    """Chamfer and coverage of `points` and of as many exact samples (the floor), and their differences."""
    from scipy.spatial import cKDTree

    diag = diagonal(target.extent)
    ref = target.sample(reference, rng).astype(np.float64)
    tree = cKDTree(ref)
    exact = target.sample(len(np.asarray(points).reshape(-1, 3)), rng)
    radius = RADIUS * diag
    c, cf = chamfer(points, tree, diag), chamfer(exact, tree, diag)
    v, vf = coverage(points, ref, radius), coverage(exact, ref, radius)
    return {
        "chamfer": round(c, 6),
        "chamfer_floor": round(cf, 6),
        "excess_chamfer": round(c - cf, 6),
        "coverage": round(v, 5),
        "coverage_floor": round(vf, 5),
        "coverage_deficit": round(vf - v, 5),
        "coverage_radius": round(radius, 5),
        "reference_samples": int(reference),
    }


def evaluate_run_3d(run, particles: int, seed: int, progress: bool = True) -> dict[str, Any]:
    """`trainer eval` for a 3-D run: the flow's t=1 particles scored by quality3d (a surface has no finite
    density, so there is no NLL against an entropy here)."""
    import time

    import torch

    from flowreel.trainer.flow import integrate as flow
    from flowreel.trainer.flow.export import initial_noise

    t0 = time.perf_counter()
    device = next(run.model.parameters()).device
    z0 = torch.from_numpy(initial_noise(particles, seed, 3)).to(device)
    pos, _ = flow.integrate(run.model, z0, torch.tensor([0.0, 1.0], device=device), progress=progress)
    q = quality3d(pos[-1], run.density, np.random.default_rng(seed))
    return {
        "image": run.density.name,
        "target": run.density.meta().get("kind"),
        "method": run.metrics.get("method"),
        "steps": run.metrics.get("steps"),
        **q,
        "particles": particles,
        "seed": seed,
        "seconds": {"quality": round(time.perf_counter() - t0, 3)},
    }


def report_rows_3d(r: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        ("Chamfer, particles to shape (/ box diagonal)", f"{r['chamfer']:.5f}"),
        ("  sampling floor (exact samples)", f"{r['chamfer_floor']:.5f}"),
        ("  excess Chamfer (0 = exact sampling)", f"{r['excess_chamfer']:.5f}"),
        (f"coverage within {r['coverage_radius']:.3g} units", f"{r['coverage']:.4f}"),
        ("  sampling floor (exact samples)", f"{r['coverage_floor']:.4f}"),
        ("  coverage deficit (0 = exact sampling)", f"{r['coverage_deficit']:.4f}"),
    ]
