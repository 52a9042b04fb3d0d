"""The headless render script addon/render/__main__.py: frames, resume, farm ranges, encoding, bad input.

Most tests call `flowreel.addon.render.__main__.main` in this process with the bpy module (the scene it built stays
loaded, so its camera can project the file's points); one renders with Debian's `blender -b`.
Sizes are tiny (64x40, 4 samples, 6 particles) to keep the whole file well under a minute.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import zipfile

import numpy as np
import pytest
from conftest import require_module, sigint_interrupts
from test_addon_render_util import (
    END,
    FILM_ARGS,
    FILM_FRAMES,
    RADIUS,
    REPO,
    START,
    check_points_drawn,
    project,
    read_png,
    write_tiny_traj,
)

from flowreel.addon.core import frames
from flowreel.addon.render import __main__ as render
from flowreel.addon.render import encode_fallback


@pytest.fixture
def traj(tmp_path):
    return write_tiny_traj(tmp_path / "tiny.npz")


def _frames(folder) -> list[str]:
    return sorted(p for p in os.listdir(folder) if p.endswith(".png"))


def _probe(ffmpeg_exe: str, video) -> dict:
    ffprobe = os.path.join(os.path.dirname(ffmpeg_exe), "ffprobe")
    if not os.path.exists(ffprobe):
        ffprobe = "ffprobe"
    out = subprocess.run([ffprobe, "-v", "error", "-count_frames", "-select_streams", "v:0", "-show_entries",
                          "stream=codec_name,pix_fmt,width,height,nb_read_frames", "-of", "json", str(video)],
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out)["streams"][0]


# --- what the frames show -------------------------------------------------------------------------
@pytest.mark.parametrize("engine", ["cycles", "workbench", "eevee", "splat"])
def test_engine_draws_points_where_they_project(bpy, traj, tmp_path, engine):
    """First frame = the noise at rest, last = the image at rest: both must show exactly the file's points.

    EEVEE and Workbench run through software OpenGL here (seconds per frame): they render the last
    frame only."""
    checks = ((1, START), (FILM_FRAMES, END)) if engine in ("cycles", "splat") else ((FILM_FRAMES, END),)
    first = checks[0][0]
    frames = tmp_path / "frames"
    rc = render.main([str(traj), "--engine", engine, "--no-video", "--frames-dir", str(frames),
                      "--frames", f"{first}-{FILM_FRAMES}", *FILM_ARGS])
    assert rc == 0
    assert _frames(frames) == [f"frame_{f:04d}.png" for f in range(first, FILM_FRAMES + 1)]
    scene = bpy.context.scene
    for frame, xy in checks:
        centres, radii = project(scene, xy, RADIUS)
        img = read_png(frames / f"frame_{frame:04d}.png")
        assert img.shape == (40, 64, 3)
        # Glow spreads light a little beyond each sphere; Workbench previews skip the compositor.
        check_points_drawn(img, centres, radii, margin=2.5 if engine == "workbench" else 6.0)


def test_blender_binary_renders_frames_and_playable_mp4(blender_exe, ffmpeg_exe, traj, tmp_path):
    """Debian's `blender -b` (3.4, no ffmpeg-python inside) renders and encodes through another Python."""
    out = tmp_path / "film.mp4"
    env = {**os.environ, "FLOWREEL_PYTHON": sys.executable}  # this test's Python has ffmpeg-python
    r = subprocess.run([blender_exe, "-b", "--factory-startup", "--python", render.__file__, "--",
                        str(traj), "-o", str(out), "--gif", *FILM_ARGS], capture_output=True, text=True, timeout=300,
                       env=env)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    progress = [ln for ln in r.stdout.splitlines() if ln.startswith("flowreel-render: frame ")]
    assert len(progress) == FILM_FRAMES and all("ETA" in ln for ln in progress)
    assert len(_frames(tmp_path / "film_frames")) == FILM_FRAMES
    info = _probe(ffmpeg_exe, out)
    assert (info["codec_name"], info["pix_fmt"], info["width"], info["height"]) == ("h264", "yuv420p", 64, 40)
    assert int(info["nb_read_frames"]) == FILM_FRAMES
    assert (tmp_path / "film.gif").stat().st_size > 0


