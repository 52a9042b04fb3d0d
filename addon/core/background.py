"""What a film's frames are drawn over: the look's own world, nothing (alpha), a colour, or a picture.

`--background transparent|#rrggbb|picture.png` (SceneOptions.background; "" = the look's own). The
pixel work is plain numpy, in display space (the 8-bit sRGB values written to the PNGs), because
that is where an editor lays a film over footage:

- A glowing look is rendered over black and "unmultiplied": alpha = the brightest channel, colour =
  value / alpha. Over black this gives back exactly the opaque frame (glow and all); over anything
  else it adds the light without a grey veil (alpha is 0 where nothing glows) and without a dark
  rim (the colour is never darker than the light it came from). An alpha derived in Blender's
  linear compositor cannot do this: the view transform (Filmic) runs after it and is not linear.
- A matte look (ink) has coverage alpha from Blender's transparent film, already straight.
- A colour or picture background is then laid under the frame with the ordinary "over".

Which film formats keep alpha is decided here too (`check_output`), for the render script and
`trainer movie` alike.
"""

from __future__ import annotations

import os
import re
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import FlowreelError

TRANSPARENT = "transparent"
# Film suffixes that keep an alpha channel, and what they hold; a folder is a PNG sequence.
ALPHA_FORMATS = {".mov": "ProRes 4444", ".webm": "VP9 with alpha"}
KEEPS_ALPHA = "a PNG sequence (-o FOLDER/), .mov (ProRes 4444) or .webm (VP9 with alpha)"
_HEX = re.compile(r"#?([0-9a-fA-F]{6})")


class BackgroundError(FlowreelError, ValueError):
    """A background that cannot be used, or a film format that cannot keep it; one line."""


@dataclass(frozen=True)
class Background:
    kind: str  # "look" (the look's own world), "transparent", "color" or "picture"
    color: tuple[int, int, int] = (0, 0, 0)  # sRGB bytes, for "color"
    path: str = ""  # for "picture"

    @property
    def has_alpha(self) -> bool:
        """Whether the render must make an alpha channel (every kind but the look's own)."""
        return self.kind != "look"


def parse_background(text: str) -> Background:
    """'' -> the look's; 'transparent'; '#rrggbb' (or 'rrggbb'); else a picture file that must exist."""
    t = (text or "").strip()
    if not t:
        return Background("look")
    if t.lower() in (TRANSPARENT, "none", "alpha"):
        return Background(TRANSPARENT)
    m = _HEX.fullmatch(t)
    if m:
        v = int(m.group(1), 16)
        return Background("color", ((v >> 16) & 255, (v >> 8) & 255, v & 255))
    if t.startswith("#"):
        raise BackgroundError(f"background {t!r}: a colour is #rrggbb, e.g. #1a2b3c")
    path = os.path.abspath(os.path.expanduser(t))
    if not os.path.isfile(path):
        raise BackgroundError(f"background {t!r} is not transparent, a #rrggbb colour or an existing picture file")
    return Background("picture", path=path)


def is_folder_output(path: str | os.PathLike) -> bool:
    """An output meant as a PNG sequence: an existing folder, a trailing slash, or no suffix."""
    s = os.fspath(path)
    return s.endswith(("/", os.sep)) or os.path.isdir(s) or not Path(s).suffix


def check_output(path: str | os.PathLike, background: Background, gif: bool = False) -> None:
    """Refuse a film format that would drop a transparent background, naming the ones that keep it."""
    if background.kind != TRANSPARENT:
        return
    suffix = Path(os.fspath(path)).suffix.lower()
    if not is_folder_output(path) and suffix not in ALPHA_FORMATS:
        raise BackgroundError(f"{Path(path).name}: {suffix.lstrip('.').upper() or 'this format'} cannot keep a "
                              f"transparent background; write {KEEPS_ALPHA}")
    if gif:
        raise BackgroundError(f"a GIF cannot keep a transparent background; write {KEEPS_ALPHA}")


# --- pixels (uint8, display space, rows top to bottom) --------------------------------------------
# Light this faint (out of 255) is the glow's far tail and the sampling noise of a dark background, not
# a picture: it becomes fully clear, so a film's empty corners are alpha 0 (over black: at most 2 levels off).
CLEAR_BELOW = 3


