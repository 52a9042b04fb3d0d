"""Integrate the learned vector field: particle trajectories, and log-densities via the exact divergence.

Every requested time comes from ONE adaptive solve per chunk of particles: torchdiffeq's dopri5 steps
where its error control wants and evaluates the dense-output interpolant at the requested times, so 241
frames cost no more solver steps than 2. Particles are processed in chunks (bounded peak memory), and
the network itself is evaluated in sub-batches that fit in CPU cache (measured ~1.5x faster on 100k
points than one big batch).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import torch
from torch import nn
from torchdiffeq import odeint

from flowreel.trainer.fit.progress import progress_bar

# Rows per network call inside the ODE right-hand side (cache-sized; see module docstring).
EVAL_BATCH = 16384


def _rhs_eval(model: nn.Module, t: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    if x.shape[0] <= EVAL_BATCH:
        return model(t, x)
    return torch.cat([model(t, xc) for xc in x.split(EVAL_BATCH)])


def divergence(model: nn.Module, t: torch.Tensor, x: torch.Tensor, *, create_graph: bool = False):
    """v(t, x) and its exact divergence (trace of dv/dx): one backward pass per dimension (2 in 2-D).

    x must not require grad from outside; returns (v [B, D], div [B]).
    """
    with torch.enable_grad():
        x = x if x.requires_grad else x.detach().requires_grad_(True)
        v = model(t, x)
        div = torch.zeros(x.shape[0], dtype=x.dtype, device=x.device)
        if not v.requires_grad:  # a field that ignores x (and has no trainable parts): zero divergence
            return v, div
        for i in range(x.shape[1]):
            (g,) = torch.autograd.grad(v[:, i].sum(), x, create_graph=create_graph, retain_graph=True,
                                       allow_unused=True)
            if g is not None:
                div = div + g[:, i]
    return v, div


def _div_eval(model: nn.Module, t: torch.Tensor, x: torch.Tensor):
    vs, ds = [], []
    for xc in x.split(EVAL_BATCH):
        v, d = divergence(model, t, xc)
        vs.append(v.detach())
        ds.append(d.detach())
    return torch.cat(vs), torch.cat(ds)


def standard_normal_logpdf(z: torch.Tensor) -> torch.Tensor:
    return -0.5 * (z * z).sum(dim=1) - 0.5 * z.shape[1] * math.log(2 * math.pi)


class _Progress:
    """tqdm bar over 'particle-time' units: chunks x |t_end - t_start|; advanced from inside the solver."""

    def __init__(self, total: float, enabled: bool) -> None:
        self.bar = None
        if enabled:
            self.bar = progress_bar(total=total, desc="integrate", unit="chunk", leave=False,
                                    bar_format="{l_bar}{bar}| {n:.2f}/{total:.2f} [{elapsed}<{remaining}]")
        self.base = 0.0
        self.done = 0.0

    def update(self, frac: float) -> None:
        if self.bar is not None:
            value = self.base + min(max(frac, 0.0), 1.0)
            if value > self.done:
                self.bar.update(value - self.done)
                self.done = value

    def next_chunk(self) -> None:
        self.base += 1.0
        self.update(0.0)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _check_times(times: torch.Tensor) -> None:
    if times.dim() != 1 or times.numel() < 2:
        raise ValueError("times must be a 1-D tensor with at least 2 entries")
    d = times[1:] - times[:-1]
    if not (bool((d > 0).all()) or bool((d < 0).all())):
        raise ValueError("times must be strictly monotonic")


def _solve(func: Callable, y0, times, rtol, atol, method, progress: _Progress):
    t0, t1 = float(times[0]), float(times[-1])
    span = (t1 - t0) or 1.0

    def f(t, y):
        progress.update((float(t) - t0) / span)
        return func(t, y)

    return odeint(f, y0, times, rtol=rtol, atol=atol, method=method)


def integrate(
    model: nn.Module,
    z0: torch.Tensor,
    times: torch.Tensor,
    *,
    logp: bool = False,
    rtol: float = 1e-5,
    atol: float = 1e-5,
    method: str = "dopri5",
    chunk: int = 65536,
    progress: bool = False,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Carry particles z0 [N, D] (their state at times[0]) through the flow; positions at every time.

    Returns (positions float32 [T, N, D], logp float32 [T, N] or None). With logp=True, z0 is taken as
    a N(0, I) sample at times[0] (normally 0) and logp[k] = log N(z0; 0, I) - int_{t0}^{t_k} div v dt.
    The model is evaluated on z0's device and dtype; outputs are numpy on the host.
    """
    if z0.dim() != 2:
        raise ValueError("z0 must be [N, D]")
    device, dtype = z0.device, z0.dtype
    times = torch.as_tensor(times, dtype=dtype, device=device)
    _check_times(times)
    n, d = z0.shape
    n_t = times.numel()
    positions = np.empty((n_t, n, d), dtype=np.float32)
    logps = np.empty((n_t, n), dtype=np.float32) if logp else None
    was_training = model.training
    model.eval()
    n_chunks = max(1, math.ceil(n / chunk))
    bar = _Progress(n_chunks, progress)
    try:
        for k, start in enumerate(range(0, n, chunk)):
            if k:
                bar.next_chunk()
            zc = z0[start:start + chunk]
            if logp:
                def func(t, state):
                    v, div = _div_eval(model, t, state[0])
                    return v, -div

                with torch.no_grad():
                    y0 = (zc, standard_normal_logpdf(zc))
                xs, ls = _solve(func, y0, times, rtol, atol, method, bar)
                positions[:, start:start + chunk] = xs.detach().cpu().numpy()
                logps[:, start:start + chunk] = ls.detach().cpu().numpy()
            else:
                with torch.no_grad():
                    xs = _solve(lambda t, x: _rhs_eval(model, t, x), zc, times, rtol, atol, method, bar)
                positions[:, start:start + chunk] = xs.cpu().numpy()
            del xs
        bar.update(1.0)
    finally:
        bar.close()
        model.train(was_training)
    return positions, logps


def log_prob(
    model: nn.Module,
    x: torch.Tensor,
    *,
    rtol: float = 1e-5,
    atol: float = 1e-5,
    chunk: int = 65536,
    method: str = "dopri5",
) -> torch.Tensor:
    """Log-density of the flow's t=1 distribution at x [N, D]: integrate back to t=0 with the exact divergence.

    log p1(x) = log N(z0) - int_0^1 div v(x_t, t) dt, computed as log N(z0) + a(0) where a' = div, a(1) = 0.
    Returns a detached tensor [N] on x's device.
    """
    if x.dim() != 2:
        raise ValueError("x must be [N, D]")
    times = torch.tensor([1.0, 0.0], dtype=x.dtype, device=x.device)
    was_training = model.training
    model.eval()
    out = []
    try:
        for xc in x.split(chunk):
            def func(t, state):
                v, div = _div_eval(model, t, state[0])
                return v, div

            y0 = (xc.detach(), torch.zeros(xc.shape[0], dtype=x.dtype, device=x.device))
            zs, acc = odeint(func, y0, times, rtol=rtol, atol=atol, method=method)
            out.append((standard_normal_logpdf(zs[-1]) + acc[-1]).detach())
    finally:
        model.train(was_training)
    return torch.cat(out)
