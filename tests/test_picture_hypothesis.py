"""Property tests of the picture loader: any bytes, or a real picture damaged anywhere, give a valid density
or one DensityError line, never another exception (issue 18)."""

from __future__ import annotations

import io

import numpy as np
import pytest
from conftest import require_module
from PIL import Image, ImageDraw

from flowreel.trainer.targets.picture import DensityError, load_density

require_module("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


def _picture() -> Image.Image:
    im = Image.new("RGB", (24, 16), "white")
    ImageDraw.Draw(im).rectangle([2, 2, 12, 10], fill=(200, 20, 20))
    return im


def _seed_files() -> list[bytes]:
    """Small valid pictures of several formats: the mutations start from real headers."""
    out = []
    base = _picture()
    for fmt, im in (("PNG", base), ("JPEG", base), ("GIF", base.convert("P")), ("BMP", base),
                    ("PNG", base.convert("RGBA")), ("TIFF", base), ("WEBP", base)):  # fmt: skip
        buf = io.BytesIO()
        try:
            im.save(buf, format=fmt)
        except (OSError, KeyError):  # a Pillow built without this codec
            continue
        out.append(buf.getvalue())
    return out


SEEDS = _seed_files()


def _read(tmp_path_factory, data: bytes, **kw) -> None:
    path = tmp_path_factory.mktemp("bytes") / "pic.png"
    path.write_bytes(data)
    try:
        d = load_density(path, max_side=32, **kw)
    except DensityError as e:
        assert "\n" not in str(e) and str(e).startswith("pic.png: ") or "must be" in str(e)
        return
    assert np.isfinite(d.weights).all() and d.weights.sum() == pytest.approx(1.0)
    assert d.rgba.shape == d.weights.shape + (4,)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=2048))
def test_any_bytes_give_a_density_or_one_error(tmp_path_factory, data):
    _read(tmp_path_factory, data)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.sampled_from(SEEDS), edits=st.lists(st.tuples(st.integers(0, 4095), st.integers(0, 255)),
                                                   min_size=1, max_size=8),
       cut=st.one_of(st.none(), st.integers(8, 4096)), crop=st.sampled_from(["ink", "none"]),
       frame=st.one_of(st.none(), st.integers(0, 2)))  # fmt: skip
def test_damaged_pictures_give_a_density_or_one_error(tmp_path_factory, seed, edits, cut, crop, frame):
    data = bytearray(seed)
    for pos, value in edits:
        data[pos % len(data)] = value
    _read(tmp_path_factory, bytes(data[:cut]), crop=crop, frame=frame)
