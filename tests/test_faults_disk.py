"""A full disk (and a read-only one) at every write site: one line naming the path and the space needed,
nothing at the final path, no temporary file left behind (issue 18, fault 3).

The full filesystem is a small tmpfs mounted for the test where the test may mount one (root, Linux);
elsewhere the same writes meet a simulated ENOSPC from the file they write to."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import require_module
from PIL import Image

from flowreel.addon.core import atomic, trajformat
from flowreel.addon.core.errors import DiskError, FlowreelError
from flowreel.addon.core.trajformat import Trajectory

REPO = Path(__file__).resolve().parent.parent
DISK_KB = 64  # the full filesystem's size: every write below is larger


def _mount(path: Path, options: str) -> bool:
    path.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)], capture_output=True)
    return r.returncode == 0


class _FullFile:
    """A file object that takes `room` bytes, then fails as a full disk does."""

    def __init__(self, f, room: int) -> None:
        self._f, self._room = f, room

    def write(self, data) -> int:
        n = memoryview(data).nbytes
        if n > self._room:
            raise OSError(errno.ENOSPC, "No space left on device")
        self._room -= n
        return self._f.write(data)

    def __getattr__(self, name):
        return getattr(self._f, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._f.close()


def simulate_full_disk(monkeypatch) -> None:
    """No mount here: every atomic write meets a full disk at its file; ffmpeg reports one (a stand-in)."""
    real_open = open
    monkeypatch.setattr(atomic, "open", lambda p, mode="r", *a, **k: _FullFile(real_open(p, mode, *a, **k),
                                                                               DISK_KB << 10), raising=False)
    monkeypatch.setattr(atomic, "free_bytes", lambda p: DISK_KB << 10)
    fake = Path(__file__).with_name("_full_ffmpeg.sh")
    monkeypatch.setenv("FLOWREEL_FFMPEG", str(fake))
    monkeypatch.setenv("FLOWREEL_SIMULATED_FULL_DISK", "1")


@pytest.fixture
def full_disk(tmp_path, monkeypatch):
    """A folder on a filesystem of DISK_KB kilobytes, unmounted after the test (simulated where no mount)."""
    disk = tmp_path / "disk"
    mounted = _mount(disk, f"size={DISK_KB}k")
    if not mounted:
        simulate_full_disk(monkeypatch)
    yield disk
    if mounted:
        subprocess.run(["umount", "-l", str(disk)], check=False)


def _assert_clean_failure(err: BaseException, final: Path) -> None:
    text = str(err)
    assert isinstance(err, FlowreelError) and "\n" not in text
    assert str(final) in text and ("no space left" in text or "read-only" in text), text
    assert not final.exists()
    assert not [p.name for p in final.parent.iterdir() if "partial" in p.name]


def _traj(T: int = 20, N: int = 2000) -> Trajectory:
    rng = np.random.default_rng(0)
    pos = rng.normal(size=(T, N, 2)).astype(np.float32)
    return Trajectory(pos, np.linspace(0, 1, T, dtype=np.float32),
                      {"format": trajformat.FORMAT, "extent": [-4.0, 4.0, -3.0, 3.0]})


def test_export_on_a_full_disk_names_the_file_and_the_space(full_disk):
    out = full_disk / "traj.npz"
    with pytest.raises(DiskError) as e:
        trajformat.write(out, _traj())
    _assert_clean_failure(e.value, out)
    assert "needs 0.3 MB" in str(e.value)  # 20 x 2000 x 2 float32 and the small arrays


def test_a_zip_writer_failing_midway_prints_nothing_more(full_disk):
    """np.savez into a full disk with no size known up front: zipfile's cleanup (close, __del__) writes
    again after the failure; before the fix that printed a second traceback ("Exception ignored in ZipFile")."""
    out = full_disk / "t.npz"
    code = ("import os, sys, numpy as np\n"
            "import test_faults_disk as t\n"
            "if os.environ.get('FLOWREEL_SIMULATED_FULL_DISK'): t.simulate_full_disk(t.pytest.MonkeyPatch())\n"
            "from flowreel.addon.core.atomic import atomic_write\n"
            "from flowreel.addon.core.errors import DiskError\n"
            "try:\n"
            "    with atomic_write(sys.argv[1]) as f:\n"
            "        np.savez(f, a=np.ones((300, 1000), np.float32))\n"
            "except DiskError as e:\n"
            "    print(e)\n")
    r = subprocess.run([sys.executable, "-c", code, str(out)], capture_output=True, text=True,
                       cwd=Path(__file__).parent, timeout=120)  # fmt: skip
    assert r.returncode == 0 and r.stderr == "", r.stderr
    assert r.stdout.count("\n") == 1 and "no space left" in r.stdout and str(out) in r.stdout
    assert not list(full_disk.iterdir())


def test_checkpoint_on_a_full_disk(full_disk):
    torch = require_module("torch")
    from flowreel.trainer.fit.checkpoints import CHECKPOINT, save_checkpoint

    with pytest.raises(DiskError) as e:
        save_checkpoint(full_disk, {"format": "flowreel.ckpt/1", "w": torch.ones(200_000)})
    _assert_clean_failure(e.value, full_disk / CHECKPOINT)
    assert "needs 0.8 MB" in str(e.value)


def test_point_cache_on_a_full_disk(full_disk):
    from flowreel.addon.scene.pointcache import write_pc2

    out = full_disk / "cache.pc2"
    with pytest.raises(DiskError) as e:
        write_pc2(_traj(), str(out))
    _assert_clean_failure(e.value, out)
    assert "needs 0.5 MB" in str(e.value)  # 32 + 20 samples x 2000 points x 12 bytes


def test_frame_and_record_on_a_full_disk(full_disk, tmp_path):
    from flowreel.addon.core.frames import write_record
    from flowreel.addon.render.frame_loop import _copy_frame

    src = tmp_path / "src.png"
    Image.fromarray(np.random.default_rng(1).integers(0, 255, (200, 200, 3), dtype=np.uint8)).save(src)
    frame = full_disk / "frame_0001.png"
    with pytest.raises(DiskError) as e:
        _copy_frame(src, frame)
    _assert_clean_failure(e.value, frame)
    with pytest.raises(DiskError) as e:
        write_record(full_disk, {"pad": "x" * (DISK_KB << 11)})
    _assert_clean_failure(e.value, full_disk / "flowreel_render.json")


def test_film_on_a_full_disk(full_disk, tmp_path, ffmpeg_exe):
    from flowreel.addon.core.encode import encode_image_sequence, frames_pattern

    frames = tmp_path / "frames"
    frames.mkdir()
    rng = np.random.default_rng(2)
    for i in range(12):  # noise: the film cannot compress below the disk's size
        Image.fromarray(rng.integers(0, 255, (240, 320, 3), dtype=np.uint8)).save(frames / f"frame_{i:04d}.png")
    film = full_disk / "film.mp4"
    with pytest.raises(FlowreelError) as e:
        encode_image_sequence(frames_pattern(frames, "frame_%04d.png"), str(film), fps=12)
    _assert_clean_failure(e.value, film)


def test_read_only_folder_is_one_line(tmp_path, monkeypatch):
    ro = tmp_path / "ro"
    mounted = _mount(ro, "size=64k,ro")
    if not mounted:  # simulated: creating the temporary file fails as on a read-only filesystem

        def refuse(*a, **k):
            raise OSError(errno.EROFS, "Read-only file system")

        monkeypatch.setattr(atomic.tempfile, "mkstemp", refuse)
    try:
        out = ro / "traj.npz"
        with pytest.raises(DiskError) as e:
            trajformat.write(out, _traj(4, 10))
        _assert_clean_failure(e.value, out)
    finally:
        if mounted:
            subprocess.run(["umount", "-l", str(ro)], check=False)


def test_trainer_command_on_a_full_disk_is_one_line(full_disk, tmp_path):
    """`trainer preview` to a full disk: exit 1 and one `trainer: error:` line naming the file (before: a
    ffmpeg message, or "internal error ... this is a bug")."""
    traj = tmp_path / "t.npz"
    t = _traj(24, 20000)
    t.positions[:] *= 3
    t.meta["format"] = trajformat.FORMAT_V1  # v1: no keys needed
    # plain numpy (the format allows it): a simulated full disk is in atomic_write
    np.savez(traj, positions=t.positions, times=t.times, meta=np.array(json.dumps(t.meta)))
    out = full_disk / "preview.mp4"
    r = subprocess.run([sys.executable, "-m", "flowreel.trainer", "preview", str(traj), "-o", str(out), "--size",
                        "512", "--glow", "0"], capture_output=True, text=True, cwd=REPO, timeout=300,
                       env={**os.environ, "FLOWREEL_DEBUG": ""})  # fmt: skip
    assert r.returncode == 1, r.stderr
    lines = r.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("trainer: error: cannot write") and str(out) in lines[0], r.stderr
    assert "no space left" in lines[0] and not out.exists()


def test_a_rendered_frame_on_a_full_disk(full_disk, tmp_path, capsys, monkeypatch):
    """Blender only logs a failed image write; the render script said "Blender wrote no image for frame N".
    Now it names the disk: one line, the frame's path, the space needed; no frame and no temporary file."""
    require_module("bpy")
    from test_addon_render_util import FILM_ARGS, write_tiny_traj

    from flowreel.addon.render import __main__ as render

    traj = write_tiny_traj(tmp_path / "tiny.npz")
    frames = full_disk / "frames"
    args = [str(traj), "--no-video", "--frames-dir", str(frames), "--cache-dir", str(tmp_path / "cache"),
            "--frames", "5-5", *FILM_ARGS]
    assert render.main(args) == 0  # frame 5, the folder's record and lock: written while there is room
    if os.path.ismount(full_disk):
        with open(full_disk / "filler", "wb", buffering=0) as f:  # then the disk fills up
            try:
                while True:
                    f.write(b"\0" * 4096)
            except OSError:
                pass
    else:  # Blender writes its image itself: simulated, it wrote none on a full disk
        monkeypatch.setattr("flowreel.addon.render.frame_loop.free_bytes", lambda p: 0)
        monkeypatch.setattr("flowreel.addon.render.frame_loop.png_size", lambda p: None)
    capsys.readouterr()
    assert render.main([a if a != "5-5" else "4-4" for a in args]) == 1  # frame 4 finds the disk full
    err = [ln for ln in capsys.readouterr().err.splitlines() if ln.strip()]
    assert len(err) == 1 and "no space left" in err[0] and "frame_0004.png" in err[0], err
    assert not [p.name for p in frames.iterdir() if p.name == "frame_0004.png" or "partial" in p.name]


def test_permission_and_quota_errors_are_one_line_too():
    """Root ignores file modes, so a refused write is checked at the one place that words it."""
    from flowreel.addon.core.errors import disk_error

    e = disk_error(PermissionError(errno.EACCES, "Permission denied", "/srv/films/film.mp4"))
    assert str(e) == "cannot write /srv/films/film.mp4: permission denied"
    e = disk_error(OSError(errno.EDQUOT, "Disk quota exceeded"), "/home/me/traj.npz", needed=3_000_000)
    assert str(e).startswith("cannot write /home/me/traj.npz: disk quota exceeded (needs 3.0 MB, ")
    assert disk_error(OSError(errno.ENOENT, "No such file")) is None  # not a disk's problem: left to its caller
    assert disk_error(ValueError("x")) is None
