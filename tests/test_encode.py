"""Encoding frames to MP4 and GIF (addon/encode.py), shared by the render script and the preview."""

from __future__ import annotations

import subprocess

import numpy as np
import pytest
from PIL import Image

from flowreel.addon.core import encode


def _probe(ffprobe: str, path) -> tuple[int, int, int, str]:
    out = subprocess.run(
        [ffprobe, "-v", "error", "-count_frames", "-select_streams", "v:0",
         "-show_entries", "stream=nb_read_frames,width,height,pix_fmt", "-of", "csv=p=0", str(path)],
        capture_output=True, text=True, check=True,
    ).stdout.strip().split(",")  # fmt: skip
    width, height, pix_fmt, frames = out
    return int(frames), int(width), int(height), pix_fmt


def _frames(n=12, h=48, w=64):
    frames = []
    for i in range(n):
        f = np.zeros((h, w, 3), np.uint8)
        f[:, i * 4 : i * 4 + 8] = 255  # a moving bar
        frames.append(f)
    return frames


def test_arrays_to_mp4_and_gif(tmp_path, ffprobe_exe):
    mp4 = encode.encode_arrays(_frames(), str(tmp_path / "a.mp4"), fps=12)
    assert _probe(ffprobe_exe, mp4) == (12, 64, 48, "yuv420p")
    gif = encode.encode_arrays(_frames(), str(tmp_path / "a.gif"), fps=12)
    im = Image.open(gif)
    assert im.n_frames == 12 and im.size == (64, 48)
    im.seek(11)
    last = np.asarray(im.convert("L"))
    assert last[:, 44:52].mean() > 200 and last[:, :40].mean() < 30  # the bar is where it was drawn


def test_image_sequence_odd_size_is_padded(tmp_path, ffprobe_exe):
    for i, f in enumerate(_frames(5, 31, 45)):
        Image.fromarray(f).save(tmp_path / f"f_{i + 3:04d}.png")
    mp4 = encode.encode_image_sequence(str(tmp_path / "f_%04d.png"), str(tmp_path / "s.mp4"), fps=24, start_number=3)
    assert _probe(ffprobe_exe, mp4) == (5, 46, 32, "yuv420p")


def test_failures_leave_no_file(tmp_path, ffprobe_exe):
    with pytest.raises(encode.EncodeError, match="unknown video type"):
        encode.encode_arrays(_frames(), str(tmp_path / "a.avi2"), fps=12)
    with pytest.raises(encode.EncodeError, match="ffmpeg failed"):
        encode.encode_image_sequence(str(tmp_path / "none_%04d.png"), str(tmp_path / "x.mp4"), fps=12)
    assert list(tmp_path.iterdir()) == []
