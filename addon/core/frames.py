"""The frames folder: the second contract, between the render script and whoever reads its frames.

A film's frames live in one folder (default ``<film stem>_frames/`` beside the film):

- ``frame_NNNN.png``: one 8-bit RGB PNG per scene frame (RGBA for a transparent film), numbered by scene frame
  (4 digits), each written under a temporary name and renamed when complete;
- ``flowreel_render.json`` (the record file): the trajectory file and the settings that made the
  frames (see `RECORD_KEYS`). The render script refuses to mix frames of different settings in one
  folder, and contact sheets rebuild the frame -> flow time map from it.

docs/format.md describes both.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from pathlib import Path
from typing import Any

from .atomic import atomic_write

FRAME_NAME = "frame_{:04d}.png"
FRAME_PATTERN = "frame_%04d.png"  # the same names, as an ffmpeg input pattern
FRAME_GLOB = "frame_[0-9][0-9][0-9][0-9].png"
RECORD = "flowreel_render.json"
# Settings that change the pictures; frames rendered with other values must not be reused.
RECORD_KEYS = ("look", "engine", "samples", "resolution", "fps", "seconds", "hold_start", "hold_end", "easing",
               "reverse", "ping_pong", "camera", "framing", "margin", "radius", "max_particles", "color_mode",
               "denoise", "motion_blur", "seed", "key_holds", "move_seconds",  # these two: resolved, file included
               "orbit_degrees", "depth_of_field", "background", "front", "color_start", "size_start", "size_end",
               "trail")


@functools.lru_cache(maxsize=1)
def addon_code_stamp(root: str | None = None) -> str:
    """The sha256 (12 hex digits) of the add-on's Python files, by relative path and bytes.

    Recorded with the frames, so frames drawn by other add-on code (an upgrade, a fix to the camera)
    are other frames: a rerun with the same settings renders them again instead of reusing them."""
    base = Path(root) if root else Path(__file__).resolve().parent.parent
    h = hashlib.sha256()
    for p in sorted(base.rglob("*.py")):
        if "__pycache__" in p.parts:
            continue
        h.update(p.relative_to(base).as_posix().encode() + b"\0")
        h.update(p.read_bytes())
    return h.hexdigest()[:12]


def default_frames_dir(output: str | os.PathLike) -> Path:
    """Where a film's PNG frames go unless told otherwise: <stem>_frames/ beside it."""
    output = Path(output)
    return output.with_name(f"{output.stem}_frames")


def frame_path(folder: str | os.PathLike, frame: int) -> Path:
    return Path(folder) / FRAME_NAME.format(frame)


def png_size(path: str | os.PathLike) -> tuple[int, int] | None:
    """(width, height) of a complete PNG file, or None if it is missing, truncated or not a PNG."""
    try:
        with open(path, "rb") as f:
            head = f.read(24)
            f.seek(0, os.SEEK_END)
            if f.tell() < 57:
                return None
            f.seek(-12, os.SEEK_END)
            tail = f.read(12)
    except OSError:
        return None
    if head[:8] != b"\x89PNG\r\n\x1a\n" or head[12:16] != b"IHDR" or tail[4:8] != b"IEND":
        return None
    return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")


def frame_done(path: str | os.PathLike, size: tuple[int, int]) -> bool:
    """True when `path` is a complete PNG of `size` (a frame a resumed render can skip)."""
    return png_size(path) == tuple(size)


def read_record(folder: str | os.PathLike) -> dict[str, Any] | None:
    """The record file of a frames folder, or None when it is missing or unreadable."""
    try:
        record = json.loads((Path(folder) / RECORD).read_text())
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def write_record(folder: str | os.PathLike, record: dict[str, Any]) -> None:
    with atomic_write(Path(folder) / RECORD) as f:
        f.write(json.dumps(record, indent=1, sort_keys=True).encode())
