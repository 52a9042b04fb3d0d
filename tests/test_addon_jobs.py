"""The add-on's job runner (addon/jobs/runner.py) with fake trainers: progress, cancel, failure, no trainer."""

from __future__ import annotations

import signal
import sys
import textwrap
import time

import pytest

from flowreel.addon.jobs import runner as jobs
from flowreel.addon.jobs.runner import Job, JobError

FAKE = textwrap.dedent("""
    import json, signal, sys, time
    mode = sys.argv[1]
    def say(**ev): print(json.dumps(ev), flush=True)
    stop = []
    signal.signal(signal.SIGINT, lambda *a: stop.append(1))
    say(event="start", stage="fit", steps=50, run_dir="R")
    print("a human line that is not JSON", flush=True)
    for step in range(1, 51):
        if stop:
            say(event="done", status="interrupted", step=step - 1, run_dir="R")
            print("trainer: error: interrupted at step %d" % (step - 1), file=sys.stderr, flush=True)
            sys.exit(130)
        if mode == "fail" and step == 3:
            print("Traceback (most recent call last):", file=sys.stderr)
            print("trainer: error: logo.png: cannot identify image file", file=sys.stderr, flush=True)
            sys.exit(1)
        say(event="progress", stage="fit", step=step, steps=50, loss=1.0 / step, elapsed=0.01 * step, eta=0.5)
        if mode == "slow":
            time.sleep(0.05)
    say(event="done", status="ok", run_dir="R", export="R/traj.npz")
""")


@pytest.fixture
def fake(tmp_path):
    path = tmp_path / "fake_trainer.py"
    path.write_text(FAKE)
    return [sys.executable, str(path)]


def test_progress_is_parsed_and_done_carries_the_export(fake):
    job = Job([*fake, "fast"]).start()
    assert job.wait(20) == "done"
    assert (job.step, job.steps, job.loss) == (50, 50, pytest.approx(0.02))
    assert job.result["export"] == "R/traj.npz" and job.returncode == 0


def test_status_line_while_running(fake):
    job = Job([*fake, "slow"]).start()
    end = time.monotonic() + 20
    while job.poll() == "running" and job.step < 2 and time.monotonic() < end:
        time.sleep(0.02)
    line = job.status_line()
    assert line.startswith("Flowreel fit: step ") and "/50, loss " in line and "ETA 0:00" in line
    job.kill()
    assert job.state == "cancelled"


def test_cancel_sends_sigint_and_reports_cancelled(fake):
    if not hasattr(signal, "SIGINT") or sys.platform == "win32":
        pytest.skip("POSIX signals")
    job = Job([*fake, "slow"]).start()
    end = time.monotonic() + 20
    while job.poll() == "running" and job.step < 3 and time.monotonic() < end:
        time.sleep(0.02)
    job.cancel()
    assert job.wait(20) == "cancelled"
    assert job.returncode == 130  # the fake left through its SIGINT handler, as the trainer does
    assert job.result["status"] == "interrupted"
    assert job.message.startswith("fit cancelled at step ") and "resumes" in job.message


PLAIN = textwrap.dedent("""
    import json, sys, time
    def say(**ev): print(json.dumps(ev), flush=True)
    say(event="start", stage="fit", steps=100, run_dir="R")
    try:  # Python's own SIGINT handling, as the trainer's: KeyboardInterrupt
        for step in range(1, 101):
            say(event="progress", stage="fit", step=step, steps=100, loss=1.0, elapsed=0.05 * step, eta=1.0)
            time.sleep(0.05)
    except KeyboardInterrupt:
        say(event="done", status="interrupted", step=step, run_dir="R")
        sys.exit(130)
    say(event="done", status="ok", run_dir="R", export="R/traj.npz")
""")


