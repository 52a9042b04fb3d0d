"""Headless film render: trajectory file -> PNG frames -> MP4 (and GIF).

    blender -b --python addon/render.py -- traj.npz -o film.mp4 [options]   # any Blender 3.4 - 5.0
    python -m flowreel.addon.render traj.npz -o film.mp4 [options]                   # with the bpy module

The scene is built from scratch (factory settings, then `scene.build_scene`). Frames are
rendered one by one to ``<frames-dir>/frame_NNNN.png`` (scene frame numbers), each written under a
temporary name and renamed when complete; frames already on disk (valid PNG of the right size)
are skipped, so an interrupted render resumes where it stopped and a render farm can split the
film with ``--frames A-B``. Encoding (core/encode.py) runs once every frame of the film exists.

Encoding inside Blender's own Python: it has numpy but no pip packages, so when ``ffmpeg-python``
cannot be imported the encode step runs in a subprocess of another Python that has it
($FLOWREEL_PYTHON, the repository's .venv, then python3/python on PATH). With none, the frames
stay on disk, one line says how to encode them, and the exit status is 1 (a video was asked for).

Exit status: 0 done, 1 error (one ``flowreel-render: error: ...`` line on stderr), 2 bad usage,
130 interrupted (frames so far are kept; rerun the same command to resume).
"""

from __future__ import annotations

import argparse
import importlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from contextlib import contextmanager
from pathlib import Path

if __package__ in (None, ""):  # run as a script (`blender -b --python .../render.py`): load the package first
    import importlib.util

    _spec = importlib.util.spec_from_file_location("_flowreel_bootstrap", Path(__file__).with_name("bootstrap.py"))
    _boot = importlib.util.module_from_spec(_spec)
    _spec.loader.exec_module(_boot)
    sys.exit(importlib.import_module(f"{_boot.load_package(Path(__file__).resolve().parent)}.render").main())

from .core.frames import (  # noqa: E402
    FRAME_GLOB,
    FRAME_NAME,
    FRAME_PATTERN,
    RECORD_KEYS,
    default_frames_dir,
    frame_done,
    png_size,
    read_record,
    write_record,
)
from .core.options import (  # noqa: E402
    CAMERA_MOVES,
    COLOR_MODES,
    EASINGS,
    ENGINES,
    LOOKS,
    SceneOptions,
    choice,
    parse_resolution,
)

PROG = "flowreel-render"
HERE = Path(__file__).resolve().parent
REPO = HERE.parent  # a checkout: its .venv may have ffmpeg-python for Blender's own Python


class RenderError(Exception):
    """A one-line, user-facing failure; main() prints it and returns 1."""


