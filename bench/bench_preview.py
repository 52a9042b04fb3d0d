"""Benchmark of the trainer's data side: image loading (incl. huge images), sampling, metrics, preview.

    flock /tmp/flowreel-cpu.lock .venv/bin/python bench/bench_preview.py [--out bench/results/trainer-data.md]

Peak memory is measured per stage in a child process (ru_maxrss), so stages do not hide each other.
"""

from __future__ import annotations

import argparse
import datetime
import multiprocessing as mp
import os
import platform
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _in_child(fn, *args):
    with mp.get_context("spawn").Pool(1) as pool:
        return pool.apply(fn, args)


def stage_load(path: str) -> dict:
    from flowreel.trainer.targets.picture import load_density

    base = _rss_mb()
    t = time.perf_counter()
    d = load_density(path)
    sec = time.perf_counter() - t
    return {"seconds": sec, "peak_mb": _rss_mb(), "base_mb": base, "shape": d.shape}


def stage_sample_metrics() -> dict:
    from flowreel.trainer.metrics.picture import excess_tv
    from flowreel.trainer.targets.picture import load_density

    d = load_density(REPO / "examples/logo.png")
    rng = np.random.default_rng(0)
    t = time.perf_counter()
    s = d.sample(100_000, rng)
    t_sample = time.perf_counter() - t
    t = time.perf_counter()
    e = excess_tv(s, d, rng)
    t_tv = time.perf_counter() - t
    t = time.perf_counter()
    d.colors_at(s)
    t_col = time.perf_counter() - t
    return {"sample": t_sample, "excess_tv": t_tv, "excess_value": e, "colors_at": t_col, "entropy": d.entropy()}


def stage_preview(traj: str, out: str) -> dict:
    from flowreel.addon.core.trajformat import read
    from flowreel.trainer.film.preview import preview, render_frames

    t = time.perf_counter()
    n = sum(1 for _ in render_frames(read(traj, mmap=True), size=512))
    t_render = time.perf_counter() - t
    t = time.perf_counter()
    preview(traj, out, size=512)
    return {"frames": n, "render": t_render, "total": time.perf_counter() - t, "peak_mb": _rss_mb(),
            "size_mb": os.path.getsize(out) / 1e6}  # fmt: skip


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=str(REPO / "bench/results/trainer-data.md"))
    args = ap.parse_args()
    from PIL import Image, ImageDraw

    from flowreel.addon.core.trajformat import Trajectory, write
    from flowreel.trainer.targets.picture import load_density

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        big = Image.new("RGB", (8000, 6000), "white")
        ImageDraw.Draw(big).ellipse([500, 500, 7500, 5500], fill=(20, 40, 200))
        for ext in ("png", "jpg"):
            big.save(f"{tmp}/big.{ext}")
        del big
        for name in ("examples/logo.png", f"{tmp}/big.png", f"{tmp}/big.jpg"):
            r = _in_child(stage_load, str(REPO / name) if name.startswith("examples") else name)
            label = "logo.png 512x512" if "logo" in name else f"{Path(name).name} 8000x6000 (48 MP)"
            rows.append((f"load_density {label}", f"{r['seconds']:.2f} s", f"{r['peak_mb'] - r['base_mb']:.0f} MB"))
        m = _in_child(stage_sample_metrics)
        rows.append(("sample 100k (logo)", f"{m['sample'] * 1e3:.1f} ms", ""))
        rows.append(("excess_tv 100k vs 100k exact (logo)", f"{m['excess_tv'] * 1e3:.0f} ms",
                     f"value {m['excess_value']:+.4f}"))  # fmt: skip
        rows.append(("colors_at 100k (logo, incl. nearest-ink map)", f"{m['colors_at']:.2f} s", ""))
        d = load_density(REPO / "examples/logo.png")
        rng = np.random.default_rng(0)
        x0, x1 = rng.standard_normal((100_000, 2)).astype(np.float32), d.sample(100_000, rng)
        t = np.linspace(0, 1, 241, dtype=np.float32)
        pos = ((1 - t)[:, None, None] * x0 + t[:, None, None] * x1).astype(np.float32)
        write(f"{tmp}/lin.npz", Trajectory(pos, t, {"extent": list(d.extent)}))
        del pos
        for ext in ("gif", "mp4"):
            p = _in_child(stage_preview, f"{tmp}/lin.npz", f"{tmp}/p.{ext}")
            rows.append((f"preview 100k x 241 frames -> 512 px .{ext}: splat only", f"{p['render']:.1f} s", ""))
            rows.append((f"preview 100k x 241 frames -> 512 px .{ext}: total (+1 s hold, {p['frames'] + 24} frames)",
                         f"{p['total']:.1f} s", f"peak {p['peak_mb']:.0f} MB, file {p['size_mb']:.1f} MB"))  # fmt: skip
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "# Trainer data side: density, metrics, preview",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}; {now}; "
        f"`bench/bench_preview.py` (load average {os.getloadavg()[0]:.1f} at the end: the machine is shared).",
        "",
        "| what | time | memory / value |",
        "|---|---|---|",
        *[f"| {a} | {b} | {c} |" for a, b, c in rows],
        "",
    ]
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text("\n".join(lines))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
