"""End to end: `trainer movie a.png b.png` — a film from noise into a red square, held, then into a blue ring.

Needs the add-on's sequence timing (the render script plays meta.segments: each move over its `seconds`,
a hold at rest on each inner key, --hold-start / --hold-end at the film's ends) and its key colours
(particles take key_colors[k] at key k, blended between keys).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

pytestmark = pytest.mark.slow

FPS, MOVE, HOLD, HOLD_START, HOLD_END = 8, 1.0, 0.5, 0.25, 0.5  # every stretch a whole number of frames at 8 fps
W, H = 160, 90
TINY = [
    "--steps", "300", "--particles", "3000", "--resolution", f"{W}x{H}", "--samples", "1", "--fps", str(FPS),
    "--seconds-per-move", str(MOVE), "--hold", str(HOLD), "--hold-start", str(HOLD_START),
    "--hold-end", str(HOLD_END), "--look", "glow", "--easing", "linear",
]  # fmt: skip


def _pictures(tmp: Path) -> tuple[Path, Path]:
    a, b = tmp / "square.png", tmp / "ring.png"
    im = Image.new("RGB", (48, 32), "white")
    ImageDraw.Draw(im).rectangle([4, 6, 24, 26], fill=(255, 0, 0))  # a red square, left
    im.save(a)
    im = Image.new("RGB", (48, 32), "white")
    ImageDraw.Draw(im).ellipse([18, 2, 46, 30], fill=(0, 0, 255))  # a blue ring, right
    ImageDraw.Draw(im).ellipse([26, 10, 38, 22], fill="white")
    im.save(b)
    return a, b


def _frames(seconds: float) -> int:
    return int(np.floor(seconds * FPS + 0.5))


def _probe_frames(ffprobe: str, path: Path) -> int:
    out = subprocess.run([ffprobe, "-v", "error", "-count_frames", "-select_streams", "v:0", "-show_entries",
                          "stream=nb_read_frames", "-of", "csv=p=0", str(path)],
                         capture_output=True, text=True, check=True).stdout  # fmt: skip
    return int(out.strip())


def _lit(path: Path) -> tuple[np.ndarray, np.ndarray]:
    rgb = np.asarray(Image.open(path).convert("RGB"), dtype=np.float32)
    lum = rgb.mean(axis=2)
    return rgb, lum > lum.mean() + 0.5 * lum.std()


def _iou_with(lit: np.ndarray, picture: Path) -> float:
    """Shape agreement of the lit region with the picture's ink, each cropped to its own box."""
    ys, xs = np.nonzero(lit)
    y0, y1 = np.percentile(ys, [1, 99]).astype(int)
    x0, x1 = np.percentile(xs, [1, 99]).astype(int)
    ink = np.asarray(Image.open(picture).convert("L")) < 128
    iy, ix = np.nonzero(ink)
    ink = ink[iy.min() : iy.max() + 1, ix.min() : ix.max() + 1]
    crop = Image.fromarray(lit[y0 : y1 + 1, x0 : x1 + 1].astype(np.uint8) * 255).resize(ink.shape[::-1])
    lit_c = np.asarray(crop) > 127
    return float((lit_c & ink).sum() / (lit_c | ink).sum())


def test_movie_of_two_pictures(tmp_path, ffprobe_exe):
    a, b = _pictures(tmp_path)
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    # --crop none: these two pictures share a canvas designed to line up (the square left, the ring right), and the
    # placement check below is about that shared canvas; each key cropped on its own would centre both.
    proc = subprocess.run([sys.executable, "-m", "flowreel.trainer", "movie", str(a), str(b), "-o", "film.mp4",
                           "--runs-dir", str(tmp_path / "runs"), "--crop", "none", *TINY], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=900)  # fmt: skip
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]

    # The timeline: [hold start] noise -> square [hold] square -> ring [hold end]
    hs, move, hold, he = _frames(HOLD_START), _frames(MOVE), _frames(HOLD), _frames(HOLD_END)
    n_frames = hs + move + hold + move + he + 1
    assert _probe_frames(ffprobe_exe, tmp_path / "film.mp4") == n_frames
    frames = sorted((tmp_path / "film_frames").glob("frame_*.png"))
    assert len(frames) == n_frames
    key_a = 1 + hs + move  # scene frame where the square is reached; it rests there `hold` frames
    key_b = key_a + hold + move
    mid_a = frames[key_a + hold // 2 - 1]  # frames[i] is scene frame i + 1
    at_b = frames[key_b - 1]

    rgb_a, lit_a = _lit(mid_a)
    rgb_b, lit_b = _lit(at_b)
    assert _iou_with(lit_a, a) > 0.5, f"{mid_a.name} does not show the square"
    assert _iou_with(lit_b, b) > 0.5, f"{at_b.name} does not show the ring"
    # the square is left of the ring, as in the pictures (one camera for the whole film)
    assert np.nonzero(lit_a)[1].mean() < np.nonzero(lit_b)[1].mean() - 5
    # colours at the keys: the square's particles red, the ring's blue
    red_a, blue_a = rgb_a[lit_a][:, 0].mean(), rgb_a[lit_a][:, 2].mean()
    red_b, blue_b = rgb_b[lit_b][:, 0].mean(), rgb_b[lit_b][:, 2].mean()
    assert red_a > blue_a, f"key A should be red: mean R {red_a:.0f}, B {blue_a:.0f}"
    assert blue_b > red_b, f"key B should be blue: mean R {red_b:.0f}, B {blue_b:.0f}"
    # at rest: the hold on the square shows the same frame at its start and end
    same = np.abs(np.asarray(Image.open(frames[key_a - 1]), np.float32)
                  - np.asarray(Image.open(frames[key_a + hold - 1]), np.float32)).mean()  # fmt: skip
    assert same < 2.0, f"the film moves during the hold on the square (mean difference {same:.1f})"
