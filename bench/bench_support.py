"""Support points of a 3-D end frame (addon/camera/support.py): fit error against direction count, and speed.

For each shape, the camera distance fitted on the support points (grown by the radius and `cover_pad`) is
compared with the exact fit on every particle (grown by the radius alone), over a 360 deg orbit at 1 deg
steps and the static three-quarter view: (support fit / exact fit - 1) must be >= 0 (never too close) and
small (the shape still fills the frame). Writes bench/results/support.md.
Run: ./.venv/bin/python bench/bench_support.py
"""

from __future__ import annotations

import math
import os
import platform
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def shapes(rng: np.random.Generator) -> dict[str, np.ndarray]:
    n = 20000
    u = rng.normal(size=(n, 3))
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    out = {"sphere r=3 (surface)": 3.0 * u, "ellipsoid 8x2x2 (surface)": u * [4.0, 1.0, 1.0],
           "cube 6^3 (solid)": rng.uniform(-3, 3, size=(n, 3))}
    monkey = ROOT / "runs" / "monkey-7a980c03bc" / "traj-60000x241-seed0-exact.npz"
    if monkey.exists():
        from flowreel.addon.core import trajformat

        out["monkey end frame (60k)"] = np.asarray(trajformat.read(str(monkey), mmap=True).positions[-1], np.float64)
    return out


def main() -> None:
    from flowreel.addon.camera import rig as camera
    from flowreel.addon.camera import support as shape_support
    from flowreel.addon.scene import pointcache

    rng = np.random.default_rng(0)
    tan_w, tan_h = 18.0 / 50.0, 18.0 / 50.0 * 9 / 16
    rots = [camera.view_rotation_3d("-y", math.radians(a)) for a in range(360)]  # orbit about a standing front
    radius, margin = 0.02, 0.08
    lines = ["# Support points for the 3-D camera fit (addon/camera/support.py)", "",
             f"{platform.node()}, {os.cpu_count()} CPUs, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, shared box "
             f"(load {os.getloadavg()[0]:.1f}). 16:9, 50 mm, margin 0.08, radius 0.02, 360 orbit angles "
             "+ the static view.",
             "", "fit error = support fit (radius + cover_pad) / exact fit over every particle - 1, worst over the "
             "angles (negative would put particles out of frame); pad = cover_pad / R.", "",
             "| shape | directions | support points | pad / R | fit error min .. max |", "|---|---|---|---|---|"]
    for name, pts in shapes(rng).items():
        lo, hi = pts.min(axis=0), pts.max(axis=0)
        center = (lo + hi) / 2
        exact = np.array([camera.fit_distance_spheres(pts, radius, center, r, tan_w, tan_h, margin) for r in rots])
        for n in (64, 128, 256, 512, 1024):
            sup = shape_support.support_points(pts, n)
            pad = shape_support.cover_pad(sup, center, n)
            fit = np.array([camera.fit_distance_spheres(sup, radius + pad, center, r, tan_w, tan_h, margin)
                            for r in rots])
            err = fit / exact - 1.0
            rmax = float(np.linalg.norm(sup - center, axis=1).max())
            lines.append(f"| {name} | {n} | {len(sup)} | {100 * pad / rmax:.2f} % | "
                         f"{100 * err.min():+.3f} % .. {100 * err.max():+.3f} % |")
            print(lines[-1], flush=True)
    big = rng.normal(size=(1_000_000, 3)).astype(np.float32)
    t = time.perf_counter()
    sup = shape_support.support_points(big)
    dt = time.perf_counter() - t
    lines += ["", f"1M particles (float32), {shape_support.N_DIRECTIONS} directions: {dt:.2f} s, {len(sup)} support "
              f"points; working memory one float32 block of {pointcache.CHUNK_BYTES / 2**20:.0f} MiB."]
    print(lines[-1])
    (ROOT / "bench" / "results" / "support.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
