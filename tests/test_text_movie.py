"""`trainer movie --text WORD`: a film of a word, end to end with tiny draft settings; its last frame reads by OCR."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from conftest import REPO, require_module
from test_legibility import read_text

pytestmark = pytest.mark.slow

WORD = "HELLO"  # chosen before any OCR run


def test_text_film_last_frame_reads(tmp_path):
    require_module("bpy")
    require_module("rapidocr_onnxruntime")
    from flowreel.addon.core.frames import default_frames_dir

    film = tmp_path / "hello.mp4"
    cmd = [sys.executable, "-m", "flowreel.trainer", "movie", "--text", WORD, "-o", str(film),
           "--runs-dir", str(tmp_path / "runs"), "--steps", "60", "--particles", "12000", "--resolution", "400x224",
           "--samples", "2", "--fps", "4", "--seconds", "0.5", "--hold-start", "0", "--hold-end", "0"]  # fmt: skip
    env = dict(os.environ, OMP_NUM_THREADS="1")
    r = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=1200)
    assert r.returncode == 0, (r.stdout + r.stderr)[-3000:]
    assert film.is_file() and "text-HELLO-" in r.stdout  # the run folder is named after the word
    frames = sorted(default_frames_dir(film).glob("frame_*.png"))
    text = read_text(frames[-1])
    assert WORD in "".join(text.upper().split()), f"OCR read {text!r} in {frames[-1]}"
    # the same word again reuses its fit (the key is the text, the font's bytes and the size)
    again = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=1200)
    assert again.returncode == 0 and "reusing" in again.stdout, again.stdout[-2000:]
