"""What the `trainer` subcommands share: the command record, argparse types, option groups, output lines.

No torch here: `trainer --help` stays instant.
"""

from __future__ import annotations

import argparse
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from flowreel.addon.core.contract import presets
from flowreel.addon.core.errors import UsageError
from flowreel.addon.core.options import number

EXIT_ERROR, EXIT_USAGE, EXIT_INTERRUPTED = 1, 2, 130


@dataclass
class Command:
    """One subcommand: its name, help, examples, arguments and `run(args) -> exit code`."""

    name: str
    help: str
    examples: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]
    description: str = ""


def command(name: str, help: str, examples: str, add_arguments: Callable[[argparse.ArgumentParser], None]):
    """Decorator describing `run(args) -> exit code` as subcommand `name` (trainer.cli lists the commands)."""

    def deco(run: Callable[[argparse.Namespace], int]):
        run.command = Command(name, help, examples, add_arguments, run, inspect.cleandoc(run.__doc__ or help))
        return run

    return deco


class Parser(argparse.ArgumentParser):
    def error(self, message: str):  # argparse prints usage + error; we print one line
        raise UsageError(message)

    def parse_known_args(self, args=None, namespace=None):
        if args is not None and any(a.dest == "preset" for a in self._actions):  # a subcommand with --preset
            presets.apply_defaults(self, args)  # its values become defaults: flags given still win
        return super().parse_known_args(args, namespace)


positive_int = number(int, lo=1, what="a positive integer")
nonneg_int = number(int, lo=0, what="an integer >= 0")
positive_float = number(float, lo=0, lo_open=True, what="a positive number")
nonneg_float = number(float, lo=0, what="a number >= 0")
open_fraction = number(float, lo=0, hi=1, lo_open=True, hi_open=True, what="a number between 0 and 1 (exclusive)")
frames_int = number(int, lo=2, what="an integer >= 2")
size_int = number(int, lo=16, hi=8192, what="a size between 16 and 8192 pixels")


# ---- shared option groups ----------------------------------------------------------------------
def add_device(p: argparse.ArgumentParser, default: str = "auto") -> None:
    p.add_argument(
        "--device",
        default=default,
        help="auto (cuda, then mps, then cpu), cpu, cuda, cuda:N or mps (default: %(default)s)",
    )


def add_export_options(p: argparse.ArgumentParser) -> None:
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
    add_landing(p)
    add_turbulence(p)
    p.add_argument("--tol", type=positive_float, metavar="X", default=None,
                   help="solver rtol = atol (default: 1e-4; 1e-5 is ~2x slower for the same picture)")  # fmt: skip


def add_target_options(p) -> None:
    """--depth (a picture with a body), --fill (a mesh's surface or inside), --up and --forward (a 3-D file's
    axes): 3-D targets (fit, movie)."""
    g = p.add_argument_group("3-D targets")
    g.add_argument("--depth", type=positive_float, metavar="D",
                   help="a picture becomes a slab D world units thick (z uniform in [-D/2, D/2])")  # fmt: skip
    g.add_argument("--fill", choices=("surface", "volume"), default=None,
                   help="a mesh: sample its surface (default) or the inside of a watertight mesh")  # fmt: skip
    g.add_argument("--up", type=_axis, metavar="AXIS", default=None,
                   help="a 3-D file's axis that is up: x, y, z, -x, -y or -z (default: the format's; OBJ and glTF "
                   "y, PLY, STL and point clouds z)")  # fmt: skip
    g.add_argument("--forward", type=_axis, metavar="AXIS", default=None,
                   help="a 3-D file's axis that points away from the viewer (Blender's +y; default: the format's: "
                   "OBJ and glTF -z, PLY, STL and point clouds y)")  # fmt: skip


def _axis(text: str) -> str:
    """argparse type of --up / --forward (addon/core/contract/shapes3d.py parses; its one line is argparse's error)."""
    from flowreel.addon.core.contract.shapes3d import AxisError, parse_axis

    try:
        return parse_axis(text)
    except AxisError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def add_text_options(p) -> None:
    """--text and --font: a word or a title drawn as the picture (fit, movie; trainer/targets/text.py)."""
    g = p.add_argument_group("text (instead of a picture)")
    g.add_argument("--text", metavar="WORDS",
                   help='draw these words as the picture, e.g. --text "Hello" (a typed \\n breaks the line)')
    g.add_argument("--font", type=Path, metavar="FILE.ttf",
                   help="a TrueType or OpenType font for --text (default: DejaVu Sans Bold, shipped with Flowreel)")


