"""Exact landing, measured: end and start quality, the step the correction adds, seams, time, memory.

    python bench/bench_landing.py runs/logo runs/text ... [--particles 100000] [--frames 241]
        [--schedules smoothstep linear-tail] [--big 1000000] [--sheet docs/media/landing_sheet.png]

Per run directory: integrates the flow once (N particles x T frames, numpy noise of seed 0), then
lands copies of it with each schedule and prints a markdown table row per schedule:
- end excess TV (64x64 histogram vs the picture) for the flow's own end and the landed end, and the
  sampling floor (TV of N exact samples; excess 0 = at the floor)
- start excess TV against N(0, I) (64x64 over [-4, 4]^2) for both
- the largest per-frame step the correction adds, next to the flow's own per-frame steps (median
  and 99th percentile over particles of each particle's largest step)
- a seam score at t = 0.7, 0.8, 0.9: mass missing from 128x128 histogram bins relative to a 5x5
  box blur of the same histogram, beyond 3 Poisson sigmas (thin empty cracks raise it; smooth
  density and sampling noise do not), for the flow and the landed frame
- landing seconds and the extra peak memory of landing (tracemalloc of numpy allocations)
`--big N` also times landing alone on N particles x T frames (random stand-in paths from the
flow's ends, so no N-particle integration is needed).
"""

from __future__ import annotations

import argparse
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np
import torch

from flowreel.trainer.fit.runs import load_run
from flowreel.trainer.flow import integrate as flow
from flowreel.trainer.flow import landing
from flowreel.trainer.flow.export import initial_noise
from flowreel.trainer.metrics.picture import excess_gaussian_tv, excess_tv, histogram_tv


def seam_score(xy: np.ndarray, extent, bins: int = 128) -> float:
    xmin, xmax, ymin, ymax = extent
    h, _, _ = np.histogram2d(xy[:, 0], xy[:, 1], bins=bins, range=[[xmin, xmax], [ymin, ymax]])
    pad = np.pad(h, 2, mode="edge")
    c = pad.cumsum(0).cumsum(1)
    c = np.pad(c, ((1, 0), (1, 0)))
    blur = (c[5:, 5:] - c[:-5, 5:] - c[5:, :-5] + c[:-5, :-5]) / 25.0
    deficit = np.clip(blur - h - 3.0 * np.sqrt(blur), 0.0, None)
    return float(deficit.sum() / len(xy))


def integrate(run, n: int, frames: int) -> np.ndarray:
    z0 = torch.from_numpy(initial_noise(n, 0))
    times = torch.linspace(0.0, 1.0, frames)
    pos, _ = flow.integrate(run.model, z0, times, rtol=1e-4, atol=1e-4, progress=False)
    return np.ascontiguousarray(pos, dtype=np.float32)


def land_measured(pos: np.ndarray, times: np.ndarray, density, schedule: str, refine: int):
    tracemalloc.start()
    t0 = time.perf_counter()
    _, info = landing.land(pos, times, density, np.random.default_rng([0, 1]), schedule=schedule, refine=refine)
    sec = time.perf_counter() - t0
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return info, sec, peak


