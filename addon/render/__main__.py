"""Headless film render: trajectory file -> PNG frames -> MP4 (and GIF).

    blender -b --python addon/render/__main__.py -- traj.npz -o film.mp4 [options]   # any Blender 3.4 - 5.0
    python -m flowreel.addon.render traj.npz -o film.mp4 [options]                   # with the bpy module

The scene is built from scratch (factory settings, then `scene.build_scene`). Frames are
rendered one by one to ``<frames-dir>/frame_NNNN.png`` (scene frame numbers), each written under a
temporary name and renamed when complete; frames already on disk (valid PNG of the right size)
are skipped, so an interrupted render resumes where it stopped and a render farm can split the
film with ``--frames A-B``. Encoding (core/encode.py) runs once every frame of the film exists.

The point cache (PC2) goes into the frames folder unless --cache-dir says otherwise.

This module is the entry point only; the work is in
    render_args     the command line (scene flags generated from core.options.SceneOptions)
    engines         engine, samples, denoising, Workbench preview shading
    frame_loop      the frames folder's record, resume, per-frame PNGs, Ctrl-C between frames
    encode_fallback encoding, also from Blender's own Python (no ffmpeg-python there)

Exit status: 0 done, 1 error (one ``flowreel-render: error: ...`` line on stderr), 2 bad usage,
130 interrupted (frames so far are kept; rerun the same command to resume). Any other exception
is a bug: one line says so and where its traceback was saved.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

if __package__ in (None, ""):  # run as a script (`blender -b --python .../render.py`): load the package first
    import importlib.util

    _boot_py = Path(__file__).resolve().parent.parent / "bootstrap.py"  # the add-on's folder
    _spec = importlib.util.spec_from_file_location("_flowreel_bootstrap", _boot_py)
    _boot = importlib.util.module_from_spec(_spec)
    _spec.loader.exec_module(_boot)
    sys.exit(importlib.import_module(f"{_boot.load_package(Path(__file__).resolve().parent.parent)}.render.__main__").main())

from ..core.background import is_folder_output  # noqa: E402
from ..core.contract import shapes3d  # noqa: E402
from ..core.errors import FlowreelError, RenderError, UsageError, disk_error, report_bug  # noqa: E402
from ..core.frames import FRAME_NAME, frame_done  # noqa: E402
from ..core.lock import folder_lock  # noqa: E402
from ..core.stills import still_keys  # noqa: E402
from . import encode_fallback  # noqa: E402
from .args import build_parser, output_paths, scene_options, script_argv  # noqa: E402
from .frame_loop import PROG, check_stamp, render_frames  # noqa: E402


def _import_bpy():
    try:
        import bpy
    except ImportError:
        raise RenderError("the bpy module is not installed: `pip install bpy==5.0.1`, or run "
                          "`blender -b --python addon/render/__main__.py -- traj.npz ...`") from None
    return bpy


def _make_paths_relative(bpy) -> None:
    """Blender's File > External Data > Make Paths Relative (a seam the tests replace to make it fail)."""
    bpy.ops.file.make_paths_relative()


def _save_blend(bpy, path: str) -> None:
    """Save the built scene for `blender -b scene.blend -a` without the add-on: the point caches must be
    `//` paths relative to the .blend, so the file and its cache folder can move to a render farm together.
    A cache that stays absolute (the operator failed, or could not relate a path, e.g. another drive) is an
    error, and no .blend is left behind."""
    blend = os.path.abspath(path)
    os.makedirs(os.path.dirname(blend), exist_ok=True)
    scene = bpy.context.scene
    engine = scene.render.engine
    if engine == "FLOWREEL_SPLAT":  # a Blender without the add-on lacks the engine: the file renders with Cycles
        scene.render.engine = "CYCLES"
        print(f"{PROG}: the saved .blend renders with Cycles ({scene.cycles.samples} samples): "
              "the splat engine needs the Flowreel add-on", flush=True)
    try:
        bpy.ops.wm.save_as_mainfile(filepath=blend)
        try:
            _make_paths_relative(bpy)  # the PC2 cache travels with the .blend (render farms)
        except RuntimeError as e:
            raise RenderError(f"--save-blend: cannot make the point cache paths relative to {blend} "
                              f"({str(e).strip().splitlines()[-1] if str(e).strip() else 'failed'})") from None
        absolute = [m.filepath for ob in bpy.data.objects for m in ob.modifiers
                    if m.type == "MESH_CACHE" and not m.filepath.startswith("//")]
        if absolute:
            raise RenderError(f"--save-blend: the point cache {absolute[0]} cannot be made relative to {blend} "
                              "(keep the cache folder on the same drive as the .blend, e.g. --cache-dir)")
        bpy.ops.wm.save_as_mainfile(filepath=blend)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(blend)
        raise
    finally:
        scene.render.engine = engine
    print(f"{PROG}: saved {blend}", flush=True)


