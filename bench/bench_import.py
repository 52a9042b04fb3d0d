"""Benchmark: add-on import time and Blender memory vs trajectory length (bpy module).

Each measurement runs in a fresh Python process with the bpy module:
  build_scene (validate, stream the PC2 cache, mesh + attributes, modifiers, timing, camera, look)
then plays frames spread over the film (depsgraph evaluation of the Mesh Cache + Geometry Nodes).
Memory: VmRSS / RssAnon after import and VmHWM (peak) after playing, minus the bare bpy process.

Usage:
  python bench/bench_import.py                 # 100k x 241 (x3), RSS for T = 61/241/961, 1M x 241 once
  python bench/bench_import.py --quick         # small sizes, for a smoke run
  python bench/bench_import.py --no-million    # skip the 1M case (needs ~7 GB in --work)
Wrap in `flock /tmp/flowreel-cpu.lock ...` on shared machines. Writes bench/results/addon_import.md.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def proc_status() -> dict[str, int]:
    """VmRSS, VmHWM, RssAnon, RssFile in MiB (Linux)."""
    out = {}
    with open("/proc/self/status") as f:
        for line in f:
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM", "RssAnon", "RssFile"):
                out[key] = int(rest.split()[0]) // 1024
    return out


def make_trajectory(path: Path, n: int, t: int, work: Path) -> None:
    """Noise -> points on a disk-and-ring picture, written without holding all frames in memory."""
    from flowreel.addon.core import trajformat

    rng = np.random.default_rng(0)
    z = rng.normal(size=(n, 2)).astype(np.float32)
    ang = rng.uniform(0, 2 * np.pi, n)
    rad = np.where(rng.random(n) < 0.5, 3.0 + 0.2 * rng.random(n), 1.5 * np.sqrt(rng.random(n)))
    x = np.stack([rad * np.cos(ang), rad * np.sin(ang)], 1).astype(np.float32)
    raw = work / f"raw-{n}-{t}.f32"
    pos = np.memmap(raw, dtype=np.float32, mode="w+", shape=(t, n, 2))
    ts = np.linspace(0, 1, t, dtype=np.float32)
    for i, ti in enumerate(ts):
        pos[i] = (1 - ti) * z + ti * x + 0.3 * np.sin(np.pi * ti) * np.stack([-x[:, 1], x[:, 0]], 1)
    pos.flush()
    colors = np.full((n, 4), 255, np.uint8)
    trajformat.write(path, trajformat.Trajectory(pos, ts, {"extent": [-4, 4, -4, 4]}, colors))
    del pos
    raw.unlink()


def child(npz: str, cache_dir: str, frames: int) -> None:
    """Runs in a fresh process: import + play, print one JSON line."""
    import bpy

    from flowreel.addon.core import timing
    from flowreel.addon.core.options import SceneOptions
    from flowreel.addon.scene import build_scene

    bpy.ops.wm.read_factory_settings(use_empty=True)
    base = proc_status()
    opts = SceneOptions(cache_dir=cache_dir, resolution=(1920, 1080))
    t0 = time.perf_counter()
    obj = build_scene(bpy.context.scene, npz, opts)
    t_import = time.perf_counter() - t0
    after_import = proc_status()
    scene = bpy.context.scene
    lay = timing.layout(opts)
    picks = np.linspace(lay.flow_start, lay.flow_end, frames).round().astype(int)
    t0 = time.perf_counter()
    for f in picks:
        scene.frame_set(int(f))
        bpy.context.evaluated_depsgraph_get()  # frame_set already evaluated the depsgraph
    t_play = (time.perf_counter() - t0) / len(picks)
    after_play = proc_status()
    print("BENCH " + json.dumps({
        "import_s": t_import, "play_ms": 1000 * t_play, "base": base, "import": after_import, "play": after_play,
        "n": len(obj.data.vertices),
    }), flush=True)


def run_child(npz: Path, cache_dir: Path, frames: int) -> dict:
    cmd = [sys.executable, __file__, "--child", str(npz), str(cache_dir), str(frames)]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("BENCH ")]
    if proc.returncode != 0 or not lines:
        raise SystemExit(f"child failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    return json.loads(lines[-1][6:])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    ap.add_argument("--child", nargs=3, metavar=("NPZ", "CACHE", "FRAMES"), help=argparse.SUPPRESS)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--no-million", action="store_true")
    ap.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()), help="scratch folder (default /tmp)")
    ap.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "addon_import.md")
    args = ap.parse_args()
    if args.child:
        child(args.child[0], args.child[1], int(args.child[2]))
        return 0

    n_main, ts_rss, n_big = (20_000, (31, 61, 121), 100_000) if args.quick else (100_000, (61, 241, 961), 1_000_000)
    work = Path(tempfile.mkdtemp(prefix="flowreel-bench-", dir=args.work))
    rows: list[tuple[str, dict]] = []
    try:
        cases = [(n_main, 241, 3)] + [(n_main, t, 1) for t in ts_rss if t != 241]
        if not args.no_million:
            cases.append((n_big, 241, 1))
        for n, t, repeats in cases:
            npz = work / f"traj-{n}-{t}.npz"
            t0 = time.perf_counter()
            make_trajectory(npz, n, t, work)
            print(f"made {npz.name} ({npz.stat().st_size / 2**20:.0f} MiB) in {time.perf_counter() - t0:.1f} s",
                  flush=True)
            for r in range(repeats):
                cache = work / f"cache-{n}-{t}-{r}"
                res = run_child(npz, cache, 24)
                res["pc2_mib"] = sum(p.stat().st_size for p in cache.iterdir()) / 2**20
                shutil.rmtree(cache)
                print(f"  {n} x {t} run {r + 1}: import {res['import_s']:.2f} s, play {res['play_ms']:.0f} ms/frame, "
                      f"RSS +{res['import']['VmRSS'] - res['base']['VmRSS']} MiB", flush=True)
                rows.append((f"{n:,} x {t}", res))
            npz.unlink()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    write_report(args.out, rows)
    print(f"wrote {args.out}")
    return 0


NOTES = (
    "Targets: 100k x 241 import <= 10 s; memory flat in T (compare the 61 / 241 / 961 rows: the cache pass reads"
    " 16 MiB chunks and the Mesh Cache modifier reads two samples per frame, so extra memory is bounded by the"
    " chunk plus the mesh, about 100 bytes per particle); 1M x 241 must import and play. Import time is mostly"
    " writing the PC2 file (12 bytes per particle per frame), so it follows the disk's write speed and varies"
    " between runs with the page cache; the PC2 of the 1M case is written to the scratch folder and deleted."
)


def write_report(path: Path, rows: list[tuple[str, dict]]) -> None:
    import bpy  # only for its version string

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name"))
    except (OSError, StopIteration):
        pass
    lines = [
        "# Add-on import benchmark (bench/bench_import.py)",
        "",
        f"Machine: {cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, bpy {bpy.app.version_string}. "
        f"Date: {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC.",
        "",
        "Import = `addon.scene.build_scene` (read + validate, stream the PC2 cache, mesh and attributes, modifiers,"
        " timing keys, camera, look). Play = mean depsgraph evaluation per frame over 24 frames across the flow.",
        "RSS columns are MiB above the bare bpy process (after `read_factory_settings`): current RSS and its"
        " anonymous part after import, and the peak (VmHWM) after playing.",
        "",
        "| particles x frames | import (s) | play (ms/frame) | PC2 (MiB) | RSS after import | anon after import"
        " | peak RSS after play |",
        "|---|---|---|---|---|---|---|",
    ]
    for label, r in rows:
        b = r["base"]
        lines.append(
            f"| {label} | {r['import_s']:.2f} | {r['play_ms']:.0f} | {r['pc2_mib']:.0f} | "
            f"+{r['import']['VmRSS'] - b['VmRSS']} | +{r['import']['RssAnon'] - b['RssAnon']} | "
            f"+{r['play']['VmHWM'] - b['VmRSS']} |"
        )
    lines += ["", NOTES]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    sys.exit(main())