def test_python_module_entry_point(traj, tmp_path):
    """`python -m flowreel.addon.render` works as a command (separate process, the bpy module)."""
    require_module("bpy")
    r = subprocess.run([sys.executable, "-m", "flowreel.addon.render", str(traj), "-o", str(tmp_path / "f.mp4"),
                        "--frames", "4-4", *FILM_ARGS], capture_output=True, text=True, timeout=300, cwd=REPO)
    assert r.returncode == 0, r.stderr[-2000:]
    assert _frames(tmp_path / "f_frames") == ["frame_0004.png"]
    assert not (tmp_path / "f.mp4").exists()  # not every frame exists yet: no encode


# --- resume and render-farm ranges ----------------------------------------------------------------
def test_resume_skips_finished_frames_and_redoes_missing_or_broken(bpy, traj, tmp_path, ffmpeg_exe):
    out = tmp_path / "film.mp4"
    args = [str(traj), "-o", str(out), *FILM_ARGS]
    assert render.main(args) == 0
    frames = tmp_path / "film_frames"
    paths = [frames / f"frame_{f:04d}.png" for f in range(1, FILM_FRAMES + 1)]
    old = {p: p.stat().st_mtime_ns for p in paths}
    paths[1].unlink()  # missing
    paths[2].write_bytes(paths[2].read_bytes()[:100])  # truncated (e.g. killed mid-write by another tool)
    broken_mtime = paths[2].stat().st_mtime_ns
    out.unlink()
    assert render.main(args) == 0
    assert paths[0].stat().st_mtime_ns == old[paths[0]] and paths[3].stat().st_mtime_ns == old[paths[3]]
    assert paths[1].exists() and read_png(paths[1]).shape == (40, 64, 3)
    assert paths[2].stat().st_mtime_ns != broken_mtime and read_png(paths[2]).shape == (40, 64, 3)
    assert not list(frames.glob(".*partial*"))
    assert int(_probe(ffmpeg_exe, out)["nb_read_frames"]) == FILM_FRAMES