def unmultiply(rgb: np.ndarray) -> np.ndarray:
    """uint8 [H, W, 3] light over black -> uint8 [H, W, 4] straight RGBA that is the same light over black
    (to within CLEAR_BELOW levels, where it is clear)."""
    rgb = np.asarray(rgb, dtype=np.uint8)[..., :3]
    alpha = rgb.max(axis=-1)
    alpha[alpha < CLEAR_BELOW] = 0
    out = np.empty((*rgb.shape[:-1], 4), dtype=np.uint8)
    scale = np.float32(255.0) / np.maximum(alpha, 1).astype(np.float32)  # one division a pixel, not three
    out[..., :3] = np.minimum(rgb * scale[..., None] + np.float32(0.5), np.float32(255.0))  # rounds; rgb <= alpha
    out[..., 3] = alpha
    return out


def over(rgba: np.ndarray, under: np.ndarray) -> np.ndarray:
    """Straight uint8 RGBA [H, W, 4] laid over uint8 RGB [H, W, 3] (or one colour [3]): uint8 RGB."""
    fg = np.asarray(rgba, dtype=np.float32)
    a = fg[..., 3:4] / 255.0
    out = fg[..., :3] * a + np.asarray(under, dtype=np.float32)[..., :3] * (1.0 - a)
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def cover(picture: np.ndarray, width: int, height: int) -> np.ndarray:
    """A picture [h, w, >=3] scaled to cover width x height (each pixel the mean of the picture's area under
    it) and centre-cropped, as uint8 RGB; alpha in the picture is laid over black."""
    pic = np.asarray(picture)
    if pic.shape[-1] == 4:
        pic = over(pic, np.zeros(3))
    f = int(min(pic.shape[1] / width, pic.shape[0] / height))
    if f >= 2:  # a large photo: whole f x f blocks averaged first, so the table below stays frame-sized
        h, w = pic.shape[0] // f * f, pic.shape[1] // f * f
        pic = pic[:h, :w, :3].reshape(h // f, f, w // f, f, 3).mean(axis=(1, 3))
    ph, pw = pic.shape[:2]
    s = max(width / pw, height / ph)
    sw, sh = max(width, round(pw * s)), max(height, round(ph * s))
    x0, y0 = (sw - width) // 2, (sh - height) // 2
    # Source box of each target pixel, averaged: sharp enough for a backdrop, no aliasing when shrinking.
    xs = (np.arange(x0, x0 + width + 1) / s).clip(0, pw)
    ys = (np.arange(y0, y0 + height + 1) / s).clip(0, ph)
    integral = np.zeros((ph + 1, pw + 1, 3), dtype=np.float64)
    integral[1:, 1:] = pic[..., :3].astype(np.float64).cumsum(0).cumsum(1)

    def at(yy: np.ndarray, xx: np.ndarray) -> np.ndarray:  # bilinear read of the summed-area table
        y, x = yy[:, None], xx[None, :]
        y0_, x0_ = np.floor(y).astype(int).clip(0, ph - 1), np.floor(x).astype(int).clip(0, pw - 1)
        fy, fx = (y - y0_)[..., None], (x - x0_)[..., None]
        t = integral
        return ((1 - fy) * (1 - fx) * t[y0_, x0_] + (1 - fy) * fx * t[y0_, x0_ + 1]
                + fy * (1 - fx) * t[y0_ + 1, x0_] + fy * fx * t[y0_ + 1, x0_ + 1])

    total = at(ys[1:], xs[1:]) - at(ys[1:], xs[:-1]) - at(ys[:-1], xs[1:]) + at(ys[:-1], xs[:-1])
    area = np.outer(np.diff(ys), np.diff(xs))[..., None]
    return np.clip(np.rint(total / np.maximum(area, 1e-12)), 0, 255).astype(np.uint8)


def write_png(path: str | os.PathLike, pixels: np.ndarray) -> None:
    """uint8 [H, W, 3 or 4] (rows top to bottom) as an 8-bit PNG (no other dependency: zlib)."""
    px = np.ascontiguousarray(pixels, dtype=np.uint8)
    h, w, c = px.shape
    raw = np.zeros((h, 1 + w * c), dtype=np.uint8)  # filter byte 0 (None) before each row
    raw[:, 1:] = px.reshape(h, w * c)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    head = struct.pack(">IIBBBBB", w, h, 8, {3: 2, 4: 6}[c], 0, 0, 0)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", head) + chunk(b"IDAT", zlib.compress(raw.tobytes(), 6))
                + chunk(b"IEND", b""))
