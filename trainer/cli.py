"""The `trainer` command: fit, export, eval, preview (and whatever other modules register).

Subcommands live in a registry (`COMMANDS`, filled by `command(...)`), so another module adds one
with the same decorator and by being listed in PLUGINS; nothing here needs editing for it.

Errors a user can cause (bad image, bad flag, unwritable output, missing run) become ONE line
``trainer: error: ...`` on stderr and a non-zero exit, never a traceback; `--debug` (or
FLOWREEL_DEBUG=1) re-raises instead, for developers. Output paths are checked before long work.
Heavy imports (torch) happen inside the commands so `trainer --help` is instant.
"""

from __future__ import annotations

import argparse
import inspect
import json
import math
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from flowreel.addon.core.options import number

PROG = "trainer"
EXIT_ERROR, EXIT_USAGE, EXIT_INTERRUPTED = 1, 2, 130
PLUGINS = ("flowreel.trainer.cli_movie",)  # modules that register more subcommands (render, movie); optional


# ---- the registry ------------------------------------------------------------------------------
@dataclass
class Command:
    name: str
    help: str
    examples: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]
    description: str = ""


COMMANDS: dict[str, Command] = {}


def command(name: str, help: str, examples: str, add_arguments: Callable[[argparse.ArgumentParser], None]):
    """Decorator registering `run(args) -> exit code` as subcommand `name` (examples shown in --help)."""

    def deco(run: Callable[[argparse.Namespace], int]):
        COMMANDS[name] = Command(name, help, examples, add_arguments, run, inspect.cleandoc(run.__doc__ or help))
        return run

    return deco


class UsageError(Exception):
    """A bad command line found after parsing (exit 2, one line)."""


# ---- argparse with one-line errors -------------------------------------------------------------
class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # argparse prints usage + error; we print one line
        raise UsageError(message)


class _Formatter(argparse.RawDescriptionHelpFormatter):
    """Keeps the examples' layout; shows a default only where the help text asks (%(default)s)."""


_number = number  # argparse types: a kind, a range, a name for messages


positive_int = _number(int, lo=1, what="a positive integer")
nonneg_int = _number(int, lo=0, what="an integer >= 0")
positive_float = _number(float, lo=0, lo_open=True, what="a positive number")
nonneg_float = _number(float, lo=0, what="a number >= 0")
open_fraction = _number(float, lo=0, hi=1, lo_open=True, hi_open=True, what="a number between 0 and 1 (exclusive)")
frames_int = _number(int, lo=2, what="an integer >= 2")
size_int = _number(int, lo=16, hi=8192, what="a size between 16 and 8192 pixels")


