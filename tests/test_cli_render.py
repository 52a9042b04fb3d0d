"""The trainer's render side end to end: `trainer render` (with --gif-width), `trainer sheet`, `--blender PATH`
and "no Blender found", and a `--quality final` film whose rendered scene has the final settings.

Tiny films: the six-particle trajectory of the render tests, 64x40, 5 frames (a few seconds each here).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from conftest import TINY_FIT, decode_video, probe_video, require_module
from PIL import Image, ImageDraw
from test_addon_render_util import FILM_ARGS, FILM_FRAMES, read_png, write_tiny_traj

from flowreel.addon.core.frames import RECORD
from flowreel.trainer.cli import main


def _frame(folder, f: int) -> np.ndarray:
    return read_png(folder / f"frame_{f:04d}.png")


def _nearest_frame(img: np.ndarray, folder) -> tuple[int, float]:
    errors = {f: float(np.abs(img - _frame(folder, f)).mean()) for f in range(1, FILM_FRAMES + 1)}
    best = min(errors, key=errors.get)
    return best, errors[best]


def test_render_writes_the_film_gif_and_sheet_of_its_frames(tmp_path, ffmpeg_exe, ffprobe_exe):
    """`trainer render` renders every frame (bpy module child), encodes the film from them in order and a GIF
    at --gif-width; `trainer sheet` tiles the frames at the asked flow times."""
    require_module("bpy")
    traj = write_tiny_traj(tmp_path / "tiny.npz")
    film = tmp_path / "film.mp4"
    assert main(["render", str(traj), "-o", str(film), "--gif", "--gif-width", "32", *FILM_ARGS]) == 0
    frames_dir = tmp_path / "film_frames"
    assert sorted(p.name for p in frames_dir.glob("frame_*.png")) == [
        f"frame_{f:04d}.png" for f in range(1, FILM_FRAMES + 1)]
    assert probe_video(ffprobe_exe, film) == (FILM_FRAMES, 64, 40)
    for i, decoded in enumerate(decode_video(ffmpeg_exe, film, tmp_path / "decoded")):
        assert _nearest_frame(decoded, frames_dir)[0] in (i + 1, {1: 2, 2: 1, 4: 5, 5: 4}.get(i + 1))  # holds repeat
    with Image.open(film.with_suffix(".gif")) as gif:
        assert (gif.n_frames, gif.size) == (FILM_FRAMES, (32, 20))  # --gif-width 32 keeps the aspect

    sheet = tmp_path / "sheet.png"
    assert main(["sheet", str(frames_dir), "-o", str(sheet), "--times", "0", "1", "--tile-width", "64"]) == 0
    img = read_png(sheet)
    assert img.shape[1] == 2 * 64
    start, end = img[-40:, :64], img[-40:, 64:]  # under the label band, tile by tile, at the frames' own size
    assert _nearest_frame(start, frames_dir) in ((1, 0.0), (2, 0.0))  # t = 0: the noise (held, then flowing)
    assert _nearest_frame(end, frames_dir) in ((4, 0.0), (5, 0.0))  # t = 1: the picture


def test_blender_path_renders_with_that_executable(tmp_path, blender_exe, ffprobe_exe):
    """--blender PATH: the frames are drawn by that Blender (the frames record names its version), not the bpy
    module; a --blender that does not exist is one line and exit 2, before anything is written."""
    traj = write_tiny_traj(tmp_path / "tiny.npz")
    version = subprocess.run([blender_exe, "-b", "--factory-startup", "--version"], capture_output=True,
                             text=True, timeout=120).stdout.split()[1]
    film = tmp_path / "film.mp4"
    assert main(["render", "--blender", blender_exe, str(traj), "-o", str(film), *FILM_ARGS]) == 0
    record = json.loads((tmp_path / "film_frames" / RECORD).read_text())
    assert record["blender"].split()[0] == version
    assert probe_video(ffprobe_exe, film) == (FILM_FRAMES, 64, 40)


def test_missing_blender_executable_is_one_line(tmp_path, capsys):
    traj = write_tiny_traj(tmp_path / "tiny.npz")
    rc = main(["render", "--blender", str(tmp_path / "no-blender"), str(traj), "-o", str(tmp_path / "f.mp4")])
    err = [ln for ln in capsys.readouterr().err.splitlines() if ln.strip()]
    assert rc != 0 and len(err) == 1 and "no-blender: no such executable" in err[0], err
    assert not (tmp_path / "f_frames").exists() and not (tmp_path / "f.mp4").exists()


# A trainer whose Python has no bpy (as a torch-only install) and whose PATH has no `blender`.
_NO_BLENDER = """
import sys
sys.modules["bpy"] = None  # importlib.util.find_spec("bpy") is None: the bpy module is not installed
from flowreel.trainer.cli import main
sys.exit(main(sys.argv[1:]))
"""


def test_no_blender_found_is_one_line_naming_the_ways_to_get_one(tmp_path):
    traj = write_tiny_traj(tmp_path / "tiny.npz")
    empty = tmp_path / "empty-path"
    empty.mkdir()
    env = dict(os.environ, PATH=str(empty))
    r = subprocess.run([sys.executable, "-c", _NO_BLENDER, "render", str(traj), "-o", str(tmp_path / "f.mp4")],
                       capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path)
    err = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert r.returncode != 0 and len(err) == 1, r.stderr
    assert "no Blender found" in err[0] and "pip install" in err[0] and "--blender PATH" in err[0]
    assert not (tmp_path / "f_frames").exists()


# Reads the scene the render script saved (the one it renders) in a fresh bpy process.
_SCENE_SETTINGS = """
import json, sys
import bpy
bpy.ops.wm.open_mainfile(filepath=sys.argv[-1])
s = bpy.context.scene
print("FLOWREEL_SETTINGS " + json.dumps({
    "engine": s.render.engine, "samples": s.cycles.samples, "motion_blur": s.render.use_motion_blur,
    "denoise": s.cycles.use_denoising, "denoiser": s.cycles.denoiser,
    "resolution": [s.render.resolution_x, s.render.resolution_y],
    "points": len(bpy.data.objects["Flowreel Points"].data.vertices),
}))
import _cycles  # the build's own answer to "has OpenImageDenoise"
print("FLOWREEL_OIDN", bool(getattr(_cycles, "with_openimagedenoise", False)))
"""


def test_final_quality_renders_with_the_final_settings(tmp_path, monkeypatch, ffprobe_exe, one_torch_thread):
    """`--quality final` at a tiny frame: the film has every frame (drawn by the splat engine: a glowing look on a
    flat film), and the scene it saves renders with Cycles at the final samples, with motion blur, denoising as
    the declaration says (a Blender without the add-on has no splat engine)."""
    require_module("bpy")
    from flowreel.trainer.film import movie
    from flowreel.trainer.fit.loop import FitConfig

    pic = tmp_path / "dot.png"
    im = Image.new("L", (32, 32), 255)
    ImageDraw.Draw(im).ellipse((6, 6, 26, 26), fill=0)
    im.save(pic)
    blend = tmp_path / "scene.blend"
    real_run_render = movie.run_render
    monkeypatch.setattr(movie, "run_render",  # the real render, also saving the scene it renders
                        lambda args, blender=None: real_run_render([*args, "--save-blend", str(blend)], blender))
    s = movie.MovieSettings(image=pic, output=tmp_path / "final.mp4", quality="final", particles=300,
                            resolution=(64, 40), seconds=0.5, fps=4, hold_start=0.0, hold_end=0.0,
                            runs_root=tmp_path / "runs", fit_config=FitConfig(**TINY_FIT))
    result = movie.make_movie(s)
    assert probe_video(ffprobe_exe, result.files[0]) == (3, 64, 40)  # 0.5 s at 4 fps and the frame at t = 1
    r = subprocess.run([sys.executable, "-c", _SCENE_SETTINGS, str(blend)], capture_output=True, text=True,
                       timeout=240, cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    got = json.loads(next(ln for ln in r.stdout.splitlines() if ln.startswith("FLOWREEL_SETTINGS "))[18:])
    got["oidn"] = "FLOWREEL_OIDN True" in r.stdout
    final = movie.QUALITY["final"]
    assert got["engine"] == "CYCLES" and got["samples"] == final["samples"]
    assert got["motion_blur"] is True and final["motion_blur"]
    assert got["denoise"] is {"auto": got["oidn"], "on": True, "off": False}[final["denoise"]]  # auto: where it can
    if got["denoise"]:
        assert got["denoiser"] == "OPENIMAGEDENOISE"
    assert got["resolution"] == [64, 40] and got["points"] == 300
    record = json.loads((tmp_path / "final_frames" / RECORD).read_text())
    assert (record["samples"], record["motion_blur"], record["denoise"]) == (final["samples"], True, final["denoise"])


@pytest.fixture(autouse=True)
def _no_stray_bug_files(tmp_path, monkeypatch):
    """A bug report (traceback file) would mean an unexpected exception: keep them in tmp_path and check."""
    monkeypatch.setenv("FLOWREEL_BUG_DIR", str(tmp_path / "bugs"))
    yield
    assert not (tmp_path / "bugs").exists() or not os.listdir(tmp_path / "bugs")
