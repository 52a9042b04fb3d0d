"""Reading a trajectory for import keeps memory flat in its length T: no [T, ...] member is loaded whole.

The add-on reads files with `trajformat.read(mmap=True)` (addon/scene/build.py) and streams positions chunk by
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


def _sequence_3d(path, T: int, N: int) -> int:
    """A 3-D sequence noise -> A -> B with key colours, holds and logp; returns the bytes of positions."""
    rng = np.random.default_rng(4)
    box = [-4.0, 4.0, -4.0, 4.0, -4.0, 4.0]
    mid = (T - 1) // 2
    stops = ((0, "noise", None, None), (mid, "picture", "a", box), (T - 1, "picture", "b", box))
    keys = [{"index": i, "time": i / (T - 1), "kind": kind, "name": name, "sha256": None, "extent": ext, "hold": None}
            for i, kind, name, ext in stops]
    segments = [{"kind": "move", "from": 0, "to": 1, "via": "flow", "seconds": None},
                {"kind": "hold", "key": 1, "seconds": 1.0},
                {"kind": "move", "from": 1, "to": 2, "via": "direct", "seconds": None}]
    kc = np.stack([np.tile(np.array(c, np.uint8), (N, 1)) for c in ((255, 0, 0, 255),) * 2 + ((0, 0, 255, 255),)])
    pos = rng.uniform(-3, 3, size=(T, N, 3)).astype(np.float32)
    tf.write(path, tf.Trajectory(pos, np.linspace(0, 1, T, dtype=np.float32), {"extent": box, "keys": keys,
                                 "segments": segments}, kc[-1], rng.normal(size=(T, N)).astype(np.float32), kc))
    return pos.nbytes


@pytest.mark.parametrize("framing", ["PICTURE", "ALL"])
def test_import_of_a_long_3d_sequence_allocates_a_chunk_not_the_film(bpy, tmp_path, monkeypatch, framing):
    """build_scene (3-D auto radius, orbit camera, key colours, holds) holds at most a few chunks of positions
    in numpy memory (tracemalloc sees numpy's buffers), not the T frames; CHUNK_BYTES is made small so a
    full read of positions (11 MB) or logp (3.8 MB) stands out against the chunk (32 KiB)."""
    import tracemalloc

    from flowreel.addon.core.options import SceneOptions
    from flowreel.addon.scene import pointcache
    from flowreel.addon.scene.build import build_scene

    T, N = 1201, 800
    total = _sequence_3d(tmp_path / "s.npz", T, N)
    monkeypatch.setattr(pointcache, "CHUNK_BYTES", 32 << 10)
    opts = SceneOptions(cache_dir=str(tmp_path / "cache"), resolution=(64, 36), camera="ORBIT", framing=framing)
    tracemalloc.start()
    try:
        obj = build_scene(bpy.context.scene, str(tmp_path / "s.npz"), opts)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(obj.data.vertices) == N and obj.data.attributes.get("flowreel_display_2") is not None
    assert peak < total / 8, f"peak {peak / 2**20:.2f} MiB of numpy memory for {total / 2**20:.2f} MiB of positions"
