"""The splat engine's drawing (addon/render/splat/raster.py, pure numpy): each point is a disc of its
colour where the file puts it, a moving point a streak over the shutter, overlapping points do not
add up past full cover, and the pixel filter is Cycles' (Blackman-Harris over twice the filter size)."""

from __future__ import annotations

import numpy as np
import pytest

from flowreel.addon.looks.recipes import get_look
from flowreel.addon.render.splat.raster import Discs, blackman_harris, draw, filter_taps
from flowreel.addon.render.splat.shading import emission


def _discs(xy0, xy1=None, radius=2.0, rgb=(1.0, 0.5, 0.25)) -> Discs:
    xy0 = np.atleast_2d(np.asarray(xy0, np.float32))
    xy1 = xy0 if xy1 is None else np.atleast_2d(np.asarray(xy1, np.float32))
    n = len(xy0)
    return Discs(xy0[:, 0], xy0[:, 1], xy1[:, 0], xy1[:, 1], np.full(n, radius, np.float32),
                 np.tile(np.asarray(rgb, np.float32), (n, 1)))


def _centroid(a: np.ndarray) -> tuple[float, float]:
    rows, cols = np.indices(a.shape)
    return float((a * (cols + 0.5)).sum() / a.sum()), float((a * (rows + 0.5)).sum() / a.sum())


@pytest.mark.parametrize("supersample", [1, 2, 3])
def test_a_still_disc_has_its_area_place_and_colour(supersample):
    rgb, a = draw(_discs([(20.3, 15.7)], radius=3.0), 48, 32, supersample)
    assert a.sum() == pytest.approx(np.pi * 9.0, rel=0.02)  # the pixel filter keeps the light, only spreads it
    cx, cy = _centroid(a)
    assert abs(cx - 20.3) < 0.03 and abs(cy - 15.7) < 0.03  # x right, y down from the top-left corner
    assert a.max() == pytest.approx(1.0, abs=0.01)
    assert np.allclose(rgb[15, 20], [1.0, 0.5, 0.25], atol=0.01)  # premultiplied, full cover inside
    assert a[:, :12].max() == 0 and a[:, 30:].max() == 0  # nothing beyond the disc and the filter's reach


def test_a_moving_disc_is_a_streak_of_the_same_light():
    """Over the shutter a point moving 12 px leaves an even streak from its opening to its closing place,
    with the light of one disc (time-averaged cover), centred on the middle of its path."""
    _, a = draw(_discs([(10.0, 16.0)], [(22.0, 16.0)], radius=2.0), 40, 32, 2)
    assert a.sum() == pytest.approx(np.pi * 4.0, rel=0.02)
    cx, cy = _centroid(a)
    assert abs(cx - 16.0) < 0.05 and abs(cy - 16.0) < 0.05
    row = a[16]
    assert row[10:22].min() > 0.15 and row[10:22].max() < 0.4  # even: 4 px of 16 px of travel cover a pixel
    assert row[:6].max() < 0.01 and row[27:].max() < 0.01


def test_overlapping_points_cover_once_and_mix_their_colours():
    one = draw(_discs([(16.0, 16.0)], radius=4.0, rgb=(1, 0, 0)), 32, 32, 2)
    same = draw(_discs([(16.0, 16.0)] * 2, radius=4.0, rgb=(1, 0, 0)), 32, 32, 2)
    assert same[1].max() <= 1.0 + 1e-6 and same[1][16, 16] == pytest.approx(one[1][16, 16], abs=1e-3)
    assert same[0][16, 16, 0] == pytest.approx(1.0, abs=1e-3)  # not twice as bright
    d = _discs([(16.0, 16.0)] * 2, radius=4.0)
    d.rgb = np.array([[1, 0, 0], [0, 0, 1]], np.float32)
    rgb, a = draw(d, 32, 32, 2)
    assert np.allclose(rgb[16, 16], [0.5, 0, 0.5], atol=1e-3) and a[16, 16] == pytest.approx(1.0, abs=1e-3)


def test_cover_of_a_random_cloud_is_the_union_of_its_discs():
    """Randomly placed discs of area A at density n cover 1 - exp(-n A) of the plane (the chance that no disc
    covers a spot), in a dense cloud and a sparse one alike: overlaps count once."""
    rng = np.random.default_rng(0)
    for count in (3000, 600, 60):
        a = draw(_discs(rng.uniform(8, 56, (count, 2)), radius=1.0), 64, 64, 2)[1]
        expected = 1 - np.exp(-count * np.pi / 48**2)
        assert a[16:48, 16:48].mean() == pytest.approx(expected, abs=0.03), count


def test_one_colour_shortcut_draws_what_the_general_path_draws():
    rng = np.random.default_rng(1)
    xy = rng.uniform(0, 40, (500, 2))
    d1 = _discs(xy, xy + rng.normal(0, 2, xy.shape), radius=1.3)
    d2 = _discs(xy, xy + rng.normal(0, 2, xy.shape), radius=1.3)
    d2.x1, d2.y1 = d1.x1, d1.y1
    d2.rgb = d1.rgb.copy()
    d2.rgb[0] += 1e-6  # two colours: the per-channel sums
    (c1, a1), (c2, a2) = draw(d1, 40, 40, 2), draw(d2, 40, 40, 2)
    assert np.allclose(a1, a2) and np.allclose(c1, c2, atol=1e-5)


def test_points_off_the_image_are_dropped_and_edges_are_cut():
    rgb, a = draw(_discs([(-50.0, 5.0), (5.0, 500.0), (0.0, 10.0)], radius=2.0), 20, 20, 2)
    assert a[:, 4:].max() == 0  # the two far points draw nothing
    assert 0.3 * np.pi * 4 < a.sum() < 0.7 * np.pi * 4  # half of the disc on the left edge


def test_the_pixel_filter_is_cycles_blackman_harris_over_twice_the_filter_size():
    offsets, weights = filter_taps(2, 3.0)
    assert weights.sum() == pytest.approx(1.0) and np.all(weights > 0)
    pos = (offsets + 0.5) / 2 - 0.5  # the fine cells' centres from the pixel's, in pixels
    assert pos.min() > -1.5 and pos.max() < 1.5  # reach: half of 2 x 1.5 px
    assert blackman_harris(np.array([0.0, 1.5, 2.0]), 3.0)[0] == pytest.approx(1.0, abs=1e-4)
    wide = draw(_discs([(16.0, 16.0)], radius=0.3), 32, 32, 2, filter_size=1.5)[1]
    narrow = draw(_discs([(16.0, 16.0)], radius=0.3), 32, 32, 2, filter_size=0.5)[1]
    assert (wide > 1e-4).sum() > (narrow > 1e-4).sum()


def test_the_glow_look_lifts_black_and_keeps_colours():
    """Emission of the looks' material: a black (one-ink logo) point glows in the look's colour, saturated by
    the look; a colour keeps its hue; the neon look's strength scales the light."""
    glow, neon = get_look("glow"), get_look("neon")
    black, red = emission(glow, np.array([[0.0, 0.0, 0.0, 1.0], [0.8, 0.1, 0.1, 1.0]], np.float32))
    assert black.argmax() == 0 and black[2] < black[0] and black.max() <= 1.0  # warm white (1, 0.85, 0.6) lifted
    assert red[0] > 5 * red[1] and red[0] == pytest.approx(0.8, abs=0.01)
    grey = emission(neon, np.array([[0.5, 0.5, 0.5, 1.0]], np.float32))[0]
    assert np.allclose(grey, 0.5 * neon.strength, atol=1e-6)  # no hue to saturate
