"""Export cost: time, solver evaluations and peak memory of 100k particles x 241 frames (flow.integrate).

    python bench/bench_export.py RUN_DIR [--particles 100000] [--frames 241] [--tol 1e-5 1e-4 1e-3]

Each tolerance runs in a fresh child process so that its peak RSS (getrusage ru_maxrss) is its own.
The accuracy column is the excess TV of the t=1 particles (trainer.metrics.picture), to show what looser
tolerances cost in quality. Wrap in `flock /tmp/flowreel-cpu.lock` on the shared machine.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path


def child(args: argparse.Namespace) -> None:
    import numpy as np
    import torch

    from flowreel.trainer.fit.runs import load_run
    from flowreel.trainer.flow.integrate import integrate
    from flowreel.trainer.metrics.picture import excess_tv

    if args.threads:
        torch.set_num_threads(args.threads)
    run = load_run(Path(args.run_dir))
    nfe = [0]
    forward = run.model.forward

    def counted(t, x):
        nfe[0] += x.shape[0]
        return forward(t, x)

    run.model.forward = counted
    z0 = torch.from_numpy(np.random.default_rng(0).standard_normal((args.particles, 2)).astype(np.float32))
    times = torch.linspace(0.0, 1.0, args.frames)
    t0 = time.perf_counter()
    pos, _ = integrate(run.model, z0, times, rtol=args.tol, atol=args.tol, chunk=args.chunk)
    colors = run.density.colors_at(pos[-1])
    seconds = time.perf_counter() - t0
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    etv = excess_tv(pos[-1], run.density, np.random.default_rng(1))
    print(json.dumps({"tol": args.tol, "seconds": round(seconds, 2), "nfe": round(nfe[0] / args.particles, 1),
                      "peak_rss_mb": round(rss_mb), "excess_tv": round(etv, 4), "shape": list(pos.shape),
                      "colors": list(colors.shape), "threads": torch.get_num_threads()}))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("run_dir")
    ap.add_argument("--particles", type=int, default=100_000)
    ap.add_argument("--frames", type=int, default=241)
    ap.add_argument("--chunk", type=int, default=65536)
    ap.add_argument("--tol", type=float, nargs="+", default=[1e-5, 1e-4, 1e-3])
    ap.add_argument("--threads", type=int, nargs="+", default=[0], help="torch threads to try (0 = default)")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        args.tol, args.threads = args.tol[0], args.threads[0]
        child(args)
        return 0
    rows = []
    for tol, threads in [(tol, th) for th in args.threads for tol in args.tol]:
        cmd = [sys.executable, __file__, args.run_dir, "--child", "--particles", str(args.particles), "--frames",
               str(args.frames), "--chunk", str(args.chunk), "--tol", str(tol), "--threads", str(threads)]
        out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1]
        rows.append(json.loads(out))
        print(out, file=sys.stderr)
    print(f"\nexport bench: {args.particles} particles x {args.frames} frames, run {args.run_dir}, "
          f"{platform.processor() or platform.machine()}, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}\n")
    print("| rtol = atol | torch threads | seconds | network evals per particle | peak RSS (MB) | excess TV at t=1 |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        cells = [f"{r['tol']:g}", r["threads"], r["seconds"], r["nfe"], r["peak_rss_mb"], r["excess_tv"]]
        print("| " + " | ".join(str(v) for v in cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