def build_parser() -> argparse.ArgumentParser:
    _load_plugins()
    parser = _Parser(
        prog=PROG,
        description="Flowreel trainer: fit a continuous normalizing flow to an image, export particle trajectories.",
        epilog="Run `trainer COMMAND --help` for a command's options and examples.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    from flowreel.trainer import __version__

    parser.add_argument("--version", action="version", version=f"flowreel trainer {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks (also FLOWREEL_DEBUG=1)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for cmd in COMMANDS.values():
        p = sub.add_parser(
            cmd.name,
            help=cmd.help,
            description=cmd.description,
            epilog="examples:\n" + cmd.examples.rstrip(),
            formatter_class=_Formatter,
        )
        cmd.add_arguments(p)
        p.add_argument(
            "--debug", action="store_true", default=argparse.SUPPRESS, help="show tracebacks (also FLOWREEL_DEBUG=1)"
        )
        p.set_defaults(_run=cmd.run)
    return parser


def _load_plugins() -> None:
    import importlib

    for mod in PLUGINS:
        try:
            importlib.import_module(mod)
        except ModuleNotFoundError as e:
            if e.name != mod:  # the plugin exists but something it imports is missing: a real error
                raise


# ---- error handling ----------------------------------------------------------------------------
def _err(message: str) -> None:
    text = " ".join(str(message).split())  # exactly one line
    print(f"{PROG}: error: {text}", file=sys.stderr, flush=True)


def _friendly_errors() -> tuple[type[BaseException], ...]:
    """Exception types whose message is already a one-line, user-facing explanation."""
    from flowreel.addon.core.encode import EncodeError
    from flowreel.addon.core.trajformat import TrajectoryError
    from flowreel.trainer.density import DensityError
    from flowreel.trainer.trajfile import OutputPathError

    types: list[type[BaseException]] = [DensityError, TrajectoryError, EncodeError, OutputPathError]
    optional = (("flowreel.trainer.fit", "DeviceError"), ("flowreel.trainer.movie", "MovieError"),
                ("flowreel.trainer.launch", "LaunchError"),
                ("flowreel.trainer.sheet", "SheetError"))
    for mod, name in optional:  # only modules already imported can have raised (and importing torch is slow)
        cls = getattr(sys.modules.get(mod), name, None)
        if cls is not None:
            types.append(cls)
    return tuple(types)


def _os_error_line(e: OSError) -> str:
    if e.filename and e.strerror:
        return f"{e.filename}: {e.strerror}"
    return str(e) or type(e).__name__


def main(argv: list[str] | None = None) -> int:
    """Entry point (console script `trainer`); returns the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv or os.environ.get("FLOWREEL_DEBUG", "") not in ("", "0")
    try:
        parser = build_parser()
        try:
            args = parser.parse_args(argv)
        except SystemExit as e:  # --help / --version
            return int(e.code or 0)
        if getattr(args, "_run", None) is None:
            parser.print_help(sys.stderr)
            return EXIT_USAGE
        return int(args._run(args) or 0)
    except UsageError as e:
        if debug:
            raise
        _err(e)
        return EXIT_USAGE
    except KeyboardInterrupt:
        if debug:
            raise
        _err("interrupted")
        return EXIT_INTERRUPTED
    except Exception as e:  # noqa: BLE001 - the last line of defence: one line, no traceback
        if debug:
            raise
        from_fit = type(e).__name__ == "FitInterrupted"
        if from_fit:
            _err(f"interrupted at step {e.step}; run the same command with --resume to continue")
            return EXIT_INTERRUPTED
        if isinstance(e, _friendly_errors()) or isinstance(e, ValueError):
            _err(e)
        elif isinstance(e, OSError):
            _err(_os_error_line(e))
        else:
            _err(f"unexpected {type(e).__name__}: {e} (run with --debug for a traceback)")
        return EXIT_ERROR


# ---- shared option groups ----------------------------------------------------------------------
def _add_device(p: argparse.ArgumentParser, default: str = "auto") -> None:
    p.add_argument(
        "--device",
        default=default,
        help="auto (cuda, then mps, then cpu), cpu, cuda, cuda:N or mps (default: %(default)s)",
    )


def _add_export_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--particles",
        type=positive_int,
        metavar="N",
        default=100_000,
        help="number of particles (default: %(default)s)",
    )
    p.add_argument(
        "--frames",
        type=frames_int,
        metavar="N",
        default=241,
        help="frames (equally spaced times from 0 to 1) (default: %(default)s)",
    )
    p.add_argument(
        "--export-seed",
        dest="export_seed",
        type=nonneg_int,
        metavar="N",
        default=0,
        help="seed of the t=0 noise (default: %(default)s)",
    )
    p.add_argument("--logp", action="store_true", help="also store each particle's log-density (slower)")
    p.add_argument("--tol", type=positive_float, metavar="X", default=None,
                   help="solver rtol = atol (default: 1e-4; 1e-5 is ~2x slower for the same picture)")  # fmt: skip


def _say(args: argparse.Namespace, text: str) -> None:
    if not getattr(args, "quiet", False):
        print(text, flush=True)


def _mb(path: Path) -> str:
    return f"{path.stat().st_size / 1e6:.1f} MB"


def _export(run, args: argparse.Namespace, out: Path) -> None:
    from flowreel.trainer import trajfile
    from flowreel.trainer.export import export_trajectories

    t0 = time.perf_counter()
    _say(args, f"exporting {args.particles} particles x {args.frames} frames ...")
    tol = {} if args.tol is None else {"rtol": args.tol, "atol": args.tol}
    traj = export_trajectories(
        run, args.particles, args.frames, seed=args.export_seed, logp=args.logp, progress=not args.quiet, **tol
    )
    trajfile.write(out, traj)
    _say(args, f"wrote {out} ({_mb(out)}) in {time.perf_counter() - t0:.1f} s")


def _load_run(run_dir: Path, device: str):
    from flowreel.trainer.fit import load_run

    if not run_dir.exists():
        raise UsageError(f"{run_dir}: no such run directory (create one with `trainer fit IMAGE --out {run_dir}`)")
    return load_run(run_dir, device=device)


# ---- fit -----------------------------------------------------------------------------------------
def _fit_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("image", type=Path, help="PNG/JPEG/... picture; ink = alpha, else darkness")
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
    _add_device(p)
    g = p.add_argument_group("image")
    g.add_argument("--invert", action="store_true", help="light ink on a dark background")
    g.add_argument("--threshold", type=open_fraction, metavar="X", help="binarize the ink at this level")
    g.add_argument("--max-side", type=_number(int, lo=16, hi=4096, what="an integer from 16 to 4096"), default=512,
                   help="working size of the image's longer side (default: %(default)s)")  # fmt: skip
    p.add_argument("--resume", action="store_true", help="continue an interrupted fit in RUN_DIR")
    g = p.add_argument_group("export (with --export)")
    _add_export_options(g)
    p.add_argument("-q", "--quiet", action="store_true", help="no progress output")


@command(
    "fit",
    "fit a flow to an image (and optionally export trajectories)",
    """  trainer fit examples/logo.png --export traj.npz          # default: flow matching, runs/logo
  trainer fit logo.png --out runs/logo --steps 1000 --seed 3
  trainer fit neon.jpg --invert --threshold 0.5 --export neon.npz
  trainer fit logo.png --method ffjord --device cuda
  trainer fit logo.png --resume                             # after Ctrl-C
""",
    _fit_args,
)
def cmd_fit(args: argparse.Namespace) -> int:
    """Fit a continuous normalizing flow from N(0, I) (t=0) to the image's density (t=1).

    Writes RUN_DIR/{checkpoint.pt, config.json, metrics.json, preview.png, density.npz}.
    Ctrl-C saves a checkpoint; run the same command with --resume to continue.
    """
    from flowreel.trainer.density import ImageDensity, load_density
    from flowreel.trainer.trajfile import check_output_path

    if args.export is not None:
        check_output_path(args.export, what="--export")
    run_dir: Path = args.out or Path("runs") / args.image.stem
    _check_run_dir(run_dir)
    density = load_density(args.image, invert=args.invert, threshold=args.threshold, max_side=args.max_side)

    from flowreel.trainer.fit import FitConfig, fit, load_run, resolve_device

    resolve_device(args.device)  # an unavailable device fails now, not after loading everything

    if args.resume:
        if not (run_dir / "checkpoint.pt").exists() or not (run_dir / "density.npz").exists():
            raise UsageError(f"--resume: nothing to resume in {run_dir} (no checkpoint); drop --resume to start")
        saved = ImageDensity.load_saved(run_dir / "density.npz")
        if saved.sha256 != density.sha256 or saved.options != density.options:
            raise UsageError(
                f"--resume: {run_dir} was fitted on {saved.name} with other image options; "
                "use the same image and options, or another --out"
            )
        density = saved
    config = FitConfig(method=args.method, steps=args.steps, seed=args.seed, device=args.device,
                       max_seconds=args.max_seconds)  # fmt: skip
    try:
        config.resolved()
    except ValueError as e:
        raise UsageError(str(e)) from None
    h, w = density.shape
    _say(args, f"{'resuming' if args.resume else 'fitting'} {density.name} ({w}x{h}) with {args.method} -> {run_dir}")
    metrics = fit(density, config, run_dir, resume=args.resume, progress=not args.quiet)
    _say(
        args,
        f"fitted in {metrics.get('seconds', 0):.1f} s ({metrics.get('steps')} steps): "
        f"excess TV {metrics.get('excess_tv', float('nan')):.3f} (0 = as good as sampling the picture); "
        f"preview {run_dir / 'preview.png'}",
    )
    if args.export is not None:
        check_output_path(args.export, what="--export")  # the folder may have changed during a long fit
        _export(load_run(run_dir, device=args.device), args, args.export)
    return 0


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
    _add_export_options(p)
    p.add_argument("--seed", dest="export_seed", type=nonneg_int, default=argparse.SUPPRESS,
                   help="alias of --export-seed")  # fmt: skip
    _add_device(p, default="cpu")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress output")


@command(
    "export",
    "integrate a fitted run into a trajectory file",
    """  trainer export runs/logo --export traj.npz
  trainer export runs/logo --export big.npz --particles 300000 --frames 481 --seed 7
  trainer export runs/logo --export lp.npz --particles 20000 --logp
""",
    _export_args,
)
def cmd_export(args: argparse.Namespace) -> int:
    """Integrate particles from t=0 (noise) to t=1 (image) with torchdiffeq's adaptive solver; every
    frame time comes from the same solve. Writes a flowreel.traj/1 file (see docs/format.md)."""
    from flowreel.trainer.trajfile import check_output_path

    check_output_path(args.export, what="--export")
    _export(_load_run(args.run_dir, args.device), args, args.export)
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
    _add_device(p, default="cpu")
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
    import numpy as np
    import torch

    from flowreel.trainer import flow
    from flowreel.trainer.export import initial_noise
    from flowreel.trainer.metrics import excess_tv, histogram_tv

    out = args.run_dir / "eval.json"
    run = _load_run(args.run_dir, args.device)
    from flowreel.trainer.trajfile import check_output_path

    check_output_path(out, (".json",), what="eval")
    rng = np.random.default_rng(args.seed)
    density = run.density
    device = next(run.model.parameters()).device
    t0 = time.perf_counter()
    x = torch.from_numpy(density.sample(args.samples, rng)).to(device)
    lp = flow.log_prob(run.model, x).double().cpu().numpy()
    nll = float(-lp.mean())
    nll_se = float(lp.std(ddof=1) / math.sqrt(len(lp))) if len(lp) > 1 else float("nan")
    t_nll = time.perf_counter() - t0
    t0 = time.perf_counter()
    z0 = torch.from_numpy(initial_noise(args.tv_particles, args.seed)).to(device)
    pos, _ = flow.integrate(run.model, z0, torch.tensor([0.0, 1.0], device=device), progress=not args.quiet)
    x1 = pos[-1]
    tv = histogram_tv(x1, density)
    etv = excess_tv(x1, density, rng)
    t_tv = time.perf_counter() - t0
    entropy = density.entropy()
    result = {
        "run_dir": str(args.run_dir),
        "image": density.name,
        "method": run.metrics.get("method"),
        "steps": run.metrics.get("steps"),
        "nll_nats": nll,
        "nll_stderr": nll_se,
        "entropy_nats": entropy,
        "nll_gap_nats": nll - entropy,
        "nll_samples": args.samples,
        "histogram_tv": tv,
        "excess_tv": etv,
        "tv_particles": args.tv_particles,
        "seed": args.seed,
        "seconds": {"nll": round(t_nll, 3), "tv": round(t_tv, 3)},
    }
    rows = [
        ("NLL of held-out image samples", f"{nll:.4f} ± {nll_se:.4f} nats"),
        ("entropy of the image density (lower bound)", f"{entropy:.4f} nats"),
        ("gap (NLL - entropy = KL)", f"{nll - entropy:.4f} nats"),
        ("histogram TV, 64x64 bins", f"{tv:.4f}"),
        ("excess TV (0 = exact sampling)", f"{etv:.4f}"),
    ]
    width = max(len(r[0]) for r in rows)
    print(f"{density.name}  {result['method']}  {result['steps']} steps  ({args.run_dir})")
    for k, v in rows:
        print(f"  {k:<{width}}  {v}")
    tmp = out.with_name(f".{out.name}.partial")
    tmp.write_text(json.dumps(result, indent=2) + "\n")
    os.replace(tmp, out)
    _say(args, f"wrote {out}")
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
    from flowreel.trainer.preview import preview

    t0 = time.perf_counter()
    path, n = preview(args.traj, args.output, size=args.size, fps=args.fps, frames=args.frames, hold=args.hold,
                      glow=args.glow)  # fmt: skip
    _say(args, f"wrote {path} ({n} frames, {_mb(Path(path))}) in {time.perf_counter() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    # Run the imported module's main, not this __main__ copy: plugins register into `trainer.cli`.
    from flowreel.trainer.cli import main as _main

    sys.exit(_main())
