"""Cost of the motion and output layers of issue 21: turbulence in export, transparency and trails in render.

    python bench/bench_motion.py [--particles 60000] [--frames 241] [--resolution 1280x720] [--render-frames 5]

- turbulence: `trainer.flow.turbulence.add_turbulence` on N particles x T frames (2-D and 3-D), the only
  work it adds to an export (the solve and the landing are unchanged);
- transparency: the render script on a stand-in film of N particles (noise flowing straight onto a
  ring, the draft's Cycles at 4 samples, glow look) with the look's background, `transparent`, and
  `#ffffff`, and with a trail of 8 ghosts (--trail 0.33 at 24 fps); seconds a frame, and the frame
  finisher alone (read Blender's PNG, unmultiply, write).
Prints markdown rows; the machine's load average is printed with them.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from flowreel.addon.core import trajformat
from flowreel.trainer.flow.turbulence import add_turbulence


def bench_turbulence(n: int, frames: int) -> None:
    print("| dims | particles x frames | add_turbulence s | ns per particle-frame |")
    print("|---|---|---|---|")
    for dim in (2, 3):
        pos = np.random.default_rng(0).standard_normal((frames, n, dim)).astype(np.float32)
        times = np.linspace(0, 1, frames, dtype=np.float32)
        t0 = time.perf_counter()
        add_turbulence(pos, times, [0.0, 1.0], 0.3, 1.5, seed=0)
        dt = time.perf_counter() - t0
        print(f"| {dim}-D | {n} x {frames} | {dt:.2f} | {dt / (n * frames) * 1e9:.0f} |")


def _stand_in(path: Path, n: int, frames: int) -> Path:
    rng = np.random.default_rng(0)
    start = rng.standard_normal((n, 2)).astype(np.float32)
    angle = rng.uniform(0, 2 * np.pi, n)
    end = np.c_[3 * np.cos(angle), 3 * np.sin(angle)].astype(np.float32) + 0.1 * rng.standard_normal((n, 2))
    t = np.linspace(0, 1, frames, dtype=np.float32)[:, None, None]
    colors = np.tile(np.array([[255, 180, 60, 255]], np.uint8), (n, 1))
    traj = trajformat.Trajectory((start * (1 - t) + end * t).astype(np.float32), t[:, 0, 0],
                                 {"extent": [-4, 4, -4, 4]}, colors)
    trajformat.write(path, traj)
    return path


def bench_render(n: int, resolution: str, render_frames: int) -> None:
    from flowreel.addon.render import __main__ as render

    tmp = Path(tempfile.mkdtemp(prefix="bench_motion-"))
    traj = _stand_in(tmp / "ring.npz", n, 49)
    fps = 24
    seconds = (render_frames - 1) / fps  # frames 1..render_frames: the flow, no holds
    common = ["--resolution", resolution, "--samples", "4", "--denoise", "off", "--fps", str(fps), "--seconds",
              f"{seconds:.6f}", "--hold-start", "0", "--hold-end", "0", "--no-video", "--easing", "linear"]
    print("| background | frames | seconds a frame |")
    print("|---|---|---|")
    runs = {"look": [], "transparent": ["--background", "transparent"], "ffffff": ["--background", "#ffffff"],
            "trail": ["--trail", "0.33"]}  # a trail of 8 ghosts at 24 fps
    for name, extra in runs.items():
        args = [str(traj), "--frames-dir", str(tmp / name), *common, *extra]
        t0 = time.perf_counter()
        assert render.main(args) == 0
        dt = time.perf_counter() - t0
        print(f"| {' '.join(extra) or 'the look'} | {render_frames} | {dt / render_frames:.2f} |", flush=True)
    import bpy

    from flowreel.addon.core.options import SceneOptions
    from flowreel.addon.render.alpha_frames import frame_finisher

    frame = sorted((tmp / "look").glob("frame_*.png"))[-1]
    finish = frame_finisher(bpy, bpy.context.scene, SceneOptions(background="transparent"))
    bpy.context.scene["flowreel_glow_alpha"] = True
    copies = [tmp / f"copy{i}.png" for i in range(5)]
    for c in copies:
        c.write_bytes(frame.read_bytes())
    t0 = time.perf_counter()
    for c in copies:
        finish(c)
    print(f"\nframe finisher alone (read, unmultiply, write) at {resolution}: "
          f"{(time.perf_counter() - t0) / len(copies):.3f} s a frame")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--particles", type=int, default=60_000)
    p.add_argument("--frames", type=int, default=241)
    p.add_argument("--resolution", default="1280x720")
    p.add_argument("--render-frames", type=int, default=5)
    p.add_argument("--skip-render", action="store_true")
    a = p.parse_args(argv)
    print(f"load average at start: {os.getloadavg()[0]:.1f}")
    bench_turbulence(a.particles, a.frames)
    if not a.skip_render:
        bench_render(a.particles, a.resolution, a.render_frames)
    print(f"load average at end: {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