class _UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line instead of usage + message, and no SystemExit
        raise _UsageError(message)


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
    p = _Parser(prog=PROG, description="Render a Flowreel trajectory file to PNG frames, MP4 and GIF.")
    p.add_argument("traj", help="trajectory file (.npz, format flowreel.traj/1)")
    p.add_argument("-o", "--output", help="film to write: .mp4 or .gif (default: <traj stem>.mp4 beside the file)")
    p.add_argument("--gif", action="store_true", help="also write a palette-optimised .gif beside the .mp4")
    p.add_argument("--gif-width", type=int, default=640, help="GIF width in pixels (default 640; 0 = render width)")
    p.add_argument("--no-video", action="store_true", help="render PNG frames only")
    p.add_argument("--frames-dir", help="PNG frame folder (default: <output stem>_frames/ beside the output)")
    p.add_argument("--look", type=choice(LOOKS, False), default="glow", help=f"one of {', '.join(LOOKS)}")
    p.add_argument("--engine", type=choice(ENGINES, True), default="CYCLES", help="cycles, eevee or workbench")
    p.add_argument("--samples", type=int, help="render samples (default: the look's)")
    p.add_argument("--resolution", type=parse_resolution, default=(1920, 1080), metavar="WxH")
    p.add_argument("--fps", type=int, default=24)
    p.add_argument("--seconds", type=float, default=5.0, help="duration of the flow (holds excluded)")
    p.add_argument("--hold-start", type=float, default=0.5, help="seconds of noise at rest before the flow")
    p.add_argument("--hold-end", type=float, default=1.0, help="seconds of the image at rest after the flow")
    p.add_argument("--easing", type=choice(EASINGS, True), default="EASE_IN_OUT",
                   help="linear, ease_in_out, ease_in or ease_out")
    p.add_argument("--reverse", action="store_true", help="the image dissolves into noise")
    p.add_argument("--ping-pong", action="store_true", help="noise -> image -> noise (looping GIFs)")
    p.add_argument("--camera", type=choice(CAMERA_MOVES, True), default="STATIC", help="static, push_in or orbit")
    p.add_argument("--frames", type=_frame_range, metavar="A-B", help="render only scene frames A..B (render farm)")
    p.add_argument("--radius", type=float, default=0.0, help="particle radius (0 = automatic)")
    p.add_argument("--max-particles", type=int, default=0, help="render a random subset (0 = all)")
    p.add_argument("--color-mode", type=choice(COLOR_MODES, True), default=None,
                   help="image, gradient or single (default: gradient for the neon look, else image)")
    p.add_argument("--cache-dir", default="", help="PC2 cache folder (default: flowreel_cache beside the .npz)")
    p.add_argument("--replace-changed", action="store_true",
                   help="discard frames in the frames folder that were rendered with other settings (else: error)")
    p.add_argument("--save-blend", metavar="PATH", help="also save the scene as a .blend (renders without the add-on)")
    p.add_argument("--denoise", choices=("auto", "on", "off"), default="auto",
                   help="Cycles denoising; auto = on where the build has OpenImageDenoise")
    p.add_argument("--motion-blur", action="store_true")
    p.add_argument("--seed", type=int, default=0, help="subset choice and random ids")
    p.add_argument("-v", "--verbose", action="store_true", help="show Blender's own render output")
    return p


def scene_options(args: argparse.Namespace) -> SceneOptions:
    color_mode = args.color_mode or ("GRADIENT" if args.look == "neon" else "IMAGE")
    opts = SceneOptions(
        radius=args.radius, max_particles=args.max_particles, color_mode=color_mode, look=args.look,
        seconds=args.seconds, fps=args.fps, hold_start=args.hold_start, hold_end=args.hold_end,
        easing=args.easing, reverse=args.reverse, ping_pong=args.ping_pong, camera=args.camera,
        resolution=args.resolution, motion_blur=args.motion_blur, cache_dir=args.cache_dir, seed=args.seed,
    )
    opts.check()
    return opts


def output_paths(args: argparse.Namespace) -> tuple[Path, list[Path]]:
    """(frames folder, videos to write) from -o / --gif / --frames-dir / --no-video."""
    traj = Path(args.traj)
    out = Path(args.output) if args.output else traj.with_suffix(".mp4")
    if out.suffix.lower() not in (".mp4", ".gif"):
        raise RenderError(f"output {out.name}: use a .mp4 or .gif name")
    videos = [] if args.no_video else [out]
    if args.gif and out.suffix.lower() == ".mp4" and not args.no_video:
        videos.append(out.with_suffix(".gif"))
    frames = Path(args.frames_dir) if args.frames_dir else default_frames_dir(out)
    return frames, videos


# --- frames folder --------------------------------------------------------------------------------
def check_stamp(folder: Path, args: argparse.Namespace) -> None:
    """Refuse to mix frames of different renders in one folder; record this render's settings.

    Render-farm parts run with the same options (only --frames differs), so they agree."""
    st = os.stat(args.traj)
    stamp = {"traj": os.path.abspath(args.traj), "traj_size": st.st_size, "traj_mtime_ns": st.st_mtime_ns}
    stamp.update({k: list(v) if isinstance(v, tuple) else v for k, v in vars(args).items() if k in RECORD_KEYS})
    old = read_record(folder)
    if old is not None and old != stamp:
        diff = ", ".join(sorted(k for k in stamp.keys() | old.keys() if stamp.get(k) != old.get(k)))
        if not args.replace_changed:
            raise RenderError(f"frames in {folder} were rendered with other settings ({diff} differ): "
                              "use another --frames-dir, or --replace-changed to discard them")
        stale = sorted(folder.glob(FRAME_GLOB))
        for f in stale:
            f.unlink()
        print(f"{PROG}: settings changed ({diff}): discarded {len(stale)} old frames in {folder}", flush=True)
        old = None
    if old is None:
        write_record(folder, stamp)


