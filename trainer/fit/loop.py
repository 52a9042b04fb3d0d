"""Fit the vector field to an image density: flow matching (default) or FFJORD maximum likelihood.

- ``fm``: conditional flow matching on the straight path x_t = (1 - t) x0 + t x1 (+ sigma noise), target
  velocity x1 - x0, with minibatch optimal-transport coupling: each block of noise/image pairs is re-paired
  by an exact assignment (scipy's linear_sum_assignment) so that paths cross less. Straighter paths make
  the adaptive solver take fewer steps at export and the film's motion calmer. Simulation-free: one
  network pass per step.
- ``ffjord``: maximum likelihood through the instantaneous change of variables, exact divergence (two
  autograd passes in 2-D), backpropagated through a torchdiffeq dopri5 solve: the seed's method, kept as
  a faithful reference and for likelihood work. Much slower per step.

Both learn v(t, x) with t=0 the standard normal and t=1 the image, so export and eval do not care which
was used. The randomness of step k (data, noise, times) comes from a numpy generator seeded by
``(seed, k)`` (trainer.fit.batches; torch's generator only initialises the weights), so a seed gives the same
checkpoint on CPU, and a resumed run takes the same steps as an uninterrupted one.
"""

from __future__ import annotations

import dataclasses
import json
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from flowreel.addon.core.errors import FlowreelError
from flowreel.trainer.fit.batches import Prefetcher, default_workers, fm_batch, step_rng
from flowreel.trainer.fit.checkpoints import (
    CHECKPOINT,
    CKPT_FORMAT,
    MissingRunFileError,
    load_checkpoint,
    save_checkpoint,
    write_json,
)
from flowreel.trainer.fit.devices import resolve_device, torch_threads
from flowreel.trainer.fit.preview import preview_png
from flowreel.trainer.fit.progress import progress_bar
from flowreel.trainer.fit.stopping import FitInterrupted, SigintFlag
from flowreel.trainer.flow.model import VectorField
from flowreel.trainer.targets.picture import ImageDensity
from flowreel.trainer.targets.registry import run_file, target_dim

METHODS = ("fm", "ffjord")

# Per-method defaults for fields left as None. FM's are sized so that a default fit (training + the 100k-sample
# metric) stays well under two minutes on a small CPU, with the best excess TV for that time among the batch
# sizes and learning rates tried (bench/results/defaults.md).
DEFAULTS = {
    "fm": {"steps": 5000, "batch_size": 1024, "lr": 1e-2},
    "ffjord": {"steps": 300, "batch_size": 512, "lr": 2e-3},
}


class FitConfigError(FlowreelError, ValueError):
    """A FitConfig value that cannot work (one-line message)."""


