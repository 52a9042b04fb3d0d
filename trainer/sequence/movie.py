"""`trainer movie a.png b.png ...`: a film through a list of pictures. Fit (or reuse), export, render, encode.

The stages of trainer.film.movie, for a sequence: every picture is checked first; the flows the film needs
are fitted or reused by content (trainer.sequence.plan); the trajectory file is cached in a sequence folder
named after the runs it uses and the sequence options; the render is movie's (`render_film`): the add-on
plays the file's timeline (`meta.segments`: each move's seconds, a hold at each key between two moves),
with --hold-start / --hold-end as the rests on the film's first and last keys.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import time
from dataclasses import replace
from pathlib import Path

from flowreel.trainer.film.movie import (
    QUALITY,
    MovieError,
    MovieResult,
    MovieSettings,
    check_film_output,
    join_cluster,
    render_film,
    turbulence_tag,
)
from flowreel.trainer.flow import trajfile
from flowreel.trainer.sequence.plan import SequenceOptions, ensure_fits, load_pictures, plan, write_sequence

MIN_FRAMES_PER_MOVE = 48  # the point cache interpolates between frames; fewer makes curved paths visibly polygonal


def frames_per_move(opts: SequenceOptions, fps: int) -> int:
    """One file frame per film frame of a move, at least MIN_FRAMES_PER_MOVE."""
    return max(MIN_FRAMES_PER_MOVE, math.ceil(opts.seconds_per_move * fps))


def make_sequence_movie(s: MovieSettings, images: list[Path], opts: SequenceOptions) -> MovieResult:
    """Every stage of a sequence film; returns what was written and how long each stage took."""
    if s.quality not in QUALITY:
        raise MovieError(f"--quality must be one of {', '.join(QUALITY)}, got {s.quality!r}")
    if s.landing != "exact":
        raise MovieError("--landing flow is for a single picture; every key of a sequence lands exactly")
    if set(s.density_options) - {"invert", "threshold", "max_side", "crop", "frame"}:
        raise MovieError("--depth and --fill are for a single 3-D target; a sequence is made of pictures")
    q = QUALITY[s.quality]
    particles = s.particles or q["particles"]
    out = s.output.resolve()
    check_film_output(out, s)
    join_cluster(s)  # an address that does not answer: one line, before anything is read or fitted
    densities = load_pictures(images, s.density_options)  # every picture before anything is written
    out.parent.mkdir(parents=True, exist_ok=True)
    if not os.access(out.parent, os.W_OK):
        raise MovieError(f"{out.parent}: output folder is not writable")
    if s.fit_config.steps is None and s.fit_config.method == "fm" and q.get("fit_steps"):
        s = replace(s, fit_config=replace(s.fit_config, steps=q["fit_steps"]))  # as movie: before the run keys
    try:
        p = plan(densities, opts, s.fit_config, s.density_options, s.runs_root)
    except ValueError as e:
        raise MovieError(str(e)) from None

    times: dict[str, float] = {}
    t0 = time.perf_counter()
    todo = sum(not leg.complete for leg in p.fits())
    print(f"[1/3] fit: {len(p.fits())} flows for {len(images)} pictures, {todo} to fit", flush=True)
    if s.cluster:  # the flows as parallel tasks; ensure_fits then reuses them
        from flowreel.trainer.cluster.fits import fit_legs

        fit_legs(p, s.fit_config, s.cluster, say=lambda line: print(f"  {line}", flush=True))
    done = ensure_fits(p, s.fit_config, say=lambda line: print(f"  {line}", flush=True))
    times["fit"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    F = frames_per_move(opts, s.fps)
    T = 1 + F * len(p.moves)
    key = json.dumps({"runs": [[leg.run_dir.name, leg.backward] for m in p.moves for leg in m.legs],
                      "pictures": [d.sha256 for d in densities], "options": vars(opts)}, sort_keys=True)
    stems = "-".join(Path(d.name).stem for d in densities)[:60]
    seq_dir = Path(s.runs_root) / f"seq-{stems}-{hashlib.sha256(key.encode()).hexdigest()[:10]}"
    write_sequence(seq_dir, p)
    traj_path = seq_dir / f"traj-{particles}x{T}-seed{s.seed}{turbulence_tag(s)}.npz"
    if traj_path.exists():
        print(f"[2/3] export: reusing {traj_path}", flush=True)
    else:
        from flowreel.trainer.sequence.export import export_sequence

        print(f"[2/3] export: {particles} particles x {T} frames ({len(p.moves)} moves) -> {traj_path}", flush=True)
        traj = export_sequence(p, particles, F, seed=s.seed, say=lambda line: print(f"  {line}", flush=True),
                               turbulence=s.turbulence, turbulence_scale=s.turbulence_scale)
        trajfile.write(traj_path, traj)
    times["export"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    # The file's timeline gives each move and hold its seconds (the add-on's core.sequence); --seconds is
    # the per-move default it falls back on.
    files = render_film(s, traj_path, out, seconds=opts.seconds_per_move)
    times["render"] = time.perf_counter() - t0
    return MovieResult(files, times, None, not done["fitted"])
