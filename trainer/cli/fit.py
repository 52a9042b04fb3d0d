"""The `fit`, `export`, `eval` and `preview` subcommands (listed in trainer.cli)."""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

from flowreel.addon.core.atomic import atomic_write
from flowreel.addon.core.errors import UsageError
from flowreel.addon.core.options import number
from flowreel.trainer.cli.args import (
    add_cluster,
    add_device,
    add_export_options,
    add_picture_options,
    add_progress,
    add_target_options,
    add_text_options,
    check_text_or_pictures,
    command,
    frames_int,
    json_progress,
    mb,
    nonneg_float,
    nonneg_int,
    open_fraction,
    picture_options,
    positive_float,
    positive_int,
    say,
    size_int,
)
from flowreel.trainer.cli.sequence import add_sequence_options, export_sequence_cli, fit_sequence


def _export(run, args: argparse.Namespace, out: Path) -> None:
    from flowreel.trainer.flow import trajfile
    from flowreel.trainer.flow.export import export_trajectories

    t0 = time.perf_counter()
    say(args, f"exporting {args.particles} particles x {args.frames} frames ...")
    jp = getattr(args, "json_progress", None)
    if jp is not None:
        jp.emit("stage", stage="export", particles=args.particles, frames=args.frames)
    tol = {} if args.tol is None else {"rtol": args.tol, "atol": args.tol}
    traj = export_trajectories(
        run, args.particles, args.frames, seed=args.export_seed, logp=args.logp, progress=not args.quiet,
        landing=args.landing, turbulence=args.turbulence, turbulence_scale=args.turbulence_scale, **tol,
    )  # fmt: skip
    trajfile.write(out, traj)
    landed = traj.meta.get("landing", {})
    how = ""
    if landed.get("method") == "exact":
        how = (f"; landed on exact samples (offset median {landed['median_offset']:.3f}, "
               f"99th percentile {landed['p99_offset']:.3f} world units)")  # fmt: skip
    say(args, f"wrote {out} ({mb(out)}) in {time.perf_counter() - t0:.1f} s{how}")


def _load_run(run_dir: Path, device: str):
    from flowreel.trainer.fit.runs import load_run

    if not run_dir.exists():
        raise UsageError(f"{run_dir}: no such run directory (create one with `trainer fit IMAGE --out {run_dir}`)")
    return load_run(run_dir, device=device)




# ---- fit -----------------------------------------------------------------------------------------
def _fit_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("image", type=Path, nargs="*",
                   help="PNG/JPEG/SVG/... picture (ink = alpha, else darkness); or a 3-D target: "
                   "a mesh (.obj .ply .stl .glb .gltf) or a point cloud (.ply with points only, .npy or .xyz [N, 3]); "
                   "two or more pictures: a sequence")
    p.add_argument("--export", type=Path, metavar="TRAJ.npz", help="also export trajectories to this file")
    p.add_argument("--out", type=Path, metavar="RUN_DIR", help="run directory (default: runs/<image name>)")
    p.add_argument("--steps", type=positive_int, metavar="N",
                   help="training steps (default: the method's, fm 5000, ffjord 300)")
    p.add_argument(
        "--method", choices=("fm", "ffjord"), default="fm", help="fm: flow matching (default); ffjord: likelihood"
    )
    p.add_argument(
        "--seed", type=nonneg_int, metavar="N", default=0, help="makes the fit repeatable (default: %(default)s)"
    )
    p.add_argument("--max-seconds", type=positive_float, metavar="S", help="stop training after this many seconds")
    p.add_argument("--eval-samples", type=positive_int, metavar="N",
                   help="particles of the closing quality check (default: 100000; fewer is faster)")
    add_device(p)
    g = p.add_argument_group("image")
    g.add_argument("--invert", action="store_true", help="light ink on a dark background")
    g.add_argument("--threshold", type=open_fraction, metavar="X", help="binarize the ink at this level")
    g.add_argument("--max-side", type=number(int, lo=16, hi=4096, what="an integer from 16 to 4096"), default=512,
                   help="working size of the picture's longer side (of its ink's box with --crop ink): larger "
                   "pictures are shrunk to it, smaller ones resampled up smoothly (default: %(default)s; the "
                   "picture's own size keeps its pixels as they are)")  # fmt: skip
    add_picture_options(g)
    add_target_options(p)
    add_text_options(p)
    p.add_argument("--resume", action="store_true",
                   help="continue an interrupted fit in RUN_DIR with its saved settings (a fit with the same "
                        "picture and settings resumes without it)")
    p.add_argument("--restart", action="store_true", help="start over, discarding the fit in RUN_DIR")
    add_progress(p)
    g = p.add_argument_group("export (with --export)")
    add_export_options(g)
    add_sequence_options(p, fit=True)
    add_cluster(p)  # a sequence's flows as parallel tasks (trainer/cluster/fits.py)
    p.add_argument("-q", "--quiet", action="store_true", help="no progress output")


