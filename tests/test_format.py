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
        (lambda a: a.update(meta=np.array(json.dumps({"format": tf.FORMAT_V1, "extent": [1, 0, 0, 1]}))), "extent"),
        (lambda a: a.update(colors=np.zeros((3, 4), np.uint8)), "'colors' must be uint8"),
        (lambda a: a["positions"].__setitem__((1, 1, 1), np.inf), "NaN or inf"),
    ],
)
def test_read_names_the_problem(tmp_path, mutate, message):
    t = _traj()
    arrays = {
        "positions": t.positions,
        "times": t.times,
        "meta": np.array(json.dumps({"format": tf.FORMAT_V1, **t.meta})),
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
        path, positions=t.positions, times=t.times, meta=np.array(json.dumps({"format": tf.FORMAT_V1, **t.meta}))
    )
    with zipfile.ZipFile(path) as zf:
        assert zf.getinfo("positions.npy").compress_type == zipfile.ZIP_DEFLATED
    r = tf.read(path, mmap=True)  # falls back to loading
    assert np.array_equal(r.positions, t.positions)


# ---- version 2: keys, timeline, key colours; version 1 still reads ------------------------------------
def _seq(T: int = 9, N: int = 5, D: int = 2) -> tf.Trajectory:
    """Three keys (noise at 0, A at 4, B at 8), a hold at A and at B, colours per key."""
    rng = np.random.default_rng(2)
    box = [-4.0, 4.0, -2.0, 2.0] if D == 2 else [-4.0, 4.0, -2.0, 2.0, -1.0, 1.0]
    keys = [
        {"index": 0, "time": 0.0, "kind": "noise", "name": None, "sha256": None, "extent": None, "hold": 0.5},
        {"index": 4, "time": 0.5, "kind": "picture", "name": "a.png", "sha256": "aa", "extent": box, "hold": 1.0},
        {"index": 8, "time": 1.0, "kind": "picture", "name": "b.png", "sha256": "bb", "extent": box, "hold": None},
    ]
    segments = [
        {"kind": "move", "from": 0, "to": 1, "via": "flow", "seconds": 3.0},
        {"kind": "hold", "key": 1, "seconds": 1.0},
        {"kind": "move", "from": 1, "to": 2, "via": "direct", "seconds": 3.0},
        {"kind": "hold", "key": 2, "seconds": None},
    ]
    kc = rng.integers(0, 255, (3, N, 4), dtype=np.uint8)
    return tf.Trajectory(
        positions=rng.normal(size=(T, N, D)).astype(np.float32),
        times=np.linspace(0, 1, T, dtype=np.float32),
        meta={"extent": box, "keys": keys, "segments": segments},
        colors=kc[-1].copy(),
        key_colors=kc,
    )


@pytest.mark.parametrize("dim", [2, 3])
def test_v2_round_trip_keys_timeline_and_key_colours(tmp_path, dim):
    t = _seq(D=dim)
    tf.write(tmp_path / "s.npz", t)
    r = tf.read(tmp_path / "s.npz", mmap=True)
    assert r.meta["format"] == tf.FORMAT == "flowreel.traj/2"
    assert [k["index"] for k in r.keys] == [0, 4, 8] and [k["name"] for k in r.keys] == [None, "a.png", "b.png"]
    assert [s["kind"] for s in r.segments] == ["move", "hold", "move", "hold"]
    assert np.array_equal(r.key_colors, t.key_colors)
    assert np.array_equal(r.colors_at_key(1), t.key_colors[1])
    assert len(r.extent) == 2 * dim


def test_single_flow_written_as_v2_and_v1_files_read_as_one_move(tmp_path):
    t = _traj()
    t.meta["image"] = {"name": "logo.png", "sha256": "ff"}
    tf.write(tmp_path / "one.npz", t)
    r = tf.read(tmp_path / "one.npz")
    assert r.meta["format"] == tf.FORMAT
    assert [(k["index"], k["kind"], k["name"]) for k in r.keys] == [(0, "noise", None), (5, "picture", "logo.png")]
    old = tmp_path / "old.npz"  # a file as the first release wrote it
    np.savez(old, positions=t.positions, times=t.times, colors=np.zeros((9, 4), np.uint8),
             meta=np.array(json.dumps({"format": tf.FORMAT_V1, **t.meta})))
    r1 = tf.read(old)
    assert r1.keys == r.keys and r1.segments == r.segments == [
        {"kind": "move", "from": 0, "to": 1, "via": "flow", "seconds": None}]
    assert np.array_equal(r1.colors_at_key(1), np.zeros((9, 4), np.uint8))


def _broken(t: tf.Trajectory, change) -> tf.Trajectory:
    t.meta = json.loads(json.dumps(t.meta))
    change(t)
    return t


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda t: t.meta["keys"].pop(), r"key indices must increase from 0 to 8, got \[0, 4\]"),
        (lambda t: t.meta["keys"][1].update(index=9), "key indices must increase from 0 to 8"),
        (lambda t: t.meta["keys"][2].update(index=7), "key indices must increase from 0 to 8"),
        (lambda t: t.meta["keys"][1].update(kind="logo"), "key 1: 'kind' must be one of"),
        (lambda t: t.meta["keys"][1].update(hold=-1), "key 1: 'hold' must be seconds"),
        (lambda t: t.meta["keys"][1].update(extent=[0, 0, 0, 1]), r"keys\[1\].extent"),
        (lambda t: t.meta["segments"].pop(2), "move from each key to the next"),
        (lambda t: t.meta["segments"][1].update(key=2), "a hold must be at the key the film is at"),
        (lambda t: t.meta["segments"][0].update(via="teleport"), "'via' must be one of"),
        (lambda t: t.meta["segments"][0].update(seconds=-2), "'seconds' must be >= 0"),
        (lambda t: t.meta.pop("segments"), "'meta.segments' must be a list"),
        (lambda t: setattr(t, "key_colors", t.key_colors[:2]), r"'key_colors' must be uint8 \[3, 5, 4\]"),
        (lambda t: t.meta.update(extent=[-4, 4, -2, 2]), r"'meta.extent' must be \[xmin, xmax, ymin, ymax, zmin"),
    ],
)
def test_v2_write_names_the_problem_and_writes_nothing(tmp_path, change, message):
    t = _broken(_seq(D=3 if "zmin" in message else 2), change)
    with pytest.raises(tf.TrajectoryError, match=message) as e:
        tf.write(tmp_path / "s.npz", t)
    assert "\n" not in str(e.value)
    assert list(tmp_path.iterdir()) == []
