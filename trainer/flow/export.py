"""Integrate a fitted flow into dense particle trajectories (the film's raw material).

One adaptive torchdiffeq solve per chunk of particles yields every frame time (the requested
time grid is dense output of the same solve, not extra steps), so 241 frames cost about what
the final frame alone costs. Noise is drawn with numpy from `seed`, so the same run and seed
give the same particles on any device.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from flowreel.addon.core.trajformat import Trajectory
from flowreel.trainer.flow import trajfile

# 1e-4 gives the same excess TV as 1e-5 on the logo in about half the network evaluations per
# particle (bench/results/defaults.md).
RTOL = 1e-4
ATOL = 1e-4
SOLVER = "dopri5"


def initial_noise(n_particles: int, seed: int, dim: int = 2) -> np.ndarray:
    """The t=0 positions: float32 [n, dim] standard normal, reproducible from `seed`."""
    return np.random.default_rng(seed).standard_normal((int(n_particles), dim)).astype(np.float32)


def export_trajectories(
    run: Any,
    n_particles: int = 100_000,
    n_frames: int = 241,
    seed: int = 0,
    logp: bool = False,
    progress: bool = True,
    *,
    rtol: float = RTOL,
    atol: float = ATOL,
    chunk: int = 65536,
    landing: str = "exact",
    turbulence: float = 0.0,
    turbulence_scale: float = 1.5,
) -> Trajectory:
    """Trajectories of `n_particles` from N(0, I) at t=0 to the image at t=1, `n_frames` equally spaced times.

    `run` is a fit.Run (.model, .config, .density, .metrics). `landing` "exact" (trainer/flow/landing.py)
    ends every path on an exact sample of the picture, coloured by that sample's pixel; "flow" keeps
    the flow's own ends, coloured by the image's RGBA there. `logp` adds the log-density along each
    path (slower: divergence too); it is the flow's, so it describes the unlanded path.
    `turbulence` > 0 adds curl noise of that size (world units; trainer/flow/turbulence.py), 0 at both ends.
    """
    from flowreel.trainer.flow import landing as landing_mod

    landing_mod.check_method(landing)
    from flowreel.trainer.flow import (
        integrate as flow,  # torch model code, imported late so `trainer --help` stays fast
    )

    if int(n_particles) < 1:
        raise ValueError(f"n_particles must be >= 1, got {n_particles}")
    if int(n_frames) < 2:
        raise ValueError(f"n_frames must be >= 2, got {n_frames}")
    model = run.model
    device = next(model.parameters()).device
    dim = int(getattr(model, "dim", 2))
    z0 = torch.from_numpy(initial_noise(n_particles, seed, dim)).to(device)
    times = torch.linspace(0.0, 1.0, int(n_frames), device=device)
    positions, lp = flow.integrate(
        model, z0, times, logp=logp, rtol=rtol, atol=atol, method=SOLVER, chunk=chunk, progress=progress
    )
    positions = np.ascontiguousarray(positions, dtype=np.float32)
    times_np = np.linspace(0.0, 1.0, int(n_frames), dtype=np.float64).astype(np.float32)
    if landing == "exact":
        # Its own stream, so the t=0 noise of a seed is the same with either landing.
        colors, landed = landing_mod.land(positions, times_np, run.density, np.random.default_rng([int(seed), 1]))
    else:
        colors, landed = run.density.colors_at(positions[-1]), {"method": "flow"}
    solver = {"library": "torchdiffeq", "method": SOLVER, "rtol": rtol, "atol": atol, "dense_output": True}
    meta = trajfile.build_meta(run, seed=seed, n_particles=n_particles, n_frames=n_frames, solver=solver, logp=logp,
                                 landing=landed)
    if turbulence > 0:
        from flowreel.trainer.flow.turbulence import add_turbulence, key_times

        meta["turbulence"] = add_turbulence(positions, times_np, key_times(meta, times_np), turbulence,
                                            turbulence_scale, seed)
    return Trajectory(
        positions=positions,
        times=times_np,
        meta=meta,
        colors=colors,
        logp=None if lp is None else np.ascontiguousarray(lp, dtype=np.float32),
    )