def test_cancel_stops_a_child_even_when_blender_runs_with_sigint_ignored(tmp_path):
    """A non-interactive shell starts background jobs with SIGINT ignored and children inherit that: a trainer that
    inherited it would never stop on Cancel (it finished the film instead). The job resets it for its child."""
    if sys.platform == "win32":
        pytest.skip("POSIX signals")
    script = tmp_path / "plain_trainer.py"
    script.write_text(PLAIN)
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)  # this process: as a background job's
    try:
        job = Job([sys.executable, str(script)]).start()
        end = time.monotonic() + 20
        while job.poll() == "running" and job.step < 3 and time.monotonic() < end:
            time.sleep(0.02)
        job.cancel()
        assert job.wait(20) == "cancelled"
        assert job.returncode == 130 and job.result["status"] == "interrupted"
    finally:
        signal.signal(signal.SIGINT, previous)


def test_failure_reports_the_last_error_line(fake):
    job = Job([*fake, "fail"]).start()
    assert job.wait(20) == "failed"
    assert job.message == "trainer: error: logo.png: cannot identify image file"
    assert job.status_line() == job.message


def test_missing_trainer_names_the_pip_command():
    with pytest.raises(JobError) as info:
        jobs.resolve_command("flowreel-no-such-trainer --flag")
    msg = str(info.value)
    assert "\n" not in msg and "not found" in msg and jobs.TRAINER_HINT in msg
    assert jobs.resolve_command(f"{sys.executable} -m flowreel.trainer") == [sys.executable, "-m", "flowreel.trainer"]


def test_missing_trainer_module_names_the_pip_command():
    job = Job([sys.executable, "-m", "flowreel_no_such.trainer"]).start()
    assert job.wait(20) == "failed"
    assert "No module named" in job.message and jobs.TRAINER_HINT in job.message


def test_render_lines_give_frames_and_eta():
    script = ("print('flowreel-render: frame 7 (2/5) 0.50 s, elapsed 0:01, ETA 1:02', flush=True)")
    job = Job([sys.executable, "-c", script], kind="render").start()
    assert job.wait(20) == "done"
    assert (job.step, job.steps, job.eta) == (2, 5, 62.0)


def test_check_picture(tmp_path):
    png = tmp_path / "ok.png"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(20))
    assert jobs.check_picture(png) == png
    bad = tmp_path / "bad.png"
    bad.write_text("not a picture at all")
    for path, words in ((bad, "not a picture"), (tmp_path / "nope.png", "no such picture"), (tmp_path, "folder")):
        with pytest.raises(JobError, match=words):
            jobs.check_picture(path)


def test_fit_command_resumes_an_interrupted_run(tmp_path):
    run = tmp_path / "logo-run"
    argv, export = jobs.fit_command(["trainer"], "logo.png", run, steps=20, seed=3)
    assert argv[argv.index("--steps") + 1] == "20" and "--resume" not in argv and export == run / "traj.npz"
    run.mkdir()
    (run / "checkpoint.pt").write_bytes(b"x")
    (run / "density.npz").write_bytes(b"x")
    assert "--resume" in jobs.fit_command(["trainer"], "logo.png", run, steps=20, seed=3)[0]
    (run / "metrics.json").write_text("{}")  # a finished fit starts again rather than resuming nothing
    assert "--resume" not in jobs.fit_command(["trainer"], "logo.png", run, steps=20, seed=3)[0]


def test_render_flags_round_trip_through_the_render_script_parser():
    from flowreel.addon.core.contract import render_command
    from flowreel.addon.core.options import SceneOptions
    from flowreel.addon.render import args as render_args

    opts = SceneOptions(look="neon", easing="EASE_OUT", camera="ORBIT", resolution=(320, 240), fps=12, seconds=2.0,
                        reverse=True, max_particles=50, seed=4)
    args = render_args.build_parser().parse_args(["t.npz", *render_command.render_flags(opts)])
    back = render_args.scene_options(args)
    for name in ("look", "easing", "camera", "resolution", "fps", "seconds", "reverse", "max_particles", "seed"):
        assert getattr(back, name) == getattr(opts, name), name
