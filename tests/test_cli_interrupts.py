"""Stopping and resuming: `trainer movie` interrupted during its fit, a sequence fit interrupted on its second
flow, the second Ctrl-C of a render, periodic checkpoints after a crash, and `--max-seconds`.

Interrupts are real SIGINTs sent to this process (or the child) at a chosen training step, through the
fit's own `on_step` hook, so they land where the test wants on any machine load. Tiny networks (conftest's
small_fit, TINY_FIT): each test takes seconds.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import textwrap
import threading
import time

import pytest
from conftest import TINY_FIT, probe_video, require_module
from PIL import Image, ImageDraw

from flowreel.trainer.cli import main

pytestmark = pytest.mark.usefixtures("one_torch_thread")
EXIT_INTERRUPTED = 130


def _picture(path, box):
    im = Image.new("L", (40, 32), 255)
    ImageDraw.Draw(im).ellipse(box, fill=0)
    im.save(path)
    return path


class StepHook:
    """Wraps a module's `fit` so every fit it starts reports its steps here and, if asked, gets a SIGINT at
    step `at` of its `fit_number`-th call (the fit's Ctrl-C handler then stops at the next step boundary)."""

    def __init__(self, monkeypatch, module, at: int | None = None, fit_number: int = 1):
        self.steps: list[list[int]] = []  # the steps each fit call ran, in order
        self.at, self.fit_number = at, fit_number
        real = module.fit

        def fit(*args, on_step=None, **kwargs):
            self.steps.append([])
            mine = len(self.steps)

            def step(k, loss):
                if on_step is not None:
                    on_step(k, loss)
                self.steps[-1].append(k)
                if mine == self.fit_number and k == self.at:
                    os.kill(os.getpid(), signal.SIGINT)

            return real(*args, on_step=step, **kwargs)

        monkeypatch.setattr(module, "fit", fit)


MOVIE = ["--steps", "120", "--particles", "300", "--resolution", "64x40", "--samples", "1", "--fps", "4",
         "--seconds", "0.5", "--hold-start", "0", "--hold-end", "0"]


def test_movie_interrupted_during_the_fit_resumes_from_its_checkpoint(tmp_path, capsys, monkeypatch, small_fit,
                                                                     sigint_default, ffprobe_exe):
    require_module("bpy")
    from flowreel.trainer.film import movie

    pic = _picture(tmp_path / "dot.png", (8, 6, 30, 26))
    argv = ["movie", str(pic), "-o", str(tmp_path / "film.mp4"), "--runs-dir", str(tmp_path / "runs"), *MOVIE]
    hook = StepHook(monkeypatch, movie, at=50)
    assert main(argv) == EXIT_INTERRUPTED
    err = [ln for ln in capsys.readouterr().err.splitlines() if ln.strip() and "fit fm" not in ln]
    assert err == ["trainer: interrupted while fitting (step 50); run the same command to resume"], err
    (run_dir,) = (tmp_path / "runs").iterdir()
    assert (run_dir / "checkpoint.pt").exists() and not (run_dir / "metrics.json").exists()
    assert not (tmp_path / "film.mp4").exists() and not (tmp_path / "film_frames").exists()

    hook = StepHook(monkeypatch, movie)  # the same command, not interrupted
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert f"[1/3] fit: resuming fm into {run_dir}" in out
    assert hook.steps == [list(range(51, 121))]  # from the checkpoint's step on, to the end
    assert json.loads((run_dir / "metrics.json").read_text())["steps"] == 120
    assert probe_video(ffprobe_exe, tmp_path / "film.mp4") == (3, 64, 40)


def test_sequence_fit_interrupted_on_its_second_flow_resumes_that_flow(tmp_path, capsys, monkeypatch, small_fit,
                                                                       sigint_default):
    """`trainer fit a.png b.png`: the first flow is done and kept, the interrupted second one resumes from its
    checkpoint (JSON progress says so: resume true, first step after the saved one), nothing is fitted twice."""
    from flowreel.trainer.fit import loop as fitmod  # ensure_fits imports `fit` from there when it runs

    a = _picture(tmp_path / "a.png", (4, 4, 20, 28))
    b = _picture(tmp_path / "b.png", (18, 8, 36, 24))
    argv = ["fit", str(a), str(b), "--out", str(tmp_path / "seq"), "--runs-dir", str(tmp_path / "runs"),
            "--steps", "60", "--progress", "json"]
    hook = StepHook(monkeypatch, fitmod, at=30, fit_number=2)
    assert main(argv) == EXIT_INTERRUPTED
    lines = [json.loads(ln) for ln in capsys.readouterr().out.splitlines()]
    assert lines[-1]["event"] == "done" and lines[-1]["status"] == "interrupted" and lines[-1]["step"] == 30
    assert [len(s) for s in hook.steps] == [60, 30]

    hook = StepHook(monkeypatch, fitmod)
    assert main(argv) == 0
    lines = [json.loads(ln) for ln in capsys.readouterr().out.splitlines()]
    starts = [ev for ev in lines if ev["event"] == "start"]
    assert len(starts) == 1 and starts[0]["resume"] is True  # only the interrupted flow, resumed
    assert hook.steps == [list(range(31, 61))]
    done = lines[-1]
    assert done["status"] == "ok" and len(done["fitted"]) == 1 and len(done["reused"]) == 1
    assert (tmp_path / "seq" / "sequence.json").exists()


# A stand-in for the render child: says what it got; the first SIGINT only asks it to stop after the frame
# (like addon/render/frame_loop.py), the second stops it at once with 130.
_CHILD = textwrap.dedent("""
    import signal, sys, time
    hits = []
    def on_sigint(signum, frame):
        hits.append(time.monotonic())
        print(f"child: SIGINT {len(hits)}", flush=True)
        if len(hits) == 2:
            sys.exit(130)
    signal.signal(signal.SIGINT, on_sigint)
    print("child: rendering", flush=True)
    time.sleep(60)  # a long frame
    sys.exit(0)
""")


def test_second_ctrl_c_stops_the_render_child_now(tmp_path, monkeypatch, capfd, sigint_default):
    """`trainer render`/`movie`: the first Ctrl-C is passed on once (the child finishes its frame), the second
    passes a second SIGINT (stop now); the trainer waits for the child to end and reports the interrupt."""
    from flowreel.trainer.film import launch

    monkeypatch.setattr(launch, "render_command", lambda args, blender=None: [sys.executable, "-c", _CHILD])
    started = threading.Event()

    def ctrl_c_twice():
        out = ""
        while "child: rendering" not in out:  # the child's signal handler is in place
            out += capfd.readouterr().out
            time.sleep(0.05)
        started.set()
        for _ in range(2):
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.5)

    presser = threading.Thread(target=ctrl_c_twice, daemon=True)
    presser.start()
    t0 = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        launch.run_render(["traj.npz"])
    assert time.monotonic() - t0 < 30  # not the child's 60 s frame
    presser.join(timeout=10)
    out = capfd.readouterr().out
    assert started.is_set() and "child: SIGINT 1" in out and "child: SIGINT 2" in out


