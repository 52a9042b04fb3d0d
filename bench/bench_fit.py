"""Fit quality and cost: default fits on the sample images, and an equal-budget comparison with a peer.

    python bench/bench_fit.py                                   # default `fm` fit on the 4 sample images
    python bench/bench_fit.py --images logo --compare 60        # + fm / ffjord / zuko CNF, 60 s training each

Columns: wall seconds of the fit (training + its 100k-sample metric), excess TV (trainer.metrics.picture, 100k
particles at t=1, 64x64 bins), NLL in nats of held-out image samples (flow.log_prob), and the image
density's exact entropy, which no model's NLL can beat. The peer (zuko's CNF, a bench-only dependency:
bench/requirements.txt) is trained by maximum likelihood for the same wall-clock budget.
Wrap in `flock /tmp/flowreel-cpu.lock` on the shared machine.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch

from flowreel.trainer.fit.loop import FitConfig, fit
from flowreel.trainer.fit.runs import load_run
from flowreel.trainer.flow.integrate import log_prob
from flowreel.trainer.metrics.picture import excess_tv
from flowreel.trainer.targets.picture import load_density

REPO = Path(__file__).resolve().parent.parent


def held_out(density, n: int) -> torch.Tensor:
    return torch.from_numpy(density.sample(n, np.random.default_rng(12345)))


def our_nll(run_dir: Path, x: torch.Tensor) -> float:
    return -float(log_prob(load_run(run_dir).model, x, rtol=1e-5, atol=1e-5).mean())


def fit_row(image: str, density, cfg: FitConfig, out: Path, x_nll: torch.Tensor, label: str) -> dict:
    t0 = time.perf_counter()
    m = fit(density, cfg, out, progress=False)
    wall = time.perf_counter() - t0
    return {"image": image, "method": label, "steps": m["steps"], "seconds": round(wall, 1),
            "train_seconds": m["train_seconds"], "excess_tv": m["excess_tv"],
            "nll": round(our_nll(out, x_nll), 3), "entropy": round(density.entropy(), 3)}


def steps_for_budget(density, cfg: FitConfig, budget: float, out: Path) -> int:
    """Measure seconds per step with a short fit, so an equal-budget run still gets a full lr schedule."""
    probe = FitConfig(**{**cfg.__dict__, "steps": 20, "eval_samples": 10})
    m = fit(density, probe, out, progress=False)
    return max(10, int(budget / (m["train_seconds"] / 20)))


def zuko_row(image: str, density, budget: float, x_nll: torch.Tensor, seed: int = 0) -> dict:
    import zuko

    torch.manual_seed(seed)
    flow = zuko.flows.CNF(features=2, hidden_features=(128, 128, 128), atol=1e-4, rtol=1e-3)
    opt = torch.optim.Adam(flow.parameters(), lr=1e-3)
    rng = np.random.default_rng(seed)
    steps, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < budget:
        x = torch.from_numpy(density.sample(512, rng))
        loss = -flow().log_prob(x).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        steps += 1
    train = time.perf_counter() - t0
    with torch.no_grad():
        samples = torch.cat([flow().sample((20000,)) for _ in range(5)]).numpy()
        nll = -float(torch.cat([flow().log_prob(c) for c in x_nll.split(5000)]).mean())
    return {"image": image, "method": "zuko CNF", "steps": steps, "seconds": round(time.perf_counter() - t0, 1),
            "train_seconds": round(train, 1), "excess_tv": round(excess_tv(samples, density, rng), 5),
            "nll": round(nll, 3), "entropy": round(density.entropy(), 3)}


def table(rows: list[dict]) -> str:
    lines = ["| image | method | steps | seconds (wall) | train s | excess TV | NLL (nats) | entropy (bound) |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['image']} | {r['method']} | {r['steps']} | {r['seconds']} | {r['train_seconds']} | "
                     f"{r['excess_tv']:.4f} | {r['nll']:.3f} | {r['entropy']:.3f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--images", nargs="+", default=["logo", "text", "ring", "lineart"])
    ap.add_argument("--out", type=Path, default=REPO / "out" / "bench_fit")
    ap.add_argument("--compare", type=float, default=0.0, metavar="SECONDS",
                    help="also compare fm / ffjord / zuko at this training budget (s) on --compare-images")
    ap.add_argument("--compare-images", nargs="+", default=["logo"])
    ap.add_argument("--skip-default", action="store_true")
    ap.add_argument("--nll-samples", type=int, default=5000)
    ap.add_argument("--config", type=json.loads, default={}, help="FitConfig overrides as JSON")
    ap.add_argument("--threads", type=int, default=None,
                    help="torch threads for everything, peers included (default: as a user gets them: fit trains "
                         "on FitConfig.threads plus batch workers, everything else on torch's default)")
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
        args.config.setdefault("threads", args.threads)
    rows = []
    for image in [] if args.skip_default else args.images:
        d = load_density(REPO / "examples" / f"{image}.png")
        rows.append(fit_row(image, d, FitConfig(**args.config), args.out / image, held_out(d, args.nll_samples),
                            "fm (default)"))
        print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    for image in args.compare_images if args.compare else []:
        d = load_density(REPO / "examples" / f"{image}.png")
        x = held_out(d, args.nll_samples)
        for method in ("fm", "ffjord"):
            cfg = FitConfig(method=method, **args.config)
            steps = steps_for_budget(d, cfg, args.compare, args.out / f"probe-{method}")
            cfg.steps, cfg.max_seconds = steps, args.compare * 1.15
            rows.append(fit_row(image, d, cfg, args.out / f"cmp-{image}-{method}", x, f"{method} ({args.compare:g} s)"))
            print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
        rows.append(zuko_row(image, d, args.compare, x))
        rows[-1]["method"] += f" ({args.compare:g} s)"
        print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    print(f"\nfit bench: {platform.processor() or platform.machine()}, torch {torch.__version__}, "
          f"{args.threads or 'default'} threads, {os.cpu_count()} CPUs, "
          f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}\n")
    print(table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
