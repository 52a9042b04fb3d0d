"""`trainer movie` killed at seeded points of its fit, export and render (SIGKILL and SIGINT), rerun each time;
two runs at once on the same picture and output (issue 18, faults 1 and 2). The long sweep is
bench/bench_faults.py; this is a few kills on one tiny film, one fit shared by the module.

Invariant (tests/faults_harness.problems): exit 0 => the film decodes with the film's frame count; a
non-zero exit of its own => one `trainer:` line; a killed trainer leaves no process behind.
"""

from __future__ import annotations

import signal
from pathlib import Path

import faults_harness as h
import pytest
from conftest import require_module

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def setup(tmp_path_factory) -> tuple[Path, Path, Path]:
    require_module("torch")
    require_module("bpy")
    base = tmp_path_factory.mktemp("faults")
    return h.picture(base), base / "runs", base


def test_kills_at_each_stage_then_a_rerun_makes_the_film(setup, ffmpeg_exe):
    """SIGKILL in the fit, SIGKILL as the render starts (the fit resumed), SIGINT between frames, then a rerun.
    Before the fix the render child outlived a SIGKILL of the trainer (its own process group) and the rerun
    raced it: a film that did not decode, with exit 0."""
    image, runs, base = setup
    film = base / "out" / "film.mp4"
    frames = h.expected_frames()
    # SIGINT as the first frames are written: on an idle box the tiny film's frames take 0.01 s each, so any later
    # and the render may be over.
    for kill in (("fit", signal.SIGKILL, 1.0), ("render", signal.SIGKILL, 0.3), ("frames", signal.SIGINT, 0.0)):
        run = h.movie(image, film, runs, base, kill=kill)
        assert run.killed, f"the run ended before {kill[0]} could be interrupted: {run.output[-3:]}"
        assert not h.problems(run, film, frames), (run.killed, h.problems(run, film, frames), run.stderr[-5:])
        if kill[1] == signal.SIGINT:
            assert run.returncode == 130
    run = h.movie(image, film, runs, base)
    assert run.returncode == 0 and not h.problems(run, film, frames), run.stderr[-5:]
    frames_dir = base / "out" / "film_frames"
    assert not [p.name for p in frames_dir.iterdir() if "partial" in p.name]  # the killed writers' files are gone


def test_two_runs_at_once_on_the_same_picture_and_output(setup, ffmpeg_exe):
    """Same runs folder, same film, started together; a new export (other particle count) so both want to
    write it. Before the fix each rewrote the export, and the other's render discarded its frames."""
    image, runs, base = setup
    film = base / "together" / "film.mp4"
    results = h.together(image, film, runs, base, particles=1500)
    for run in results:
        assert run.returncode == 0 and not h.problems(run, film, h.expected_frames()), run.stderr[-5:]
        assert not any("discarded" in ln for ln in run.output), run.output
    waited = [ln for run in results for ln in run.output if "waiting for process" in ln]
    assert waited, "the second run did not wait for the first"
    exports = [ln for run in results for ln in run.output if ln.startswith("[2/3] export")]
    assert sum("reusing" in ln for ln in exports) == 1  # one exported, the other reused that file


def test_ctrl_c_after_the_film_is_done_changes_nothing(setup, ffmpeg_exe):
    """A Ctrl-C that lands as `trainer movie` exits, its film written: exit 0, the film whole, no traceback
    (torch's exit hooks printed a KeyboardInterrupt traceback under a finished film before the fix)."""
    image, runs, base = setup
    film = base / "late" / "film.mp4"
    run = h.movie(image, film, runs, base, kill=("done", signal.SIGINT, 0.0))
    assert run.killed, f"the run ended before the Ctrl-C: {run.output[-3:]}"
    assert run.returncode == 0 and not h.problems(run, film, h.expected_frames()), run.stderr[-8:]
    assert not [ln for ln in run.output + run.stderr if "Traceback" in ln or "KeyboardInterrupt" in ln], run.stderr