@command(
    "fit",
    "fit a flow to an image (and optionally export trajectories)",
    """  trainer fit examples/logo.png --export traj.npz          # default: flow matching, runs/logo
  trainer fit logo.png --out runs/logo --steps 1000 --seed 3
  trainer fit neon.jpg --invert --threshold 0.5 --export neon.npz
  trainer fit logo.png --method ffjord --device cuda
  trainer fit logo.png                                      # after Ctrl-C: the same command resumes
  trainer fit logo.png --restart                            # start over instead
  trainer fit shape.obj --export shape.npz                  # 3-D: the mesh's surface (OBJ: y up)
  trainer fit old.obj --up z --forward y                    # 3-D: an OBJ written z up
  trainer fit shape.glb --fill volume                       # 3-D: the inside of a closed mesh
  trainer fit logo.png --depth 1 --export slab.npz          # 3-D: the picture with a body 1 unit thick
  trainer fit logo.svg --export logo.npz                    # an SVG, drawn at the working size (--max-side)
  trainer fit --text "Hello" --export hello.npz             # a word (--font FILE.ttf for another font)
  trainer fit a.png b.png c.png --out runs/seq --export seq.npz   # a sequence: A flows into B, then C
""",
    _fit_args,
)
def cmd_fit(args: argparse.Namespace) -> int:
    """Fit a continuous normalizing flow from N(0, I) (t=0) to the image's density (t=1).

    Writes RUN_DIR/{checkpoint.pt, config.json, metrics.json, preview.png, density.npz}.
    Ctrl-C saves a checkpoint; the same command resumes it (settings that differ are refused; --restart).
    RUN_DIR is held while it is fitted and exported (core.lock): a second fit into it waits.
    Two or more pictures: a sequence (docs/trainer.md), fitted by content under --runs-dir, described in --out.
    """
    check_text_or_pictures(args)
    if len(args.image) > 1:
        return fit_sequence(args)
    if args.cluster:
        raise UsageError("--cluster fits the flows of a sequence (two or more pictures) in parallel; one picture's "
                         "fit runs here (`trainer movie --cluster` renders its film on the cluster)")
    args.image = args.image[0] if args.image else None
    from flowreel.addon.core.lock import folder_lock
    from flowreel.trainer.flow.trajfile import check_output_path
    from flowreel.trainer.targets.registry import load_target, load_text_target

    if args.resume and args.restart:
        raise UsageError("--resume and --restart: choose one")
    jp = json_progress(args)
    if args.export is not None:
        check_output_path(args.export, what="--export")
    run_dir: Path = args.out or Path("runs") / (args.image.stem if args.image else text_name(args.text))
    args.out = run_dir  # the API (trainer/api.py) returns it
    _check_run_dir(run_dir)
    load, what = (load_text_target, (args.text, args.font)) if args.text is not None else (load_target, (args.image,))
    density = load(*what, invert=args.invert, threshold=args.threshold, max_side=args.max_side,
                   **picture_options(args, args.image),
                   depth=args.depth, fill=args.fill, up=args.up, forward=args.forward)  # fmt: skip

    from flowreel.trainer.fit.devices import resolve_device
    from flowreel.trainer.fit.loop import FitConfig

    resolve_device(args.device)  # an unavailable device fails now, not after loading everything

    extra = {} if args.eval_samples is None else {"eval_samples": args.eval_samples}
    config = FitConfig(method=args.method, steps=args.steps, seed=args.seed, device=args.device,
                       max_seconds=args.max_seconds, **extra)  # fmt: skip
    try:
        config.resolved()
    except ValueError as e:
        raise UsageError(str(e)) from None
    with folder_lock(run_dir, "fitting", say=lambda m: say(args, f"fit: {m}")):
        density = _resume_or_restart(args, run_dir, density, config)
        return _fit_held(args, run_dir, density, config, jp)