def run(args: argparse.Namespace) -> int:
    """Build the scene, render the missing frames, encode once the film's frames all exist."""
    opts = scene_options(args)
    folder, videos = output_paths(args)
    if not opts.cache_dir:  # beside the frames, not wherever the user happens to stand
        opts.cache_dir = str(folder.resolve())
        if args.output and is_folder_output(args.output):  # a PNG-sequence film: its folder holds frames only
            opts.cache_dir = str(folder.resolve().with_name(f"{folder.name}_cache"))
    if args.samples is not None and args.samples < 1:
        raise RenderError(f"samples must be >= 1, got {args.samples}")
    bpy = _import_bpy()
    from ..scene.build import build_scene
    from ..scene.film_timing import film_options
    from .alpha_frames import check_background, prepare_scene
    from .engines import configure_engine  # bpy-dependent modules: after the check above

    bpy.ops.wm.read_factory_settings(use_empty=True)
    check_background(bpy, opts)  # a picture Blender cannot read fails before anything is written
    scene = bpy.context.scene
    t0 = time.monotonic()
    points = build_scene(scene, args.traj, opts)
    # The timing the film has (a sequence's holds and moves, from the file unless flags said otherwise):
    # still frames follow it, and the record keeps it for `trainer sheet` and for reusing frames.
    opts = film_options(points, opts)
    args.key_holds, args.move_seconds = opts.key_holds, opts.move_seconds
    configure_engine(scene, args, [points])
    prepare_scene(scene, opts, for_script=True)  # after the engine: Workbench composites nothing
    first, last = scene.frame_start, scene.frame_end
    print(f"{PROG}: {Path(args.traj).name}: scene frames {first}-{last} at {opts.fps} fps, "
          f"{opts.resolution[0]}x{opts.resolution[1]}, look {opts.look}, {scene.render.engine} "
          f"(built in {time.monotonic() - t0:.1f} s)", flush=True)
    if args.save_blend:
        _save_blend(bpy, args.save_blend)
    a, b = args.frames or (first, last)
    if a < first or b > last:
        raise RenderError(f"--frames {a}-{b} is outside the film's frames {first}-{last}")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise RenderError(f"cannot create the frames folder {folder} ({e.strerror})") from None
    # One render at a time in a frames folder: another one (same film from a second terminal) waits, then
    # finds these frames done; it never discards frames that are being written.
    with folder_lock(folder, "rendering into it", say=lambda m: print(f"{PROG}: {m}", flush=True)):
        return _render_and_encode(bpy, scene, args, opts, folder, videos, (a, b), (first, last))


def _render_and_encode(bpy, scene, args: argparse.Namespace, opts, folder: Path, videos: list[Path],
                       part: tuple[int, int], film: tuple[int, int]) -> int:
    """Render the frames `part` into `folder` (held by this process), then encode once the `film` is complete."""
    (a, b), (first, last) = part, film
    check_stamp(folder, args)
    if videos and not encode_fallback.can_encode():
        print(f"{PROG}: warning: no ffmpeg-python here or in another Python: frames only", file=sys.stderr, flush=True)
    keys = still_keys(opts, range(a, b + 1))
    from .alpha_frames import frame_finisher

    done, skipped = render_frames(bpy, scene, range(a, b + 1), folder, not args.verbose, keys,
                                  frame_finisher(bpy, scene, opts))
    print(f"{PROG}: frames {a}-{b} in {folder} ({done} done, {skipped} already there)", flush=True)
    if not videos:
        return 0
    size = (scene.render.resolution_x, scene.render.resolution_y)
    missing = [f for f in range(first, last + 1) if not frame_done(folder / FRAME_NAME.format(f), size)]
    if missing:
        print(f"{PROG}: {len(missing)} of the film's frames are not rendered yet (first: {missing[0]}): "
              "not encoding; rerun without --frames once every part is done", flush=True)
        return 0
    for video in videos:
        gif_width = (args.gif_width or None) if video.suffix.lower() == ".gif" else None
        if gif_width and gif_width >= size[0]:
            gif_width = None
        video.parent.mkdir(parents=True, exist_ok=True)
        t = time.monotonic()
        encode_fallback.encode(folder, first, video, opts.fps, gif_width)
        print(f"{PROG}: wrote {video} ({time.monotonic() - t:.1f} s)", flush=True)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point for both launch modes; returns the exit status (never raises)."""
    if argv is None:
        argv = script_argv()
    try:
        args = build_parser().parse_args(shapes3d.join_axis_values(list(argv)))  # --front -y
        return run(args)
    except UsageError as e:
        print(f"{PROG}: error: {e}", file=sys.stderr, flush=True)
        return 2
    except KeyboardInterrupt:
        print(f"\n{PROG}: interrupted: finished frames are kept; run the same command again to resume",
              file=sys.stderr, flush=True)
        return 130
    except FlowreelError as e:
        print(f"{PROG}: error: {e}", file=sys.stderr, flush=True)
        return 1
    except Exception as e:  # noqa: BLE001 - a bug: one line that says so, the traceback in a file
        mapped = disk_error(e)  # a full disk or a refused write where no write site named it: still one line
        print(f"{PROG}: error: {mapped or report_bug(e, PROG)}", file=sys.stderr, flush=True)
        return 1


if __name__ == "__main__":
    sys.exit(main())
