"""A word or a title -> the picture of it: `--text "Hello" [--font FILE.ttf]` (fit, movie, the add-on's Fit Text).

The text is drawn with Pillow's FreeType renderer, white with its coverage as alpha, at the font size that makes
its longer side fill the working size (``max_side``) less a small margin; the canvas is the text's own box, so a
long word makes a wide picture and the camera frames it like any picture. Lines break at newlines (or at a
typed ``\\n``, which a Blender text field cannot hold otherwise).

With no --font it is DejaVu Sans Bold, shipped in trainer/fonts with its licence, so it works on a fresh machine.
The picture's content key (its ``sha256``: the run folder of a fit) is the text, the font file's sha256 and the
working size, so the same words in the same font are fitted once.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import unicodedata
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from flowreel.trainer.targets.picture import DensityError, ImageDensity, check_readable, file_sha256

DEFAULT_FONT = Path(__file__).resolve().parent / "fonts" / "DejaVuSans-Bold.ttf"
MAX_CHARS = 200  # a title, not a paragraph: more would be too thin to read at any working size
MARGIN = 0.04  # free space around the text, a fraction of the longer side
_REF_SIZE = 200  # font size at which the text is measured before the real size is chosen


class TextError(DensityError):
    """Text or a font that cannot become a picture; one line."""


def _font_fail(path: str | os.PathLike, why: str) -> TextError:
    return TextError(f"--font {os.path.basename(os.fspath(path)) or path}: {why}")


def clean_text(text: str) -> str:
    """The text as drawn: typed ``\\n`` as line breaks, other control characters dropped, blank ends trimmed."""
    text = str(text).replace("\\n", "\n").replace("\r\n", "\n")
    text = "".join(c for c in text if c == "\n" or unicodedata.category(c)[0] != "C")
    text = "\n".join(line.strip() for line in text.strip().split("\n"))
    if not text.strip():
        raise TextError("--text is empty: give the words to draw, e.g. --text \"Hello\"")
    if len(text) > MAX_CHARS:
        raise TextError(f"--text is {len(text)} characters; at most {MAX_CHARS} fit a picture legibly")
    return text


def load_font(font: str | os.PathLike | None, size: int) -> ImageFont.FreeTypeFont:
    """The TrueType/OpenType font at `size` px (DejaVu Sans Bold when None); TextError in one line otherwise."""
    path = os.fspath(font) if font is not None else str(DEFAULT_FONT)
    check_readable(path, _font_fail, "a font file")
    try:
        return ImageFont.truetype(path, size)
    except OSError as e:
        raise _font_fail(path, f"not a TrueType or OpenType font ({e})") from None
    except ValueError as e:  # a font FreeType opens but cannot size (a bitmap-only font)
        raise _font_fail(path, f"cannot be drawn at {size} px ({e})") from None


def _box(font: ImageFont.FreeTypeFont, text: str) -> tuple[int, int, int, int]:
    draw = ImageDraw.Draw(Image.new("L", (1, 1)))
    box = draw.multiline_textbbox((0, 0), text, font=font, align="center", spacing=font.size // 6)
    return math.floor(box[0]), math.floor(box[1]), math.ceil(box[2]), math.ceil(box[3])  # floats in Pillow 11


def _glyph(font: ImageFont.FreeTypeFont, char: str) -> tuple[tuple[int, int], bytes]:
    mask = font.getmask(char)
    return mask.size, bytes(mask)


def missing_glyphs(font: ImageFont.FreeTypeFont, text: str) -> list[str]:
    """The characters of `text` that `font` draws as its "missing glyph" box (a private-use character's)."""
    notdef = _glyph(font, "\U0010fffd")
    return [c for c in dict.fromkeys(text) if not c.isspace() and _glyph(font, c) == notdef]


def render_text(text: str, font: str | os.PathLike | None = None, max_side: int = 512) -> Image.Image:
    """The text as an RGBA image (white, alpha = coverage) whose longer side is about `max_side`."""
    text = clean_text(text)
    ref = load_font(font, _REF_SIZE)
    missing = missing_glyphs(ref, text)
    if missing:
        which = f"--font {os.path.basename(os.fspath(font))}" if font is not None else "the default font (DejaVu Sans)"
        raise TextError(f"{which} has no glyph for {' '.join(missing[:8])} (it would draw boxes): name a font that "
                        "has them with --font")  # fmt: skip
    x0, y0, x1, y1 = _box(ref, text)
    if x1 <= x0 or y1 <= y0:
        raise TextError(f"--text {text!r} draws nothing in this font (only blank characters)")
    inner = max_side * (1 - 2 * MARGIN)
    size = max(1, int(_REF_SIZE * inner / max(x1 - x0, y1 - y0)))
    f = load_font(font, size)
    x0, y0, x1, y1 = _box(f, text)
    pad = max(1, round(MARGIN * max_side))
    w, h = x1 - x0 + 2 * pad, y1 - y0 + 2 * pad
    if min(w, h) < 4:
        raise TextError(f"--text {text!r} is too thin to draw at --max-side {max_side}")
    mask = Image.new("L", (w, h), 0)
    ImageDraw.Draw(mask).multiline_text((pad - x0, pad - y0), text, fill=255, font=f, align="center",
                                        spacing=f.size // 6)  # fmt: skip
    out = Image.new("RGBA", (w, h), (255, 255, 255, 0))
    out.putalpha(mask)
    return out


def text_key(text: str, font: str | os.PathLike | None, max_side: int) -> str:
    """The content key of a text picture: the text, the font file's sha256 and the working size."""
    font_sha = file_sha256(os.fspath(font) if font is not None else str(DEFAULT_FONT))
    key = json.dumps({"text": clean_text(text), "font": font_sha, "max_side": int(max_side)}, sort_keys=True)
    return hashlib.sha256(key.encode()).hexdigest()


def text_name(text: str) -> str:
    """A short file-name-safe name for the text's runs and files: text-Hello_World."""
    words = "".join(c if c.isalnum() else "_" for c in clean_text(text))[:32].strip("_")
    return "text-" + (words or "x")


def load_text_density(text: str, font: str | os.PathLike | None = None, *, invert: bool = False,
                      threshold: float | None = None, max_side: int = 512) -> ImageDensity:
    """The density of the drawn text (ink = the glyphs' coverage), like load_density of its picture."""
    if invert:
        raise TextError("--invert applies to pictures; --text is drawn as ink already")
    if threshold is not None and not 0.0 < float(threshold) < 1.0:
        raise TextError(f"threshold must be between 0 and 1 (exclusive), got {threshold}")
    im = render_text(text, font, int(max_side))
    rgba = np.ascontiguousarray(np.asarray(im), dtype=np.uint8)
    weight = rgba[..., 3].astype(np.float64) / 255.0
    if threshold is not None:
        weight = (weight >= float(threshold)).astype(np.float64)
    if not weight.any():
        raise TextError(f"--text {clean_text(text)!r}: no ink (nothing drawn reaches the threshold)")
    options = {"invert": False, "threshold": None if threshold is None else float(threshold),
               "max_side": int(max_side)}  # fmt: skip
    return ImageDensity(weight, rgba, name=text_name(text), sha256=text_key(text, font, max_side), options=options,
                        source_size=im.size)  # fmt: skip
