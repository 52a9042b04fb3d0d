"""The `render`, `movie` and `sheet` subcommands (listed in trainer.cli)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from flowreel.addon.core.contract import presets
from flowreel.addon.core.errors import UsageError
from flowreel.addon.core.options import add_scene_flags, number
from flowreel.trainer.cli.args import (
    EXIT_INTERRUPTED,
    add_cluster,
    add_picture_options,
    add_target_options,
    add_text_options,
    add_turbulence,
    check_text_or_pictures,
    command,
    nonneg_int,
    picture_options,
    positive_int,
)
from flowreel.trainer.cli.sequence import add_sequence_options


# ---- render ------------------------------------------------------------------------------------
def _render_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--blender", metavar="PATH", help="render with this Blender executable instead of the bpy module")
    add_cluster(p)
    p.add_argument("traj", type=Path, help="trajectory file (.npz)")
    p.add_argument(
        "render_options", nargs=argparse.REMAINDER, metavar="...",
        help="options of the render script (-o film.mp4, --look, --quality draft|final, --engine, --frames A-B ...): "
        "see `python -m flowreel.addon.render --help`",
    )  # fmt: skip


@command(
    "render",
    "render a trajectory file to PNG frames, MP4 and GIF in Blender",
    """  trainer render traj.npz -o film.mp4 --look glow --gif
  trainer render traj.npz -o film.mp4 --quality final                # trainer movie's final settings
  trainer render traj.npz -o film.mp4 --engine cycles --samples 64 --resolution 1920x1080
  trainer render traj.npz -o part.mp4 --frames 1-48                  # a render-farm slice
  trainer render --blender /opt/blender/blender traj.npz -o film.mp4  # a Blender executable
  trainer render --cluster head:6379 traj.npz -o film.mp4            # chunks of frames on a Ray cluster
""",
    _render_args,
)
def cmd_render(args: argparse.Namespace) -> int:
    """Render with the add-on's headless script: in a child process with the bpy module when it is
    installed, else with `blender -b` (PATH or --blender). Frames already rendered are kept, so an
    interrupted render resumes when run again.
    """
    from flowreel.trainer.film.launch import run_render

    if not args.traj.is_file():
        raise UsageError(f"{args.traj}: no such trajectory file")
    if args.cluster:
        from flowreel.trainer.cluster.render import cluster_render

        return cluster_render([str(args.traj), *args.render_options], args.cluster, args.blender)
    return run_render([str(args.traj), *args.render_options], args.blender)


# ---- movie -------------------------------------------------------------------------------------
def _movie_args(p: argparse.ArgumentParser) -> None:
    from flowreel.trainer.film.movie import QUALITY

    p.add_argument("image", type=Path, nargs="*", help="the picture (PNG/JPEG/SVG/...; ink = alpha, else darkness), "
                   "or a mesh (.obj .ply .stl .glb .gltf) or point cloud (.ply, .npy, .xyz); two or more pictures: "
                   "a sequence")
    p.add_argument("-o", "--output", type=Path, required=True, metavar="FILM.mp4", help="the film to write")
    p.add_argument("--quality", choices=tuple(QUALITY), default="draft",
                   help="draft: minutes, 720p, Cycles; final: 1080p, more particles, motion blur, the splat engine "
                   "for glowing looks on flat films (else Cycles at 64 samples)")  # fmt: skip
    add_scene_flags(p, "movie", defaults={"resolution": None, "camera": None},
                    none_means={"resolution": "the quality's", "camera": "orbit for a 3-D target, else static"})
    p.add_argument("--gif", action="store_true", help="also write a GIF beside the film")
    g = p.add_argument_group("budget (defaults come from --quality)")
    g.add_argument("--particles", type=positive_int, metavar="N")
    g.add_argument("--samples", type=positive_int, metavar="N", help="render samples")
    g.add_argument("--steps", type=positive_int, metavar="N", help="training steps (default: the method's)")
    g.add_argument("--method", choices=("fm", "ffjord"), default="fm")
    g.add_argument("--seed", type=nonneg_int, default=0)
    g.add_argument("--landing", choices=("exact", "flow"), default="exact",
                   help="exact: end on exact samples of the picture (default); flow: the flow's own ends")  # fmt: skip
    g.add_argument("--device", default="auto", help="training device: auto, cpu, cuda, mps")
    add_turbulence(g)
    presets.add_preset_flag(p)
    g = p.add_argument_group("image")
    g.add_argument("--invert", action="store_true", help="light ink on a dark background")
    g.add_argument("--threshold", type=number(float, 0, 1, True, True, "a number between 0 and 1"), metavar="X")
    g.add_argument("--max-side", type=number(int, 16, 4096, what="an integer from 16 to 4096"), default=512,
                   help="working size of the picture's (or its ink's) longer side; smaller ones are resampled up "
                   "smoothly (default: %(default)s)")  # fmt: skip
    add_picture_options(g)
    add_target_options(p)
    add_text_options(p)
    p.add_argument("--runs-dir", type=Path, default=Path("runs"), help="where fitted runs are kept (default: runs)")
    add_sequence_options(p)
    p.add_argument("--blender", metavar="PATH", help="render with this Blender executable instead of the bpy module")
    add_cluster(p)


@command(
    "movie",
    "the whole job: fit (or reuse), export, render and encode a film",
    """  trainer movie examples/logo.png -o out/logo.mp4 --gif            # draft: a few minutes on a laptop
  trainer movie logo.png -o film.mp4 --quality final --look neon --camera orbit
  trainer movie logo.png -o loop.mp4 --seconds 3 --fps 30 --easing ease_out
  trainer movie shape.obj -o shape.mp4 --front +z                    # a mesh; ends seen from above
  trainer movie logo.svg -o logo.mp4                                 # an SVG logo, colours and transparency kept
  trainer movie --text "Hello" -o hello.mp4 --font Brand-Bold.otf    # a word (default font: DejaVu Sans Bold)
  trainer movie logo.png text.png ring.png -o morph.mp4 --hold 1 --seconds-per-move 3   # a sequence
  trainer movie a.png b.png -o ab.mp4 --start picture --via noise
  trainer movie logo.png -o film.mp4 --quality final --cluster head:6379   # frames (and fits) on a Ray cluster
