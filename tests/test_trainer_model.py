"""VectorField shapes/determinism and the exact divergence used for log-densities."""

from __future__ import annotations

import torch

from flowreel.trainer.flow.integrate import divergence
from flowreel.trainer.flow.model import VectorField


def test_forward_shapes_and_time_broadcast():
    m = VectorField(hidden=16, depth=2, n_fourier=8)
    x = torch.randn(5, 2)
    out_scalar = m(torch.tensor(0.3), x)
    out_vec = m(torch.full((5,), 0.3), x)
    assert out_scalar.shape == (5, 2)
    torch.testing.assert_close(out_scalar, out_vec)
    assert m(0.3, x).shape == (5, 2)  # a python float works too


def test_same_hparams_and_seed_same_features_and_state_roundtrip():
    a = VectorField(hidden=16, depth=2, n_fourier=8, feature_seed=3)
    b = VectorField(hidden=16, depth=2, n_fourier=8, feature_seed=3)
    c = VectorField(hidden=16, depth=2, n_fourier=8, feature_seed=4)
    torch.testing.assert_close(a.B, b.B)
    assert not torch.allclose(a.B, c.B)
    b.load_state_dict(a.state_dict())
    x = torch.randn(7, 2)
    torch.testing.assert_close(a(0.5, x), b(0.5, x))


def test_fourier_scale_sets_frequency_spread():
    m = VectorField(n_fourier=4096, fourier_scale=2.5)
    assert abs(float(m.B.std()) - 2.5) < 0.1


def test_exact_divergence_matches_bruteforce_jacobian_trace():
    torch.manual_seed(0)
    m = VectorField(hidden=32, depth=3, n_fourier=16, fourier_scale=1.5).double()
    x = torch.randn(6, 2, dtype=torch.float64)
    t = torch.tensor(0.7, dtype=torch.float64)
    v, div = divergence(m, t, x)
    torch.testing.assert_close(v, m(t, x))
    for i in range(len(x)):
        jac = torch.autograd.functional.jacobian(lambda p: m(t, p[None])[0], x[i])
        torch.testing.assert_close(div[i], torch.trace(jac), rtol=1e-10, atol=1e-10)
    assert div.abs().max() > 1e-6  # a non-trivial field, or the check above proves nothing
