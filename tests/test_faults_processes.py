"""Faults of processes: unique temporary names, folder locks that die with their process, children that die
with their parent, stale temporary files removed (issue 18, faults 1, 2 and 7)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from flowreel.addon.core import atomic
from flowreel.addon.core.child import PARENT_ENV, parent_gone
from flowreel.addon.core.encode import EncodeError, encode_image_sequence, frames_pattern, verify
from flowreel.addon.core.lock import folder_lock

REPO = Path(__file__).resolve().parent.parent


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie (exited, not yet reaped by its new parent) is not running
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def _wait_gone(pid: int, seconds: float = 20.0) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if not _alive(pid):
            return True
        time.sleep(0.05)
    return False


def _frames(folder: Path, n: int = 6) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        Image.fromarray(np.full((24, 32, 3), 30 * i, np.uint8)).save(folder / f"frame_{i:04d}.png")


# ---- temporary names ------------------------------------------------------------------------------
def test_temporary_names_are_unique_and_name_their_process(tmp_path):
    a = atomic.temp_path(tmp_path / "film.mp4", keep_suffix=True)
    b = atomic.temp_path(tmp_path / "film.mp4", keep_suffix=True)
    assert a != b and a.endswith(".mp4") and f".{os.getpid()}-" in a and f".{os.getpid()}-" in b


def test_a_killed_writers_temporary_file_is_removed_by_the_next_write(tmp_path):
    """SIGKILL during an atomic write leaves its .partial file; the next write of that file removes it
    (before the fix nothing ever did), while a live writer's file stays."""
    out = tmp_path / "traj.npz"
    code = ("import sys, time\n"
            "from flowreel.addon.core.atomic import atomic_write\n"
            "with atomic_write(sys.argv[1]) as f:\n"
            "    f.write(b'x' * 1000); f.flush(); print('writing', flush=True); time.sleep(120)\n")
    p = subprocess.Popen([sys.executable, "-c", code, str(out)], stdout=subprocess.PIPE, text=True, cwd=REPO)
    assert p.stdout.readline().strip() == "writing"
    p.kill()
    p.wait()
    left = [q.name for q in tmp_path.iterdir()]
    assert len(left) == 1 and "partial" in left[0] and not out.exists()
    live = tmp_path / f".traj.npz.{os.getppid()}-abcd1234.partial"  # a live process's (our parent's) write
    live.write_bytes(b"")
    with atomic.atomic_write(out) as f:
        f.write(b"whole")
    assert sorted(q.name for q in tmp_path.iterdir()) == sorted([live.name, "traj.npz"])


# ---- the film is verified before it is renamed into place -------------------------------------------
def test_a_film_that_does_not_read_back_is_never_renamed_into_place(tmp_path, ffmpeg_exe, monkeypatch):
    """An encoder that exits 0 with a broken file (what a racing orphan produced: "Invalid mvhd time scale")
    must not replace the film: before the fix the broken file was renamed to film.mp4 and "done" printed."""
    frames = tmp_path / "frames"
    _frames(frames)
    film = tmp_path / "film.mp4"
    film.write_bytes(b"the previous film")
    monkeypatch.setenv("REAL_FFMPEG", ffmpeg_exe)
    monkeypatch.setenv("FLOWREEL_FFMPEG", str(Path(__file__).with_name("_truncating_ffmpeg.sh")))
    with pytest.raises(EncodeError, match="does not read back"):
        encode_image_sequence(frames_pattern(frames, "frame_%04d.png"), str(film), fps=6)
    assert film.read_bytes() == b"the previous film"
    assert not [p for p in tmp_path.iterdir() if "partial" in p.name]


def test_verify_counts_frames_and_duration(tmp_path, ffmpeg_exe):
    frames = tmp_path / "frames"
    _frames(frames, 9)
    film = encode_image_sequence(frames_pattern(frames, "frame_%04d.png"), str(tmp_path / "f.mp4"), fps=6)
    assert verify(film, 9, 6) == 9
    with pytest.raises(EncodeError, match="8 frames, expected 9"):
        _frames(tmp_path / "short", 8)
        verify(encode_image_sequence(frames_pattern(tmp_path / "short", "frame_%04d.png"),
                                     str(tmp_path / "s.mp4"), fps=6), 9, 6)


@pytest.mark.parametrize("name", ["sale 50% off", "it's \"quoted\"", "-dash", "café ünï", "100%d %s"])
def test_output_names_are_paths_not_patterns(tmp_path, ffmpeg_exe, name):
    """`%`, quotes, spaces, non-ASCII and a leading `-` in the film's folder and name: before the fix a `%`
    in the frames folder made ffmpeg look for frame files that do not exist."""
    from flowreel.addon.render import encode_fallback

    folder = tmp_path / name / f"{name}_frames"
    _frames(folder)
    cwd = os.getcwd()
    os.chdir(tmp_path / name)
    try:  # relative, so a leading `-` is the first character ffmpeg would see
        encode_fallback.encode(Path(f"{name}_frames"), 0, Path(f"{name}.mp4"), 6, None)
    finally:
        os.chdir(cwd)
    assert verify(str(tmp_path / name / f"{name}.mp4"), 6, 6) == 6


