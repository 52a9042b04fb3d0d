"""The Python API: `from flowreel import fit, export, movie`, for notebooks and pipeline scripts.

Each verb takes the options of its `trainer` subcommand as keyword arguments (the flag's name with
underscores: `--max-side 256` is `max_side=256`, `--gif` is `gif=True`), parses them with the very parser
the command line uses (same defaults, same checks, same one-line messages), and runs the same command.
So the CLI and the API cannot drift apart: `trainer fit` is `argv -> parse -> run`, the API is
`keywords -> parse -> run`. Results come back as paths and metrics; bad input raises a FlowreelError
subclass (UsageError for a bad option), never SystemExit.

    from flowreel import fit, export, movie
    run = fit("logo.png", out="runs/logo", steps=500)        # -> FitResult(run_dir, export, metrics)
    traj = export(run.run_dir, "logo.npz", particles=20000)  # -> Path
    film = movie("logo.png", output="logo.mp4", gif=True)    # -> MovieResult(files, metrics, ...)
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flowreel.addon.core.errors import FlowreelError, UsageError

Target = str | os.PathLike


class Interrupted(FlowreelError):
    """Ctrl-C (or a stop) ended the job early; what was done is kept, and the same call resumes it."""


@dataclass
class FitResult:
    run_dir: Path  # the run folder (checkpoint, config, metrics, preview.png); a sequence's folder for several
    export: Path | None  # the trajectory file, when `export=` was given
    metrics: dict  # metrics.json: excess TV for a picture, Chamfer and coverage in 3-D, seconds, steps


def _flag(name: str, value: Any) -> list[str]:
    """One keyword as command-line words: `--name=value` (a value starting with '-' stays a value)."""
    flag = "--" + name.replace("_", "-")
    if value is None or value is False:
        return []
    if value is True:
        return [flag]
    if isinstance(value, (tuple, list)):
        if name == "resolution":
            return [f"{flag}={value[0]}x{value[1]}"]
        if name == "times":  # nargs="+" options
            return [flag, *map(str, value)]
        return [f"{flag}={','.join(str(v) for v in value)}"]
    return [f"{flag}={os.fspath(value) if isinstance(value, os.PathLike) else value}"]


def _run(command: str, positional: Sequence[Target], options: dict[str, Any]) -> argparse.Namespace:
    """Parse `options` with `trainer COMMAND`'s parser and run it; the parsed arguments (with what it set)."""
    from flowreel.trainer.cli import build_parser
    from flowreel.trainer.cli.args import EXIT_INTERRUPTED

    argv = [command, *(os.fspath(p) for p in positional)]
    for name, value in options.items():
        if not name.isidentifier() or name.startswith("_"):
            raise UsageError(f"{command}: no option {name!r}")
        argv += _flag(name, value)
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit:  # argparse exits only for --help / --version, which no keyword spells
        raise UsageError(f"{command}: bad options") from None
    code = args._run(args)
    if code == EXIT_INTERRUPTED:
        raise Interrupted(f"{command} interrupted; what is done is kept, the same call resumes it")
    if code:
        raise FlowreelError(f"{command} failed (exit {code})")
    return args


def fit(*targets: Target, text: str | None = None, **options: Any) -> FitResult:
    """Fit a flow to a picture, an SVG, a 3-D file, several pictures (a sequence) or `text`, as `trainer fit`
    does; `export=PATH` also writes the trajectory file. Resumes or reuses a matching run like the command."""
    args = _run("fit", targets, {"text": text, **options})
    run_dir = Path(args.out)
    metrics_file = run_dir / "metrics.json"
    metrics = json.loads(metrics_file.read_text()) if metrics_file.is_file() else {}
    return FitResult(run_dir, None if args.export is None else Path(args.export), metrics)


def export(run_dir: Target, output: Target, **options: Any) -> Path:
    """Integrate a fitted run (or a sequence folder) into the trajectory file `output`, as `trainer export`."""
    _run("export", [run_dir], {"export": output, **options})
    return Path(output)


def movie(*targets: Target, output: Target, text: str | None = None, **options: Any):
    """Picture(s) or `text` in, film out, as `trainer movie`: fit or reuse, export, render, encode. Returns the
    MovieResult (files: film, GIF, contact sheet; stage_seconds; excess_tv; reused_fit; metrics)."""
    args = _run("movie", targets, {"output": output, "text": text, **options})
    return args.result
