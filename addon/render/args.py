"""The render script's command line: parsing, the scene options and the output paths it asks for."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..core import background
from ..core.contract import presets, render_quality
from ..core.errors import RenderError, UsageError
from ..core.frames import default_frames_dir
from ..core.options import ENGINES, SceneOptions, add_scene_flags, choice, scene_options_from

PROG = "flowreel-render"
FILM_SUFFIXES = (".mp4", ".gif", *background.ALPHA_FORMATS)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line instead of usage + message, and no SystemExit
        raise UsageError(message)

    def parse_known_args(self, args=None, namespace=None):
        argv = sys.argv[1:] if args is None else args
        render_quality.apply_defaults(self, argv)  # flags given still win; a preset's own values over the quality's
        presets.apply_defaults(self, argv)
        return super().parse_known_args(args, namespace)


def _frame_range(text: str) -> tuple[int, int]:
    try:
        a, _, b = text.partition("-")
        first, last = int(a), int(b or a)
    except ValueError:
        raise argparse.ArgumentTypeError(f"frames must look like A-B (e.g. 1-48), got {text!r}") from None
    if first > last:
        raise argparse.ArgumentTypeError(f"frames A-B needs A <= B, got {text}")
    return first, last


def build_parser() -> argparse.ArgumentParser:
    """The render script's flags: its own, then one per scene option (from SceneOptions)."""
    p = _Parser(prog=PROG, description="Render a Flowreel trajectory file to PNG frames, MP4 and GIF.")
    p.add_argument("traj", help="trajectory file (.npz, format flowreel.traj/2, or /1)")
    p.add_argument("-o", "--output", help="film to write: .mp4, .gif, .mov (ProRes 4444), .webm (VP9) or FOLDER/ "
                   "(a PNG sequence) (default: <traj stem>.mp4 beside the file)")
    p.add_argument("--gif", action="store_true", help="also write a palette-optimised .gif beside the .mp4")
    p.add_argument("--gif-width", type=int, default=640, help="GIF width in pixels (default 640; 0 = render width)")
    p.add_argument("--no-video", action="store_true", help="render PNG frames only")
    p.add_argument("--frames-dir", help="PNG frame folder (default: <output stem>_frames/ beside the output)")
    p.add_argument("--engine", type=choice(ENGINES, True), default="CYCLES",
                   help="cycles, eevee, workbench or splat (glowing looks on flat films drawn without path tracing; "
                   "other films fall back to cycles)")
    p.add_argument("--samples", type=int, help="render samples (default: the look's)")
    p.add_argument("--frames", type=_frame_range, metavar="A-B", help="render only scene frames A..B (render farm)")
    p.add_argument("--replace-changed", action="store_true",
                   help="discard frames in the frames folder that were rendered with other settings (else: error)")
    p.add_argument("--save-blend", metavar="PATH", help="also save the scene as a .blend (renders without the add-on)")
    p.add_argument("--denoise", choices=("auto", "on", "off"), default="auto",
                   help="Cycles denoising; auto = on where the build has OpenImageDenoise")
    p.add_argument("-v", "--verbose", action="store_true", help="show Blender's own render output")
    add_scene_flags(p, "render")
    presets.add_preset_flag(p)
    render_quality.add_quality_flag(p)
    return p


def scene_options(args: argparse.Namespace) -> SceneOptions:
    """The SceneOptions the flags ask for (checked: a bad value raises a one-line error)."""
    opts = scene_options_from(args)
    opts.check()
    return opts


def output_paths(args: argparse.Namespace) -> tuple[Path, list[Path]]:
    """(frames folder, videos to write) from -o / --gif / --frames-dir / --no-video."""
    traj = Path(args.traj)
    out = Path(args.output) if args.output else traj.with_suffix(".mp4")
    try:
        bg = background.parse_background(args.background)
        if not args.no_video:  # frames only: PNGs keep any background
            background.check_output(args.output or out, bg, args.gif)
    except background.BackgroundError as e:
        raise RenderError(str(e)) from None
    if args.output and background.is_folder_output(args.output):  # a PNG sequence: the frames are the film
        return (Path(args.frames_dir) if args.frames_dir else out), []
    if out.suffix.lower() not in FILM_SUFFIXES:
        raise RenderError(f"output {out.name}: use a .mp4, .gif, .mov or .webm name, or a folder for PNG frames")
    videos = [] if args.no_video else [out]
    if args.gif and out.suffix.lower() != ".gif" and not args.no_video:
        videos.append(out.with_suffix(".gif"))
    frames = Path(args.frames_dir) if args.frames_dir else default_frames_dir(out)
    return frames, videos


def script_argv() -> list[str]:
    """Our arguments: after `--` under `blender -b --python render.py -- ...`, else sys.argv[1:]."""
    if "--" in sys.argv:
        return sys.argv[sys.argv.index("--") + 1 :]
    try:
        import bpy

        if bpy.app.binary_path:  # inside Blender without `--`: every argument is Blender's
            return []
    except ImportError:
        pass
    return sys.argv[1:]