def _resume_or_restart(args: argparse.Namespace, run_dir: Path, density, config) -> object:
    """Decide how a fit into `run_dir` starts (sets args.resume); returns the target to fit.

    A checkpoint of the same picture and settings resumes (said in a line), other settings are refused
    in one line, --restart discards it, --resume continues it with its saved settings."""
    from flowreel.trainer.fit.checkpoints import CHECKPOINT, discard_run, settings_differ
    from flowreel.trainer.targets.registry import load_saved_target, saved_target_path, target_dim

    there = (run_dir / CHECKPOINT).exists() and saved_target_path(run_dir) is not None
    if args.resume and not there:
        raise UsageError(f"--resume: nothing to resume in {run_dir} (no checkpoint); drop --resume to start")
    if args.restart or not there:
        if args.restart and there:
            say(args, f"starting over in {run_dir} (--restart): its fit is discarded")
        discard_run(run_dir)
        return density
    saved = load_saved_target(run_dir)
    if saved.sha256 != density.sha256 or saved.options != density.options:
        raise UsageError(f"{run_dir} was fitted on {saved.name} with other image options; use the same image and "
                         "options, --restart to start over, or another --out")
    if not args.resume:
        differ = settings_differ(run_dir, config, target_dim(density))
        if differ:
            raise UsageError(f"{run_dir} holds a fit with other settings ({', '.join(differ)} differ): --restart to "
                             "start over, --resume to continue it with its own, or another --out")
        done = (run_dir / "metrics.json").exists()
        say(args, f"{'reusing the finished' if done else 'resuming the'} fit in {run_dir} (same picture and settings; "
            "--restart starts over)")
    args.resume = True
    return saved


def _fit_held(args: argparse.Namespace, run_dir: Path, density, config, jp) -> int:
    """cmd_fit's fit and export, with `run_dir` held by this process and args.resume decided."""
    from flowreel.trainer.fit.loop import fit
    from flowreel.trainer.fit.runs import load_run
    from flowreel.trainer.flow.trajfile import check_output_path
    from flowreel.trainer.targets.registry import describe

    say(args, f"{'resuming' if args.resume else 'fitting'} {density.name} ({describe(density)}) with {args.method} "
        f"-> {run_dir}")
    on_step = None
    if jp is not None:
        saved_config = json.loads((run_dir / "config.json").read_text()) if args.resume else None
        total = int(saved_config["steps"]) if saved_config else config.resolved().steps
        jp.emit("start", stage="fit", run_dir=str(run_dir), steps=total, resume=bool(args.resume))

        def on_step(step: int, loss: float) -> None:
            jp.step("fit", step, total, loss)
            if step == total:
                jp.emit("stage", stage="eval")

    from flowreel.trainer.fit.stopping import FitInterrupted

    try:
        metrics = fit(density, config, run_dir, resume=args.resume, progress=not args.quiet, on_step=on_step)
    except FitInterrupted as e:
        if jp is not None:  # the checkpoint is saved: a driving program offers to resume
            jp.emit("done", status="interrupted", step=e.step, run_dir=str(run_dir))
        raise
    say(args, f"fitted in {metrics.get('seconds', 0):.1f} s ({metrics.get('steps')} steps): {quality_line(metrics)}; "
        f"preview {run_dir / 'preview.png'}")
    if args.export is not None:
        check_output_path(args.export, what="--export")  # the folder may have changed during a long fit
        _export(load_run(run_dir, device=args.device), args, args.export)
    if jp is not None:
        jp.emit("done", status="ok", run_dir=str(run_dir), export=None if args.export is None else str(args.export),
                steps=metrics.get("steps"), seconds=metrics.get("seconds"), excess_tv=metrics.get("excess_tv"))
    return 0