# ---- folder locks -------------------------------------------------------------------------------------
def _holder(folder: Path) -> subprocess.Popen:
    code = ("import sys, time\n"
            "from flowreel.addon.core.lock import folder_lock\n"
            "with folder_lock(sys.argv[1], 'rendering', say=None):\n"
            "    print('held', flush=True); time.sleep(120)\n")
    p = subprocess.Popen([sys.executable, "-c", code, str(folder)], stdout=subprocess.PIPE, text=True, cwd=REPO)
    assert p.stdout.readline().strip() == "held"
    return p


def test_a_second_owner_waits_with_a_line_and_a_killed_owner_frees_the_folder(tmp_path):
    folder = tmp_path / "frames"
    holder = _holder(folder)
    lines: list[str] = []
    t0 = time.monotonic()
    killer = subprocess.Popen(["sh", "-c", f"sleep 1.5; kill -9 {holder.pid}"])
    with folder_lock(folder, "rendering", say=lines.append):
        waited = time.monotonic() - t0
    killer.wait()
    holder.wait()
    assert waited >= 1.0, "the folder was taken while another process held it"
    assert lines == [f"waiting for process {holder.pid}, which is rendering in {folder}"]


def test_taking_a_folder_removes_temporary_files_of_dead_writers(tmp_path):
    folder = tmp_path / "frames"
    folder.mkdir()
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    stale = [folder / f".frame_0003.{dead.stdout.strip()}-x1y2z3.partial.png", folder / ".frame_0004.partial.png"]
    for p in stale:
        p.write_bytes(b"half a frame")
    (folder / "frame_0001.png").write_bytes(b"kept")
    with folder_lock(folder, "rendering", say=None):
        pass
    assert sorted(p.name for p in folder.iterdir()) == [".flowreel.lock", "frame_0001.png"]


# ---- children die with their parent -----------------------------------------------------------------
def _child_of_killed_parent(code: str) -> bool:
    """Run `code` (it starts a child and prints the child's pid), SIGKILL it; whether the child went too."""
    parent = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, cwd=REPO)
    child = int(parent.stdout.readline())
    assert _alive(child)
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    return _wait_gone(child)


def test_the_render_child_dies_with_a_killed_trainer(tmp_path):
    """`trainer render`/`movie` start the render script with launch.run_render; kill -9 the trainer and the
    child must go too (before the fix it ran on in its own process group, writing frames)."""
    code = ("import sys\n"
            "from flowreel.trainer.film import launch\n"
            "launch.render_command = lambda args, blender=None: [sys.executable, '-c', "
            "'import os, time; print(os.getpid(), flush=True); time.sleep(120)']\n"
            "launch.run_render([])\n")
    assert _child_of_killed_parent(code), "the render child outlived its parent"


def test_the_frame_loop_notices_its_parent_is_gone(monkeypatch):
    monkeypatch.setenv(PARENT_ENV, str(os.getppid()))
    assert not parent_gone()
    monkeypatch.setenv(PARENT_ENV, str(os.getppid() + 100000))
    assert parent_gone()
    monkeypatch.delenv(PARENT_ENV)
    assert not parent_gone()  # started by hand: nobody to outlive


def test_a_job_started_from_blender_dies_with_blender(tmp_path):
    """jobs.runner.Job (the add-on's fit or render child): Blender killed, the child goes too."""
    code = ("import sys, time\n"
            "from flowreel.addon.jobs.runner import Job\n"
            "j = Job([sys.executable, '-c', 'import os, time; print(os.getpid(), flush=True); time.sleep(120)'])\n"
            "j.start()\n"
            "while not j._lines.qsize(): time.sleep(0.05)\n"
            "print(j._lines.get()[1], flush=True); time.sleep(120)\n")
    assert _child_of_killed_parent(code), "the job's child outlived Blender"


def test_ctrl_c_while_the_render_child_starts_prints_no_traceback(tmp_path):
    """Ctrl-C lands while the render script is still importing: before, the SIGINT passed on to it raised
    KeyboardInterrupt in an import and printed a traceback under `trainer: interrupted`."""
    code = ("import signal, sys\n"
            "from flowreel.trainer.film import launch\n"
            "signal.signal(signal.SIGINT, signal.default_int_handler)\n"
            "launch.render_command = lambda args, blender=None: [sys.executable, '-c', "
            "'import os, time; print(os.getpid(), flush=True); time.sleep(60)']\n"
            "try:\n"
            "    launch.run_render([])\n"
            "except KeyboardInterrupt:\n"
            "    print('interrupted', flush=True)\n")
    trainer = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, cwd=REPO)
    child = int(trainer.stdout.readline())
    trainer.send_signal(signal.SIGINT)
    out, err = trainer.communicate(timeout=60)
    assert out.strip() == "interrupted" and err == "", err
    assert _wait_gone(child)
