"""The `trainer` command: help with examples, one-line errors for every bad input, real runs end to end."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import conftest
import numpy as np
import pytest
from conftest import fit_tiny
from PIL import Image, ImageDraw

from flowreel.addon.core.trajformat import read
from flowreel.trainer.cli import COMMANDS, main
from flowreel.trainer.targets import picture as dens

pytestmark = pytest.mark.usefixtures("one_torch_thread")
small_fit = conftest.small_fit  # the fixture, also for the modules that import it from here


def _logo(tmp_path, name="logo.png"):
    im = Image.new("L", (48, 32), 255)
    d = ImageDraw.Draw(im)
    d.ellipse([4, 4, 28, 28], fill=0)
    d.rectangle([32, 6, 44, 26], fill=0)
    p = tmp_path / name
    im.save(p)
    return p


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory, one_torch_thread):
    """One real (tiny) fitted run shared by the export/eval/preview tests."""
    tmp = tmp_path_factory.mktemp("cli")
    return fit_tiny(_logo(tmp), tmp / "run")


def _err_line(capsys) -> str:
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1, f"expected one line on stderr, got: {err!r}"
    assert lines[0].startswith("trainer: error: ") and "Traceback" not in err
    return lines[0]


# ---- help ---------------------------------------------------------------------------------------
def test_help_every_command_has_examples(capsys):
    assert {"fit", "export", "eval", "preview"} <= set(COMMANDS)
    assert main(["--help"]) == 0
    top = capsys.readouterr().out
    for name in COMMANDS:
        assert name in top
        assert main([name, "--help"]) == 0
        out = capsys.readouterr().out
        assert "examples:" in out and f"trainer {name} " in out


def test_fit_help_gives_the_real_default_steps(capsys):
    from flowreel.trainer.fit.loop import DEFAULTS

    assert main(["fit", "--help"]) == 0
    out = " ".join(capsys.readouterr().out.split())  # argparse wraps help lines
    assert f"fm {DEFAULTS['fm']['steps']}, ffjord {DEFAULTS['ffjord']['steps']}" in out


def test_no_command_prints_usage(capsys):
    assert main([]) == 2
    assert "usage:" in capsys.readouterr().err


# ---- bad input: one line, non-zero, nothing written --------------------------------------------------
def _bad_images(tmp_path):
    (tmp_path / "notes.png").write_text("not a picture")
    data = tmp_path / "full.png"
    Image.effect_noise((128, 128), 50).save(data)
    (tmp_path / "trunc.png").write_bytes(data.read_bytes()[:2000])
    Image.new("L", (32, 32), 255).save(tmp_path / "white.png")
    Image.new("RGBA", (32, 32), (0, 0, 0, 0)).save(tmp_path / "clear.png")
    Image.new("L", (1, 1), 0).save(tmp_path / "dot.png")
    Image.new("L", (300, 300), 0).save(tmp_path / "huge.png")
    (tmp_path / "adir").mkdir()


@pytest.mark.parametrize(
    "image, expect",
    [
        ("missing.png", "missing.png: no such file"),
        ("adir", "adir: is a directory"),
        ("notes.png", "notes.png: not an image"),
        ("trunc.png", "trunc.png: cannot decode image, truncated or corrupt"),
        ("white.png", "white.png: no ink"),
        ("clear.png", "clear.png: no ink: every pixel is fully transparent"),
        ("dot.png", "dot.png: image is only 1x1 pixels"),
        ("huge.png", "huge.png: image is 300x300"),
    ],
)
def test_fit_bad_images(tmp_path, capsys, monkeypatch, image, expect):
    _bad_images(tmp_path)
    monkeypatch.setattr(dens, "MAX_PIXELS", 50_000)  # "enormous", scaled down for a fast test
    code = main(["fit", str(tmp_path / image), "--out", str(tmp_path / "run"), "--export", str(tmp_path / "t.npz")])
    assert code == 1
    assert expect in _err_line(capsys)
    assert not (tmp_path / "run").exists() and not (tmp_path / "t.npz").exists()


@pytest.mark.parametrize(
    "args, expect",
    [
        (["--steps", "0"], "--steps: '0' is not a positive integer"),
        (["--steps", "ten"], "--steps: 'ten' is not a positive integer"),
        (["--threshold", "1.5"], "--threshold: '1.5' is not a number between 0 and 1"),
        (["--threshold", "nan"], "--threshold: 'nan' is not a number between 0 and 1"),
        (["--particles", "-3"], "--particles: '-3' is not a positive integer"),
        (["--frames", "1"], "--frames: '1' is not an integer >= 2"),
        (["--max-side", "99999"], "--max-side"),
        (["--method", "gan"], "--method: invalid choice: 'gan'"),
        (["--seed", "-1"], "--seed: '-1' is not an integer >= 0"),
        (["--bogus"], "unrecognized arguments: --bogus"),
    ],
)
def test_fit_bad_flags(tmp_path, capsys, args, expect):
    assert main(["fit", str(_logo(tmp_path)), "--out", str(tmp_path / "run"), *args]) == 2
    assert expect in _err_line(capsys)
    assert not (tmp_path / "run").exists()


def test_fit_unwritable_outputs_fail_before_training(tmp_path, capsys, monkeypatch):
    import flowreel.trainer.fit.loop as fitmod

    monkeypatch.setattr(fitmod, "fit", lambda *a, **k: pytest.fail("fit must not start"))
    img = str(_logo(tmp_path))
    assert main(["fit", img, "--export", str(tmp_path / "nodir" / "t.npz")]) == 1
    line = _err_line(capsys)
    assert "--export" in line and "nodir does not exist" in line
    (tmp_path / "isdir.npz").mkdir()
    assert main(["fit", img, "--export", str(tmp_path / "isdir.npz")]) == 1
    assert "is a directory" in _err_line(capsys)
    assert main(["fit", img, "--export", str(tmp_path / "t.csv")]) == 1
    assert "must end in .npz" in _err_line(capsys)
    (tmp_path / "file").write_text("x")
    assert main(["fit", img, "--out", str(tmp_path / "file")]) == 2
    assert "not a directory" in _err_line(capsys)
    assert main(["fit", img, "--out", str(tmp_path / "r"), "--device", "cuda:7"]) == 1
    assert "cuda" in _err_line(capsys)
    assert main(["fit", img, "--out", str(tmp_path / "r"), "--resume"]) == 2
    assert "nothing to resume" in _err_line(capsys)


def test_fit_interrupted_exit_130(tmp_path, capsys, monkeypatch):
    import flowreel.trainer.fit.loop as fitmod

    def interrupted(*a, **k):
        raise fitmod.FitInterrupted(17, tmp_path)

    monkeypatch.setattr(fitmod, "fit", interrupted)
    assert main(["fit", str(_logo(tmp_path)), "--out", str(tmp_path / "r")]) == 130
    line = _err_line(capsys)
    assert "interrupted at step 17" in line and "--resume" in line


def test_debug_reraises(tmp_path, monkeypatch):
    from flowreel.trainer.targets.picture import DensityError

    with pytest.raises(DensityError):
        main(["fit", str(tmp_path / "missing.png"), "--debug"])
    monkeypatch.setenv("FLOWREEL_DEBUG", "1")
    with pytest.raises(DensityError):
        main(["fit", str(tmp_path / "missing.png")])


def test_export_eval_preview_bad_inputs(tmp_path, capsys):
    assert main(["export", str(tmp_path / "norun"), "--export", str(tmp_path / "t.npz")]) == 2
    assert "no such run directory" in _err_line(capsys)
    (tmp_path / "empty").mkdir()
    assert main(["export", str(tmp_path / "empty"), "--export", str(tmp_path / "t.npz")]) == 1
    assert "not a fitted run" in _err_line(capsys)
    assert main(["export", str(tmp_path / "empty")]) == 2
    assert "--export" in _err_line(capsys)
    assert main(["eval", str(tmp_path / "empty")]) == 1
    assert "not a fitted run" in _err_line(capsys)
    assert main(["preview", str(tmp_path / "none.npz"), "-o", str(tmp_path / "p.gif")]) == 1
    assert "none.npz: no such file" in _err_line(capsys)
    (tmp_path / "junk.npz").write_bytes(b"PK\x03\x04 garbage")
    assert main(["preview", str(tmp_path / "junk.npz"), "-o", str(tmp_path / "p.gif")]) == 1
    assert "junk.npz: not a readable .npz" in _err_line(capsys)
    assert main(["preview", str(tmp_path / "junk.npz"), "-o", str(tmp_path / "p.avi")]) == 1
    assert "must end in .gif or .mp4" in _err_line(capsys)
    assert main(["preview", str(tmp_path / "junk.npz"), "-o", "x.gif", "--size", "5"]) == 2
    assert "--size" in _err_line(capsys)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty", "junk.npz"]


def test_subprocess_error_has_no_traceback(tmp_path):
    r = subprocess.run(
        [sys.executable, "-m", "flowreel.trainer.cli", "fit", str(tmp_path / "nope.png")],
        capture_output=True, text=True, env={**os.environ, "FLOWREEL_DEBUG": ""},
    )  # fmt: skip
    assert r.returncode == 1
    assert r.stderr == "trainer: error: nope.png: no such file\n"


# ---- real runs ----------------------------------------------------------------------------------------
def test_fit_with_export_end_to_end(tmp_path, capsys, small_fit):
    img = _logo(tmp_path)
    out = tmp_path / "t.npz"
    code = main(["fit", str(img), "--out", str(tmp_path / "run"), "--steps", "8", "--seed", "2", "--export", str(out),
                 "--particles", "300", "--frames", "5", "--crop", "none", "-q"])  # fmt: skip
    assert code == 0, capsys.readouterr().err
    names = {p.name for p in (tmp_path / "run").iterdir()}
    assert {"checkpoint.pt", "config.json", "metrics.json", "preview.png", "density.npz"} <= names
    traj = read(out)
    assert traj.positions.shape == (5, 300, 2) and traj.colors.shape == (300, 4)
    assert traj.meta["method"] == "fm" and traj.meta["training"]["steps"] == 8
    assert traj.meta["training"]["seed"] == 2 and traj.meta["image"]["name"] == "logo.png"
    assert traj.meta["extent"] == pytest.approx([-4, 4, -8 / 3, 8 / 3])  # --crop none: the 48x32 canvas
    assert traj.meta["image"]["crop"] == "none" and traj.meta["image"]["crop_box"] == [0, 0, 48, 32]
    # --resume of a finished run with another image is refused
    assert main(["fit", str(_logo(tmp_path, "other.png")), "--out", str(tmp_path / "run"), "--resume",
                 "--invert"]) == 2  # fmt: skip
    assert "other image options" in _err_line(capsys)


def test_export_cli_roundtrip(run_dir, tmp_path, capsys):
    out = tmp_path / "e.npz"
    assert main(["export", str(run_dir), "--export", str(out), "--particles", "400", "--frames", "6",
                 "--seed", "5", "--logp", "--tol", "1e-5", "-q"]) == 0  # fmt: skip
    traj = read(out)
    assert traj.positions.shape == (6, 400, 2) and traj.logp.shape == (6, 400)
    assert traj.meta["seed"] == 5 and traj.meta["n_particles"] == 400
    assert traj.meta["solver"]["rtol"] == 1e-5
    from flowreel.trainer.flow.export import initial_noise

    np.testing.assert_array_equal(traj.positions[0], initial_noise(400, 5))
    # same seed, same positions (without --logp the solver takes its own steps, so compare like with like)
    runs = []
    for name in ("e2.npz", "e3.npz"):
        assert main(["export", str(run_dir), "--export", str(tmp_path / name), "--particles", "400", "--frames", "6",
                     "--seed", "5", "--tol", "1e-5", "-q"]) == 0  # fmt: skip
        runs.append(read(tmp_path / name).positions)
    np.testing.assert_array_equal(runs[0], runs[1])
    np.testing.assert_allclose(runs[0], traj.positions, atol=0.02)


def test_eval_cli(run_dir, capsys):
    assert main(["eval", str(run_dir), "--samples", "200", "--tv-particles", "5000", "-q"]) == 0
    out = capsys.readouterr().out
    assert "NLL" in out and "entropy" in out and "excess TV" in out
    res = json.loads((run_dir / "eval.json").read_text())
    assert res["nll_samples"] == 200 and np.isfinite(res["nll_nats"])
    # cross-entropy >= entropy (up to Monte Carlo error); a 40-step model is far from the bound
    assert res["nll_nats"] > res["entropy_nats"] - 3 * res["nll_stderr"]
    assert 0 < res["histogram_tv"] <= 1


def test_preview_cli(run_dir, tmp_path, capsys, ffmpeg_exe):
    """One GIF frame per exported frame, at the asked size; the last shows the picture (where its ink falls in
    the preview's view), the first the noise (much of it outside the picture)."""
    from PIL import ImageSequence
    from scipy import ndimage

    from flowreel.trainer.film.preview import Splatter

    traj = tmp_path / "p.npz"
    assert main(["export", str(run_dir), "--export", str(traj), "--particles", "3000", "--frames", "7", "-q"]) == 0
    assert main(["preview", str(traj), "-o", str(tmp_path / "p.gif"), "--size", "64", "--hold", "0", "--glow", "0",
                 "-q"]) == 0
    with Image.open(tmp_path / "p.gif") as im:
        frames = [np.asarray(f.convert("L"), np.float64) for f in ImageSequence.Iterator(im)]
    assert len(frames) == 7 and frames[0].shape == (48, 64)  # 64 wide; the 4:3 view holds the picture and N(0, I)
    # The picture's own ink (uniform samples of it, not the file) through the preview's world -> pixel map.
    ink = dens.load_density(_logo(tmp_path)).sample(20_000, np.random.default_rng(0))
    ink_px = Splatter(read(traj).extent, size=64).counts(ink) > 0
    near_ink = ndimage.binary_dilation(ink_px, iterations=1)

    def on_ink(frame):
        lit = frame > 60  # the background is near-black (8, 9, 14)
        return (lit & near_ink).sum() / lit.sum(), (lit & ink_px).sum() / ink_px.sum()

    inside, covered = on_ink(frames[-1])
    assert inside > 0.98 and covered > 0.6, (inside, covered)  # the picture, and nothing else
    assert on_ink(frames[0])[0] < 0.9  # the noise spreads beyond the picture


def _bug_report(err: str, folder) -> str:
    """The traceback file a bug report line names (it must exist, under `folder`)."""
    assert "Traceback" not in err
    path = err.split("traceback saved to ", 1)[1].split()[0]
    assert str(folder) in path
    with open(path) as f:
        return f.read()


def test_user_errors_are_one_line_and_bugs_are_reported(tmp_path, capsys, monkeypatch):
    """A FlowreelError is the user's one line; any other exception is a bug: one line that says so,
    the traceback in a file, none on screen."""
    import flowreel.trainer.film.preview as previewmod
    from flowreel.addon.core.errors import FlowreelError

    monkeypatch.setenv("FLOWREEL_BUG_DIR", str(tmp_path / "bugs"))
    (tmp_path / "t.npz").write_bytes(b"")
    argv = ["preview", str(tmp_path / "t.npz"), "-o", str(tmp_path / "p.gif")]

    def user_error(*a, **k):
        raise FlowreelError("the picture is\nempty")

    monkeypatch.setattr(previewmod, "preview", user_error)
    assert main(argv) == 1
    assert _err_line(capsys) == "trainer: error: the picture is empty"
    assert not (tmp_path / "bugs").exists()

    def bug(*a, **k):
        raise ValueError("index 7 out of range")  # not a FlowreelError: a bug, even as a ValueError

    monkeypatch.setattr(previewmod, "preview", bug)
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "bug" in err and "index 7 out of range" in err
    assert "ValueError: index 7 out of range" in _bug_report(err, tmp_path / "bugs")
    with pytest.raises(ValueError):  # --debug still re-raises
        main([*argv, "--debug"])


def test_scene_flags_come_from_scene_options():
    """The render script offers a flag for every scene option (a new field needs no parser edit), and
    both it and `trainer movie` take their defaults from SceneOptions."""
    import dataclasses

    from flowreel.addon.core.options import NO_FLAG, SceneOptions
    from flowreel.addon.render.args import build_parser
    from flowreel.trainer.cli import build_parser as trainer_parser

    render = build_parser().parse_args(["t.npz"])
    movie = trainer_parser().parse_args(["movie", "p.png", "-o", "f.mp4"])
    defaults = SceneOptions()
    for f in dataclasses.fields(SceneOptions):
        if f.name in NO_FLAG:
            continue
        want = getattr(defaults, f.name)
        if f.name != "color_mode":  # None: decided by the look (gradient for neon)
            assert getattr(render, f.name) == want, f.name
    for name in ("look", "seconds", "fps", "hold_start", "hold_end", "easing"):
        assert getattr(movie, name) == getattr(defaults, name), name
    assert movie.camera is None  # decided by the target: orbit in 3-D, else SceneOptions' static


def test_every_scene_flag_that_changes_the_pictures_is_in_the_frames_record():
    """A flag missing from RECORD_KEYS would let a rerun with another value reuse frames of the old one."""
    import dataclasses

    from flowreel.addon.core.frames import RECORD_KEYS
    from flowreel.addon.core.options import NO_FLAG, SceneOptions

    not_pixels = {"cache_dir"}  # where the point cache goes
    resolved = {"hold_keys"}  # recorded as it resolves: into key_holds
    flagged = {f.name for f in dataclasses.fields(SceneOptions)} - set(NO_FLAG)
    assert flagged - not_pixels - resolved <= set(RECORD_KEYS), flagged - not_pixels - resolved - set(RECORD_KEYS)


def test_depth_of_field_flag_reaches_the_scene_options_from_movie_and_render():
    from flowreel.addon.core.options import scene_options_from
    from flowreel.addon.render.args import build_parser
    from flowreel.trainer.cli import build_parser as trainer_parser

    render = build_parser().parse_args(["t.npz", "--depth-of-field", "--orbit-degrees", "90"])
    opts = scene_options_from(render)
    assert opts.depth_of_field and opts.orbit_degrees == 90
    assert not scene_options_from(build_parser().parse_args(["t.npz"])).depth_of_field
    assert trainer_parser().parse_args(["movie", "s.obj", "-o", "f.mp4", "--depth-of-field"]).depth_of_field


def test_fit_and_export_progress_json(tmp_path, capsys, small_fit):
    """`--progress json`: every stdout line is one JSON object; start, steps with loss and ETA, stages, done."""
    run, out = tmp_path / "run", tmp_path / "t.npz"
    assert main(["fit", str(_logo(tmp_path)), "--out", str(run), "--steps", "8", "--export", str(out),
                 "--particles", "200", "--frames", "3", "--progress", "json"]) == 0  # fmt: skip
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert events[0] == {"event": "start", "stage": "fit", "run_dir": str(run), "steps": 8, "resume": False}
    steps = [e for e in events if e["event"] == "progress"]
    assert steps[-1]["step"] == 8 and steps[-1]["eta"] == 0 and {"loss", "elapsed", "steps"} <= set(steps[-1])
    assert [e["stage"] for e in events if e["event"] == "stage"] == ["eval", "export"]
    assert events[-1]["event"] == "done" and events[-1]["status"] == "ok" and events[-1]["export"] == str(out)
    assert main(["export", str(run), "--export", str(tmp_path / "e.npz"), "--particles", "100", "--frames", "3",
                 "--progress", "json"]) == 0  # fmt: skip
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [e["event"] for e in events] == ["stage", "done"] and events[-1]["export"] == str(tmp_path / "e.npz")


def test_fit_interrupted_progress_json(tmp_path, capsys, monkeypatch):
    import flowreel.trainer.fit.loop as fitmod

    def interrupted(*a, **k):
        raise fitmod.FitInterrupted(17, tmp_path)

    monkeypatch.setattr(fitmod, "fit", interrupted)
    assert main(["fit", str(_logo(tmp_path)), "--out", str(tmp_path / "r"), "--progress", "json"]) == 130
    captured = capsys.readouterr()
    last = json.loads(captured.out.splitlines()[-1])
    assert last == {"event": "done", "status": "interrupted", "step": 17, "run_dir": str(tmp_path / "r")}
    assert "interrupted at step 17" in captured.err
