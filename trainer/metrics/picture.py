"""Quality of a fitted flow: total-variation distance between particle histograms and the image.

TV is measured on a ``bins x bins`` grid over the image box (extent). The density's own mass per bin
is integrated exactly from its pixels (bins and pixels need not align); samples outside the box count
as mass the image does not have. ``excess_tv`` subtracts the same distance for as many exact samples
of the image density (the sampling-noise floor), so 0 means "as good as sampling the picture itself".
"""

from __future__ import annotations

import numpy as np

from flowreel.trainer.targets.picture import ImageDensity


def _overlap(n_pixels: int, bins: int) -> np.ndarray:
    """[bins, n_pixels]: fraction of each pixel (unit width) lying in each bin of an equal split of [0, n_pixels]."""
    edges = np.linspace(0.0, n_pixels, bins + 1)
    lo = np.maximum(edges[:-1, None], np.arange(n_pixels)[None, :])
    hi = np.minimum(edges[1:, None], np.arange(1, n_pixels + 1)[None, :])
    return np.clip(hi - lo, 0.0, None)


def density_histogram(density: ImageDensity, bins: int = 64) -> np.ndarray:
    """Exact probability mass of the density in each bin, [bins, bins], row 0 = top of the picture."""
    h, w = density.shape
    return _overlap(h, bins) @ density.weights @ _overlap(w, bins).T


def sample_histogram(samples: np.ndarray, density: ImageDensity, bins: int = 64) -> tuple[np.ndarray, float]:
    """(fraction of samples per bin [bins, bins] with row 0 = top, fraction outside the box)."""
    xy = np.asarray(samples, dtype=np.float64).reshape(-1, 2)
    n = len(xy)
    if n == 0:
        raise ValueError("no samples")
    xmin, xmax, ymin, ymax = density.extent
    fx = (xy[:, 0] - xmin) / (xmax - xmin)
    fy = (ymax - xy[:, 1]) / (ymax - ymin)
    inside = np.isfinite(fx) & np.isfinite(fy) & (fx >= 0) & (fx <= 1) & (fy >= 0) & (fy <= 1)
    bx = np.minimum((fx[inside] * bins).astype(np.int64), bins - 1)
    by = np.minimum((fy[inside] * bins).astype(np.int64), bins - 1)
    counts = np.bincount(by * bins + bx, minlength=bins * bins).reshape(bins, bins)
    return counts / n, float(1.0 - inside.sum() / n)


def histogram_tv(samples: np.ndarray, density: ImageDensity, bins: int = 64) -> float:
    """TV distance in [0, 1] between the samples' histogram and the density's mass over the image box."""
    hist, outside = sample_histogram(samples, density, bins)
    return float(0.5 * (np.abs(hist - density_histogram(density, bins)).sum() + outside))


def excess_tv(samples: np.ndarray, density: ImageDensity, rng: np.random.Generator, bins: int = 64) -> float:
    """histogram_tv(samples) minus histogram_tv of len(samples) exact samples: the part not due to sampling noise."""
    floor = histogram_tv(density.sample(len(samples), rng), density, bins)
    return histogram_tv(samples, density, bins) - floor


def gaussian_tv(samples: np.ndarray, bins: int = 64, box: float = 4.0) -> float:
    """TV distance between the samples' histogram on a ``bins x bins`` grid over [-box, box]^2 and N(0, I)'s mass.

    The start of every film is N(0, I); this measures how far a t=0 cloud is from it (mass outside the
    grid counts on both sides, so a perfect sample scores only its sampling noise).
    """
    from scipy.special import ndtr

    xy = np.asarray(samples, dtype=np.float64).reshape(-1, 2)
    if len(xy) == 0:
        raise ValueError("no samples")
    edges = np.linspace(-box, box, bins + 1)
    p1 = np.diff(ndtr(edges))  # mass per bin along one axis; the 2-D mass is the outer product
    hist, _, _ = np.histogram2d(xy[:, 0], xy[:, 1], bins=[edges, edges])
    hist /= len(xy)
    outside_samples = 1.0 - hist.sum()
    outside_gauss = 1.0 - p1.sum() ** 2
    return float(0.5 * (np.abs(hist - np.outer(p1, p1)).sum() + abs(outside_samples - outside_gauss)))


def excess_gaussian_tv(samples: np.ndarray, rng: np.random.Generator, bins: int = 64, box: float = 4.0) -> float:
    """gaussian_tv(samples) minus gaussian_tv of as many exact N(0, I) samples: 0 = as Gaussian as sampling."""
    n = len(np.asarray(samples).reshape(-1, 2))
    floor = gaussian_tv(rng.standard_normal((n, 2)), bins, box)
    return gaussian_tv(samples, bins, box) - floor
