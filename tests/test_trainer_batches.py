"""Training batches: OT pairs are optimal, batches come back in order, and workers do not change results."""

from __future__ import annotations

import time

import numpy as np
import pytest
import torch

from flowreel.trainer.fit.batches import Prefetcher, fm_batch, ot_pair, step_rng
from flowreel.trainer.fit.loop import FitConfig, fit
from flowreel.trainer.targets.picture import ImageDensity

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def bar() -> ImageDensity:
    w = np.zeros((20, 30))
    w[8:12, 3:27] = 1.0
    rgba = np.zeros((20, 30, 4), np.uint8)
    rgba[..., 3] = 255
    return ImageDensity(w, rgba, name="bar")


def _cost(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return ((a - b) ** 2).sum(1)


def test_ot_pairs_are_a_permutation_with_no_improving_swap():
    rng = np.random.default_rng(3)
    x0 = rng.standard_normal((96, 2))
    x1 = rng.uniform(-3, 3, (96, 2))
    out = ot_pair(x0, x1, 32)
    for s in range(0, 96, 32):  # each block keeps its own points, re-ordered
        a, b = out[s:s + 32], x1[s:s + 32]
        np.testing.assert_array_equal(a[np.lexsort(a.T)], b[np.lexsort(b.T)])
    assert _cost(x0, out).sum() < 0.5 * _cost(x0, x1).sum()
    # optimality: swapping the partners of any two pairs in a block never lowers the cost
    for s in range(0, 96, 32):
        a, b = x0[s:s + 32], out[s:s + 32]
        c = _cost(a, b)
        swapped = ((a[:, None] - b[None, :]) ** 2).sum(-1)  # [i, j] = cost of pairing a_i with b_j
        gain = c[:, None] + c[None, :] - swapped - swapped.T
        assert gain.max() <= 1e-9


def test_fm_batch_shapes_and_times(bar):
    b = fm_batch(bar, step_rng(0, 5), batch_size=128, ot=True, ot_block=64, t_power=2.0, sigma=0.1)
    assert b["x0"].shape == b["x1"].shape == b["eps"].shape == (128, 2)
    assert b["t"].shape == (128,) and 0 <= b["t"].min() and b["t"].max() < 1
    assert np.median(b["t"]) > 0.5  # t_power > 1 leans towards t = 1
    assert "eps" not in fm_batch(bar, step_rng(0, 5), batch_size=8, ot=False, ot_block=64, t_power=1, sigma=0)


@pytest.mark.parametrize("workers", [0, 1, 3])
def test_prefetcher_returns_each_step_in_order(workers):
    with Prefetcher(lambda k: (k, step_rng(1, k).random()), 4, 40, workers=workers, depth=5) as p:
        got = [p.get(k) for k in range(4, 40)]
    assert got == [(k, step_rng(1, k).random()) for k in range(4, 40)]


def test_prefetcher_refuses_a_step_out_of_order():
    with Prefetcher(lambda k: k, 0, 10, workers=1) as p:
        p.get(0)
        with pytest.raises(RuntimeError, match="in order"):
            p.get(5)


def test_prefetcher_close_does_not_wait_for_unstarted_work():
    started = []

    def slow(k):
        started.append(k)
        time.sleep(0.05)
        return k

    p = Prefetcher(slow, 0, 1000, workers=1, depth=50)
    t = time.perf_counter()
    p.close()
    assert time.perf_counter() - t < 0.5
    time.sleep(0.3)
    assert len(started) <= 2  # the step in progress finishes; the queued ones never start


def test_fit_is_the_same_with_and_without_worker_threads(bar, tmp_path):
    base = dict(steps=12, batch_size=128, ot_block=32, hidden=16, depth=1, n_fourier=4, eval_samples=200,
                eval_tol=1e-2, device="cpu")
    fit(bar, FitConfig(workers=0, **base), tmp_path / "a", progress=False)
    fit(bar, FitConfig(workers=2, **base), tmp_path / "b", progress=False)
    a, b = (torch.load(tmp_path / n / "checkpoint.pt", weights_only=True) for n in "ab")
    for k in a["ema"]:
        torch.testing.assert_close(a["ema"][k], b["ema"][k], rtol=0, atol=0)
