"""`trainer fit a.png b.png ...` and `trainer export SEQ_DIR`: the sequence (morph) side of fit and export.

cli_fit and cli_movie take one or more pictures; with two or more they hand over to this module. The
sequence flags are added to their parsers here (one home), and are harmless with a single picture.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from flowreel.addon.core.errors import UsageError
from flowreel.trainer.cli.args import frames_int, json_progress, mb, nonneg_float, picture_options, positive_float, say

FRAMES_PER_MOVE = 72  # 3 s at 24 fps: the point cache interpolates between frames, so more only costs memory


def _add(p, flag: str, **kw) -> None:
    """Add `flag` unless the parser has it (the render flags table may list it for movie: one definition)."""
    if flag not in p._option_string_actions:  # noqa: SLF001 - argparse has no public "has option"
        p.add_argument(flag, **kw)


def add_sequence_options(p: argparse.ArgumentParser, *, fit: bool = False, export: bool = False) -> None:
    """The flags of a film through two or more pictures (fit, export, movie)."""
    g = p.add_argument_group("sequences (two or more pictures: A flows into B, and on)")
    if fit or not export:
        g.add_argument("--start", choices=("noise", "picture"), default="noise",
                       help="noise: open on noise and form the first picture (default); picture: open on it")
        g.add_argument("--via", choices=("direct", "noise"), default="direct",
                       help="direct: each picture flows straight into the next (a flow fitted between the two; "
                       "default); noise: dissolve into noise and re-form")
        _add(g, "--hold", type=nonneg_float, default=1.0, metavar="S",
             help="seconds at rest on each picture between two moves (default: %(default)s)")
        _add(g, "--seconds-per-move", type=positive_float, default=3.0, metavar="S",
             help="seconds of each move (default: %(default)s)")
    if fit:
        g.add_argument("--runs-dir", type=Path, default=Path("runs"),
                       help="where the per-move fits are kept, by content, shared with `trainer movie` "
                       "(default: runs)")  # fmt: skip
    if fit or export:
        g.add_argument("--frames-per-move", type=frames_int, default=FRAMES_PER_MOVE, metavar="N",
                       help="frames of each move in the exported file (--frames is for one picture) "
                       "(default: %(default)s)")  # fmt: skip


def _check_export_flags(args: argparse.Namespace) -> None:
    if getattr(args, "logp", False):
        raise UsageError("--logp is for a single picture; a sequence has no log-density along its moves")
    if getattr(args, "landing", "exact") != "exact":
        raise UsageError("--landing flow is for a single picture; every key of a sequence lands exactly")


def fit_sequence(args: argparse.Namespace) -> int:
    """`trainer fit A B ...`: check every picture, fit what the film needs (reusing cached runs), write the
    sequence folder, and export with --export."""
    from flowreel.trainer.cli.fit import _check_run_dir
    from flowreel.trainer.fit.loop import FitConfig
    from flowreel.trainer.flow.trajfile import check_output_path
    from flowreel.trainer.sequence.plan import SequenceOptions, ensure_fits, load_pictures, plan, write_sequence

    jp = json_progress(args)  # --progress json: only JSON on stdout (one "done" line for a sequence)
    images: list[Path] = args.image
    if args.export is not None:
        check_output_path(args.export, what="--export")
        _check_export_flags(args)
    if args.method != "fm":
        raise UsageError("--method ffjord is for a single picture; a sequence is fitted with fm")
    if any(getattr(args, k, None) is not None for k in ("depth", "fill", "up", "forward")):
        raise UsageError("--depth, --fill, --up and --forward are for a single 3-D target; a sequence is made of "
                         "pictures")
    seq_dir: Path = args.out or Path(args.runs_dir) / ("seq-" + "-".join(p.stem for p in images))
    args.out = seq_dir  # the API (trainer/api.py) returns it
    _check_run_dir(seq_dir)
    _check_run_dir(Path(args.runs_dir))
    options = {"invert": args.invert, "threshold": args.threshold, "max_side": args.max_side,
               **picture_options(args, images[0])}  # each picture cropped to its own ink unless --crop none
    if args.cluster:  # an address that does not answer: one line, before anything is written
        from flowreel.trainer.cluster.connect import connect

        connect(args.cluster)
    densities = load_pictures(images, options)  # every picture, before anything is written
    extra = {} if args.eval_samples is None else {"eval_samples": args.eval_samples}
    config = FitConfig(method="fm", steps=args.steps, seed=args.seed, device=args.device,
                       max_seconds=args.max_seconds, **extra)  # fmt: skip
    try:
        config.resolved()
        p = plan(densities, SequenceOptions(args.start, args.via, args.hold, args.seconds_per_move), config,
                 options, Path(args.runs_dir))  # fmt: skip
    except ValueError as e:
        raise UsageError(str(e)) from None
    say(args, f"sequence of {len(images)} pictures ({args.start} start, via {args.via}): "
              f"{len(p.fits())} flows, {sum(not leg.complete for leg in p.fits())} to fit")  # fmt: skip
    on_fit = None
    if jp is not None:
        steps = config.resolved().steps  # every flow of a sequence has the same settings (they key its run)

        def on_fit(n: int, of: int, resume: bool):
            """JSON progress of the n-th of `of` fits: its own step/steps plus flow/flows; ETA of them all."""
            jp.emit("start", stage="fit", flow=n, flows=of, steps=steps, resume=resume)

            def on_step(step: int, loss: float) -> None:
                jp.step("fit", step, steps, loss, overall=((n - 1) * steps + step, of * steps), flow=n, flows=of)
                if step == steps:
                    jp.emit("stage", stage="eval", flow=n, flows=of)

            return on_step

    from flowreel.trainer.fit.stopping import FitInterrupted

    try:
        if args.cluster:  # the flows as parallel tasks; ensure_fits then reuses them
            from flowreel.trainer.cluster.fits import fit_legs

            fit_legs(p, config, args.cluster, say=lambda s: say(args, s))
        done = ensure_fits(p, config, progress=not args.quiet, say=lambda s: say(args, s), on_fit=on_fit)
    except FitInterrupted as e:
        if jp is not None:  # as a single fit: the checkpoint is saved, fitting again resumes that flow
            jp.emit("done", status="interrupted", step=e.step, run_dir=str(seq_dir))
        raise
    path = write_sequence(seq_dir, p)
    say(args, f"wrote {path} (fitted {len(done['fitted'])}, reused {len(done['reused'])})")
    if args.export is not None:
        check_output_path(args.export, what="--export")
        _export(p, args, args.export)
    if jp is not None:
        jp.emit("done", status="ok", run_dir=str(seq_dir), export=None if args.export is None else str(args.export),
                fitted=done["fitted"], reused=done["reused"])
    return 0


def export_sequence_cli(args: argparse.Namespace) -> int:
    """`trainer export SEQ_DIR --export seq.npz`."""
    from flowreel.trainer.flow.trajfile import check_output_path
    from flowreel.trainer.sequence.plan import read_sequence

    check_output_path(args.export, what="--export")
    _check_export_flags(args)
    _export(read_sequence(args.run_dir), args, args.export)
    return 0


def _export(p, args: argparse.Namespace, out: Path) -> None:
    from flowreel.trainer.flow import trajfile
    from flowreel.trainer.sequence.export import export_sequence

    t0 = time.perf_counter()
    F = args.frames_per_move
    say(args, f"exporting {args.particles} particles x {1 + F * len(p.moves)} frames ({len(p.moves)} moves) ...")
    jp = getattr(args, "json_progress", None)
    if jp is not None:
        jp.emit("stage", stage="export", particles=args.particles, frames=1 + F * len(p.moves))
    tol = {} if args.tol is None else {"rtol": args.tol, "atol": args.tol}
    traj = export_sequence(p, args.particles, F, seed=args.export_seed, device=args.device,
                           progress=not args.quiet, say=lambda s: say(args, s), turbulence=args.turbulence,
                           turbulence_scale=args.turbulence_scale, **tol)  # fmt: skip
    trajfile.write(out, traj)
    say(args, f"wrote {out} ({mb(out)}) in {time.perf_counter() - t0:.1f} s")
