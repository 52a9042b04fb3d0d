"""Fit Picture from Blender (bpy module): a real tiny fit through the operators, the timer pumped by hand,
and each bad case (no trainer, unreadable picture, failing trainer, Cancel) one report, scene unchanged."""

from __future__ import annotations

import re
import sys
import time

import pytest
from conftest import require_module
from test_addon_ops import counts, good

from flowreel.addon.jobs import runner as jobs

TINY = {"fm": 40, "ffjord": 5, "particles": 300, "frames": 5, "eval_samples": 300}


@pytest.fixture
def addon_enabled(bpy, tmp_path, monkeypatch):
    """Enabled as Blender does it (so it has preferences), the trainer being this venv's, tiny budgets."""
    import addon_utils

    monkeypatch.setitem(jobs.QUALITY, "draft", TINY)
    # the trainer child inherits this: tiny tensors on a shared 2-core box run far faster on one thread
    # (see conftest's one_torch_thread)
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    addon_utils.enable("flowreel.addon", default_set=True)
    p = bpy.context.preferences.addons["flowreel.addon"].preferences
    p.trainer = f"{sys.executable} -m flowreel.trainer"
    p.runs_dir = str(tmp_path / "runs")
    yield bpy
    addon_utils.disable("flowreel.addon", default_set=True)


@pytest.fixture
def trainer():
    """The real trainer needs torch: the bpy-only venvs of `make test-blender` skip the tests that run it."""
    require_module("torch")  # skips in the torch-free venvs of `make test-blender`; fails under CI=true


def picture(path, size=32):
    from PIL import Image, ImageDraw

    im = Image.new("L", (size, size), 255)
    ImageDraw.Draw(im).ellipse((6, 6, size - 6, size - 6), fill=0)
    im.save(path)
    return path


def pump(timeout=120.0):
    """What Blender's event loop does with the add-on's timer: call it until it stops."""
    from flowreel.addon.ui import fit_ops

    end = time.monotonic() + timeout
    while fit_ops.tick() is not None:
        assert time.monotonic() < end, "fit did not finish"
        time.sleep(0.1)


def wait_for_step(timeout=60.0):
    from flowreel.addon.ui import fit_ops

    end = time.monotonic() + timeout
    while fit_ops.STATE.job.poll() == "running" and fit_ops.STATE.job.step < 1:
        assert time.monotonic() < end, "no progress from the trainer"
        time.sleep(0.05)


def test_fit_runs_the_trainer_and_imports(addon_enabled, trainer, tmp_path):
    from flowreel.addon.ui import fit_ops

    bpy = addon_enabled
    assert bpy.ops.flowreel.fit(filepath=str(picture(tmp_path / "dot.png")), seed=2, look="ink") == {"FINISHED"}
    job = fit_ops.STATE.job
    assert job.running and job.argv[-1] != "--resume" and "--progress" in job.argv
    pump()
    assert job.state == "done", job.message
    assert (job.step, job.steps, job.result["status"]) == (40, 40, "ok")
    obj = bpy.data.objects["Flowreel Points"]
    assert len(obj.data.vertices) == TINY["particles"]
    assert bpy.context.scene.flowreel.filepath == job.result["export"]
    assert fit_ops.STATE.last.startswith("Flowreel: imported ")
    assert fit_ops.tick() is None  # the timer stops itself


def test_no_trainer_is_one_line_with_pip(addon_enabled, tmp_path):
    bpy = addon_enabled
    bpy.context.preferences.addons["flowreel.addon"].preferences.trainer = "flowreel-no-such-trainer"
    before = counts(bpy)
    with pytest.raises(RuntimeError) as info:
        bpy.ops.flowreel.fit(filepath=str(picture(tmp_path / "dot.png")))
    msg = str(info.value).strip()
    assert "\n" not in msg and "not found" in msg and jobs.TRAINER_HINT in msg
    assert counts(bpy) == before


def test_unreadable_picture_is_one_line(addon_enabled, tmp_path):
    bpy = addon_enabled
    (tmp_path / "notes.png").write_text("not a picture")
    before = counts(bpy)
    with pytest.raises(RuntimeError, match="notes.png: not a picture"):
        bpy.ops.flowreel.fit(filepath=str(tmp_path / "notes.png"))
    assert counts(bpy) == before