def text_name(text: str) -> str:
    """The name of a --text run folder: text-Hello."""
    from flowreel.trainer.targets.text import text_name as name

    return name(text)


def quality_line(metrics: dict) -> str:
    """The fit's quality in words: excess TV for a picture, Chamfer and coverage next to their floor in 3-D."""
    if "chamfer" in metrics:
        return (f"Chamfer {metrics['chamfer']:.4f} (floor {metrics['chamfer_floor']:.4f}), coverage "
                f"{metrics['coverage']:.3f} (floor {metrics['coverage_floor']:.3f})")  # fmt: skip
    return f"excess TV {metrics.get('excess_tv', float('nan')):.3f} (0 = as good as sampling the picture)"


def _check_run_dir(run_dir: Path) -> None:
    if run_dir.exists() and not run_dir.is_dir():
        raise UsageError(f"--out {run_dir}: exists and is not a directory")
    parent = run_dir if run_dir.exists() else next((p for p in run_dir.parents if p.exists()), Path("."))
    if not os.access(parent, os.W_OK | os.X_OK):
        raise UsageError(f"--out {run_dir}: {parent} is not writable")


# ---- export ----------------------------------------------------------------------------------------
def _export_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("run_dir", type=Path, metavar="RUN_DIR", help="a directory written by `trainer fit`")
    p.add_argument("--export", type=Path, metavar="TRAJ.npz", required=True, help="output trajectory file")
    add_export_options(p)
    p.add_argument("--seed", dest="export_seed", type=nonneg_int, default=argparse.SUPPRESS,
                   help="alias of --export-seed")  # fmt: skip
    add_device(p, default="cpu")
    add_sequence_options(p, export=True)
    p.add_argument("-q", "--quiet", action="store_true", help="no progress output")
    add_progress(p)


@command(
    "export",
    "integrate a fitted run into a trajectory file",
    """  trainer export runs/logo --export traj.npz
  trainer export runs/logo --export big.npz --particles 300000 --frames 481 --seed 7
  trainer export runs/logo --export lp.npz --particles 20000 --logp
  trainer export runs/seq --export seq.npz --particles 60000 --frames-per-move 72   # a sequence folder
""",
    _export_args,
)
def cmd_export(args: argparse.Namespace) -> int:
    """Integrate particles from t=0 (noise) to t=1 (image) with torchdiffeq's adaptive solver; every
    frame time comes from the same solve. Writes a flowreel.traj/2 file (see docs/format.md)."""
    from flowreel.trainer.flow.trajfile import check_output_path
    from flowreel.trainer.sequence.plan import is_sequence

    jp = json_progress(args)
    if is_sequence(args.run_dir):
        export_sequence_cli(args)
    else:
        check_output_path(args.export, what="--export")
        _export(_load_run(args.run_dir, args.device), args, args.export)
    if jp is not None:
        jp.emit("done", status="ok", run_dir=str(args.run_dir), export=str(args.export))
    return 0


# ---- eval --------------------------------------------------------------------------------------------
def _eval_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("run_dir", type=Path, metavar="RUN_DIR", help="a directory written by `trainer fit`")
    p.add_argument(
        "--samples",
        type=positive_int,
        metavar="N",
        default=2000,
        help="held-out image samples for the NLL (default: %(default)s)",
    )
    p.add_argument(
        "--tv-particles",
        type=positive_int,
        metavar="N",
        default=100_000,
        help="particles for the excess TV (default: %(default)s)",
    )
    p.add_argument(
        "--seed",
        type=nonneg_int,
        metavar="N",
        default=12345,
        help="seed of the held-out samples and particles (default: %(default)s)",
    )
    add_device(p, default="cpu")
    p.add_argument("-q", "--quiet", action="store_true", help="print only the table")