def row(ctx, name, pos, info=None, sec=None, peak=None) -> None:
    run_name, d, ks, floor, fstep = ctx
    end = pos[-1]
    etv = excess_tv(end, d, np.random.default_rng(7))
    stv = excess_gaussian_tv(pos[0], np.random.default_rng(8))
    seams = "/".join(f"{seam_score(pos[k], d.extent):.4f}" for k in ks)
    off = "-" if info is None else f"{info['median_offset']:.3f} / {info['p99_offset']:.3f}"
    add = "-" if info is None else f"{info['max_added_step']:.4f}"
    ts = "-" if sec is None else f"{sec:.2f}"
    pk = "-" if peak is None else f"{peak / 1e6:.0f}"
    print(f"| {run_name} | {name} | {histogram_tv(end, d):.4f} | {etv:+.4f} | {floor:.4f} | {stv:+.4f} |"
          f" {off} | {add} | {fstep} | {seams} | {ts} | {pk} |", flush=True)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("runs", nargs="+", type=Path)
    ap.add_argument("--particles", type=int, default=100_000)
    ap.add_argument("--frames", type=int, default=241)
    ap.add_argument("--schedules", nargs="+", default=["smoothstep"])
    ap.add_argument("--refine", nargs="+", type=int, default=[landing.REFINE])
    ap.add_argument("--big", type=int, default=0)
    ap.add_argument("--sheet", type=Path)
    a = ap.parse_args(argv)
    print("| run | landing | end TV | end excess | floor TV | start excess vs N(0,I) | median / p99 offset |"
          " max added step | flow step median / p99 | seam t=.7/.8/.9 | land s | land peak MB |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for run_dir in a.runs:
        run = load_run(run_dir)
        d = run.density
        t0 = time.perf_counter()
        base = integrate(run, a.particles, a.frames)
        t_int = time.perf_counter() - t0
        times = np.linspace(0, 1, a.frames)
        steps = np.linalg.norm(np.diff(base, axis=0), axis=2).max(axis=0)  # each particle's largest step
        fstep = f"{np.median(steps):.4f} / {np.percentile(steps, 99):.4f}"
        ks = [int(round(t * (a.frames - 1))) for t in (0.7, 0.8, 0.9)]
        floor = histogram_tv(d.sample(a.particles, np.random.default_rng(99)), d)

        ctx = (run_dir.name, d, ks, floor, fstep)
        row(ctx, "flow", base)
        for sched in a.schedules:
            for refine in a.refine:
                pos = base.copy()
                info, sec, peak = land_measured(pos, times, d, sched, refine)
                row(ctx, f"exact {sched} refine {refine}", pos, info, sec, peak)
                if a.sheet is not None and run_dir == a.runs[0] and sched == a.schedules[0] and refine == a.refine[0]:
                    make_sheet(a.sheet, base, pos, d.extent, a.frames)
        print(f"<!-- {run_dir.name}: integration of {a.particles} x {a.frames} took {t_int:.1f} s -->", flush=True)
        if a.big:
            rng = np.random.default_rng(1)
            idx = rng.integers(0, a.particles, a.big)
            big = np.empty((a.frames, a.big, 2), dtype=np.float32)
            for k in range(a.frames):  # stand-in paths: the flow's frames, resampled and jittered
                big[k] = base[k, idx] + rng.normal(0, 0.01, (a.big, 2)).astype(np.float32)
            for sched in a.schedules[:1]:
                info, sec, peak = land_measured(big, times, d, sched, a.refine[0])
                print(f"<!-- {run_dir.name}: landing {a.big} x {a.frames} ({sched}, refine {a.refine[0]}): "
                      f"{sec:.1f} s, extra peak {peak / 1e6:.0f} MB (paths themselves {big.nbytes / 1e6:.0f} MB) -->",
                      flush=True)
            del big
    return 0


def make_sheet(path: Path, flow_pos: np.ndarray, land_pos: np.ndarray, extent, frames: int) -> None:
    """t = 0.7, 0.8, 0.9, 1: flow's own paths on the top row, landed paths below (numpy splats)."""
    from PIL import Image, ImageDraw

    from flowreel.addon.core.atomic import atomic_write
    from flowreel.trainer.film.preview import Splatter

    sp = Splatter(extent, size=480, glow=0.3)
    sp.set_exposure(land_pos[-1])
    ts = (0.7, 0.8, 0.9, 1.0)
    tiles = [[sp.render(p[int(round(t * (frames - 1)))]) for t in ts] for p in (flow_pos, land_pos)]
    h, w = tiles[0][0].shape[:2]
    label = 22
    sheet = Image.new("RGB", (w * 4, (h + label) * 2), (0, 0, 0))
    draw = ImageDraw.Draw(sheet)
    for r, (name, tiles_row) in enumerate(zip(("flow's own end", "exact landing"), tiles, strict=True)):
        for c, (t, tile) in enumerate(zip(ts, tiles_row, strict=True)):
            sheet.paste(Image.fromarray(tile), (c * w, r * (h + label) + label))
            draw.text((c * w + 6, r * (h + label) + 4), f"{name}, t = {t:g}", fill=(220, 220, 220))
    with atomic_write(str(path)) as f:
        sheet.save(f, format="PNG")


if __name__ == "__main__":
    sys.exit(main())