""",
    _movie_args,
)
def cmd_movie(args: argparse.Namespace) -> int:
    """Image in, film out. A fit with the same image bytes and settings is reused (an interrupted
    one resumes); an interrupted render resumes from its frames. Ends with a summary of the files,
    the time each stage took and the fit's quality (excess TV).
    """
    from flowreel.trainer.film.movie import MovieSettings, make_movie, summary
    from flowreel.trainer.fit.loop import FitConfig
    from flowreel.trainer.fit.stopping import FitInterrupted

    check_text_or_pictures(args)
    images = args.image
    settings = MovieSettings(
        image=images[0] if images else None,
        text=args.text,
        font=args.font,
        output=args.output,
        quality=args.quality,
        look=args.look,
        seconds=args.seconds,
        fps=args.fps,
        hold_start=args.hold_start,
        hold_end=args.hold_end,
        resolution=args.resolution,
        easing=args.easing,
        camera=args.camera,
        orbit_degrees=args.orbit_degrees,
        depth_of_field=args.depth_of_field,
        framing=args.framing,
        front=args.front,
        margin=args.margin,
        background=args.background,
        color_start=args.color_start,
        size_start=args.size_start,
        size_end=args.size_end,
        trail=args.trail,
        gif=args.gif,
        particles=args.particles,
        samples=args.samples,
        seed=args.seed,
        landing=args.landing,
        turbulence=args.turbulence,
        turbulence_scale=args.turbulence_scale,
        runs_root=args.runs_dir,
        blender=args.blender,
        cluster=args.cluster,
        fit_config=FitConfig(method=args.method, steps=args.steps, seed=args.seed, device=args.device),
        density_options={"invert": args.invert, "threshold": args.threshold, "max_side": args.max_side,
                         **{k: v for k in ("depth", "fill", "up", "forward") if (v := getattr(args, k)) is not None},
                         **picture_options(args, images[0] if images else None)},
    )
    try:
        if len(images) > 1:
            from flowreel.trainer.sequence.movie import make_sequence_movie
            from flowreel.trainer.sequence.plan import SequenceOptions

            opts = SequenceOptions(args.start, args.via, args.hold, args.seconds_per_move)
            result = make_sequence_movie(settings, images, opts)
        else:
            result = make_movie(settings)
    except FitInterrupted as e:
        print(f"trainer: interrupted while fitting (step {e.step}); run the same command to resume", file=sys.stderr)
        return EXIT_INTERRUPTED
    except KeyboardInterrupt:
        print("trainer: interrupted; what is done is kept, run the same command to resume", file=sys.stderr)
        return EXIT_INTERRUPTED
    args.result = result  # the API (trainer/api.py) returns it
    print(summary(result), flush=True)
    return 0


# ---- sheet -------------------------------------------------------------------------------------
def _sheet_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("frames_dir", type=Path, help="a frames folder written by `trainer render` / `trainer movie`")
    p.add_argument("-o", "--output", type=Path, required=True, metavar="SHEET.png")
    p.add_argument("--times", type=float, nargs="+", default=[0.0, 0.25, 0.5, 0.75, 1.0], metavar="T",
                   help="flow times to show (default: 0 0.25 0.5 0.75 1)")  # fmt: skip
    p.add_argument("--tile-width", type=number(int, 32, 4096, what="a width from 32 to 4096"), default=384)


@command(
    "sheet",
    "a contact sheet of rendered frames at chosen flow times",
    """  trainer sheet out/demo_frames -o out/demo_sheet.png
  trainer sheet film_frames -o sheet.png --times 0 0.5 1 --tile-width 640
""",
    _sheet_args,
)
def cmd_sheet(args: argparse.Namespace) -> int:
    """Tile the frames that show the given flow times (easing and holds taken into account)."""
    from flowreel.trainer.film.sheet import contact_sheet

    if any(not 0.0 <= t <= 1.0 for t in args.times):
        raise UsageError("--times must be between 0 and 1")
    print(contact_sheet(args.frames_dir, args.output, args.times, args.tile_width))
    return 0