def _clock(seconds: float) -> str:
    s = int(round(seconds))
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"


@contextmanager
def _quiet_stdout(enabled: bool):
    """Send Blender's C-level render chatter (fd 1) to /dev/null so the progress lines stay readable."""
    if not enabled:
        yield
        return
    sys.stdout.flush()
    saved = os.dup(1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)
        os.close(devnull)


# --- Blender side ---------------------------------------------------------------------------------
def _import_bpy():
    try:
        import bpy
    except ImportError:
        raise RenderError("the bpy module is not installed: `pip install bpy==5.0.1`, or run "
                          "`blender -b --python addon/render.py -- traj.npz ...`") from None
    return bpy


def legacy_eevee_spheres(obj) -> None:
    """Make points visible to EEVEE Legacy (Blender < 4.2), which draws no point clouds at all:
    one more Geometry Nodes modifier puts an ico-sphere of the point's radius on every point and
    realizes them (per-point attributes such as `flowreel_display` carry over to the spheres)."""
    import bpy

    from . import compat

    material = obj.data.materials[0] if len(obj.data.materials) else None
    n = len(obj.data.vertices)
    ng = bpy.data.node_groups.new("Flowreel EEVEE Legacy Spheres", "GeometryNodeTree")
    compat.new_group_socket(ng, "Geometry", "INPUT", "NodeSocketGeometry")
    compat.new_group_socket(ng, "Geometry", "OUTPUT", "NodeSocketGeometry")
    nodes, link = ng.nodes, ng.links.new
    gin, gout = nodes.new("NodeGroupInput"), nodes.new("NodeGroupOutput")
    ico = nodes.new("GeometryNodeMeshIcoSphere")
    ico.inputs["Radius"].default_value = 1.0
    ico.inputs["Subdivisions"].default_value = 2 if n <= 20_000 else 1  # 162 / 42 vertices a sphere
    radius = nodes.new("GeometryNodeInputRadius")
    inst = nodes.new("GeometryNodeInstanceOnPoints")
    real = nodes.new("GeometryNodeRealizeInstances")
    set_mat = nodes.new("GeometryNodeSetMaterial")
    set_mat.inputs["Material"].default_value = material
    link(gin.outputs[0], inst.inputs["Points"])
    link(ico.outputs["Mesh"], inst.inputs["Instance"])
    link(radius.outputs[0], inst.inputs["Scale"])
    link(inst.outputs["Instances"], real.inputs["Geometry"])
    link(real.outputs["Geometry"], set_mat.inputs["Geometry"])
    link(set_mat.outputs["Geometry"], gout.inputs[0])
    obj.modifiers.new("Flowreel EEVEE Legacy Spheres", "NODES").node_group = ng


def configure_engine(scene, args: argparse.Namespace, points: Sequence = ()) -> str:
    """Engine, samples, denoising and the Workbench preview shading; returns the engine id.
    `points`: the Flowreel points objects (EEVEE Legacy needs real spheres on them)."""
    from . import compat, looks

    engine = compat.engine_id(args.engine)
    if args.engine == "EEVEE" and compat.VERSION < (4, 2, 0):
        for obj in points:
            legacy_eevee_spheres(obj)
    scene.render.engine = engine
    if args.samples is not None:
        if args.samples < 1:
            raise RenderError(f"samples must be >= 1, got {args.samples}")
        looks.set_path(scene, "cycles.samples", args.samples)
        looks.set_path(scene, "eevee.taa_render_samples", args.samples)
    looks.set_denoise(scene, {"auto": None, "on": True, "off": False}[args.denoise] if engine == "CYCLES" else False)
    if engine == "BLENDER_WORKBENCH":
        shading = scene.display.shading
        shading.light = "FLAT"
        shading.color_type = "MATERIAL"  # the look material's viewport colour
        scene.render.use_compositing = False  # a preview: no glare pass
        # Each anti-aliasing sample is a full redraw; through software OpenGL the default 8 samples
        # cost ~6 s a 1080p frame instead of <1 s (bench/bench_render.py).
        looks.set_path(scene, "display.render_aa", "OFF")
    return engine


