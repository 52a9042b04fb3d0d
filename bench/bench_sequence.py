"""Sequences (morphs), measured: fit time per transition, export time, exactness at each key, path shape.

    python bench/bench_sequence.py [examples/logo.png examples/text.png examples/ring.png]
        [--runs-dir runs] [--particles 60000] [--frames-per-move 72] [--steps 2000]

Fits the flows a film through the pictures needs, for ``--via direct`` and ``--via noise`` (start on noise),
with `trainer movie --quality draft`'s fit settings (2000 flow-matching steps, default network) and its
content-keyed run folders, so a `trainer movie ... --quality draft --runs-dir RUNS` afterwards reuses them.
Prints markdown tables:
- each fit's wall time (cached fits are reported as reused, with the seconds recorded when they were made)
- export time of each film (N particles x (1 + moves x frames per move))
- excess TV (64x64 histogram, minus the floor of N exact samples) of the frame at each picture key
- per move: mean path length, chord, turning and length-weighted curvature (trainer/metrics/paths.py)
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

from flowreel.trainer.fit.loop import FitConfig
from flowreel.trainer.metrics.paths import move_stats
from flowreel.trainer.metrics.picture import excess_tv
from flowreel.trainer.sequence.export import export_sequence
from flowreel.trainer.sequence.plan import SequenceOptions, ensure_fits, load_pictures, plan

DENSITY = {"invert": False, "threshold": None, "max_side": 512}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("pictures", nargs="*", type=Path,
                    default=[Path("examples/logo.png"), Path("examples/text.png"), Path("examples/ring.png")])
    ap.add_argument("--runs-dir", type=Path, default=Path("runs"))
    ap.add_argument("--particles", type=int, default=60_000)
    ap.add_argument("--frames-per-move", type=int, default=72)
    ap.add_argument("--steps", type=int, default=2000)
    args = ap.parse_args(argv)
    torch.set_num_threads(2)
    cfg = FitConfig(steps=args.steps)  # trainer movie --quality draft's fit (the device is not in the run key)
    densities = load_pictures(args.pictures, DENSITY)
    names = [d.name for d in densities]
    print(f"pictures: {', '.join(names)}; {args.particles} particles, {args.frames_per_move} frames per move, "
          f"fit {args.steps} steps; torch threads {torch.get_num_threads()}", flush=True)
    fit_rows, export_rows, key_rows, path_rows = [], [], [], []
    for via in ("direct", "noise"):
        p = plan(densities, SequenceOptions(start="noise", via=via), cfg, DENSITY, args.runs_dir)
        done = ensure_fits(p, cfg, progress=False, say=lambda s: print(s, flush=True))
        for leg in p.fits():
            name = ("noise -> " if leg.source is None else f"{densities[leg.source].name} -> ") + \
                densities[leg.target].name
            m = json.loads((leg.run_dir / "metrics.json").read_text())
            fresh = str(leg.run_dir) in done["seconds"]
            wall = done["seconds"].get(str(leg.run_dir))
            fit_rows.append(f"| {name} | {'fitted' if fresh else 'reused'} | "
                            f"{wall if wall is not None else '-'} | {m['train_seconds']:.1f} | {m['excess_tv']:.3f} |")
        t0 = time.perf_counter()
        traj = export_sequence(p, args.particles, args.frames_per_move, seed=0)
        secs = time.perf_counter() - t0
        export_rows.append(f"| {via} | {traj.n_particles} x {traj.n_frames} | {secs:.1f} |")
        rng = np.random.default_rng(7)
        for k, key in enumerate(traj.keys):
            i = p.key_picture(k)
            if i is None:
                continue
            etv = excess_tv(traj.positions[key["index"]], densities[i], rng)
            key_rows.append(f"| {via} | {k} {key['name']} | {etv:+.4f} |")
        for m, st in zip(p.moves, move_stats(traj.positions, traj.keys), strict=True):
            a = "noise" if p.key_picture(m.frm) is None else densities[p.key_picture(m.frm)].name
            b = densities[p.key_picture(m.to)].name
            path_rows.append(f"| {via} | {a} -> {b} ({m.via}) | {st['length']:.2f} | {st['chord']:.2f} | "
                             f"{st['turning']:.2f} | {st['curvature']:.3f} |")
        del traj
    print("\n| flow | | fit wall s | train s | excess TV |\n|---|---|---|---|---|")
    print("\n".join(dict.fromkeys(fit_rows)))
    print("\n| film | particles x frames | export s |\n|---|---|---|")
    print("\n".join(export_rows))
    print("\n| film | key | excess TV at the key frame |\n|---|---|---|")
    print("\n".join(key_rows))
    print("\n| film | move | length | chord | turning (rad) | curvature (rad/frame) |\n|---|---|---|---|---|---|")
    print("\n".join(path_rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
