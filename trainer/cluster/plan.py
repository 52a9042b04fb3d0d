"""What a render's command line asks for, read on the driver without Blender: the film's frames, the
frames folder, and the command line each chunk's render process gets.

The driver parses only what it needs (the render script owns the full command line and checks it again
in every chunk); the film's frame range comes from the core's timing, as the render script's scene
builder computes it (the file's keys resolved, then `timing.layout`), and each chunk's render process
reports the range it built so a disagreement is caught.
"""

from __future__ import annotations

import argparse
import math
from dataclasses import dataclass
from pathlib import Path

from flowreel.addon.core import background, sequence, timing, trajformat
from flowreel.addon.core.contract import presets, render_quality, shapes3d
from flowreel.addon.core.errors import UsageError
from flowreel.addon.core.frames import default_frames_dir
from flowreel.addon.core.options import add_scene_flags, scene_options_from
from flowreel.addon.core.stills import still_keys

# Render-script flags that name files on the driver or encode there: a chunk's process gets its own.
_DRIVER_VALUED = ("-o", "--output", "--frames-dir", "--frames", "--save-blend", "--gif-width")
_DRIVER_FLAGS = ("--gif", "--no-video", "--replace-changed")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):
        raise UsageError(message)


@dataclass
class FilmPlan:
    traj: Path
    folder: Path  # the driver's frames folder
    first: int  # the frames to render (the film's, or --frames)
    last: int
    film: tuple[int, int]  # the film's first and last frame
    size: tuple[int, int]
    encode: bool  # whether the render script encodes a film afterwards (a video asked for)
    replace_changed: bool  # frames of other settings in the folder are discarded (else: an error)
    chunk_args: list[str]  # the render flags every chunk shares (the trajectory file and frames come per chunk)
    keys: dict[int, tuple[float, ...]]  # frames that show the same picture (core.stills): one render per run


def _parser() -> argparse.ArgumentParser:
    p = _Parser(add_help=False)
    p.add_argument("traj")
    p.add_argument("-o", "--output")
    p.add_argument("--frames-dir")
    p.add_argument("--frames")
    p.add_argument("--no-video", action="store_true")
    p.add_argument("--replace-changed", action="store_true")
    add_scene_flags(p, "render")
    presets.add_preset_flag(p)
    render_quality.add_quality_flag(p)
    return p


def _frame_range(text: str) -> tuple[int, int]:
    a, _, b = text.partition("-")
    try:
        return int(a), int(b or a)
    except ValueError:
        raise UsageError(f"--frames must look like A-B, got {text!r}") from None


def plan_film(args: list[str]) -> FilmPlan:
    """The plan of the render that `args` (the render script's command line) asks for."""
    argv = shapes3d.join_axis_values(list(args))
    p = _parser()
    render_quality.apply_defaults(p, argv)  # in the render script's order: a preset's values over the quality's
    presets.apply_defaults(p, argv)
    ns, _ = p.parse_known_args(argv)
    traj = Path(ns.traj)
    if not traj.is_file():
        raise UsageError(f"{traj}: no such trajectory file")
    out = Path(ns.output) if ns.output else traj.with_suffix(".mp4")
    if ns.frames_dir:
        folder = Path(ns.frames_dir)
    else:
        folder = out if background.is_folder_output(out) else default_frames_dir(out)
    opts = scene_options_from(ns)
    opts.check()
    opts = sequence.resolve_file(opts, trajformat.read(traj, mmap=True, check_finite=False))
    lay = timing.layout(opts)
    first, last = lay.start, lay.end
    if ns.frames:
        a, b = _frame_range(ns.frames)
        if a < first or b > last or a > b:
            raise UsageError(f"--frames {ns.frames} is outside the film's frames {first}-{last}")
        first, last = a, b
    flags = list(argv)
    flags.remove(ns.traj)  # the positional: each chunk gets its own copy of the file
    encode = not ns.no_video and not background.is_folder_output(out)  # a PNG-sequence film is its frames
    return FilmPlan(traj, folder, first, last, (lay.start, lay.end), tuple(opts.resolution), encode,
                    ns.replace_changed, chunk_flags(flags), still_keys(opts, range(first, last + 1)))


def chunk_flags(flags: list[str]) -> list[str]:
    """`flags` without those that name the driver's files or encode there."""
    kept, skip = [], False
    for a in flags:
        if skip:
            skip = False
            continue
        name = a.split("=", 1)[0]
        if name in _DRIVER_VALUED:
            skip = "=" not in a
            continue
        if name in _DRIVER_FLAGS:
            continue
        kept.append(a)
    return kept


def chunk_size(renders: int, slots: int) -> int:
    """Renders per task: about three tasks per render slot, so a slow or lost chunk is a small part of the
    film and the last tasks finish together, while each task's fixed cost (a process, a scene) is paid
    on a run of frames rather than on each."""
    return max(1, math.ceil(renders / max(1, 3 * slots)))


def runs(frames: list[int], keys: dict[int, tuple[float, ...]] | None = None) -> list[tuple[int, int]]:
    """`frames` (sorted) as units of one render each: a run of consecutive frames that show the same picture
    (a hold: the render script renders its first and copies it), else a single frame."""
    keys = keys or {}
    out: list[tuple[int, int]] = []
    for f in frames:
        if out and f == out[-1][1] + 1 and f in keys and keys.get(out[-1][1]) == keys[f]:
            out[-1] = (out[-1][0], f)
        else:
            out.append((f, f))
    return out


def chunks(frames: list[int], size: int, keys: dict[int, tuple[float, ...]] | None = None) -> list[tuple[int, int]]:
    """`frames` (sorted) as runs of consecutive frames of at most `size` renders each: (first, last) each.
    A hold stays in one chunk, so it costs one render on a cluster as on one machine."""
    out: list[tuple[int, int]] = []
    cost = 0
    for a, b in runs(frames, keys):
        if out and a == out[-1][1] + 1 and cost < size:
            out[-1] = (out[-1][0], b)
            cost += 1
        else:
            out.append((a, b))
            cost = 1
    return out