@dataclass
class FitConfig:
    method: str = "fm"  # "fm" (flow matching + minibatch OT) or "ffjord" (maximum likelihood)
    steps: int | None = None  # None = the method's default (DEFAULTS)
    batch_size: int | None = None
    lr: float | None = None
    seed: int = 0
    device: str = "auto"
    dim: int = 2  # of the target: fit() sets it from the target (2 for a picture, 3 for a mesh, cloud or slab)
    # model
    hidden: int = 128
    depth: int = 3
    n_fourier: int = 128  # logo excess TV (batch 512 x 4000 steps): 64 features 0.060, 128 features 0.054
    fourier_scale: float = 1.0  # std of the Fourier frequencies, cycles per world unit
    time_features: int = 8
    # optimisation
    ema: float = 0.999  # exponential moving average of weights; the EMA model is what gets saved for use
    warmup: float = 0.02  # fraction of steps with linear lr warm-up; then cosine decay to lr * final_lr
    final_lr: float = 0.05
    # flow matching
    sigma: float = 0.0  # std of Gaussian noise around the straight path
    ot: bool = True  # minibatch optimal-transport coupling
    # exact assignment on blocks of this size; its CPU cost per point grows ~ block^2, and 64 gave the best
    # excess TV for the time (bench/results/defaults.md)
    ot_block: int = 64
    t_power: float = 1.0  # t = 1 - (1 - u)^t_power, u uniform: > 1 trains more near t=1, where edges form
    # ffjord
    ffjord_tol: float = 1e-3  # rtol = atol of the training solve
    # bookkeeping
    # CPU threads of the training loop (None = torch's default). Small-batch training is latency-bound, so one
    # thread is much faster than contended ones, and the batch workers need a core of their own
    # (bench/results/defaults.md).
    threads: int | None = 1
    workers: int | None = None  # threads drawing batches ahead (None = trainer.fit.batches.default_workers(), 0 = none)
    max_seconds: float | None = None  # stop training early after this many seconds (the schedule is not rescaled)
    checkpoint_every: float = 30.0  # seconds between periodic checkpoints
    eval_samples: int = 100_000
    eval_tol: float = 1e-4  # rtol = atol for the metric's solve (1e-5 gave the same excess TV to 1e-4, 2x the NFE)

    def resolved(self) -> FitConfig:
        """A copy with method defaults filled in, validated (FitConfigError with a one-line message)."""
        if self.method not in METHODS:
            raise FitConfigError(f"method must be one of {', '.join(METHODS)}; got {self.method!r}")
        d = DEFAULTS[self.method]
        c = dataclasses.replace(
            self,
            steps=d["steps"] if self.steps is None else int(self.steps),
            batch_size=d["batch_size"] if self.batch_size is None else int(self.batch_size),
            lr=d["lr"] if self.lr is None else float(self.lr),
        )
        checks = [
            (c.steps >= 1, f"steps must be >= 1, got {c.steps}"),
            (c.batch_size >= 2, f"batch_size must be >= 2, got {c.batch_size}"),
            (math.isfinite(c.lr) and c.lr > 0, f"lr must be > 0, got {c.lr}"),
            (c.dim in (2, 3), f"dim must be 2 or 3, got {c.dim}"),
            (c.hidden >= 1 and c.depth >= 1, "hidden and depth must be >= 1"),
            (c.n_fourier >= 0 and c.time_features >= 0, "n_fourier and time_features must be >= 0"),
            (c.fourier_scale > 0, f"fourier_scale must be > 0, got {c.fourier_scale}"),
            (0.0 <= c.ema < 1.0, f"ema must be in [0, 1), got {c.ema}"),
            (0.0 <= c.warmup < 1.0 and 0.0 < c.final_lr <= 1.0, "warmup must be in [0, 1), final_lr in (0, 1]"),
            (c.sigma >= 0, f"sigma must be >= 0, got {c.sigma}"),
            (c.ot_block >= 2, f"ot_block must be >= 2, got {c.ot_block}"),
            (c.t_power > 0, f"t_power must be > 0, got {c.t_power}"),
            (c.ffjord_tol > 0 and c.eval_tol > 0, "solver tolerances must be > 0"),
            (c.max_seconds is None or c.max_seconds > 0, f"max_seconds must be > 0, got {c.max_seconds}"),
            (c.eval_samples >= 1, f"eval_samples must be >= 1, got {c.eval_samples}"),
            (c.threads is None or c.threads >= 1, f"threads must be >= 1, got {c.threads}"),
            (c.workers is None or c.workers >= 0, f"workers must be >= 0, got {c.workers}"),
        ]
        for ok, msg in checks:
            if not ok:
                raise FitConfigError(msg)
        return c

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> FitConfig:
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})

    def build_model(self) -> VectorField:
        return VectorField(
            dim=self.dim,
            hidden=self.hidden,
            depth=self.depth,
            n_fourier=self.n_fourier,
            fourier_scale=self.fourier_scale,
            time_features=self.time_features,
            feature_seed=self.seed,
        )


def _lr_at(step: int, c: FitConfig) -> float:
    """Linear warm-up, then cosine decay from lr to lr * final_lr (a measured win over constant lr)."""
    warm = max(1, int(c.warmup * c.steps))
    if step < warm:
        return c.lr * (step + 1) / warm
    p = (step - warm) / max(1, c.steps - warm)
    return c.lr * (c.final_lr + (1 - c.final_lr) * 0.5 * (1 + math.cos(math.pi * min(p, 1.0))))


# ---- the two training objectives -----------------------------------------------------------
def _batch(density: ImageDensity, c: FitConfig, step: int, source: ImageDensity | None = None) -> dict[str, np.ndarray]:
    """The training batch of step ``step`` (trainer.fit.batches: the same on any thread, before or after resume)."""
    rng = step_rng(c.seed, step)
    if c.method == "ffjord":
        return {"x": density.sample(c.batch_size, rng)}
    return fm_batch(density, rng, batch_size=c.batch_size, ot=c.ot, ot_block=c.ot_block, t_power=c.t_power,
                    sigma=c.sigma, source=source)


