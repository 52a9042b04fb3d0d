"""Target kinds, declared once for both sides: what a fit can aim at, by suffix and by first bytes.

The trainer reads each kind (trainer/targets/: a module per kind, registry.py picks it); the add-on checks a
file here before a child starts (addon/jobs/runner.py) and builds its file browser's filter from the same
table (addon/ui/fit_ops.py). A new kind is a module in trainer/targets/ and a row in KINDS.
"""

from __future__ import annotations

import os
from pathlib import Path

from .shapes3d import MESH_SUFFIXES, POINT_SUFFIXES
from .svg_head import SVG_SUFFIXES

RASTER_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")
# kind -> its files' suffixes (a .ply of points only is read as a point cloud: the trainer looks inside)
KINDS: dict[str, tuple[str, ...]] = {
    "picture": RASTER_SUFFIXES,
    "svg": SVG_SUFFIXES,
    "mesh": MESH_SUFFIXES,
    "points": POINT_SUFFIXES,
}
PICTURE_KINDS = ("picture", "svg")
# First bytes of the raster formats the trainer's reader (Pillow) opens: anything else is refused before a child
# starts. RIFF is WebP only when bytes 8-12 say so.
RASTER_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a", b"BM", b"II*\x00", b"MM\x00*",
                b"RIFF")  # fmt: skip
# A run folder's saved target: pictures keep density.npz, other kinds target.npz (trainer/targets/picture.py
# PICTURE_FILE, target3d.RUN_FILE; a test holds them equal). A checkpoint beside either is a fit that can resume.
SAVED_TARGETS = ("density.npz", "target.npz")


def kind_of(path: str | os.PathLike) -> str | None:
    """The kind a file is by its suffix, or None."""
    suffix = Path(path).suffix.lower()
    return next((kind for kind, suffixes in KINDS.items() if suffix in suffixes), None)


def is_raster(head: bytes) -> bool:
    """Whether a file's first bytes (12 or more) are a raster picture the trainer reads."""
    return head.startswith(RASTER_MAGIC) and not (head.startswith(b"RIFF") and head[8:12] != b"WEBP")


def file_filter(*kinds: str) -> str:
    """A file browser's filter ("*.png;*.jpg;...") for `kinds` (all of them when none is named)."""
    return ";".join(f"*{s}" for kind in (kinds or tuple(KINDS)) for s in KINDS[kind])
