"""Reading a trajectory for import keeps memory flat in its length T: no [T, ...] member is loaded whole.

The add-on reads files with `trajformat.read(mmap=True)` (addon/scene.py) and streams positions chunk by
chunk into the point cache; a member loaded whole would cost T x N x 4 bytes of Blender's memory (2.2 GiB
for `logp` of a 1M x 577 export, bench/RESULTS.md). `NpzFile.__getitem__` is how numpy loads a member.
"""

from __future__ import annotations

import numpy as np
import pytest

from flowreel.addon.core import trajformat as tf


@pytest.fixture
def loaded(monkeypatch):
    """Names of the .npz members numpy loads whole while the test runs."""
    names: list[str] = []
    original = np.lib.npyio.NpzFile.__getitem__

    def spy(self, key):
        names.append(key)
        return original(self, key)

    monkeypatch.setattr(np.lib.npyio.NpzFile, "__getitem__", spy)
    return names


def _export(path, T: int = 7, N: int = 11) -> tf.Trajectory:
    """A single flow with logp (what `trainer export --logp` writes)."""
    rng = np.random.default_rng(3)
    t = tf.Trajectory(
        positions=rng.normal(size=(T, N, 2)).astype(np.float32),
        times=np.linspace(0, 1, T, dtype=np.float32),
        meta={"extent": [-4.0, 4.0, -4.0, 4.0]},
        colors=rng.integers(0, 255, (N, 4), dtype=np.uint8),
        logp=rng.normal(size=(T, N)).astype(np.float32),
    )
    tf.write(path, t)
    return t


def test_mmap_read_leaves_positions_and_logp_on_disk(tmp_path, loaded):
    t = _export(tmp_path / "lp.npz")
    r = tf.read(tmp_path / "lp.npz", mmap=True, check_finite=False)
    assert "positions" not in loaded and "logp" not in loaded, f"loaded whole: {loaded}"
    assert isinstance(r.positions, np.memmap) and isinstance(r.logp, np.memmap)
    assert np.array_equal(r.logp, t.logp) and np.array_equal(r.positions, t.positions)


def test_plain_read_still_loads_logp(tmp_path, loaded):
    t = _export(tmp_path / "lp.npz")
    r = tf.read(tmp_path / "lp.npz")
    assert "logp" in loaded and not isinstance(r.logp, np.memmap)
    assert np.array_equal(r.logp, t.logp)