@command(
    "eval",
    "score a fitted run: NLL vs the image's entropy, excess TV",
    """  trainer eval runs/logo
  trainer eval runs/logo --samples 10000 --seed 1
""",
    _eval_args,
)
def cmd_eval(args: argparse.Namespace) -> int:
    """Negative log-likelihood (nats) of fresh samples of the image density under the flow, next to the
    density's exact entropy (the NLL's lower bound), and the excess histogram TV of the flow's t=1
    particles. Writes RUN_DIR/eval.json."""
    from flowreel.trainer.flow.trajfile import check_output_path
    from flowreel.trainer.metrics.evaluate import evaluate_run, report_rows

    out = args.run_dir / "eval.json"
    run = _load_run(args.run_dir, args.device)
    check_output_path(out, (".json",), what="eval")
    result = {"run_dir": str(args.run_dir),
              **evaluate_run(run, args.samples, args.tv_particles, args.seed, progress=not args.quiet)}
    rows = report_rows(result)
    width = max(len(r[0]) for r in rows)
    print(f"{result['image']}  {result['method']}  {result['steps']} steps  ({args.run_dir})")
    for k, v in rows:
        print(f"  {k:<{width}}  {v}")
    with atomic_write(out) as f:
        f.write((json.dumps(result, indent=2) + "\n").encode())
    say(args, f"wrote {out}")
    return 0


# ---- preview -------------------------------------------------------------------------------------
def _preview_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("traj", type=Path, metavar="TRAJ.npz", help="a trajectory file")
    p.add_argument("-o", "--output", type=Path, required=True, metavar="OUT.gif|OUT.mp4", help="video to write")
    p.add_argument(
        "--size",
        type=size_int,
        metavar="PX",
        default=512,
        help="longer side of the video in pixels (default: %(default)s)",
    )
    p.add_argument("--fps", type=positive_float, default=24.0, help="frames per second (default: %(default)s)")
    p.add_argument("--frames", type=frames_int, metavar="N", help="use this many evenly spaced frames (default: all)")
    p.add_argument(
        "--hold", type=nonneg_float, default=1.0, help="seconds to hold the final image (default: %(default)s)"
    )
    p.add_argument(
        "--glow", type=nonneg_float, default=0.6, help="strength of the soft glow (0 = none) (default: %(default)s)"
    )
    p.add_argument("--max-positions-gb", type=positive_float, metavar="GB",
                   help="read positions up to this size (default: $FLOWREEL_MAX_POSITIONS_GB, else 8)")
    p.add_argument("-q", "--quiet", action="store_true", help="no output")


@command(
    "preview",
    "quick GIF/MP4 of a trajectory file, no Blender needed",
    """  trainer preview traj.npz -o preview.gif
  trainer preview traj.npz -o preview.mp4 --size 720 --fps 30
  trainer preview traj.npz -o small.gif --size 256 --frames 61 --fps 12
""",
    _preview_args,
)
def cmd_preview(args: argparse.Namespace) -> int:
    """Splat the particles of every frame into an image (white on dark, soft glow) and encode with ffmpeg."""
    from flowreel.trainer.film.preview import preview

    t0 = time.perf_counter()
    limit = None if args.max_positions_gb is None else args.max_positions_gb * 1e9
    path, n = preview(args.traj, args.output, size=args.size, fps=args.fps, frames=args.frames, hold=args.hold,
                      glow=args.glow, max_bytes=limit)  # fmt: skip
    say(args, f"wrote {path} ({n} frames, {mb(Path(path))}) in {time.perf_counter() - t0:.1f} s")
    return 0


