"""End to end: `trainer movie` from a picture to a film, with a tiny budget."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import sigint_interrupts
from PIL import Image, ImageDraw

from flowreel.addon.core.options import SceneOptions
from flowreel.addon.core.timing import scene_frame_count

pytestmark = pytest.mark.slow

FPS, SECONDS, HOLD_START, HOLD_END = 8, 1.0, 0.25, 0.5
W, H = 96, 64
TINY = [
    "--steps", "400", "--particles", "3000", "--resolution", f"{W}x{H}", "--samples", "2",
    "--fps", str(FPS), "--seconds", str(SECONDS), "--hold-start", str(HOLD_START), "--hold-end", str(HOLD_END),
    "--easing", "ease_in_out", "--look", "glow",
]  # fmt: skip


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> Path:
    """One runs folder for the module: the second film reuses the first one's fit."""
    return tmp_path_factory.mktemp("runs")


@pytest.fixture(scope="module")
def picture(tmp_path_factory) -> Path:
    """A fat ring, drawn wide like the film so its silhouette is easy to compare."""
    path = tmp_path_factory.mktemp("img") / "ring.png"
    im = Image.new("L", (96, 64), 255)
    ImageDraw.Draw(im).ellipse([24, 8, 72, 56], fill=0)
    ImageDraw.Draw(im).ellipse([38, 22, 58, 42], fill=255)
    im.save(path)
    return path


def _movie(args: list[str], cwd: Path, **kw) -> subprocess.Popen:
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    return subprocess.Popen(
        [sys.executable, "-m", "flowreel.trainer", "movie", *args], cwd=cwd, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kw,
    )  # fmt: skip


def _run(args: list[str], cwd: Path) -> str:
    proc = _movie(args, cwd)
    out, _ = proc.communicate(timeout=900)
    assert proc.returncode == 0, out[-3000:]
    return out


def _probe(ffprobe: str, path: Path) -> tuple[int, int, int]:
    out = subprocess.run(
        [ffprobe, "-v", "error", "-count_frames", "-select_streams", "v:0",
         "-show_entries", "stream=nb_read_frames,width,height", "-of", "csv=p=0", str(path)],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    w, h, n = (int(v) for v in out.split(","))
    return n, w, h


def _expected_frames(seconds: float = SECONDS) -> int:
    return scene_frame_count(SceneOptions(seconds=seconds, fps=FPS, hold_start=HOLD_START, hold_end=HOLD_END))


def _mask(a: np.ndarray) -> np.ndarray:
    return a > a.mean() + 0.5 * a.std()


def test_movie_end_to_end_then_reuse(tmp_path, picture, runs, ffprobe_exe):
    out = _run([str(picture), "-o", "film.mp4", "--gif", "--runs-dir", str(runs), *TINY], tmp_path)
    film = tmp_path / "film.mp4"
    assert "done:" in out and "excess TV" in out
    n_frames = _expected_frames()
    assert _probe(ffprobe_exe, film) == (n_frames, W, H)
    assert Image.open(tmp_path / "film.gif").n_frames == n_frames
    assert Image.open(tmp_path / "film_sheet.png").width == 5 * 384  # t = 0, 0.25, 0.5, 0.75, 1

    # The last frame shows the picture: bright where the ink was, a hole in the middle.
    frames = sorted((tmp_path / "film_frames").glob("frame_*.png"))
    assert len(frames) == n_frames
    assert json.loads((tmp_path / "film_frames" / "flowreel_render.json").read_text())["camera"] == "STATIC"
    last = np.asarray(Image.open(frames[-1]).convert("L"), dtype=np.float32)
    ink = np.asarray(Image.open(picture).convert("L").resize((W, H))) < 128
    lit = _mask(last)
    # The camera frames every particle with a margin: align the lit region's box (robust to a few
    # stray particles) with the ink's box, then compare shapes.
    ys, xs = np.nonzero(lit)
    assert len(xs) > 50
    y0, y1 = np.percentile(ys, [1, 99]).astype(int)
    x0, x1 = np.percentile(xs, [1, 99]).astype(int)
    crop = Image.fromarray(lit[y0 : y1 + 1, x0 : x1 + 1].astype(np.uint8) * 255)
    iy, ix = np.nonzero(ink)
    ink_crop = ink[iy.min() : iy.max() + 1, ix.min() : ix.max() + 1]
    lit_resized = np.asarray(crop.resize(ink_crop.shape[::-1])) > 127
    iou = (lit_resized & ink_crop).sum() / (lit_resized | ink_crop).sum()
    assert iou > 0.5, f"IoU of the last frame with the picture: {iou:.2f}"
    # The ring's hole stays dark: at the centre of the lit ring the frame is much darker than the ring.
    cy, cx = int(round(ys.mean())), int(round(xs.mean()))
    hole = last[cy - 1 : cy + 2, cx - 1 : cx + 2].mean()
    assert hole < 0.6 * np.median(last[lit]), f"the ring's hole is lit ({hole:.0f} vs {np.median(last[lit]):.0f})"

    # Same picture, same settings: no retraining.
    t0 = time.perf_counter()
    again = _run([str(picture), "-o", "film2.mp4", "--runs-dir", str(runs), *TINY], tmp_path)
    assert "reusing" in again.split("[2/3]")[0], again
    assert _probe(ffprobe_exe, tmp_path / "film2.mp4")[0] == n_frames
    assert time.perf_counter() - t0 < 600


def test_ctrl_c_mid_render_resumes(tmp_path, picture, runs, ffprobe_exe):
    frames_dir = tmp_path / "cut_frames"
    seconds = 6.0  # a longer film (~55 frames of ~0.1 s) so that the interrupt lands mid-render
    args = [str(picture), "-o", "cut.mp4", "--runs-dir", str(runs), *TINY, "--seconds", str(seconds)]
    proc = _movie(args, tmp_path, preexec_fn=sigint_interrupts)  # even when pytest runs with SIGINT ignored
    deadline = time.time() + 600
    while time.time() < deadline and len(list(frames_dir.glob("frame_*.png"))) < 3:
        assert proc.poll() is None, proc.stdout.read()[-3000:]
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode != 0, "the interrupted movie reported success"
    assert "Traceback" not in out, out[-3000:]
    kept = {p.name: p.stat().st_mtime_ns for p in frames_dir.glob("frame_*.png")}
    assert 3 <= len(kept) < _expected_frames(seconds)
    assert not (tmp_path / "cut.mp4").exists()

    _run(args, tmp_path)
    for name, mtime in kept.items():
        assert (frames_dir / name).stat().st_mtime_ns == mtime, f"{name} was rendered again"
    assert _probe(ffprobe_exe, tmp_path / "cut.mp4")[0] == _expected_frames(seconds)


def test_run_dir_key_ignores_where_and_how_fast_a_fit_trains_but_not_what_it_learns(tmp_path):
    from flowreel.trainer.film.movie import MovieSettings, run_dir_for
    from flowreel.trainer.fit.loop import FitConfig

    def key(**fit):
        s = MovieSettings(image=tmp_path / "a.png", output=tmp_path / "a.mp4", fit_config=FitConfig(**fit))
        return run_dir_for("ab" * 32, "a", s)

    assert key() == key(device="cuda", workers=0) == key(workers=3)
    assert key() != key(steps=10) and key() != key(seed=1)
