"""Cycles settings at draft quality: seconds a 1280x720 frame, 60k points, glow look, one setting at a time.

    nice .venv/bin/python bench/bench_cycles_draft.py [--rounds 3] [--frames 2]

The scene is built once exactly as the render script builds it for `trainer movie --quality draft`
(exact samples of examples/logo.png at t = 1, noise at t = 0; draft samples and no denoiser), then
each variant changes one setting and renders the same frames (mid-flight and the last). Variants
are interleaved round by round, so load from other jobs on a shared machine hits them alike; the
table reports each variant's median and the median of its ratios to the baseline's same-round frames. Each
variant's last frame is kept (bench/results/cycles_draft/, not committed) to compare the look by eye.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def exact_traj(path: Path, n: int) -> None:
    from flowreel.addon.core import trajformat
    from flowreel.trainer.targets.picture import load_density

    d = load_density(REPO / "examples" / "logo.png")
    rng = np.random.default_rng(0)
    end = d.sample(n, rng)
    start = rng.normal(size=(n, 2)).astype(np.float32)
    ts = np.linspace(0, 1, 9, dtype=np.float32)
    pos = ((1 - ts)[:, None, None] * start + ts[:, None, None] * end).astype(np.float32)
    trajformat.write(path, trajformat.Trajectory(pos, ts, {"extent": list(d.extent)}, d.colors_at(end)))


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _get(scene, material, path: str):
    from flowreel.addon.looks import datablocks as looks

    if path.startswith("glare."):
        node = next(n for n in scene.compositing_node_group.nodes if n.bl_idname == "CompositorNodeGlare")
        return node.inputs[path.split(".", 1)[1]].default_value
    return looks.get_path(material if path.startswith("material:") else scene, path.split(":")[-1])


def _set(scene, path: str, value) -> None:
    from flowreel.addon.looks import datablocks as looks

    if path.startswith("glare."):  # an input of the compositor's Glare node (Blender 4.5+)
        for node in scene.compositing_node_group.nodes:
            if node.bl_idname == "CompositorNodeGlare":
                node.inputs[path.split(".", 1)[1]].default_value = value
        return
    if not looks.set_path(scene, path, value):
        raise SystemExit(f"this Blender has no setting {path}")


# name -> list of (scene property path, value); "material:" paths go to the points' material.
VARIANTS: dict[str, list[tuple[str, object]]] = {
    "baseline (4 samples, the defaults)": [],
    "persistent data": [("render.use_persistent_data", True)],
    "adaptive sampling off": [("cycles.use_adaptive_sampling", False)],
    "adaptive threshold 0.1": [("cycles.adaptive_threshold", 0.1)],
    "max bounces 0": [("cycles.max_bounces", 0)],
    "light tree off": [("cycles.use_light_tree", False)],
    "emission sampling none": [("material:cycles.emission_sampling", "NONE")],
    "tile size 256": [("cycles.tile_size", 256)],
    "3 samples": [("cycles.samples", 3)],
    "2 samples": [("cycles.samples", 2)],
    "compositing off (no glare)": [("render.use_compositing", False)],
    "glare quality high": [("glare.Quality", "High")],
    "glare quality medium": [("glare.Quality", "Medium")],
    "glare quality low": [("glare.Quality", "Low")],
    "persistent + adaptive off": [("render.use_persistent_data", True), ("cycles.use_adaptive_sampling", False)],
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--particles", type=int, default=60_000)
    ap.add_argument("--only", nargs="*", help="variant names to run (default: all)")
    args = ap.parse_args()

    import bpy

    from flowreel.addon.core.options import SceneOptions
    from flowreel.addon.render.engines import configure_engine
    from flowreel.addon.scene.build import build_scene
    from flowreel.trainer.film.movie import QUALITY

    q = QUALITY["draft"]
    tmp = Path(tempfile.mkdtemp(prefix="flowreel-cycles-"))
    traj = tmp / "logo.npz"
    exact_traj(traj, args.particles)
    keep = REPO / "bench" / "results" / "cycles_draft"
    keep.mkdir(parents=True, exist_ok=True)
    variants = {k: v for k, v in VARIANTS.items() if not args.only or k in args.only or k.startswith("baseline")}

    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    opts = SceneOptions(resolution=q["resolution"], look="glow", seconds=1.0, hold_start=0.0, hold_end=0.0)
    points = build_scene(scene, str(traj), opts)
    ns = argparse.Namespace(engine="CYCLES", samples=q["samples"], denoise=q["denoise"])
    configure_engine(scene, ns, [points])
    material = points.data.materials[0]
    frames = ((scene.frame_start + scene.frame_end) // 2, scene.frame_end)
    base = {p: _get(scene, material, p) for changes in variants.values() for p, _ in changes}
    times: dict[str, list[float]] = {k: [] for k in variants}
    cpu: dict[str, list[float]] = {k: [] for k in variants}  # CPU seconds of all threads: less sensitive to load
    for rnd in range(args.rounds):
        for name, changes in variants.items():
            for p, v in base.items():
                _set(material if p.startswith("material:") else scene, p.split(":")[-1], v)
            for p, v in changes:
                _set(material if p.startswith("material:") else scene, p.split(":")[-1], v)
            # A film renders its frames in a row with fixed settings: the first render after a
            # change (scene reset, persistent data filling) is a warm-up and is not timed.
            for k, f in enumerate((frames[0] - 1, *frames)):
                scene.frame_set(f)
                scene.render.filepath = str(tmp / "frame.png")
                t, c = time.perf_counter(), _cpu()
                bpy.ops.render.render(write_still=True)
                if k > 0:
                    times[name].append(time.perf_counter() - t)
                    cpu[name].append(_cpu() - c)
            if rnd == args.rounds - 1:
                os.replace(tmp / "frame.png", keep / (name.split(" (")[0].replace(" ", "_") + ".png"))
    first = next(iter(variants))
    load = os.getloadavg()[0]
    lines = [
        f"Cycles draft settings, {q['resolution'][0]}x{q['resolution'][1]}, {args.particles} points, glow, "
        f"{args.rounds} interleaved rounds x {len(frames)} frames (mid-flight, last)",
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, Blender {bpy.app.version_string}, "
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, load average at the end {load:.1f}",
        "",
        "| variant | wall s / frame (median) | vs baseline (same-round ratios) | CPU s / frame | vs baseline |",
        "|---|---|---|---|---|",
    ]
    for name, ts in times.items():
        med, cmed = statistics.median(ts), statistics.median(cpu[name])
        paired = statistics.median(a / b for a, b in zip(ts, times[first], strict=True))
        cpaired = statistics.median(a / b for a, b in zip(cpu[name], cpu[first], strict=True))
        lines.append(f"| {name} | {med:.2f} | {paired:.2f} | {cmed:.2f} | {cpaired:.2f} |")
    out = REPO / "bench" / "results" / "cycles_draft.md"
    out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
