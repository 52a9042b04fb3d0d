"""Contact sheets: the rendered frames at chosen flow times, side by side, to judge a film at a glance.

Reads the render script's stamp (`flowreel_render.json` in the frames folder) to rebuild the
frame -> flow time map (holds, duration, easing), so the tiles show t = 0, 0.25, ... exactly as eased.
For a sequence of K keys t is the film time s / (K - 1): key k sits at t = k / (K - 1).
No torch, no bpy: Pillow and the add-on's pure-Python timing module.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from flowreel.addon.core.atomic import atomic_write
from flowreel.addon.core.errors import FlowreelError
from flowreel.addon.core.frames import FRAME_NAME, RECORD
from flowreel.addon.core.options import SceneOptions
from flowreel.addon.core.timing import flow_time, layout


class SheetError(FlowreelError, ValueError):
    """The frames folder cannot make a sheet; the message is one line."""


def frames_at_times(opts: SceneOptions, times: Sequence[float]) -> list[int]:
    """For each flow time, the scene frame of the (first) flow segment whose t is nearest to it."""
    lay = layout(opts)
    frames = range(lay.start, (lay.back_start if opts.ping_pong else lay.end) + 1)
    return [min(frames, key=lambda f: (abs(flow_time(f, opts) - t), f)) for t in times]


def _opaque(im: Image.Image) -> Image.Image:
    """A frame as RGB; a transparent film's frame (--background transparent) over a grey checkerboard, the
    usual picture of "nothing here", so its alpha shows instead of its unmultiplied colours."""
    if im.mode not in ("RGBA", "LA", "PA"):
        return im.convert("RGB")
    im = im.convert("RGBA")
    cell = max(4, im.width // 48)
    y, x = np.mgrid[0 : im.height, 0 : im.width]
    checker = np.where(((x // cell + y // cell) % 2)[..., None] == 0, 40, 64).astype(np.uint8)
    under = Image.fromarray(np.repeat(checker, 3, axis=2), "RGB").convert("RGBA")
    return Image.alpha_composite(under, im).convert("RGB")


def contact_sheet(
    frames_dir: str | os.PathLike,
    out_path: str | os.PathLike,
    times: Sequence[float] = (0.0, 0.25, 0.5, 0.75, 1.0),
    tile_width: int = 384,
) -> Path:
    """Write a PNG with one labelled tile per flow time; returns its path."""
    folder, out = Path(frames_dir), Path(out_path)
    try:
        stamp = json.loads((folder / RECORD).read_text())
    except (OSError, ValueError):
        raise SheetError(f"{folder}: not a frames folder of `trainer render` (no readable {RECORD})") from None
    opts = SceneOptions(
        seconds=stamp["seconds"], fps=stamp["fps"], hold_start=stamp["hold_start"], hold_end=stamp["hold_end"],
        easing=stamp["easing"], reverse=stamp["reverse"], ping_pong=stamp["ping_pong"],
        key_holds=tuple(stamp.get("key_holds") or ()), move_seconds=tuple(stamp.get("move_seconds") or ()),
    )  # fmt: skip  (a sequence's holds and moves; records older than sequences have none: one flow)
    tiles = []
    for t, frame in zip(times, frames_at_times(opts, times), strict=True):
        path = folder / FRAME_NAME.format(frame)
        if not path.exists():
            raise SheetError(f"{path}: frame not rendered yet")
        im = _opaque(Image.open(path))
        im = im.resize((tile_width, max(1, round(im.height * tile_width / im.width))), Image.LANCZOS)
        tiles.append((t, frame, im))
    h = tiles[0][2].height
    label = 28
    sheet = Image.new("RGB", (tile_width * len(tiles), h + label), (18, 18, 18))
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.load_default(size=16)
    for i, (_t, frame, im) in enumerate(tiles):
        sheet.paste(im, (i * tile_width, label))
        draw.text((i * tile_width + 8, 5), f"t = {flow_time(frame, opts):.2f}  (frame {frame})", fill=(230, 230, 230),
                  font=font)  # fmt: skip
    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(out) as f:
        sheet.save(f, format="PNG")
    return out