def check_text_or_pictures(args: argparse.Namespace) -> None:
    """fit and movie: one or more pictures, or --text (with --font); a one-line UsageError otherwise."""
    text, font = getattr(args, "text", None), getattr(args, "font", None)
    if text is None and font is not None:
        raise UsageError("--font is for --text")
    if text is not None and args.image:
        raise UsageError("give a picture or --text, not both")
    if text is None and not args.image:
        raise UsageError("give a picture (two or more for a sequence), a 3-D file or --text WORDS")


def add_picture_options(g) -> None:
    """--crop and --frame: what of a picture file is read (fit, movie; trainer/targets/picture.py)."""
    g.add_argument("--crop", choices=("ink", "none"), default=None,
                   help="ink: keep the ink's box plus a small margin, so padding costs neither framing nor resolution "
                   "(default; each picture of a sequence on its own); none: the whole canvas (pictures designed "
                   "to line up)")  # fmt: skip
    g.add_argument("--frame", type=nonneg_int, metavar="N", default=None,
                   help="the frame of an animated picture (GIF, APNG, WebP) to use (default: the first)")


def picture_options(args: argparse.Namespace, image: Path | None) -> dict:
    """--crop / --frame as density options: always for a picture file (they key its runs, so a changed
    crop is another fit), only when given otherwise (a 3-D file or --text refuses them in one line)."""
    from flowreel.trainer.targets.registry import is_3d_file

    crop, frame = getattr(args, "crop", None), getattr(args, "frame", None)
    if image is not None and not is_3d_file(image):
        return {"crop": crop or "ink", "frame": frame}
    return {k: v for k, v in (("crop", crop), ("frame", frame)) if v is not None}


def add_turbulence(p) -> None:
    """--turbulence AMOUNT --turbulence-scale S: curl noise on the paths (export, fit --export, movie)."""
    p.add_argument("--turbulence", type=nonneg_float, metavar="AMOUNT", default=0.0,
                   help="swirl the paths with curl noise of about this size in world units (the picture spans 8); "
                   "0 at the start, at every picture and at the end (default: 0, none)")  # fmt: skip
    p.add_argument("--turbulence-scale", type=positive_float, metavar="S", default=1.5,
                   help="size of a swirl in world units (default: %(default)s)")


def add_landing(p) -> None:
    """--landing exact|flow (export, fit --export, movie)."""
    p.add_argument("--landing", choices=("exact", "flow"), default="exact",
                   help="exact: paths end on exact samples of the picture, the flow gives the way there; "
                   "flow: the flow's own ends (default: %(default)s)")  # fmt: skip


def add_cluster(p: argparse.ArgumentParser) -> None:
    """--cluster ADDRESS: render (and fit a sequence's flows) on a Ray cluster (trainer/cluster/)."""

    def address(text: str) -> str:
        from flowreel.trainer.cluster.connect import check_address

        try:
            return check_address(text)
        except ValueError as e:
            raise argparse.ArgumentTypeError(str(e)) from None

    p.add_argument("--cluster", type=address, metavar="ADDRESS",
                   help="render on a Ray cluster: HOST:PORT or ray://HOST:PORT (its head), auto (the cluster this "
                   "machine belongs to) or local (one started for this run); needs flowreel[cluster]")  # fmt: skip


def add_progress(p: argparse.ArgumentParser) -> None:
    p.add_argument("--progress", choices=("bar", "json", "none"), default="bar",
                   help="bar: human progress on stderr (default); json: one JSON object per line on stdout, "
                        "for programs such as the Blender add-on; none: like --quiet")  # fmt: skip


def json_progress(args: argparse.Namespace):
    """The JsonProgress of `--progress json` (kept as args.json_progress), else None. JSON mode silences
    the human lines so that stdout holds nothing but JSON."""
    mode = getattr(args, "progress", "bar")
    if mode != "bar":
        args.quiet = True
    if mode != "json":
        return None
    from flowreel.trainer.fit.progress import JsonProgress

    args.json_progress = JsonProgress()
    return args.json_progress


def say(args: argparse.Namespace, text: str) -> None:
    """Print a progress line unless --quiet."""
    if not getattr(args, "quiet", False):
        print(text, flush=True)


def mb(path: Path) -> str:
    """A file's size for output lines."""
    return f"{path.stat().st_size / 1e6:.1f} MB"
