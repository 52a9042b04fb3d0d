"""The render script's frame loop: the frames folder's record, resume, per-frame PNGs and Ctrl-C.

Each frame is written under a unique temporary name (core.atomic: process id and a random part) and
renamed when complete; frames already on disk (a valid PNG of the right size) are skipped, so an
interrupted render resumes where it stopped. The caller holds the frames folder (core.lock) while this
runs, and the loop stops between frames once the process that started it is gone (core.child).
"""

from __future__ import annotations

import argparse
import errno
import os
import shutil
import signal
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from ..core.atomic import atomic_write, temp_path
from ..core.child import parent_gone
from ..core.contract.progress import render_line
from ..core.errors import RenderError, disk_error, free_bytes
from ..core.frames import (
    FRAME_GLOB,
    FRAME_NAME,
    RECORD_KEYS,
    addon_code_stamp,
    frame_done,
    png_size,
    read_record,
    write_record,
)

PROG = "flowreel-render"


def check_stamp(folder: Path, args: argparse.Namespace) -> None:
    """Refuse to mix frames of different renders in one folder; record this render's settings.

    Render-farm parts run with the same options (only --frames differs), so they agree."""
    st = os.stat(args.traj)
    stamp = {"traj": os.path.abspath(args.traj), "traj_size": st.st_size, "traj_mtime_ns": st.st_mtime_ns}
    stamp.update({k: list(v) if isinstance(v, tuple) else v for k, v in vars(args).items() if k in RECORD_KEYS})
    # What draws the frames: other add-on code or another Blender draws other pixels for the same settings.
    stamp["addon_code"] = addon_code_stamp()
    stamp["blender"] = _blender_version()
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


def _blender_version() -> str:
    import bpy

    return bpy.app.version_string


@contextmanager
def _quiet_stdout(enabled: bool) -> Iterator[None]:
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


def render_frame(bpy, scene, frame: int, path: Path, quiet: bool, finish: Callable[[Path], None] | None = None
                 ) -> None:
    """Render scene frame `frame` to `path`; `finish` (alpha_frames) turns Blender's image into the film's."""
    tmp = Path(temp_path(path, keep_suffix=True))  # Blender keeps a name that ends in .png as it is
    scene.frame_set(frame)
    scene.render.filepath = str(tmp)
    try:
        with _quiet_stdout(quiet):
            bpy.ops.render.render(write_still=True)
        if png_size(tmp) is None:
            raise _no_image(path, frame, scene.render.resolution_x * scene.render.resolution_y * 3)
        if finish is not None:
            finish(tmp)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def _no_image(path: Path, frame: int, raw_bytes: int) -> Exception:
    """Why Blender wrote no frame: a full disk (Blender only logs it) is said as one, naming the space."""
    free = free_bytes(path.parent)
    if free is not None and free < raw_bytes:  # a PNG of the frame may need up to its raw size
        return disk_error(OSError(errno.ENOSPC, "No space left on device"), path, raw_bytes)
    return RenderError(f"Blender wrote no image for frame {frame}")


def _copy_frame(src: Path, dst: Path) -> None:
    with open(src, "rb") as f, atomic_write(dst) as out:
        shutil.copyfileobj(f, out)


def render_frames(
    bpy, scene, frames: range, folder: Path, quiet: bool, keys: dict[int, tuple[float, ...]] | None = None,
    finish: Callable[[Path], None] | None = None,
) -> tuple[int, int]:
    """Render (or copy, see `keys`) the missing frames of `frames`; returns (done, skipped).

    `keys` (still_keys): a frame whose key matches a frame already on disk is a copy of it. The holds
    at either end of a film are a fifth of its frames (1.5 s of 6.5 s by default), all the same picture;
    Cycles' noise pattern is fixed (no animated seed), so a render would give the same pixels."""
    keys = keys or {}
    size = (scene.render.resolution_x, scene.render.resolution_y)
    todo = [f for f in frames if not frame_done(folder / FRAME_NAME.format(f), size)]
    done = {keys[f]: folder / FRAME_NAME.format(f) for f in frames if f in keys and f not in todo}
    skipped = len(frames) - len(todo)
    if skipped:
        print(f"{PROG}: {skipped} of {len(frames)} frames already on disk, rendering {len(todo)}", flush=True)
    scene.render.image_settings.file_format = "PNG"
    scene.render.image_settings.color_mode = "RGBA" if scene.render.film_transparent else "RGB"
    scene.render.image_settings.color_depth = "8"
    scene.render.use_file_extension = True
    t0 = time.monotonic()
    renders = 0
    with _stop_between_frames() as stop:
        for i, f in enumerate(todo, 1):
            t = time.monotonic()
            path = folder / FRAME_NAME.format(f)
            same = done.get(keys[f]) if f in keys else None
            if same is not None:
                _copy_frame(same, path)
            else:
                render_frame(bpy, scene, f, path, quiet, finish)
                renders += 1
                if f in keys:
                    done[keys[f]] = path
            now = time.monotonic()
            rest = todo[i:]  # frames still to render: copies cost nothing
            left = len({keys[g] for g in rest if g in keys and keys[g] not in done}) + sum(g not in keys for g in rest)
            eta = (now - t0) / max(1, renders) * left
            how = f"copy of {same.name}" if same is not None else f"{now - t:.2f} s"
            print(render_line(PROG, f, i, len(todo), how, now - t0, eta), flush=True)
            if stop.requested:
                raise KeyboardInterrupt
            if parent_gone():  # a killed `trainer movie`: no orphan goes on writing frames a rerun writes
                raise RenderError("the process that started this render has ended: stopping")
    return len(todo), skipped


class _StopFlag:
    requested = False


@contextmanager
def _stop_between_frames() -> Iterator[_StopFlag]:
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
