"""PC2 writer (pure numpy): header, layout, 2-D -> 3-D, subsets, NaN rejection, resampling, atomicity."""

import os

import numpy as np
import pytest

from flowreel.addon.core import trajformat
from flowreel.addon.core.trajformat import Trajectory, TrajectoryError
from flowreel.addon.scene import pointcache


def make(path, T=6, N=40, D=2, times=None, seed=0):
    rng = np.random.default_rng(seed)
    pos = rng.normal(size=(T, N, D)).astype(np.float32)
    t = np.linspace(0, 1, T, dtype=np.float32) if times is None else np.asarray(times, np.float32)
    trajformat.write(path, Trajectory(pos, t, {"extent": [-4, 4, -4, 4] + [-4, 4] * (D == 3)}))
    return pos


def test_header_and_samples_match_file(tmp_path):
    pos = make(tmp_path / "t.npz")
    traj = trajformat.read(tmp_path / "t.npz", mmap=True)
    assert isinstance(traj.positions, np.memmap)
    out = str(tmp_path / "c.pc2")
    info = pointcache.write_pc2(traj, out)
    raw = open(out, "rb").read(32)
    assert raw[:12] == b"POINTCACHE2\0"
    assert pointcache.read_pc2_header(out) == (1, 40, 0.0, 1.0, 6)
    assert os.path.getsize(out) == 32 + 6 * 40 * 12
    for k in range(6):
        s = pointcache.read_pc2_sample(out, k)
        np.testing.assert_array_equal(s[:, :2], pos[k])
        assert np.all(s[:, 2] == 0)
    np.testing.assert_array_equal(info.start[:, :2], pos[0])
    assert info.bbox[0] == pos[..., 0].min() and info.bbox[3] == pos[..., 1].max()
    assert not info.resampled


def test_subset_and_3d(tmp_path):
    pos = make(tmp_path / "t.npz", D=3)
    idx = np.array([3, 7, 30])
    out = str(tmp_path / "c.pc2")
    pointcache.write_pc2(trajformat.read(tmp_path / "t.npz", mmap=True), out, idx)
    assert pointcache.read_pc2_header(out)[1] == 3
    np.testing.assert_array_equal(pointcache.read_pc2_sample(out, 4), pos[4][idx])


def test_chunked_reading_matches(tmp_path, monkeypatch):
    pos = make(tmp_path / "t.npz", T=11)
    monkeypatch.setattr(pointcache, "CHUNK_BYTES", 3 * 40 * 8)  # 3 frames per read
    out = str(tmp_path / "c.pc2")
    pointcache.write_pc2(trajformat.read(tmp_path / "t.npz", mmap=True), out)
    for k in range(11):
        np.testing.assert_array_equal(pointcache.read_pc2_sample(out, k)[:, :2], pos[k])


@pytest.mark.parametrize("chunk_frames", [1, 2, 100])
def test_nonuniform_times_are_resampled(tmp_path, monkeypatch, chunk_frames):
    times = [0.0, 0.1, 0.2, 0.6, 1.0]
    pos = make(tmp_path / "t.npz", T=5, times=times)
    monkeypatch.setattr(pointcache, "CHUNK_BYTES", chunk_frames * 40 * 8)
    out = str(tmp_path / "c.pc2")
    info = pointcache.write_pc2(trajformat.read(tmp_path / "t.npz", mmap=True), out)
    assert info.resampled
    for k, t in enumerate(np.linspace(0, 1, 5)):
        expect = np.stack([np.interp(t, times, pos[:, i, d]) for i in range(40) for d in range(2)]).reshape(40, 2)
        np.testing.assert_allclose(pointcache.read_pc2_sample(out, k)[:, :2], expect, atol=1e-5)


def test_nan_is_rejected_and_nothing_written(tmp_path):
    pos = make(tmp_path / "t.npz", T=6)
    pos[4, 2, 1] = np.nan
    # bypass write()'s validation to produce a bad file on disk
    np.savez(tmp_path / "bad.npz", positions=pos, times=np.linspace(0, 1, 6, dtype=np.float32),
             meta=np.array('{"format": "flowreel.traj/1", "extent": [-4, 4, -4, 4]}'))
    traj = trajformat.read(tmp_path / "bad.npz", mmap=True, check_finite=False)
    with pytest.raises(TrajectoryError, match="NaN or inf"):
        pointcache.write_pc2(traj, str(tmp_path / "c.pc2"), name="bad.npz")
    assert sorted(os.listdir(tmp_path)) == ["bad.npz", "t.npz"]  # no cache, no temp file


def test_compressed_file_falls_back_to_in_memory_frames(tmp_path):
    pos = np.random.default_rng(2).normal(size=(4, 10, 2)).astype(np.float32)
    np.savez_compressed(tmp_path / "z.npz", positions=pos, times=np.linspace(0, 1, 4, dtype=np.float32),
                        meta=np.array('{"format": "flowreel.traj/1", "extent": [-4, 4, -4, 4]}'))
    traj = trajformat.read(tmp_path / "z.npz", mmap=True)
    assert not isinstance(traj.positions, np.memmap)
    out = str(tmp_path / "c.pc2")
    pointcache.write_pc2(traj, out)
    np.testing.assert_array_equal(pointcache.read_pc2_sample(out, 3)[:, :2], pos[3])
