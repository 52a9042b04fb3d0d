"""Fault-injection sweep: kill `trainer movie` (SIGKILL and SIGINT) at seeded points of its fit, export and
render, rerun after each kill, and count what a user would see.

    .venv/bin/python bench/bench_faults.py --kills 30 --seed 1            # the sweep in bench/RESULTS.md
    .venv/bin/python bench/bench_faults.py --kills 4 --concurrent 1       # a smoke run

Every `--fresh-every` kills the runs folder starts empty, so kills land in fits too (a reused fit is over
in a moment). After each kill the same command runs again, plain; a run that exits 0 must leave a film
that decodes with the film's frame count, a run that fails on its own must say so in one line, and a
killed trainer must leave no process behind (tests/faults_harness.py holds the invariant; the suite's
tests/test_faults_movie.py is a few of these kills). `--concurrent N` also starts N pairs of the same
command at once on one output. Prints a markdown summary for bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import collections
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "tests")]

import faults_harness as h  # noqa: E402


def sweep(kills: int, seed: int, fresh_every: int, work: Path) -> dict:
    image = h.picture(work)
    frames = h.expected_frames()
    tally: dict = collections.Counter()
    bad: list[str] = []
    runs = work / "runs-0"
    for i, kill in enumerate(h.kill_plan(seed, kills)):
        if fresh_every and i % fresh_every == 0:
            runs = work / f"runs-{i}"
        film = work / f"out-{i // max(1, fresh_every)}" / "film.mp4"
        run = h.movie(image, film, runs, work, kill=kill)
        where = f"{kill[0]} {h.signal.Signals(kill[1]).name}"
        tally[f"tried {where}"] += 1
        tally[f"landed {where}" if run.killed else f"missed {where} (run ended first)"] += 1
        tally["exit 0 despite the kill" if run.returncode == 0 else f"exit {run.returncode}"] += 1
        bad += [f"kill {i} ({run.killed}): {p}" for p in h.problems(run, film, frames)]
        for attempt in range(1, 4):  # rerun the same command until it makes the film
            again = h.movie(image, film, runs, work)
            bad += [f"rerun {attempt} after kill {i}: {p}" for p in h.problems(again, film, frames)]
            if again.returncode == 0:
                tally[f"reruns needed: {attempt}"] += 1
                tally["films verified"] += 1
                break
        else:
            bad.append(f"kill {i}: no film after 3 reruns")
        print(f"kill {i}: {run.killed or 'missed ' + where}, exit {run.returncode}, rerun exit {again.returncode}",
              flush=True)
    return {"tally": tally, "bad": bad}


def concurrent(pairs: int, work: Path) -> dict:
    image = h.picture(work)
    frames = h.expected_frames()
    tally: dict = collections.Counter()
    bad: list[str] = []
    for i in range(pairs):
        film = work / f"together-{i}" / "film.mp4"
        for run in h.together(image, film, work / "runs-pairs", work):
            tally[f"exit {run.returncode}"] += 1
            tally["waited for the other"] += any("waiting for process" in ln for ln in run.output)
            tally["discarded frames"] += any("discarded" in ln for ln in run.output)
            bad += [f"pair {i}: {p}" for p in h.problems(run, film, frames)]
        tally["films verified"] += h.film_frames(film) == frames
    return {"tally": tally, "bad": bad}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kills", type=int, default=30)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--fresh-every", type=int, default=10, help="a new runs folder every N kills (0: never)")
    ap.add_argument("--concurrent", type=int, default=3, help="pairs of simultaneous runs")
    ap.add_argument("--keep", action="store_true", help="keep the work folder")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench_faults-"))
    t0 = time.monotonic()
    try:
        s = sweep(args.kills, args.seed, args.fresh_every, work) if args.kills else {"tally": {}, "bad": []}
        c = concurrent(args.concurrent, work) if args.concurrent else {"tally": {}, "bad": []}
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    print(f"\n## Fault injection ({time.strftime('%Y-%m-%d')}, {platform.machine()}, seed {args.seed}, "
          f"{time.monotonic() - t0:.0f} s)\n")
    print("| kills | count |\n|---|---|")
    for k, v in sorted(s["tally"].items()):
        print(f"| {k} | {v} |")
    print("\n| concurrent pairs | count |\n|---|---|")
    for k, v in sorted(c["tally"].items()):
        print(f"| {k} | {v} |")
    problems = s["bad"] + c["bad"]
    print(f"\ninvariant broken: {len(problems)}")
    for p in problems:
        print(f"- {p}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
