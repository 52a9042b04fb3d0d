"""Property tests of the trajectory reader: any bytes give a valid Trajectory or one TrajectoryError line,
never another exception (a traceback in Blender, "internal error" in the CLI)."""

from __future__ import annotations

import io
import json

import numpy as np
from conftest import require_module

from flowreel.addon.core import trajformat
from flowreel.addon.core.errors import FlowreelError
from flowreel.addon.core.trajformat import Trajectory

hypothesis = require_module("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

SETTINGS = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _valid_bytes(tmp_path, compressed: bool) -> bytes:
    t = Trajectory(np.random.default_rng(0).normal(size=(3, 4, 2)).astype(np.float32),
                   np.linspace(0, 1, 3, dtype=np.float32), {"format": trajformat.FORMAT_V1, "extent": [-4, 4, -3, 3]})
    if not compressed:
        trajformat.write(tmp_path / "v.npz", t)
        return (tmp_path / "v.npz").read_bytes()
    buf = io.BytesIO()
    np.savez_compressed(buf, positions=t.positions, times=t.times, meta=np.array(json.dumps(t.meta)))
    return buf.getvalue()


def _read_is_valid_or_one_line(path, mmap: bool) -> None:
    try:
        traj = trajformat.read(path, mmap=mmap, max_bytes=1e6)
    except FlowreelError as e:
        assert str(e) and "\n" not in str(e)
        return
    trajformat.validate(traj, str(path))  # what it returns is whole


@SETTINGS
@given(data=st.binary(max_size=600), mmap=st.booleans())
def test_any_bytes(tmp_path, data, mmap):
    path = tmp_path / "any.npz"
    path.write_bytes(data)
    _read_is_valid_or_one_line(path, mmap)


@SETTINGS
@given(compressed=st.booleans(), edits=st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), min_size=1,
                                                max_size=8), cut=st.none() | st.integers(0, 10**6), mmap=st.booleans())
def test_a_valid_file_with_bytes_changed_or_cut(tmp_path, compressed, edits, cut, mmap):
    raw = bytearray(_valid_bytes(tmp_path, compressed))
    for where, value in edits:
        raw[where % len(raw)] = value
    if cut is not None:
        raw = raw[: cut % (len(raw) + 1)]
    path = tmp_path / "edited.npz"
    path.write_bytes(bytes(raw))
    _read_is_valid_or_one_line(path, mmap)


@SETTINGS
@given(meta=st.recursive(st.none() | st.booleans() | st.floats() | st.integers() | st.text(max_size=8),
                         lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=8), c, max_size=4),
                         max_leaves=12),
       shape=st.tuples(st.integers(0, 4), st.integers(0, 4), st.integers(0, 4)))  # fmt: skip
def test_any_meta_and_shapes(tmp_path, meta, shape):
    base = {"format": trajformat.FORMAT, "extent": [-4, 4, -3, 3]}
    if isinstance(meta, dict):
        base.update(meta)
    else:
        base["keys"] = meta
    path = tmp_path / "meta.npz"
    T = shape[0]
    np.savez(path, positions=np.zeros(shape, np.float32), times=np.linspace(0, 1, T, dtype=np.float32),
             meta=np.array(json.dumps(base)))
    _read_is_valid_or_one_line(path, mmap=True)