def test_failing_trainer_reports_its_last_error_line(addon_enabled, trainer, tmp_path):
    """A picture with a PNG signature but no image in it: the trainer starts, fails, says why in one line."""
    from flowreel.addon.ui import fit_ops

    bpy = addon_enabled
    (tmp_path / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)
    before = counts(bpy)
    assert bpy.ops.flowreel.fit(filepath=str(tmp_path / "broken.png")) == {"FINISHED"}
    pump()
    assert fit_ops.STATE.last_kind == "ERROR"
    assert fit_ops.STATE.last.startswith("Flowreel: trainer: error: ") and "broken.png" in fit_ops.STATE.last
    assert "\n" not in fit_ops.STATE.last
    assert counts(bpy) == before


def test_cancel_keeps_the_checkpoint_and_fitting_again_resumes(addon_enabled, trainer, tmp_path, monkeypatch):
    from flowreel.addon.ui import fit_ops

    bpy = addon_enabled
    monkeypatch.setitem(jobs.QUALITY, "draft", dict(TINY, fm=100_000))  # long enough to be cancelled
    image = str(picture(tmp_path / "dot.png"))
    before = counts(bpy)
    assert bpy.ops.flowreel.fit(filepath=image) == {"FINISHED"}
    wait_for_step()
    assert bpy.ops.flowreel.fit_cancel() == {"FINISHED"}
    pump()
    assert fit_ops.STATE.last_kind == "WARNING" and "cancelled at step" in fit_ops.STATE.last
    assert counts(bpy) == before
    runs = list((tmp_path / "runs").iterdir())
    assert len(runs) == 1 and (runs[0] / "checkpoint.pt").exists()
    stopped_at = int(re.search(r"cancelled at step (\d+)", fit_ops.STATE.last)[1])
    steps_seen = []  # every progress line the job reads (the job keeps only the latest)
    take = jobs.Job._take

    def recording_take(self, line):
        take(self, line)
        if '"progress"' in line:
            steps_seen.append(self.step)

    monkeypatch.setattr(jobs.Job, "_take", recording_take)
    assert bpy.ops.flowreel.fit(filepath=image) == {"FINISHED"}
    assert fit_ops.STATE.job.argv[-1] == "--resume"
    wait_for_step()
    # The trainer always reports its first step (only later ones are throttled): a fit that continues from the
    # checkpoint reports the step after the one it stopped at, a restarted one would report step 1.
    assert stopped_at > 0 and steps_seen[0] == stopped_at + 1, (stopped_at, steps_seen)
    assert bpy.ops.flowreel.fit_cancel() == {"FINISHED"}
    pump()
    assert counts(bpy) == before


def test_render_film_from_the_panel(addon_enabled, tmp_path):
    """The render script as a child (this Python with bpy here; Blender itself in the UI), frames counted."""
    from flowreel.addon.ui import fit_ops

    bpy = addon_enabled
    good(tmp_path / "t.npz")
    s = bpy.context.scene.flowreel
    before = counts(bpy)
    with pytest.raises(RuntimeError, match="choose a trajectory file"):
        bpy.ops.flowreel.render_film()
    s.filepath = str(tmp_path / "t.npz")
    s.resolution_x, s.resolution_y, s.fps, s.seconds, s.hold_start, s.hold_end = 64, 48, 4, 0.5, 0.0, 0.0
    assert bpy.ops.flowreel.render_film(engine="WORKBENCH") == {"FINISHED"}
    job = fit_ops.STATE.job
    assert job.kind == "render" and "--resolution" in job.argv and "64x48" in job.argv
    pump()
    assert job.state == "done", job.message
    assert job.steps == 3 and job.step == 3  # 0.5 s at 4 fps, plus the frame at t = 1
    assert fit_ops.STATE.last == f"Flowreel: wrote {tmp_path / 't.mp4'}" and (tmp_path / "t.mp4").stat().st_size
    assert counts(bpy) == before  # the film renders in the child; this scene is untouched


def test_disabling_the_addon_ends_a_running_job(addon_enabled, tmp_path):
    """Nothing outlives the add-on: a child still running when it is disabled is ended, its timer removed."""
    import addon_utils

    from flowreel.addon.ui import fit_ops

    bpy = addon_enabled
    p = bpy.context.preferences.addons["flowreel.addon"].preferences
    p.trainer = f"{sys.executable} -c 'import time; time.sleep(120)'"  # a trainer that never finishes
    assert bpy.ops.flowreel.fit(filepath=str(picture(tmp_path / "dot.png"))) == {"FINISHED"}
    job = fit_ops.STATE.job
    assert job.running and bpy.app.timers.is_registered(fit_ops.tick)
    addon_utils.disable("flowreel.addon", default_set=True)
    assert job._proc.poll() is not None and job.state == "cancelled"
    assert fit_ops.STATE.job is None and not bpy.app.timers.is_registered(fit_ops.tick)
    addon_utils.enable("flowreel.addon", default_set=True)  # for the fixture's teardown
