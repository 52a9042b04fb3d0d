"""Turbulence (trainer/flow/turbulence.py): divergence-free curl noise on the exported paths, 0 at every key."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import fit_tiny
from test_trainer_landing import _picture  # a ring with a hole and a bar: a picture a poor fit misses

from flowreel.trainer.flow import turbulence as turb
from flowreel.trainer.metrics.picture import gaussian_tv, histogram_tv

N = 12_000
FRAMES = 11
AMOUNT = 0.5


@pytest.mark.parametrize("dim", [2, 3])
def test_the_noise_is_divergence_free_with_unit_rms(dim):
    k, c, w, p = turb._modes(dim, 1.5, seed=4)
    x = np.random.default_rng(0).uniform(-4, 4, (2000, dim))
    u = turb.curl_noise(x, 0.3, k, c, w, p).astype(np.float64)
    assert 0.7 < np.sqrt((u**2).sum(axis=1).mean()) < 1.3
    h = 1e-3  # central differences of the float64 field: div u = sum_i du_i / dx_i
    div = np.zeros(len(x))
    grad_scale = 0.0
    for i in range(dim):
        e = np.zeros(dim)
        e[i] = h
        up = np.cos((x + e) @ k.T + 0.3 * w + p) @ c
        dn = np.cos((x - e) @ k.T + 0.3 * w + p) @ c
        d = (up - dn) / (2 * h)
        div += d[:, i]
        grad_scale = max(grad_scale, np.abs(d).mean())
    assert np.abs(div).max() < 1e-3 * grad_scale  # zero to finite-difference precision...
    assert grad_scale > 1.0  # ...while the field's derivatives themselves are large: the test can fail


def test_fade_is_zero_at_every_key_and_rises_between():
    t = np.linspace(0, 1, 41)
    f = turb.fade(t, [0.0, 0.5, 1.0])
    assert f[0] == 0 and f[20] == 0 and f[-1] == 0
    assert f[10] == pytest.approx(1.0) and f[30] == pytest.approx(1.0)
    assert (f >= 0).all() and (f <= 1).all()


@pytest.fixture(scope="module")
def films(tmp_path_factory, one_torch_thread):
    from flowreel.trainer.fit.runs import load_run
    from flowreel.trainer.flow.export import export_trajectories

    tmp = tmp_path_factory.mktemp("turbulence")
    run = load_run(fit_tiny(_picture(tmp), tmp / "run"))
    kw = dict(n_particles=N, n_frames=FRAMES, seed=3, progress=False, rtol=1e-3, atol=1e-3)
    return run, export_trajectories(run, **kw), export_trajectories(run, turbulence=AMOUNT, **kw)


def test_ends_stay_exact_and_the_middle_swirls(films):
    run, plain, swirled = films
    # Start: the very same N(0, I) draw; end: the very same exact samples (landing), so at the sampling floor.
    np.testing.assert_array_equal(swirled.positions[0], plain.positions[0])
    np.testing.assert_array_equal(swirled.positions[-1], plain.positions[-1])
    floor = max(histogram_tv(run.density.sample(N, np.random.default_rng(s)), run.density) for s in range(5))
    assert histogram_tv(swirled.positions[-1], run.density) <= floor
    g_floor = max(gaussian_tv(np.random.default_rng(s).standard_normal((N, 2))) for s in range(5))
    assert gaussian_tv(swirled.positions[0]) <= g_floor
    # Mid-film: moved by about AMOUNT (the fade is 1 at t = 0.5), each in its own direction.
    mid = FRAMES // 2
    shift = swirled.positions[mid] - plain.positions[mid]
    size = np.linalg.norm(shift, axis=1)
    assert 0.5 * AMOUNT < np.sqrt((size**2).mean()) < 1.5 * AMOUNT
    assert np.linalg.norm(shift.mean(axis=0)) < 0.2 * AMOUNT  # a swirl, not a drift of the whole cloud
    assert swirled.meta["turbulence"]["amount"] == AMOUNT


def test_sequence_keys_stay_exact():
    """A film of three keys: every key frame is untouched, the moves between are swirled."""
    rng = np.random.default_rng(0)
    T = 21
    pos = rng.standard_normal((T, 500, 2)).astype(np.float32)
    times = np.linspace(0, 1, T, dtype=np.float32)
    meta = {"keys": [{"index": 0}, {"index": 10}, {"index": 20}]}
    before = pos.copy()
    turb.add_turbulence(pos, times, turb.key_times(meta, times), 0.4, 1.0, seed=1)
    for i in (0, 10, 20):
        np.testing.assert_array_equal(pos[i], before[i])
    assert np.abs(pos[5] - before[5]).mean() > 0.1 and np.abs(pos[15] - before[15]).mean() > 0.1


def test_cli_flags(tmp_path):
    from flowreel.addon.core.errors import UsageError
    from flowreel.trainer.cli import build_parser

    args = build_parser().parse_args(["export", "runs/x", "--export", "t.npz", "--turbulence", "0.3",
                                      "--turbulence-scale", "2"])
    assert (args.turbulence, args.turbulence_scale) == (0.3, 2.0)
    movie = build_parser().parse_args(["movie", "a.png", "-o", "f.mp4", "--turbulence", "0.2"])
    assert movie.turbulence == 0.2
    with pytest.raises(UsageError):
        build_parser().parse_args(["movie", "a.png", "-o", "f.mp4", "--turbulence", "-1"])
