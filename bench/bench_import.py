"""Benchmark: add-on import time and Blender memory vs trajectory length (bpy module).

Each measurement runs in a fresh Python process with the bpy module:
  build_scene (validate, stream the PC2 cache, mesh + attributes, modifiers, timing, camera, look)
then plays frames spread over the film (depsgraph evaluation of the Mesh Cache + Geometry Nodes).
Memory: VmRSS / RssAnon after import and VmHWM (peak) after playing, minus the bare bpy process.

Usage:
  python bench/bench_import.py                 # 100k x 241 (x3), RSS for T = 61/241/961, 1M x 241 once
  python bench/bench_import.py --quick         # small sizes, for a smoke run
  python bench/bench_import.py --no-million    # skip the 1M case (needs ~7 GB in --work)
  python bench/bench_import.py --kinds v1,seq,3d --n 1000000 --lengths 145,289,577 \
      --out bench/results/addon_import_kinds.md  # each file kind at one N over several T (one run each)
Kinds: v1 = a flowreel.traj/1 file (noise -> picture, 2-D); logp = v1 with logp [T, N]; seq = a 3-key
sequence (noise -> A -> B, key_colors, holds at A and B in the timeline, each key coloured differently
so the key-colour blend is installed); 3d = D = 3 with a 6-number extent, imported with the ORBIT
camera (tilt, 360-degree fit) and the 3-D auto radius. --framing ALL frames every particle (bounding
box from the cache pass).
Disk: each case needs about 3 x T x N x D x 4 bytes in --work at its peak (raw frames, file, PC2).
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


KINDS = ("v1", "seq", "3d", "logp")


def _picture(rng: np.random.Generator, n: int, d: int) -> np.ndarray:
    """Key A: a disk and a ring (2-D); a sphere shell and a flat torus around it (3-D)."""
    ang = rng.uniform(0, 2 * np.pi, n)
    ring = rng.random(n) < 0.5
    rad = np.where(ring, 3.0 + 0.2 * rng.random(n), 1.5 * np.sqrt(rng.random(n)))
    if d == 2:
        return np.stack([rad * np.cos(ang), rad * np.sin(ang)], 1).astype(np.float32)
    shell = rng.normal(size=(n, 3))
    shell *= 1.5 / np.linalg.norm(shell, axis=1, keepdims=True)
    torus = np.stack([rad * np.cos(ang), rad * np.sin(ang), 0.2 * rng.normal(size=n)], 1)
    return np.where(ring[:, None], torus, shell).astype(np.float32)


def _keys_meta(t: int, extent: list[float]) -> dict:
    """meta of a 3-key sequence noise -> A -> B with keys at frames 0, (t - 1) // 2, t - 1 and holds at A, B."""
    mid = (t - 1) // 2
    keys = [
        {"index": 0, "time": 0.0, "kind": "noise", "name": None, "sha256": None, "extent": None, "hold": None},
        {"index": mid, "time": mid / (t - 1), "kind": "picture", "name": "a.png", "sha256": "a" * 64,
         "extent": extent, "hold": 1.0},
        {"index": t - 1, "time": 1.0, "kind": "picture", "name": "b.png", "sha256": "b" * 64,
         "extent": extent, "hold": None},
    ]
    segments = [{"kind": "move", "from": 0, "to": 1, "via": "flow", "seconds": None},
                {"kind": "hold", "key": 1, "seconds": 1.0},
                {"kind": "move", "from": 1, "to": 2, "via": "direct", "seconds": None},
                {"kind": "hold", "key": 2, "seconds": None}]
    return {"keys": keys, "segments": segments}


