"""flow.integrate / flow.log_prob against fields whose answers are known in closed form."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from flowreel.trainer.flow.integrate import integrate, log_prob, standard_normal_logpdf
from flowreel.trainer.flow.model import VectorField

pytestmark = pytest.mark.usefixtures("one_torch_thread")


class Linear(nn.Module):
    """v(t, x) = a x + b: x_t = e^{a t} z + b (e^{a t} - 1) / a; log p_t = log N(z) - 2 a t."""

    def __init__(self, a: float = 0.8, b=(0.5, -1.0)) -> None:
        super().__init__()
        self.a = a
        self.register_buffer("b", torch.tensor(b))
        self.w = nn.Parameter(torch.zeros(()))  # so the model has a device/parameters like a real one

    def forward(self, t, x):
        return self.a * x + self.b + 0 * self.w


def test_integrate_returns_requested_times_starting_at_z0():
    model = Linear()
    z0 = torch.randn(300, 2)
    times = torch.linspace(0, 1, 241)
    pos, lp = integrate(model, z0, times)
    assert lp is None
    assert pos.shape == (241, 300, 2) and pos.dtype == np.float32
    np.testing.assert_array_equal(pos[0], z0.numpy())
    for k in (1, 120, 240):  # dense output at every frame time, against the closed form
        t = float(times[k])
        exact = math.exp(model.a * t) * z0 + model.b * (math.exp(model.a * t) - 1) / model.a
        np.testing.assert_allclose(pos[k], exact.numpy(), rtol=1e-4, atol=1e-4)


def test_logp_at_t0_is_standard_normal_and_follows_divergence():
    model = Linear(a=0.6)
    z0 = torch.randn(500, 2)
    times = torch.tensor([0.0, 0.25, 1.0])
    pos, lp = integrate(model, z0, times, logp=True)
    assert lp.shape == (3, 500) and lp.dtype == np.float32
    expected0 = -0.5 * (z0**2).sum(1) - math.log(2 * math.pi)
    np.testing.assert_allclose(lp[0], expected0.numpy(), rtol=1e-6, atol=1e-6)
    for k, t in enumerate(times.tolist()):
        np.testing.assert_allclose(lp[k], (expected0 - 2 * 0.6 * t).numpy(), rtol=1e-4, atol=1e-4)


def test_t0_particles_are_standard_normal():
    from scipy.stats import kstest

    z0 = torch.from_numpy(np.random.default_rng(0).standard_normal((20000, 2)).astype(np.float32))
    pos, _ = integrate(VectorField(hidden=16, depth=2, n_fourier=8), z0, torch.tensor([0.0, 1.0]), rtol=1e-3,
                       atol=1e-3)
    p0 = pos[0].astype(np.float64)
    assert np.abs(p0.mean(0)).max() < 0.04
    np.testing.assert_allclose(np.cov(p0.T), np.eye(2), atol=0.05)
    for d in range(2):
        assert kstest(p0[:, d], "norm").pvalue > 1e-3
    assert not np.allclose(pos[1], pos[0])  # the field moved them


def test_chunking_does_not_change_results_and_logprob_inverts_integrate():
    torch.manual_seed(1)
    model = VectorField(hidden=32, depth=2, n_fourier=8)
    z0 = torch.randn(200, 2)
    times = torch.tensor([0.0, 0.5, 1.0])
    # tolerances are on the RMS error of a whole chunk, so compare at tight tolerances
    a, la = integrate(model, z0, times, logp=True, chunk=200, rtol=1e-6, atol=1e-6)
    b, lb = integrate(model, z0, times, logp=True, chunk=64, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(a, b, atol=2e-4)
    np.testing.assert_allclose(la, lb, atol=2e-4)
    # the density at t=1 of the pushed-forward points, by integrating back, equals the forward logp
    back = log_prob(model, torch.from_numpy(a[-1]), chunk=128, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(back.numpy(), la[-1], atol=2e-3)


def test_log_prob_of_identity_flow_is_standard_normal():
    class Zero(nn.Module):
        def forward(self, t, x):
            return torch.zeros_like(x)

    x = torch.randn(50, 2)
    torch.testing.assert_close(log_prob(Zero(), x), standard_normal_logpdf(x))


@pytest.mark.parametrize("times", [[0.0], [0.0, 0.5, 0.5, 1.0], [[0.0, 1.0]]])
def test_bad_times_are_rejected(times):
    with pytest.raises(ValueError):
        integrate(Linear(), torch.zeros(3, 2), torch.tensor(times))
