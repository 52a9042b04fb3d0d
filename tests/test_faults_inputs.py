"""Faults of inputs and reruns: `trainer fit` over an existing checkpoint, a trajectory file that expands to
gigabytes, `trainer preview` of a v1 file with 3-D positions and a 2-D box (issue 18, faults 6 and 7)."""

from __future__ import annotations

import json
import tracemalloc
import zipfile

import numpy as np
import pytest
from conftest import require_module
from test_trainer_cli import _logo, small_fit  # noqa: F401 - a fixture

from flowreel.addon.core import trajformat
from flowreel.addon.core.trajformat import Trajectory, TrajectoryError


def _err_lines(capsys) -> list[str]:
    return [ln for ln in capsys.readouterr().err.splitlines() if ln.strip()]


def test_fit_over_a_checkpoint_resumes_when_the_settings_match(tmp_path, capsys, monkeypatch, small_fit):  # noqa: F811
    """Before: `trainer fit` without --resume over an interrupted run started over and overwrote its checkpoint
    at its next save, silently. Now the same command resumes (and says so); other settings are one line."""
    require_module("torch")
    import flowreel.trainer.fit.loop as fitmod
    from flowreel.trainer.cli import main

    img, run = _logo(tmp_path), tmp_path / "run"
    args = ["fit", str(img), "--out", str(run), "--steps", "8", "--seed", "2"]
    assert main(args) == 0
    (run / "metrics.json").unlink()  # as Ctrl-C leaves it: a checkpoint, no metrics
    capsys.readouterr()
    calls = []
    real_fit = fitmod.fit
    monkeypatch.setattr(fitmod, "fit", lambda *a, **k: calls.append(k["resume"]) or real_fit(*a, **k))
    assert main(args) == 0
    assert calls == [True] and f"resuming the fit in {run}" in capsys.readouterr().out

    checkpoint = (run / "checkpoint.pt").read_bytes()
    assert main([*args[:-1], "3"]) == 2  # another seed: refused, the checkpoint kept
    lines = _err_lines(capsys)
    assert len(lines) == 1 and "other settings (seed differ)" in lines[0] and "--restart" in lines[0]
    assert (run / "checkpoint.pt").read_bytes() == checkpoint

    assert main([*args[:-1], "3", "--restart"]) == 0
    assert calls[-1] is False and json.loads((run / "config.json").read_text())["seed"] == 3


def _bomb(path, frames: int = 40, particles: int = 200_000) -> int:
    """A deflated .npz whose zeros expand to frames x particles x 2 float32 (64 MB from ~70 kB); its size."""
    meta = {"format": trajformat.FORMAT_V1, "extent": [-4.0, 4.0, -3.0, 3.0]}
    positions = np.zeros((frames, particles, 2), np.float32)
    np.savez_compressed(path, positions=positions, times=np.linspace(0, 1, frames, dtype=np.float32),
                        meta=np.array(json.dumps(meta)))
    return positions.nbytes


def test_a_trajectory_that_expands_past_the_limit_is_refused_before_anything_is_allocated(tmp_path, monkeypatch):
    bomb = tmp_path / "bomb.npz"
    nbytes = _bomb(bomb)
    assert bomb.stat().st_size < nbytes / 100
    tracemalloc.start()
    try:
        with pytest.raises(TrajectoryError) as e:
            trajformat.read(bomb, max_bytes=nbytes / 2)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    text = str(e.value)
    assert "'positions' is 64.0 MB (40 x 200000 x 2 float32), over the limit of 32.0 MB" in text
    assert "--max-positions-gb" in text and peak < 4 << 20
    monkeypatch.setenv(trajformat.MAX_POSITIONS_ENV, "0.032")  # the same limit, from the environment
    with pytest.raises(TrajectoryError, match="over the limit of 32.0 MB"):
        trajformat.read(bomb)
    assert trajformat.read(bomb, max_bytes=nbytes).positions.shape == (40, 200_000, 2)  # a raised limit reads it


def test_trainer_preview_takes_the_limit_from_a_flag(tmp_path, capsys):
    require_module("torch")
    from flowreel.trainer.cli import main

    bomb = tmp_path / "bomb.npz"
    _bomb(bomb, frames=4, particles=20_000)  # 640 kB
    assert main(["preview", str(bomb), "-o", str(tmp_path / "p.gif"), "--max-positions-gb", "0.0005"]) == 1
    lines = _err_lines(capsys)
    assert len(lines) == 1 and "over the limit of 0.5 MB" in lines[0]
    assert main(["preview", str(bomb), "-o", str(tmp_path / "p.gif"), "--size", "64", "--hold", "0", "-q",
                 "--max-positions-gb", "0.001"]) == 0  # fmt: skip


def test_a_zip_member_that_is_not_an_array_is_one_line(tmp_path):
    bad = tmp_path / "bad.npz"
    with zipfile.ZipFile(bad, "w") as z:
        z.writestr("positions.npy", b"\x93NUMPY garbage")
        z.writestr("times.npy", b"")
        z.writestr("meta.npy", b"")
    with pytest.raises(TrajectoryError, match="bad.npz: not a readable"):
        trajformat.read(bad)


def test_preview_of_a_v1_file_with_3d_positions_and_a_2d_box(tmp_path, capsys):
    """The reader accepts it and `trainer render` renders it; `trainer preview` crashed ("not enough values to
    unpack"). It is a picture in the x, y plane: the preview shows x, y."""
    require_module("torch")
    from flowreel.trainer.cli import main
    from flowreel.trainer.film.preview import render_frames

    rng = np.random.default_rng(0)
    pos = rng.normal(size=(6, 500, 3)).astype(np.float32)
    pos[-1, :, :2] = rng.uniform(-0.5, 0.5, size=(500, 2))  # the end: a small square in the middle
    t = Trajectory(pos, np.linspace(0, 1, 6, dtype=np.float32), {"format": trajformat.FORMAT_V1,
                                                                   "extent": [-4.0, 4.0, -3.0, 3.0]})
    path = tmp_path / "v1.npz"
    trajformat.write(path, t)
    assert main(["preview", str(path), "-o", str(tmp_path / "p.gif"), "--size", "64", "-q"]) == 0, _err_lines(capsys)
    last = list(render_frames(trajformat.read(path), size=128, glow=0))[-1].mean(axis=2)
    h, w = last.shape
    lit = last > last.mean() + 2 * last.std()
    rows, cols = np.nonzero(lit)
    assert abs(rows.mean() - h / 2) < h * 0.1 and abs(cols.mean() - w / 2) < w * 0.1  # the square, centred