def make_trajectory(path: Path, n: int, t: int, work: Path, kind: str = "v1") -> None:
    """A synthetic file of `kind` (see KINDS), written without holding all frames in memory.

    v1 / 3d: noise -> key A over all t frames (a curved path). seq: noise -> A over the first half of the
    frames, then A -> B (A turned a quarter and scaled by 0.7) over the second half, each move even in time."""
    from flowreel.addon.core import trajformat

    d = 3 if kind == "3d" else 2
    rng = np.random.default_rng(0)
    z = rng.normal(size=(n, d)).astype(np.float32)
    a = _picture(rng, n, d)
    b = np.empty_like(a)  # key B: A turned a quarter about z, 0.7 times as large
    b[:, 0], b[:, 1] = -0.7 * a[:, 1], 0.7 * a[:, 0]
    if d == 3:
        b[:, 2] = 0.7 * a[:, 2]
    swirl = np.zeros_like(a)
    swirl[:, 0], swirl[:, 1] = -a[:, 1], a[:, 0]
    raw = work / f"raw-{kind}-{n}-{t}.f32"
    pos = np.memmap(raw, dtype=np.float32, mode="w+", shape=(t, n, d))
    ts = np.linspace(0, 1, t, dtype=np.float32)
    mid = (t - 1) // 2
    for i in range(t):
        if kind == "seq" and i > mid:
            u = (i - mid) / (t - 1 - mid)
            pos[i] = (1 - u) * a + u * b + 0.3 * np.sin(np.pi * u) * swirl
        else:
            u = i / mid if kind == "seq" else float(ts[i])
            pos[i] = (1 - u) * z + u * a + 0.3 * np.sin(np.pi * u) * swirl
    pos.flush()
    hue = (np.arctan2(a[:, 1], a[:, 0]) / (2 * np.pi) + 0.5) * 255
    colors = np.stack([hue, 255 - hue, np.full(n, 128.0), np.full(n, 255.0)], 1).astype(np.uint8)
    extent = [-4.0, 4.0, -4.0, 4.0] + ([-4.0, 4.0] if d == 3 else [])
    meta: dict = {"extent": extent}
    key_colors = None
    logp = None
    if kind in ("v1", "logp"):
        meta["format"] = trajformat.FORMAT_V1
    if kind == "logp":  # `trainer export --logp`: float32 [T, N] beside the positions (the add-on ignores it)
        logp = np.memmap(work / f"logp-{n}-{t}.f32", dtype=np.float32, mode="w+", shape=(t, n))
        logp[:] = -1.0
    elif kind == "seq":
        meta.update(_keys_meta(t, extent))
        blue = colors[:, [2, 1, 0, 3]]  # key B: red and blue swapped, so every key shows other colours
        key_colors = np.stack([colors, colors, blue])
        colors = blue
    trajformat.write(path, trajformat.Trajectory(pos, ts, meta, colors, logp, key_colors))
    del pos, logp
    raw.unlink()
    (work / f"logp-{n}-{t}.f32").unlink(missing_ok=True)