def _render_frame(bpy, scene, frame: int, path: Path, quiet: bool) -> None:
    tmp = path.with_name(f".{path.stem}.partial.png")
    scene.frame_set(frame)
    scene.render.filepath = str(tmp)
    try:
        with _quiet_stdout(quiet):
            bpy.ops.render.render(write_still=True)
        if png_size(tmp) is None:
            raise RenderError(f"Blender wrote no image for frame {frame}")
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def render_frames(bpy, scene, frames: range, folder: Path, quiet: bool) -> tuple[int, int]:
    """Render the missing frames of `frames`; returns (rendered, skipped)."""
    size = (scene.render.resolution_x, scene.render.resolution_y)
    todo = [f for f in frames if not frame_done(folder / FRAME_NAME.format(f), size)]
    skipped = len(frames) - len(todo)
    if skipped:
        print(f"{PROG}: {skipped} of {len(frames)} frames already on disk, rendering {len(todo)}", flush=True)
    scene.render.image_settings.file_format = "PNG"
    scene.render.image_settings.color_mode = "RGB"
    scene.render.image_settings.color_depth = "8"
    scene.render.use_file_extension = True
    t0 = time.monotonic()
    with _stop_between_frames() as stop:
        for i, f in enumerate(todo, 1):
            t = time.monotonic()
            _render_frame(bpy, scene, f, folder / FRAME_NAME.format(f), quiet)
            now = time.monotonic()
            eta = (now - t0) / i * (len(todo) - i)
            print(f"{PROG}: frame {f} ({i}/{len(todo)}) {now - t:.2f} s, elapsed {_clock(now - t0)}, "
                  f"ETA {_clock(eta)}", flush=True)
            if stop.requested:
                raise KeyboardInterrupt
    return len(todo), skipped


class _StopFlag:
    requested = False


@contextmanager
def _stop_between_frames():
    """First Ctrl-C: finish the frame being rendered, then stop (a KeyboardInterrupt raised inside
    the render engine's Python callback would print a traceback and lose that frame). Second
    Ctrl-C: stop at once."""
    flag = _StopFlag()

    def on_sigint(signum, frame):
        if flag.requested:
            raise KeyboardInterrupt
        flag.requested = True
        print(f"{PROG}: stopping after this frame (Ctrl-C again to stop now)", file=sys.stderr, flush=True)

    try:
        previous = signal.signal(signal.SIGINT, on_sigint)
    except ValueError:  # not the main thread: keep the default behaviour
        yield flag
        return
    try:
        yield flag
    finally:
        # None: the previous handler was installed by C code (Blender's own), not by Python.
        signal.signal(signal.SIGINT, previous if previous is not None else signal.default_int_handler)


# --- encoding -------------------------------------------------------------------------------------
def _python_with_ffmpeg() -> str | None:
    """A Python executable that can import ffmpeg-python (for Blender's own, package-less Python)."""
    candidates = [os.environ.get("FLOWREEL_PYTHON"), str(REPO / ".venv" / "bin" / "python"), "python3", "python"]
    for exe in candidates:
        if not exe:
            continue
        try:
            r = subprocess.run([exe, "-c", "import ffmpeg, numpy"], capture_output=True, timeout=60)
        except (OSError, subprocess.TimeoutExpired):
            continue
        if r.returncode == 0:
            return exe
    return None


def _encoder_available() -> bool:
    try:
        import ffmpeg  # noqa: F401
    except ImportError:
        return False
    return True