def test_periodic_checkpoints_let_a_crashed_fit_resume(tmp_path, one_torch_thread):
    """A fit killed without Ctrl-C (here: an exception from inside a step) leaves the last periodic checkpoint;
    resuming continues from that step, not from 0."""
    import torch

    from flowreel.trainer.fit.loop import FitConfig, fit
    from flowreel.trainer.targets.registry import load_target

    target = load_target(_picture(tmp_path / "dot.png", (8, 6, 30, 26)))

    class Crash(Exception):
        pass

    def crash_at_25(step, loss):
        if step == 25:
            raise Crash

    run = tmp_path / "run"
    with pytest.raises(Crash):
        fit(target, FitConfig(**TINY_FIT, checkpoint_every=0.0), run, progress=False, on_step=crash_at_25)
    saved = torch.load(run / "checkpoint.pt", weights_only=True)
    assert saved["step"] == 24 and not saved["complete"]  # written after step 24, before the crash in 25

    steps = []
    fit(target, FitConfig(**TINY_FIT, checkpoint_every=0.0), run, resume=True, progress=False,
        on_step=lambda s, loss: steps.append(s))
    assert steps == list(range(25, TINY_FIT["steps"] + 1))

    # With the default period (30 s) a crash this early leaves no checkpoint: the one above is the periodic one.
    with pytest.raises(Crash):
        fit(target, FitConfig(**TINY_FIT), tmp_path / "run2", progress=False, on_step=crash_at_25)
    assert not (tmp_path / "run2" / "checkpoint.pt").exists()


def test_max_seconds_stops_training_and_finishes_the_run(tmp_path, capsys, small_fit):
    """`trainer fit --max-seconds`: training stops after about that long, far short of its steps, and the run
    is still evaluated and exported (metrics say it stopped early)."""
    pic = _picture(tmp_path / "dot.png", (8, 6, 30, 26))
    t0 = time.monotonic()
    rc = main(["fit", str(pic), "--out", str(tmp_path / "run"), "--steps", "1000000", "--max-seconds", "2",
               "--export", str(tmp_path / "t.npz"), "--particles", "200", "--frames", "3", "-q"])
    assert rc == 0, capsys.readouterr().err
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["stopped_early"] is True and 0 < metrics["steps"] < 1_000_000
    assert time.monotonic() - t0 < 120  # 1e6 tiny steps would take hours
    assert (tmp_path / "t.npz").exists()
