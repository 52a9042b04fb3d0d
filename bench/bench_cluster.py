"""Cluster renders on this box: frames per second of a local render, a 1-node and a 2-node Ray cluster
(Ray's `cluster_utils.Cluster`, every node on 127.0.0.1), each task's fixed cost (process start, scene
build) and the bytes moved per frame. The numbers behind bench/RESULTS.md "Cluster renders".

    .venv/bin/python bench/bench_cluster.py                       # 20k particles, 480x270, Cycles 4 samples
    .venv/bin/python bench/bench_cluster.py --particles 2000 --resolution 160x90 --seconds 1   # a smoke run

A synthetic film (noise flowing into a ring, 241 exported frames, the movie's default timing) so no fit is
needed. Each variant renders into a fresh frames folder; the cluster variants' time is the frames only
(joining the cluster and the encode are reported apart). Prints a markdown table.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")  # every node on loopback

from flowreel.addon.core import trajformat  # noqa: E402
from flowreel.trainer.cluster import connect as cconnect  # noqa: E402
from flowreel.trainer.cluster.render import render_on_cluster  # noqa: E402
from flowreel.trainer.film.launch import run_render  # noqa: E402


def synthetic_traj(path: Path, particles: int, frames: int = 241, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    start = rng.normal(size=(particles, 2)).astype(np.float32)
    angle = rng.uniform(0, 2 * np.pi, particles)
    radius = 2.5 + 0.3 * rng.normal(size=particles)
    end = np.stack([radius * np.cos(angle), radius * np.sin(angle)], 1).astype(np.float32)
    t = np.linspace(0, 1, frames, dtype=np.float32)
    pos = start[None] * (1 - t[:, None, None]) + end[None] * t[:, None, None]
    colors = np.tile(np.array([[255, 200, 90, 255]], np.uint8), (particles, 1))
    trajformat.write(path, trajformat.Trajectory(pos.astype(np.float32), t, {"extent": [-4, 4, -4, 4]}, colors))
    return path


def run_cluster(address: str, args: list[str]) -> dict:
    t0 = time.monotonic()
    cconnect.connect(address)
    joined = time.monotonic() - t0
    _, stats = render_on_cluster(args, address, None, say=lambda m: None)
    cconnect.disconnect()
    return {"join_s": joined, "stats": stats}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--particles", type=int, default=20_000)
    ap.add_argument("--resolution", default="480x270")
    ap.add_argument("--samples", type=int, default=4)
    ap.add_argument("--seconds", type=float, default=2.0)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-cluster-"))
    os.environ["FLOWREEL_CLUSTER_CACHE"] = str(work / "nodes")
    traj = synthetic_traj(work / "ring.npz", args.particles)
    film = ["--resolution", args.resolution, "--engine", "cycles", "--samples", str(args.samples), "--denoise", "off",
            "--seconds", str(args.seconds), "--hold-start", "0.25", "--hold-end", "0.5", "--fps", "24"]
    rows = []

    t0 = time.monotonic()
    assert run_render([str(traj), "-o", str(work / "local.mp4"), "--no-video", *film]) == 0
    local_s = time.monotonic() - t0
    n = len(list((work / "local_frames").glob("frame_*.png")))
    rows.append(("local (one render process)", n, local_s, None))

    from ray.cluster_utils import Cluster

    store = 256 << 20
    for label, nodes in (("1-node cluster (2 CPUs)", [2]), ("2-node cluster (1 CPU each)", [1, 1])):
        cluster = Cluster(initialize_head=True, head_node_args={
            "num_cpus": nodes[0], "object_store_memory": store, "node_ip_address": "127.0.0.1",
            "include_dashboard": False})
        try:
            for c in nodes[1:]:
                cluster.add_node(num_cpus=c, object_store_memory=store, node_ip_address="127.0.0.1")
            cluster.wait_for_nodes()
            out = work / f"c{len(nodes)}.mp4"
            r = run_cluster(cluster.address, [str(traj), "-o", str(out), "--no-video", *film])
        finally:
            cluster.shutdown()
        rows.append((label, r["stats"].frames, r["stats"].seconds, r))

    print(f"\n{platform.node()}: {os.cpu_count()} CPUs; {args.particles} particles, {args.resolution}, Cycles "
          f"{args.samples} samples, {args.seconds} s flow (trajectory file {traj.stat().st_size / 1e6:.1f} MB)\n")
    print("| variant | frames | wall (s) | frames/s | tasks | nodes | scene build a task (s) "
          "| start + other a task (s) | frame bytes | traj bytes sent | join (s) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for label, frames, secs, r in rows:
        if r is None:
            print(f"| {label} | {frames} | {secs:.1f} | {frames / secs:.2f} | - | 1 | - | - | - | - | - |")
            continue
        s = r["stats"]
        build = sum(s.build_seconds) / max(1, len(s.build_seconds))
        other = (sum(s.task_seconds) - sum(s.build_seconds) - sum(s.render_seconds)) / max(1, s.tasks)
        print(f"| {label} | {frames} | {secs:.1f} | {frames / secs:.2f} | {s.tasks} | {len(s.nodes)} | {build:.2f} | "
              f"{other:.2f} | {s.frame_bytes / max(1, frames) / 1e3:.0f} kB/frame | {s.traj_bytes / 1e6:.1f} MB | "
              f"{r['join_s']:.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
