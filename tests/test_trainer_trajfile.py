"""Export + trajectory file: round trip, metadata, repeatability, safe output paths."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from flowreel.addon.core.trajformat import Trajectory, TrajectoryError
from flowreel.trainer.flow import export, trajfile
from flowreel.trainer.flow.export import export_trajectories, initial_noise
from flowreel.trainer.flow.trajfile import OutputPathError, check_output_path
from flowreel.trainer.targets.picture import load_density

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def run(one_torch_thread):
    """A tiny hand-built run: an untrained (random) vector field is still a valid flow to integrate."""
    from flowreel.trainer.fit.loop import FitConfig
    from flowreel.trainer.flow.model import VectorField

    torch.manual_seed(0)
    model = VectorField(hidden=16, depth=2, n_fourier=4).eval()
    density = load_density("examples/text.png", max_side=64, crop="none")  # the canvas: a 2:1 box
    metrics = {"method": "fm", "steps": 7, "seconds": 1.5, "excess_tv": np.float64(0.25)}
    return SimpleNamespace(model=model, config=FitConfig(steps=7), density=density, metrics=metrics)


def test_export_roundtrip_exact(run, tmp_path):
    traj = export_trajectories(run, n_particles=300, n_frames=9, seed=3, progress=False)
    assert traj.positions.shape == (9, 300, 2) and traj.positions.dtype == np.float32
    np.testing.assert_array_equal(traj.positions[0], initial_noise(300, 3))  # t=0 is exactly the seeded noise
    np.testing.assert_array_equal(traj.times, np.linspace(0, 1, 9, dtype=np.float32))
    np.testing.assert_array_equal(traj.colors, run.density.colors_at(traj.positions[-1]))
    path = trajfile.write(tmp_path / "t.npz", traj)
    back = trajfile.read(path)
    np.testing.assert_array_equal(back.positions, traj.positions)
    np.testing.assert_array_equal(back.times, traj.times)
    np.testing.assert_array_equal(back.colors, traj.colors)
    assert back.logp is None
    with np.load(path, allow_pickle=False) as z:  # plain numpy can read it, no pickles
        assert set(z.files) == {"positions", "times", "colors", "meta"}
        meta = json.loads(str(z["meta"]))
    assert meta["format"] == "flowreel.traj/2" and [k["kind"] for k in meta["keys"]] == ["noise", "picture"]
    assert meta["extent"] == pytest.approx(list(run.density.extent))
    assert meta["extent"] == pytest.approx([-4, 4, -2, 2])
    assert meta["image"]["name"] == "text.png" and meta["image"]["sha256"] == run.density.sha256
    assert meta["method"] == "fm" and meta["seed"] == 3
    assert meta["training"]["steps"] == 7 and meta["training"]["seconds"] == 1.5
    assert meta["metrics"]["excess_tv"] == 0.25
    assert meta["solver"]["library"] == "torchdiffeq" and meta["solver"]["rtol"] == export.RTOL
    assert meta["trainer"]["version"]
    assert [p.name for p in tmp_path.iterdir()] == ["t.npz"]  # no temporary left behind


def test_export_repeatable_and_seeded(run):
    a = export_trajectories(run, 200, 5, seed=1, progress=False)
    b = export_trajectories(run, 200, 5, seed=1, progress=False)
    c = export_trajectories(run, 200, 5, seed=2, progress=False)
    np.testing.assert_array_equal(a.positions, b.positions)
    assert not np.allclose(a.positions[-1], c.positions[-1])


def test_export_logp_starts_at_standard_normal(run, tmp_path):
    traj = export_trajectories(run, 100, 4, seed=0, logp=True, progress=False)
    z0 = traj.positions[0].astype(np.float64)
    expected = -0.5 * (z0**2).sum(1) - np.log(2 * np.pi)
    np.testing.assert_allclose(traj.logp[0], expected, rtol=1e-5, atol=1e-5)
    assert traj.logp.shape == (4, 100) and np.isfinite(traj.logp).all()
    back = trajfile.read(trajfile.write(tmp_path / "lp.npz", traj))
    np.testing.assert_array_equal(back.logp, traj.logp)
    assert back.meta["logp"] is True


def test_write_refuses_bad_data_and_leaves_nothing(tmp_path):
    pos = np.zeros((3, 4, 2), np.float32)
    pos[1, 2, 0] = np.nan
    meta = {"format": trajfile.FORMAT, "extent": [-4, 4, -4, 4]}
    with pytest.raises(TrajectoryError, match="NaN"):
        trajfile.write(tmp_path / "bad.npz", Trajectory(pos, np.linspace(0, 1, 3, dtype=np.float32), meta))
    assert list(tmp_path.iterdir()) == []


def test_check_output_path(tmp_path):
    assert check_output_path(tmp_path / "ok.npz") == tmp_path / "ok.npz"
    with pytest.raises(OutputPathError, match="does not exist"):
        check_output_path(tmp_path / "missing" / "t.npz")
    (tmp_path / "d.npz").mkdir()
    with pytest.raises(OutputPathError, match="is a directory"):
        check_output_path(tmp_path / "d.npz")
    with pytest.raises(OutputPathError, match=r"must end in \.npz"):
        check_output_path(tmp_path / "t.txt")
    e = pytest.raises(OutputPathError, check_output_path, tmp_path / "x" / "t.npz")
    assert str(e.value).count("\n") == 0 and "Errno" not in str(e.value)


def test_check_output_path_unwritable():
    """Root writes anywhere (as in CI): there the check runs without the capability that allows it."""
    base = Path(tempfile.mkdtemp())
    try:
        base.chmod(0o755)
        ro = base / "ro"
        ro.mkdir()
        ro.chmod(0o555)
        code = f"from flowreel.trainer.flow.trajfile import check_output_path as c; c({str(ro / 't.npz')!r})"
        unprivileged = ["setpriv", "--bounding-set", "-dac_override,-dac_read_search"] if os.geteuid() == 0 else []
        r = subprocess.run([*unprivileged, sys.executable, "-c", code], capture_output=True, text=True,
                           cwd=Path(__file__).parent.parent)  # fmt: skip
        assert r.returncode != 0
        assert "is not writable" in r.stderr.strip().splitlines()[-1], r.stderr
    finally:
        shutil.rmtree(base)