def _fm_loss(model, batch: dict[str, np.ndarray], c: FitConfig, device) -> torch.Tensor:
    x0_t, x1_t, t_t = (torch.from_numpy(batch[k]).to(device) for k in ("x0", "x1", "t"))
    xt = (1 - t_t[:, None]) * x0_t + t_t[:, None] * x1_t
    if "eps" in batch:
        xt = xt + c.sigma * torch.from_numpy(batch["eps"]).to(device)
    v = model(t_t, xt)
    return ((v - (x1_t - x0_t)) ** 2).sum(1).mean()


def _ffjord_loss(model, batch: dict[str, np.ndarray], c: FitConfig, device) -> torch.Tensor:
    from torchdiffeq import odeint

    from flowreel.trainer.flow.integrate import divergence, standard_normal_logpdf

    x = torch.from_numpy(batch["x"]).to(device)

    def func(t, state):
        v, div = divergence(model, t, state[0], create_graph=True)
        return v, div

    times = torch.tensor([1.0, 0.0], device=device)
    zs, acc = odeint(func, (x, torch.zeros(len(x), device=device)), times, rtol=c.ffjord_tol, atol=c.ffjord_tol)
    return -(standard_normal_logpdf(zs[-1]) + acc[-1]).mean()


# ---- fit -------------------------------------------------------------------------------------
def _evaluate(model, density: ImageDensity, c: FitConfig, device, source: ImageDensity | None = None
              ) -> tuple[float, np.ndarray]:
    from flowreel.trainer.flow.integrate import integrate
    from flowreel.trainer.metrics.picture import excess_tv

    rng = np.random.default_rng([c.seed, 1])  # independent of the training stream
    x0 = rng.standard_normal((c.eval_samples, c.dim)).astype(np.float32) if source is None else source.sample(
        c.eval_samples, rng)
    z0 = torch.from_numpy(x0).to(device)
    times = torch.tensor([0.0, 1.0], device=device)
    pos, _ = integrate(model, z0, times, rtol=c.eval_tol, atol=c.eval_tol)
    if c.dim == 3:  # Chamfer and coverage next to their sampling floor (trainer/metrics/shape.py)
        from flowreel.trainer.metrics.shape import quality3d

        return quality3d(pos[-1], density, rng), pos[-1]
    return float(excess_tv(pos[-1], density, rng)), pos[-1]


