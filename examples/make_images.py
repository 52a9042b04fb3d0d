"""Draw Flowreel's sample pictures with Pillow (no third-party artwork).

    python examples/make_images.py            # writes examples/{logo,text,ring,lineart}.png

logo.png is the demo image: a film reel (a disk with six holes and a hub) above the word FLOWREEL,
black ink on white. The others exercise what logos are made of: text, a ring with a hole, thin lines.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

HERE = Path(__file__).resolve().parent
INK, PAPER = 0, 255


def _font(size: int) -> ImageFont.ImageFont:
    # Pillow >= 10.1 ships a scalable default font, so no system fonts are needed.
    return ImageFont.load_default(size=size)


def _centered_text(draw: ImageDraw.ImageDraw, cx: float, cy: float, text: str, size: int) -> None:
    font = _font(size)
    bold = max(1, size // 20)  # the default font is light; a stroke makes letters dense enough to read as particles
    x0, y0, x1, y1 = draw.textbbox((0, 0), text, font=font, stroke_width=bold)
    origin = (cx - (x1 - x0) / 2 - x0, cy - (y1 - y0) / 2 - y0)
    draw.text(origin, text, font=font, fill=INK, stroke_width=bold, stroke_fill=INK)


def logo(size: int = 512) -> Image.Image:
    im = Image.new("L", (size, size), PAPER)
    d = ImageDraw.Draw(im)
    cx, cy, r = size / 2, size * 0.40, size * 0.30
    d.ellipse([cx - r, cy - r, cx + r, cy + r], fill=INK)
    for k in range(6):  # the reel's six windows
        a = math.pi / 2 + k * math.pi / 3
        hx, hy, hr = cx + 0.58 * r * math.cos(a), cy - 0.58 * r * math.sin(a), 0.25 * r
        d.ellipse([hx - hr, hy - hr, hx + hr, hy + hr], fill=PAPER)
    hub = 0.12 * r
    d.ellipse([cx - hub, cy - hub, cx + hub, cy + hub], fill=PAPER)
    _centered_text(d, cx, size * 0.86, "FLOWREEL", int(size * 0.13))
    return im


def text(size: int = 512) -> Image.Image:
    im = Image.new("L", (size, size // 2), PAPER)
    d = ImageDraw.Draw(im)
    _centered_text(d, size / 2, size / 4, "Hello", int(size * 0.3))
    return im


def ring(size: int = 512) -> Image.Image:
    im = Image.new("L", (size, size), PAPER)
    d = ImageDraw.Draw(im)
    c, ro, ri = size / 2, size * 0.42, size * 0.26
    d.ellipse([c - ro, c - ro, c + ro, c + ro], fill=INK)
    d.ellipse([c - ri, c - ri, c + ri, c + ri], fill=PAPER)
    return im


def lineart(size: int = 512) -> Image.Image:
    """A thin-stroked spiral and a star: strokes a few pixels wide."""
    im = Image.new("L", (size, size), PAPER)
    d = ImageDraw.Draw(im)
    c = size / 2
    pts = []
    for i in range(600):
        a = i / 600 * 6 * math.pi
        rr = size * 0.03 + size * 0.40 * i / 600
        pts.append((c + rr * math.cos(a), c + rr * math.sin(a)))
    d.line(pts, fill=INK, width=max(2, size // 128))
    star = []
    for k in range(10):
        a = -math.pi / 2 + k * math.pi / 5
        rr = size * (0.12 if k % 2 == 0 else 0.05)
        star.append((c + rr * math.cos(a), c + rr * math.sin(a)))
    d.line(star + star[:1], fill=INK, width=max(2, size // 128))
    return im


IMAGES = {"logo": logo, "text": text, "ring": ring, "lineart": lineart}


def main(out_dir: Path = HERE) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, draw in IMAGES.items():
        path = out_dir / f"{name}.png"
        draw().save(path)
        paths.append(path)
    return paths


if __name__ == "__main__":
    for p in main(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE):
        print(p)
