"""Small pictures (issue 23): fit and export time, and the last frame, read pixel for pixel vs smoothly.

    python bench/bench_small_picture.py OUT_DIR [--side 48] [--steps 2000] [--particles 60000] [--frames 157]

Draws a 48x48 RGBA logo (a two-colour swirl, anti-aliased like a favicon) into OUT_DIR/swirl.png, then
for two readings of it, each with its own fit (the draft's 2000 flow-matching steps) and export (exact
landing, the draft's 60k particles x 157 frames):
- "pixels": `--max-side 48 --crop none`, the reading before issue 23 (a 48x48 density: every exact
  sample a pixel picked by weight and jittered inside it, one flat colour per pixel);
- "smooth": the new reading, resampled up by a whole factor to about 512 px (11 x 48 = 528), on the
  same canvas (`--crop none`, so that both are judged on the same grid).
Prints a markdown row per reading: working size, fit seconds, excess TV, export seconds, distinct
colours of the end frame, and its TV on a grid 4x finer than the picture's pixels against the
picture upsampled by Pillow's Lanczos filter (with the sampling floor of as many points). The
trajectory files are OUT_DIR/<reading>.npz, for `trainer render` (the docs' before/after crop).
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from flowreel.trainer.fit.loop import FitConfig, fit
from flowreel.trainer.fit.runs import load_run
from flowreel.trainer.flow import trajfile
from flowreel.trainer.flow.export import export_trajectories
from flowreel.trainer.targets.registry import load_target


def swirl(side: int, path: Path) -> Path:
    """Two interleaved spiral arms (orange and blue) on a transparent canvas, drawn 16x and box-reduced."""
    k = 16
    big = Image.new("RGBA", (side * k, side * k), (0, 0, 0, 0))
    d = ImageDraw.Draw(big)
    c = side * k / 2
    for arm, colour in ((0.0, (240, 120, 20, 255)), (np.pi, (30, 90, 220, 255))):
        t = np.linspace(0.3, 3.2 * np.pi, 400)
        r = c * 0.9 * t / t[-1]
        pts = [(c + ri * np.cos(ti + arm), c + ri * np.sin(ti + arm)) for ri, ti in zip(r, t, strict=True)]
        for (x0, y0), (x1, y1), ri in zip(pts[:-1], pts[1:], r[1:], strict=True):
            w = max(2.0, 0.16 * ri)
            d.line([(x0, y0), (x1, y1)], fill=colour, width=int(w))
            d.ellipse([x1 - w / 2, y1 - w / 2, x1 + w / 2, y1 + w / 2], fill=colour)
    big.resize((side, side), Image.BOX).save(path)
    return path


def fine_tv(xy: np.ndarray, extent, ref: np.ndarray) -> float:
    fine = ref.shape[0]
    x0, x1, y0, y1 = extent
    fx, fy = (xy[:, 0] - x0) / (x1 - x0), (y1 - xy[:, 1]) / (y1 - y0)
    bx = np.clip((fx * fine).astype(int), 0, fine - 1)
    by = np.clip((fy * fine).astype(int), 0, fine - 1)
    h = np.bincount(by * fine + bx, minlength=fine * fine).reshape(fine, fine) / len(xy)
    return float(0.5 * np.abs(h - ref).sum())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("out", type=Path)
    ap.add_argument("--side", type=int, default=48)
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--particles", type=int, default=60_000)
    ap.add_argument("--frames", type=int, default=157)
    a = ap.parse_args()
    a.out.mkdir(parents=True, exist_ok=True)
    pic = swirl(a.side, a.out / "swirl.png")
    print(f"load average at start: {os.getloadavg()[0]:.1f}")
    print("| reading | working size | fit s | excess TV | export s | end-frame colours | fine-grid TV (floor) |")
    print("|---|---|---|---|---|---|---|")
    for name, opts in (("pixels", {"max_side": a.side, "crop": "none"}), ("smooth", {"crop": "none"})):
        density = load_target(pic, **opts)
        run_dir = a.out / f"run-{name}"
        t0 = time.perf_counter()
        metrics = fit(density, FitConfig(steps=a.steps, seed=0), run_dir, progress=False)
        fit_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        traj = export_trajectories(load_run(run_dir), a.particles, a.frames, seed=0, progress=False)
        export_s = time.perf_counter() - t0
        trajfile.write(a.out / f"{name}.npz", traj)
        with Image.open(pic) as im:  # ink = alpha: the reference is the alpha upsampled by Lanczos
            alpha = np.asarray(im.getchannel("A").resize((4 * a.side,) * 2, Image.LANCZOS), np.float64)
        ref = np.clip(alpha, 0, None) / np.clip(alpha, 0, None).sum()
        rng = np.random.default_rng(1)
        floor_pts = rng.choice(ref.size, a.particles, p=ref.ravel())
        floor_h = np.bincount(floor_pts, minlength=ref.size).reshape(ref.shape) / a.particles
        floor = float(0.5 * np.abs(floor_h - ref).sum())
        tv = fine_tv(traj.positions[-1], density.extent, ref)
        colours = len(np.unique(traj.colors, axis=0))
        h, w = density.shape
        print(f"| {name} | {w}x{h} | {fit_s:.1f} | {metrics['excess_tv']:.3f} | {export_s:.1f} | {colours} "
              f"| {tv:.4f} ({floor:.4f}) |", flush=True)
    print(f"load average at end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