def test_ctrl_c_leaves_a_resumable_state(traj, tmp_path):
    """SIGINT mid-film: the frame in progress finishes, exit 130, finished frames kept, no partial file,
    and the rerun skips them."""
    require_module("bpy")
    args = [sys.executable, "-m", "flowreel.addon.render", str(traj), "--no-video",
            "--frames-dir", str(tmp_path / "fr"),
            *FILM_ARGS, "--fps", "12", "--seconds", "2"]  # later options win: a longer film (31 frames)
    p = subprocess.Popen(args, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         preexec_fn=sigint_interrupts)  # even when pytest runs with SIGINT ignored
    done = 0
    for line in p.stdout:
        done += line.startswith("flowreel-render: frame ")
        if done == 2:
            p.send_signal(signal.SIGINT)
            break
    out, err = p.communicate(timeout=120)
    assert p.returncode == 130
    assert [ln for ln in err.splitlines() if ln.strip()] == [
        "flowreel-render: stopping after this frame (Ctrl-C again to stop now)",
        "flowreel-render: interrupted: finished frames are kept; run the same command again to resume"]
    kept = _frames(tmp_path / "fr")
    assert len(kept) >= 2 and kept[:2] == ["frame_0001.png", "frame_0002.png"]
    assert not [f for f in os.listdir(tmp_path / "fr") if "partial" in f]
    r = subprocess.run([*args, "--frames", f"1-{len(kept)}"], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0 and f"{len(kept)} of {len(kept)} frames already on disk" in r.stdout


def test_frame_ranges_split_the_film_and_encode_when_complete(bpy, traj, tmp_path, ffmpeg_exe, capsys):
    out = tmp_path / "film.mp4"
    base = [str(traj), "-o", str(out), *FILM_ARGS]
    assert render.main([*base, "--frames", "2-3"]) == 0
    assert _frames(tmp_path / "film_frames") == ["frame_0002.png", "frame_0003.png"]
    assert not out.exists()
    assert "not encoding" in capsys.readouterr().out
    assert render.main([*base, "--frames", "1-1"]) == 0
    assert not out.exists()
    assert render.main([*base, "--frames", "4-5"]) == 0  # the last part completes the film
    assert len(_frames(tmp_path / "film_frames")) == FILM_FRAMES
    assert int(_probe(ffmpeg_exe, out)["nb_read_frames"]) == FILM_FRAMES


def test_frames_drawn_by_other_addon_code_are_not_reused(bpy, traj, tmp_path, capsys):
    """Same settings, but the record says other add-on code drew the frames (an upgrade): render again."""
    base = [str(traj), "--no-video", "--frames-dir", str(tmp_path / "fr"), "--frames", "5-5", *FILM_ARGS]
    assert render.main(base) == 0
    record_path = tmp_path / "fr" / "flowreel_render.json"
    record = json.loads(record_path.read_text())
    assert record["addon_code"] == frames.addon_code_stamp() and record["blender"] == bpy.app.version_string
    record["addon_code"] = "0123456789ab"
    record_path.write_text(json.dumps(record))
    capsys.readouterr()
    assert render.main(base) == 1
    assert "addon_code differ" in capsys.readouterr().err
    old = (tmp_path / "fr" / "frame_0005.png").stat().st_mtime_ns
    assert render.main([*base, "--replace-changed"]) == 0
    assert (tmp_path / "fr" / "frame_0005.png").stat().st_mtime_ns != old


def test_addon_code_stamp_follows_the_files(tmp_path):
    (tmp_path / "core").mkdir()
    (tmp_path / "a.py").write_text("x = 1\n")
    (tmp_path / "core" / "b.py").write_text("y = 2\n")
    one = frames.addon_code_stamp.__wrapped__(str(tmp_path))
    assert one == frames.addon_code_stamp.__wrapped__(str(tmp_path))
    (tmp_path / "core" / "b.py").write_text("y = 3\n")
    assert frames.addon_code_stamp.__wrapped__(str(tmp_path)) != one


def test_frames_of_another_render_are_not_reused(bpy, traj, tmp_path, capsys):
    base = [str(traj), "--no-video", "--frames-dir", str(tmp_path / "fr"), "--frames", "5-5", *FILM_ARGS]
    assert render.main(base) == 0
    capsys.readouterr()
    assert render.main([*base, "--look", "ink"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "rendered with other settings (look differ)" in err[0]
    old = (tmp_path / "fr" / "frame_0005.png").stat().st_mtime_ns
    assert render.main([*base, "--look", "ink", "--replace-changed"]) == 0
    assert "discarded 1 old frames" in capsys.readouterr().out
    assert (tmp_path / "fr" / "frame_0005.png").stat().st_mtime_ns != old
    assert render.main([*base, "--look", "ink"]) == 0  # the folder now belongs to the ink render


def test_no_encoder_keeps_frames_and_fails(bpy, traj, tmp_path, monkeypatch, capsys):
    """Blender's own Python without ffmpeg-python and no other Python that has it: frames + exit 1."""
    monkeypatch.setattr(encode_fallback, "encoder_available", lambda: False)
    monkeypatch.setattr(encode_fallback, "python_with_ffmpeg", lambda: None)
    rc = render.main([str(traj), "-o", str(tmp_path / "film.mp4"), *FILM_ARGS])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 1
    assert err[-1].startswith("flowreel-render: error: cannot encode film.mp4")
    assert len(_frames(tmp_path / "film_frames")) == FILM_FRAMES


# A fresh Python with the bpy module that never imports the add-on: opens the moved .blend, renders its last frame.
_PLAIN_RENDER = """
import sys
import bpy
blend, png = sys.argv[-2:]
bpy.ops.wm.open_mainfile(filepath=blend)
scene = bpy.context.scene
scene.frame_set(scene.frame_end)
scene.render.filepath = png
bpy.ops.render.render(write_still=True)
print("FLOWREEL_MODULES", sorted(m for m in sys.modules if m.split(".")[0] == "flowreel"), scene.frame_end)
"""


def test_save_blend_renders_without_the_addon(bpy, traj, tmp_path):
    """The farm route: the saved scene and its cache folder move to another place together, and a fresh
    Blender without the add-on renders the file's last frame from them (the points where the file ends)."""
    job = tmp_path / "job"
    blend = job / "scene" / "film.blend"
    assert render.main([str(traj), "--no-video", "--frames", f"{FILM_FRAMES}-{FILM_FRAMES}", "--save-blend",
                        str(blend), "--frames-dir", str(job / "fr"), *FILM_ARGS]) == 0
    centres, radii = project(bpy.context.scene, END, RADIUS)
    assert any(p.suffix == ".pc2" for p in (job / "fr").iterdir())  # the cache sits in the frames folder
    farm = tmp_path / "farm"
    shutil.move(job, farm)  # the old absolute cache path no longer exists
    png = tmp_path / "plain.png"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    proc = subprocess.run([sys.executable, "-c", _PLAIN_RENDER, str(farm / "scene" / "film.blend"), str(png)],
                          capture_output=True, text=True, timeout=240, cwd=tmp_path, env=env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert f"FLOWREEL_MODULES [] {FILM_FRAMES}" in proc.stdout  # no add-on code ran
    img = read_png(png)
    check_points_drawn(img, centres, radii, margin=6.0)  # at END: the moved cache was read, not the rest mesh
    ref = read_png(farm / "fr" / f"frame_{FILM_FRAMES:04d}.png")
    assert np.abs(img - ref).mean() < 2.0  # the same picture the add-on rendered


@pytest.mark.parametrize("failure", ["raises", "leaves the path absolute"])
def test_save_blend_fails_when_the_cache_cannot_be_made_relative(bpy, traj, tmp_path, capsys, monkeypatch, failure):
    """A .blend whose point cache is an absolute path would render without its points on another machine:
    one error line, exit 1, and no .blend left behind."""
    def broken(bpy):
        if failure == "raises":
            raise RuntimeError("Error: Cannot set relative paths with an unsaved blend file\n")
        bpy.ops.file.make_paths_absolute()  # as when a path cannot be related (another drive): it stays absolute

    monkeypatch.setattr(render, "_make_paths_relative", broken)
    blend = tmp_path / "scene" / "film.blend"
    rc = render.main([str(traj), "--no-video", "--frames", "1-1", "--save-blend", str(blend),
                      "--frames-dir", str(tmp_path / "fr"), *FILM_ARGS])
    err = [ln for ln in capsys.readouterr().err.splitlines() if ln.strip()]
    assert rc == 1
    assert len(err) == 1 and err[0].startswith("flowreel-render: error: --save-blend:"), err
    assert "relative" in err[0]
    assert not blend.exists()
    assert not list((tmp_path / "fr").glob("*.png"))  # nothing rendered for a scene that cannot be saved


# --- bad input: one line, non-zero exit -----------------------------------------------------------
def _nan_traj(path):
    t = np.linspace(0, 1, 3, dtype=np.float32)
    pos = np.repeat(END[None], 3, axis=0).copy()
    pos[1, 2, 0] = np.nan
    np.savez(path, positions=pos, times=t, meta=np.array(json.dumps({"format": "flowreel.traj/1",
                                                                      "extent": [-3, 3, -2, 2]})))
    return path


def _corrupt(path):
    path.write_bytes(b"PK\x03\x04 this is not really a zip file")
    return path


def _empty_zip(path):
    with zipfile.ZipFile(path, "w"):
        pass
    return path


BAD = {
    "missing file": (lambda d, t: [str(d / "nope.npz")], "no such file"),
    "corrupt file": (lambda d, t: [str(_corrupt(d / "bad.npz"))], "not a readable"),
    "empty archive": (lambda d, t: [str(_empty_zip(d / "empty.npz"))], "missing positions"),
    "NaN positions": (lambda d, t: [str(_nan_traj(d / "nan.npz"))], "NaN"),
    "unknown look": (lambda d, t: [str(t), "--look", "sparkle"], "choose one of glow, ink, neon"),
    "unknown engine": (lambda d, t: [str(t), "--engine", "povray"], "cycles, eevee, workbench"),
    "bad resolution": (lambda d, t: [str(t), "--resolution", "640by480"], "1920x1080"),
    "tiny resolution": (lambda d, t: [str(t), "--resolution", "8x8"], "between 16 and 16384"),
    "frames outside film": (lambda d, t: [str(t), "--frames", "3-99"], "outside the film's frames 1-5"),
    "reversed frames": (lambda d, t: [str(t), "--frames", "4-2"], "A <= B"),
    "zero samples": (lambda d, t: [str(t), "--samples", "0"], "samples must be >= 1"),
    "bad output type": (lambda d, t: [str(t), "-o", str(d / "film.avi")], "use a .mp4, .gif, .mov or .webm"),
    "negative seconds": (lambda d, t: [str(t), "--seconds", "-1"], "seconds must be > 0"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_input_one_line_and_nonzero_exit(bpy, traj, tmp_path, capsys, monkeypatch, case):
    make, expected = BAD[case]
    argv = make(tmp_path, traj)
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    rc = render.main([*argv, *_defaults_not_in(argv)])
    captured = capsys.readouterr()
    lines = [ln for ln in captured.err.splitlines() if ln.strip()]
    assert rc != 0
    assert len(lines) == 1 and lines[0].startswith("flowreel-render: error: "), captured.err
    assert expected in lines[0]
    assert "Traceback" not in captured.err + captured.out
    assert not list(tmp_path.rglob("*.png"))
    assert not any(cwd.iterdir()), "the render wrote into the current directory"
    if case in ("missing file", "corrupt file", "empty archive", "NaN positions"):  # rejected before the scene
        assert [p for p in tmp_path.rglob("*") if p.is_dir()] == [cwd], "a rejected file left a folder behind"
    if case == "NaN positions":
        assert "at frame 1" in lines[0]  # the one bad frame, not a range


def _defaults_not_in(argv: list[str]) -> list[str]:
    """FILM_ARGS minus the options the bad-input case sets itself."""
    out, i = [], 0
    while i < len(FILM_ARGS):
        if FILM_ARGS[i] not in argv:
            out += FILM_ARGS[i : i + 2]
        i += 2
    return out


def test_blender_binary_bad_input_exits_nonzero(blender_exe, tmp_path):
    """Blender -b exits 0 after a Python exception unless the script says otherwise: ours does."""
    r = subprocess.run([blender_exe, "-b", "--factory-startup", "--python", render.__file__, "--",
                        str(tmp_path / "nope.npz")], capture_output=True, text=True, timeout=120)
    assert r.returncode == 1
    err = [ln for ln in r.stderr.splitlines() if ln.startswith("flowreel-render")]
    assert err == ["flowreel-render: error: nope.npz: no such file"]
    assert "Traceback" not in r.stdout + r.stderr


_BLENDER_EEVEE = r"""
import json, sys
sys.path[:0] = [sys.argv[-3] + "/tests"]  # argv: ... -- ENGINE REPO TRAJ FRAMES
import checkout  # noqa: F401  (flowreel.addon from the checkout)
import bpy
from flowreel.addon.render import __main__ as render
from test_addon_render_util import END, FILM_ARGS, FILM_FRAMES, RADIUS, project
rc = render.main([sys.argv[-2], "--engine", sys.argv[-4], "--no-video", "--frames-dir", sys.argv[-1],
                  "--frames", f"{FILM_FRAMES}-{FILM_FRAMES}", *FILM_ARGS, "--motion-blur"])
c, r = project(bpy.context.scene, END, RADIUS)
json.dump({"centres": c.tolist(), "radii": r.tolist(), "version": list(bpy.app.version),
           "engine": bpy.context.scene.render.engine},
          open(sys.argv[-1] + "/result.json", "w"))
sys.exit(rc)
"""


@pytest.mark.parametrize("engine", ["eevee", "splat"])
def test_blender_binary_eevee_and_splat_draw_points(blender_exe, traj, tmp_path, engine):
    """EEVEE Legacy (3.x) draws no point clouds: render.py puts real spheres on the points for it. The splat
    engine reads the evaluated point clouds of `blender -b` 3.4 too (and its motion blur's subframes)."""
    script = tmp_path / "eevee.py"
    script.write_text(_BLENDER_EEVEE)
    frames = tmp_path / "frames"
    frames.mkdir()
    r = subprocess.run([blender_exe, "-b", "--factory-startup", "--python-exit-code", "3", "--python", str(script),
                        "--", engine, str(REPO), str(traj), str(frames)], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-2000:]
    res = json.loads((frames / "result.json").read_text())
    assert res["engine"] == ("FLOWREEL_SPLAT" if engine == "splat" else res["engine"])
    img = read_png(frames / f"frame_{FILM_FRAMES:04d}.png")
    check_points_drawn(img, np.array(res["centres"]), np.array(res["radii"]), margin=6.0)


def test_user_errors_are_one_line_and_bugs_are_reported(tmp_path, capsys, monkeypatch):
    """A FlowreelError is one line and exit 1; any other exception is a bug: one line that says so,
    its traceback in a file, none on screen."""
    from flowreel.addon.core.errors import RenderError

    monkeypatch.setenv("FLOWREEL_BUG_DIR", str(tmp_path / "bugs"))

    def user_error(args):
        raise RenderError("the frames folder is\nfull")

    monkeypatch.setattr(render, "run", user_error)
    assert render.main(["t.npz"]) == 1
    assert capsys.readouterr().err.strip() == "flowreel-render: error: the frames folder is full"
    assert not (tmp_path / "bugs").exists()

    def bug(args):
        return {}["missing"]

    monkeypatch.setattr(render, "run", bug)
    assert render.main(["t.npz"]) == 1
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "bug" in err and "KeyError" in err and "Traceback" not in err
    report = err.split("traceback saved to ", 1)[1].split()[0]
    assert report.startswith(str(tmp_path / "bugs")) and "KeyError: 'missing'" in open(report).read()

def test_still_frames_of_the_holds_are_copies_equal_to_renders(bpy, traj, tmp_path, capsys):
    args = [str(traj), "--no-video", *FILM_ARGS, "--hold-start", "1", "--hold-end", "1"]
    assert render.main([*args, "--frames-dir", str(tmp_path / "all")]) == 0
    log = capsys.readouterr().out
    copied = [int(m) for m in re.findall(r"frame (\d+) \(\d+/\d+\) copy of", log)]
    assert len(copied) >= 4, log  # both holds
    first, last = copied[0], copied[-1]
    for f in (first, last):  # rendered alone (nothing to copy from), the same pixels
        alone = tmp_path / f"alone{f}"
        assert render.main([*args, "--frames-dir", str(alone), "--frames", f"{f}-{f}"]) == 0
        np.testing.assert_array_equal(read_png(alone / f"frame_{f:04d}.png"),
                                      read_png(tmp_path / "all" / f"frame_{f:04d}.png"))
    # a moving camera moves through the holds: nothing is copied
    assert render.main([*args, "--frames-dir", str(tmp_path / "orbit"), "--camera", "orbit"]) == 0
    assert "copy of" not in capsys.readouterr().out