def encode(folder: Path, start: int, video: Path, fps: int, gif_width: int | None) -> None:
    pattern = str(folder / FRAME_PATTERN)
    if _encoder_available():
        from .core.encode import EncodeError, encode_image_sequence

        try:
            encode_image_sequence(pattern, str(video), fps, start_number=start, gif_width=gif_width)
        except EncodeError as e:
            raise RenderError(str(e)) from None
        return
    exe = _python_with_ffmpeg()
    if exe is None:
        raise RenderError(f"cannot encode {video.name}: this Python lacks ffmpeg-python and no other Python has it "
                          f"(set FLOWREEL_PYTHON); the frames are in {folder}")
    # The other Python need not have Flowreel installed: load core/encode.py (stdlib + numpy + ffmpeg-python) by path.
    code = ("import importlib.util, sys\n"
            "spec = importlib.util.spec_from_file_location('flowreel_encode', sys.argv[1])\n"
            "m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)\n"
            "EncodeError, encode_image_sequence = m.EncodeError, m.encode_image_sequence\n"
            "try: encode_image_sequence(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), "
            "int(sys.argv[6]) or None)\n"
            "except EncodeError as e: print(e, file=sys.stderr); sys.exit(1)")
    argv = [str(HERE / "core" / "encode.py"), pattern, str(video), str(fps), str(start), str(gif_width or 0)]
    r = subprocess.run([exe, "-c", code, *argv], capture_output=True, text=True)
    if r.returncode != 0:
        lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
        raise RenderError(lines[-1] if lines else f"encoding {video.name} failed (exit {r.returncode})")


# --- main -----------------------------------------------------------------------------------------
def run(args: argparse.Namespace) -> int:
    opts = scene_options(args)
    folder, videos = output_paths(args)
    if args.max_particles < 0 or args.radius < 0:
        raise RenderError("radius and max-particles must be >= 0")
    bpy = _import_bpy()
    from .scene import build_scene

    if args.samples is not None and args.samples < 1:
        raise RenderError(f"samples must be >= 1, got {args.samples}")
    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    t0 = time.monotonic()
    points = build_scene(scene, args.traj, opts)
    configure_engine(scene, args, [points])
    first, last = scene.frame_start, scene.frame_end
    print(f"{PROG}: {Path(args.traj).name}: scene frames {first}-{last} at {opts.fps} fps, "
          f"{opts.resolution[0]}x{opts.resolution[1]}, look {opts.look}, {scene.render.engine} "
          f"(built in {time.monotonic() - t0:.1f} s)", flush=True)
    if args.save_blend:
        blend = os.path.abspath(args.save_blend)
        os.makedirs(os.path.dirname(blend), exist_ok=True)
        bpy.ops.wm.save_as_mainfile(filepath=blend)
        try:
            bpy.ops.file.make_paths_relative()  # the PC2 cache travels with the .blend (render farms)
        except RuntimeError:
            pass
        bpy.ops.wm.save_as_mainfile(filepath=blend)
        print(f"{PROG}: saved {blend}", flush=True)
    a, b = args.frames or (first, last)
    if a < first or b > last:
        raise RenderError(f"--frames {a}-{b} is outside the film's frames {first}-{last}")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise RenderError(f"cannot create the frames folder {folder} ({e.strerror})") from None
    check_stamp(folder, args)
    if videos and not _encoder_available() and _python_with_ffmpeg() is None:
        print(f"{PROG}: warning: no ffmpeg-python here or in another Python: frames only", file=sys.stderr, flush=True)
    rendered, skipped = render_frames(bpy, scene, range(a, b + 1), folder, not args.verbose)
    print(f"{PROG}: frames {a}-{b} in {folder} ({rendered} rendered, {skipped} already there)", flush=True)
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
        encode(folder, first, video, opts.fps, gif_width)
        print(f"{PROG}: wrote {video} ({time.monotonic() - t:.1f} s)", flush=True)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point for both launch modes; returns the exit status (never raises)."""
    if argv is None:
        argv = script_argv()
    try:
        args = build_parser().parse_args(list(argv))
        return run(args)
    except _UsageError as e:
        print(f"{PROG}: error: {e}", file=sys.stderr, flush=True)
        return 2
    except KeyboardInterrupt:
        print(f"\n{PROG}: interrupted: finished frames are kept; run the same command again to resume",
              file=sys.stderr, flush=True)
        return 130
    except Exception as e:  # noqa: BLE001 - the one place that turns every failure into one line
        msg = " ".join(str(e).split()) or type(e).__name__
        known = isinstance(e, (RenderError, ValueError, OSError)) or type(e).__name__ == "SceneError"
        print(f"{PROG}: error: {msg if known else f'{type(e).__name__}: {msg}'}", file=sys.stderr, flush=True)
        return 1


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


if __name__ == "__main__":
    sys.exit(main())
