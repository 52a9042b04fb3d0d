"""The trajectory file contract (addon/trajformat.py), as both halves rely on it."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest

from flowreel.addon.core import trajformat as tf


def _traj(T: int = 6, N: int = 9, D: int = 2, **kw) -> tf.Trajectory:
    rng = np.random.default_rng(0)
    return tf.Trajectory(
        positions=rng.normal(size=(T, N, D)).astype(np.float32),
        times=np.linspace(0, 1, T, dtype=np.float32),
        meta={"extent": [-4.0, 4.0, -2.0, 2.0], "method": "fm"},
        **kw,
    )


def test_round_trip_plain_numpy_and_mmap(tmp_path):
    rng = np.random.default_rng(1)
    t = _traj(colors=rng.integers(0, 255, (9, 4), dtype=np.uint8), logp=rng.normal(size=(6, 9)).astype(np.float32))
    path = tmp_path / "t.npz"
    tf.write(path, t)
    with np.load(path, allow_pickle=False) as z:  # readable by anyone with numpy, no pickle
        assert np.array_equal(z["positions"], t.positions)
        assert json.loads(str(z["meta"]))["format"] == tf.FORMAT
    r = tf.read(path, mmap=True)
    assert isinstance(r.positions, np.memmap)
    assert np.array_equal(r.positions, t.positions)
    assert np.array_equal(r.colors, t.colors) and np.array_equal(r.logp, t.logp)
    assert r.extent == [-4.0, 4.0, -2.0, 2.0]
    assert [p.name for p in tmp_path.iterdir()] == ["t.npz"]  # no temporary left behind


def test_write_refuses_invalid_and_leaves_nothing(tmp_path):
    bad = _traj()
    bad.positions[2, 3, 0] = np.nan
    with pytest.raises(tf.TrajectoryError, match="NaN or inf"):
        tf.write(tmp_path / "t.npz", bad)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda a: a.pop("positions"), "missing positions"),
        (lambda a: a.update(positions=np.zeros((5, 3), np.float32)), r"shape \[T, N, 2\|3\]"),
        (lambda a: a.update(positions=a["positions"].astype(np.float64)), "must be float32"),
        (lambda a: a.update(times=a["times"][::-1].copy()), "strictly increasing"),
        (lambda a: a.update(times=np.linspace(0, 2, 6, dtype=np.float32)), "from 0 to 1"),
        (lambda a: a.update(times=np.linspace(0, 1, 5, dtype=np.float32)), "to match positions"),
        (lambda a: a.update(meta=np.array("{not json")), "not valid JSON"),
        (lambda a: a.update(meta=np.array(json.dumps({"format": "other"}))), "meta.format"),
        (lambda a: a.update(meta=np.array(json.dumps({"format": tf.FORMAT, "extent": [1, 0, 0, 1]}))), "extent"),
        (lambda a: a.update(colors=np.zeros((3, 4), np.uint8)), "'colors' must be uint8"),
        (lambda a: a["positions"].__setitem__((1, 1, 1), np.inf), "NaN or inf"),
    ],
)
def test_read_names_the_problem(tmp_path, mutate, message):
    t = _traj()
    arrays = {
        "positions": t.positions,
        "times": t.times,
        "meta": np.array(json.dumps({"format": tf.FORMAT, **t.meta})),
    }
    mutate(arrays)
    path = tmp_path / "bad.npz"
    np.savez(path, **arrays)
    with pytest.raises(tf.TrajectoryError, match=message) as e:
        tf.read(path)
    assert "\n" not in str(e.value) and str(e.value).startswith("bad.npz: ")


def test_unreadable_files(tmp_path):
    (tmp_path / "text.npz").write_text("hello")
    (tmp_path / "empty.npz").write_bytes(b"")
    good = tmp_path / "good.npz"
    tf.write(good, _traj(T=50, N=500))
    (tmp_path / "cut.npz").write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    for name in ("text.npz", "empty.npz", "cut.npz"):
        with pytest.raises(tf.TrajectoryError, match="not a readable"):
            tf.read(tmp_path / name)
    with pytest.raises(tf.TrajectoryError, match="no such file"):
        tf.read(tmp_path / "missing.npz")
    with pytest.raises(tf.TrajectoryError, match="directory"):
        tf.read(tmp_path)


def test_compressed_files_still_read(tmp_path):
    t = _traj()
    path = tmp_path / "c.npz"
    np.savez_compressed(
        path, positions=t.positions, times=t.times, meta=np.array(json.dumps({"format": tf.FORMAT, **t.meta}))
    )
    with zipfile.ZipFile(path) as zf:
        assert zf.getinfo("positions.npy").compress_type == zipfile.ZIP_DEFLATED
    r = tf.read(path, mmap=True)  # falls back to loading
    assert np.array_equal(r.positions, t.positions)