def fit(
    density: ImageDensity,
    config: FitConfig,
    run_dir: Path,
    *,
    resume: bool = False,
    progress: bool = True,
    on_step=None,
    source: ImageDensity | None = None,
) -> dict:
    """Train, then write run_dir/{checkpoint.pt, config.json, metrics.json, preview.png, density.npz}.

    Returns the metrics dict (steps, seconds, train_seconds, excess_tv, method, device, torch, ...).
    resume=True continues from run_dir/checkpoint.pt with the config saved there (same total steps).
    Ctrl-C saves a checkpoint and raises FitInterrupted. `on_step(step, loss)` is called after each
    completed step (tests, GUIs). `source` (flow matching only): t=0 is that picture's density instead of
    N(0, I), a morph source -> density (saved as run_dir/source.npz; pass it again to resume).
    config.threads applies to the training loop only; the metric runs on
    torch's thread count (one large solve gains from every core: bench/results/defaults.md).
    """
    run_dir = Path(run_dir)
    t_call = time.perf_counter()
    run_dir.mkdir(parents=True, exist_ok=True)
    ck = None
    if resume:
        cfg_path = run_dir / "config.json"
        if not cfg_path.exists():
            raise MissingRunFileError(f"{cfg_path}: no saved config to resume from")
        c = FitConfig.from_json(json.loads(cfg_path.read_text())).resolved()
        device = resolve_device(config.device if config.device != "auto" else c.device)
        ck = load_checkpoint(run_dir / CHECKPOINT, device)
    else:
        c = dataclasses.replace(config.resolved(), dim=target_dim(density))  # the target decides the dimension
        device = resolve_device(c.device)
    if source is not None and c.method != "fm":
        raise FitConfigError("a picture source (a morph) needs method fm")
    torch.manual_seed(c.seed)
    model = c.build_model().to(device)
    ema_model = c.build_model().to(device)
    ema_model.load_state_dict(model.state_dict())
    ema_model.requires_grad_(False)
    opt = torch.optim.Adam(model.parameters(), lr=c.lr)
    step, train_seconds, losses = 0, 0.0, []
    if ck is not None:
        model.load_state_dict(ck["model"])
        ema_model.load_state_dict(ck["ema"])
        opt.load_state_dict(ck["optimizer"])
        torch.set_rng_state(ck["torch_rng"].cpu())
        step, train_seconds, losses = int(ck["step"]), float(ck["train_seconds"]), list(ck.get("losses", []))
    else:
        write_json(run_dir / "config.json", c.to_json())
        density.save(run_dir / run_file(density))  # density.npz (picture) or target.npz (3-D)
        if source is not None:
            source.save(run_dir / "source.npz")
    loss_fn = _fm_loss if c.method == "fm" else _ffjord_loss

    def state(complete: bool) -> dict:
        return {
            "format": CKPT_FORMAT,
            "step": step,
            "complete": complete,
            "model": model.state_dict(),
            "ema": ema_model.state_dict(),
            "optimizer": opt.state_dict(),
            "torch_rng": torch.get_rng_state(),
            "train_seconds": train_seconds,
            "losses": losses,
            "config": c.to_json(),
        }

    bar = progress_bar(total=c.steps, initial=step, desc=f"fit {c.method}", unit="step", disable=not progress,
                       leave=False)
    params = list(model.parameters())
    ema_params = list(ema_model.parameters())
    t_last_ck = time.perf_counter()
    running = None
    stopped_early = False
    workers = default_workers() if c.workers is None else c.workers
    batches = Prefetcher(lambda k: _batch(density, c, k, source), step, c.steps, workers=workers)
    with SigintFlag() as sigint, batches, torch_threads(c.threads):
        try:
            t_seg = time.perf_counter()
            while step < c.steps:
                if sigint.hit:
                    raise KeyboardInterrupt
                if c.max_seconds is not None and train_seconds + time.perf_counter() - t_seg >= c.max_seconds:
                    stopped_early = True
                    break
                for g in opt.param_groups:
                    g["lr"] = _lr_at(step, c)
                loss = loss_fn(model, batches.get(step), c, device)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                # commit: a KeyboardInterrupt above leaves the step undone (its batch is drawn again on resume);
                # below, SIGINT only sets a flag
                opt.step()
                decay = min(c.ema, (1 + step) / (10 + step))
                with torch.no_grad():
                    torch._foreach_mul_(ema_params, decay)
                    torch._foreach_add_(ema_params, params, alpha=1 - decay)
                step += 1
                lv = float(loss.detach())
                losses.append(lv)
                running = lv if running is None else 0.98 * running + 0.02 * lv
                bar.update(1)
                if step % 10 == 0:
                    bar.set_postfix(loss=f"{running:.4g}", refresh=False)  # drawn at the bar's own pace
                if on_step is not None:
                    on_step(step, lv)
                if time.perf_counter() - t_last_ck >= c.checkpoint_every:
                    train_seconds += time.perf_counter() - t_seg
                    t_seg = time.perf_counter()
                    save_checkpoint(run_dir, state(False))
                    t_last_ck = time.perf_counter()
            train_seconds += time.perf_counter() - t_seg
        except KeyboardInterrupt:
            train_seconds += time.perf_counter() - t_seg
            save_checkpoint(run_dir, state(False))
            raise FitInterrupted(step, run_dir) from None
        finally:
            bar.close()
    save_checkpoint(run_dir, state(True))
    t_eval = time.perf_counter()
    etv, samples = _evaluate(ema_model, density, c, device, source)
    eval_seconds = time.perf_counter() - t_eval
    preview_png(run_dir / "preview.png", samples, density)
    metrics = {
        "method": c.method,
        "steps": step,
        "stopped_early": stopped_early,
        "seconds": round(train_seconds + eval_seconds, 3),
        "train_seconds": round(train_seconds, 3),
        "eval_seconds": round(eval_seconds, 3),
        "call_seconds": round(time.perf_counter() - t_call, 3),
        **(etv if isinstance(etv, dict) else {"excess_tv": round(etv, 5)}),  # a dict: 3-D quality
        "eval_samples": c.eval_samples,
        "final_loss": round(float(np.mean(losses[-50:])), 6) if losses else None,
        "device": str(device),
        "torch": torch.__version__,
        "threads": c.threads,  # during training
    }
    write_json(run_dir / "metrics.json", metrics)
    return metrics