def reset_peak() -> None:
    """Reset VmHWM to the current RSS (Linux: clear_refs 5), so the next VmHWM is the peak of what follows."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass


STEPS = (  # (module, function) timed inside build_scene; scene.py calls each through its module
    ("flowreel.addon.scene.pointcache", "write_pc2"),
    ("flowreel.addon.scene.build", "auto_radius"),
    ("flowreel.addon.scene.key_colors", "per_key_colors"),
    ("flowreel.addon.scene.key_colors", "install"),
    ("flowreel.addon.camera.rig", "setup_camera"),
    ("flowreel.addon.looks.lights", "light_3d"),
)


def _timed(steps: dict[str, float]) -> None:
    """Wrap each of STEPS to add its wall time (s) to `steps`."""
    import importlib

    for mod_name, fn_name in STEPS:
        mod = importlib.import_module(mod_name)
        fn = getattr(mod, fn_name)

        def wrapped(*a, _fn=fn, _name=fn_name, **kw):
            t0 = time.perf_counter()
            try:
                return _fn(*a, **kw)
            finally:
                steps[_name] = steps.get(_name, 0.0) + time.perf_counter() - t0

        setattr(mod, fn_name, wrapped)


def child(npz: str, cache_dir: str, frames: int, scene_opts: dict | None = None) -> None:
    """Runs in a fresh process: import + play, print one JSON line."""
    import bpy

    from flowreel.addon.core import timing
    from flowreel.addon.core.options import SceneOptions

    steps: dict[str, float] = {}
    _timed(steps)
    from flowreel.addon.scene.build import build_scene

    bpy.ops.wm.read_factory_settings(use_empty=True)
    base = proc_status()
    reset_peak()
    opts = SceneOptions(cache_dir=cache_dir, resolution=(1920, 1080), **(scene_opts or {}))
    t0 = time.perf_counter()
    obj = build_scene(bpy.context.scene, npz, opts)
    t_import = time.perf_counter() - t0
    after_import = proc_status()
    scene = bpy.context.scene
    if scene_opts:  # --kinds: the whole film (a sequence's moves and holds), whatever the kind
        start, end = scene.frame_start, scene.frame_end
    else:  # the flow of a single picture (what the first rows of RESULTS.md measured)
        lay = timing.layout(opts)
        start, end = lay.flow_start, lay.flow_end
    picks = np.linspace(start, end, frames).round().astype(int)
    t0 = time.perf_counter()
    for f in picks:
        scene.frame_set(int(f))
        bpy.context.evaluated_depsgraph_get()  # frame_set already evaluated the depsgraph
    t_play = (time.perf_counter() - t0) / len(picks)
    after_play = proc_status()
    print("BENCH " + json.dumps({
        "import_s": t_import, "play_ms": 1000 * t_play, "base": base, "import": after_import, "play": after_play,
        "n": len(obj.data.vertices), "steps": steps, "frames": [int(scene.frame_start), int(scene.frame_end)],
    }), flush=True)


def run_child(npz: Path, cache_dir: Path, frames: int, scene_opts: dict | None = None) -> dict:
    cmd = [sys.executable, __file__, "--child", str(npz), str(cache_dir), str(frames),
           "--scene-opts", json.dumps(scene_opts or {})]
    load = os.getloadavg()[0]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("BENCH ")]
    if proc.returncode != 0 or not lines:
        raise SystemExit(f"child failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    res = json.loads(lines[-1][6:])
    res["load"] = (load, os.getloadavg()[0])  # 1-minute load average before and after the run
    return res


def scene_options(kind: str, camera: str | None, framing: str | None) -> dict:
    """What a user of each kind gets: 3-D films orbit (as `trainer movie` does for them), pictures stay static."""
    out = {"camera": camera or ("ORBIT" if kind == "3d" else "STATIC")}
    if framing:
        out["framing"] = framing
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    ap.add_argument("--child", nargs=3, metavar=("NPZ", "CACHE", "FRAMES"), help=argparse.SUPPRESS)
    ap.add_argument("--scene-opts", default="{}", help=argparse.SUPPRESS)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--no-million", action="store_true")
    ap.add_argument("--kinds", help=f"comma-separated file kinds ({', '.join(KINDS)}): one run each at --n x --lengths")
    ap.add_argument("--n", type=int, default=1_000_000, help="particles, with --kinds")
    ap.add_argument("--lengths", default="145,289,577", help="comma-separated frame counts T, with --kinds")
    ap.add_argument("--camera", choices=("STATIC", "PUSH_IN", "ORBIT"), help="with --kinds (default: ORBIT for 3d)")
    ap.add_argument("--framing", choices=("PICTURE", "ALL"), help="with --kinds (default: PICTURE)")
    ap.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()), help="scratch folder (default /tmp)")
    ap.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "addon_import.md")
    args = ap.parse_args()
    if args.child:
        child(args.child[0], args.child[1], int(args.child[2]), json.loads(args.scene_opts))
        return 0

    if args.kinds:
        kinds = [k.strip() for k in args.kinds.split(",")]
        bad = [k for k in kinds if k not in KINDS]
        if bad:
            ap.error(f"unknown kind {bad[0]!r} (choose from {', '.join(KINDS)})")
        cases = [(k, args.n, int(t), 1) for k in kinds for t in args.lengths.split(",")]
    else:
        n_main, ts_rss, n_big = (20_000, (31, 61, 121), 100_000) if args.quick else (100_000, (61, 241, 961), 1_000_000)
        cases = [("v1", n_main, 241, 3)] + [("v1", n_main, t, 1) for t in ts_rss if t != 241]
        if not args.no_million:
            cases.append(("v1", n_big, 241, 1))
    work = Path(tempfile.mkdtemp(prefix="flowreel-bench-", dir=args.work))
    rows: list[tuple[str, dict]] = []
    try:
        for kind, n, t, repeats in cases:
            npz = work / f"traj-{kind}-{n}-{t}.npz"
            t0 = time.perf_counter()
            make_trajectory(npz, n, t, work, kind)
            print(f"made {npz.name} ({npz.stat().st_size / 2**20:.0f} MiB) in {time.perf_counter() - t0:.1f} s",
                  flush=True)
            sopts = scene_options(kind, args.camera, args.framing) if args.kinds else {}
            for r in range(repeats):
                cache = work / f"cache-{kind}-{n}-{t}-{r}"
                res = run_child(npz, cache, 24, sopts)
                res["pc2_mib"] = sum(p.stat().st_size for p in cache.iterdir()) / 2**20
                shutil.rmtree(cache)
                steps = ", ".join(f"{k} {v:.2f}" for k, v in res["steps"].items())
                print(f"  {kind} {n} x {t} run {r + 1}: import {res['import_s']:.2f} s ({steps}), "
                      f"play {res['play_ms']:.0f} ms/frame, RSS +{res['import']['VmRSS'] - res['base']['VmRSS']} MiB, "
                      f"import peak +{res['import']['VmHWM'] - res['base']['VmRSS']} MiB, "
                      f"load {res['load'][0]:.1f}/{res['load'][1]:.1f}", flush=True)
                label = f"{n:,} x {t}" if not args.kinds else f"{kind} {n:,} x {t}"
                rows.append((label, res))
            npz.unlink()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    write_report(args.out, rows, " ".join(sys.argv[1:]), kinds=bool(args.kinds))
    print(f"wrote {args.out}")
    return 0


NOTES = (
    "Targets: 100k x 241 import <= 10 s; memory flat in T (compare the 61 / 241 / 961 rows: the cache pass reads"
    " 16 MiB chunks and the Mesh Cache modifier reads two samples per frame, so extra memory is bounded by the"
    " chunk plus the mesh, about 100 bytes per particle); 1M x 241 must import and play. Import time is mostly"
    " writing the PC2 file (12 bytes per particle per frame), so it follows the disk's write speed and varies"
    " between runs with the page cache; the PC2 of the 1M case is written to the scratch folder and deleted."
)


KIND_NOTES = (
    "Kinds: v1 = flowreel.traj/1 noise -> picture (2-D, static camera); logp = v1 with logp float32 [T, N];"
    " seq = 3-key sequence noise -> A -> B with key_colors (one colour attribute per key, blended in Geometry"
    " Nodes) and holds at A and B; 3d = D = 3, 6-number extent, ORBIT camera (360-degree fit) and the 3-D auto"
    " radius. The whole film includes a sequence's holds. Steps (s): the cache"
    " pass (write_pc2), auto radius, key colours (per-key display colours; install = attributes and nodes),"
    " camera, 3-D lights, timed inside build_scene. Peak during import = VmHWM after import (reset after the base"
    " reading). Load = 1-minute load average before / after the run (shared box). Memory flat in T = the RSS"
    " columns do not grow from the shortest to the longest file of a kind."
)


def write_report(path: Path, rows: list[tuple[str, dict]], command: str = "", kinds: bool = False) -> None:
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
        f"Command: `python bench/bench_import.py {command}`".rstrip(),
        "",
        "Import = `addon.scene.build_scene` (read + validate, stream the PC2 cache, mesh and attributes, modifiers,"
        " timing keys, camera, look). Play = mean depsgraph evaluation per frame over 24 frames across the"
        f" {'whole film' if kinds else 'flow'}.",
        "RSS columns are MiB above the bare bpy process (after `read_factory_settings`): current RSS and its"
        " anonymous part after import, and the peak (VmHWM) after playing (the whole process: import and play).",
        "",
    ]
    if kinds:
        lines += [
            "| kind, particles x frames | import (s) | steps (s) | play (ms/frame) | PC2 (MiB) | RSS after import"
            " | anon after import | peak during import | peak RSS after play | load before / after |",
            "|---|---|---|---|---|---|---|---|---|---|",
        ]
    else:
        lines += [
            "| particles x frames | import (s) | play (ms/frame) | PC2 (MiB) | RSS after import | anon after import"
            " | peak RSS after play |",
            "|---|---|---|---|---|---|---|",
        ]
    for label, r in rows:
        b = r["base"]
        mem = (f"+{r['import']['VmRSS'] - b['VmRSS']} | +{r['import']['RssAnon'] - b['RssAnon']} | ")
        if kinds:
            steps = ", ".join(f"{k} {v:.2f}" for k, v in r["steps"].items())
            lines.append(
                f"| {label} | {r['import_s']:.2f} | {steps} | {r['play_ms']:.0f} | {r['pc2_mib']:.0f} | {mem}"
                f"+{r['import']['VmHWM'] - b['VmRSS']} | +{r['play']['VmHWM'] - b['VmRSS']} | "
                f"{r['load'][0]:.1f} / {r['load'][1]:.1f} |"
            )
        else:
            lines.append(
                f"| {label} | {r['import_s']:.2f} | {r['play_ms']:.0f} | {r['pc2_mib']:.0f} | {mem}"
                f"+{r['play']['VmHWM'] - b['VmRSS']} |"
            )
    lines += ["", KIND_NOTES if kinds else NOTES]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    sys.exit(main())
