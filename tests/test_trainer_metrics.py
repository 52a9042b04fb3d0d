"""Histogram TV and excess TV: exact samples score ~0, wrong samples score high."""

from __future__ import annotations

import numpy as np
import pytest

from flowreel.trainer.metrics.picture import density_histogram, excess_tv, histogram_tv, sample_histogram
from flowreel.trainer.targets.picture import ImageDensity, load_density


@pytest.fixture(scope="module")
def logo():
    return load_density("examples/logo.png")


def test_density_histogram_is_exact_mass():
    w = np.random.default_rng(0).random((50, 70))  # pixels do not align with 64 bins
    d = ImageDensity(w, np.zeros((50, 70, 4), np.uint8))
    m = density_histogram(d, bins=64)
    assert m.shape == (64, 64) and m.sum() == pytest.approx(1.0)
    # bins = pixel grid: the mass is the weights themselves
    d2 = ImageDensity(w[:32, :32], np.zeros((32, 32, 4), np.uint8))
    np.testing.assert_allclose(density_histogram(d2, bins=32), d2.weights)
    np.testing.assert_allclose(density_histogram(d2, bins=16), d2.weights.reshape(16, 2, 16, 2).sum(axis=(1, 3)))


def test_histogram_orientation_top_row_first():
    w = np.zeros((4, 4))
    w[0, 3] = 1  # top-right pixel
    d = ImageDensity(w, np.zeros((4, 4, 4), np.uint8))
    hist, out = sample_histogram(np.array([[3.5, 3.5], [9.0, 0.0]]), d, bins=4)
    assert hist[0, 3] == 0.5 and out == 0.5
    assert histogram_tv(d.sample(1000, np.random.default_rng(0)), d, bins=4) == pytest.approx(0.0)
    assert histogram_tv(np.array([[-3.5, -3.5]]), d, bins=4) == pytest.approx(1.0)  # all mass elsewhere
    assert histogram_tv(np.array([[40.0, 0.0]]), d, bins=4) == pytest.approx(1.0)  # outside the box


def test_excess_tv_exact_samples_near_zero_and_gaussian_large(logo):
    rng = np.random.default_rng(1)
    exact = logo.sample(100_000, rng)
    floor = histogram_tv(exact, logo)
    assert 0.0 < floor < 0.08  # the sampling-noise floor of 100k samples in 64x64 bins
    assert abs(excess_tv(exact, logo, rng)) < 0.01
    gauss = rng.standard_normal((100_000, 2)).astype(np.float32)
    assert excess_tv(gauss, logo, rng) > 0.4
    # a blurred logo (exact samples + noise) is in between and grows with the blur
    e1 = excess_tv(exact + rng.normal(0, 0.05, exact.shape), logo, rng)
    e2 = excess_tv(exact + rng.normal(0, 0.3, exact.shape), logo, rng)
    assert 0.01 < e1 < e2 < 0.4
