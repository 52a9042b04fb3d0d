"""fit(): a tiny fit learns the picture, seeds repeat, Ctrl-C leaves a resumable checkpoint, devices resolve."""

from __future__ import annotations

import json
import os
import signal

import numpy as np
import pytest
import torch

from flowreel.trainer.fit.devices import DeviceError, resolve_device
from flowreel.trainer.fit.loop import FitConfig, FitInterrupted, fit
from flowreel.trainer.fit.runs import load_run
from flowreel.trainer.flow.integrate import integrate, log_prob
from flowreel.trainer.metrics.picture import histogram_tv
from flowreel.trainer.targets.picture import ImageDensity

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def ring() -> ImageDensity:
    """A 40x40 ring (a shape with a hole), off-centre so that a symmetric blob cannot fake it."""
    yy, xx = np.mgrid[0:40, 0:40]
    r = np.hypot(xx - 24.0, yy - 17.0)
    w = ((r > 6) & (r < 13)).astype(np.float64)
    rgba = np.zeros((40, 40, 4), np.uint8)
    rgba[..., 3] = 255
    return ImageDensity(w, rgba, name="ring")


def tiny(**kw) -> FitConfig:
    base = dict(steps=150, batch_size=256, lr=5e-3, hidden=48, depth=2, n_fourier=16, fourier_scale=0.5,
                ema=0.95, eval_samples=4000, eval_tol=1e-3, device="cpu")
    base.update(kw)
    return FitConfig(**base)


def test_tiny_fm_fit_moves_particles_onto_the_picture(ring, tmp_path):
    metrics = fit(ring, tiny(), tmp_path, progress=False)
    for name in ("checkpoint.pt", "config.json", "metrics.json", "preview.png", "density.npz"):
        assert (tmp_path / name).is_file(), name
    assert metrics["steps"] == 150 and metrics["method"] == "fm"
    assert json.loads((tmp_path / "metrics.json").read_text())["excess_tv"] == metrics["excess_tv"]
    run = load_run(tmp_path)
    assert not run.model.training and run.config.steps == 150 and run.density.shape == (40, 40)
    z0 = torch.from_numpy(np.random.default_rng(7).standard_normal((8000, 2)).astype(np.float32))
    pos, _ = integrate(run.model, z0, torch.tensor([0.0, 1.0]), rtol=1e-3, atol=1e-3)
    tv0, tv1 = histogram_tv(pos[0], ring, bins=16), histogram_tv(pos[1], ring, bins=16)
    assert tv0 > 0.4  # noise is far from the ring
    assert tv1 < 0.35 * tv0, (tv0, tv1)
    # the hole stays (mostly) empty: mass inside r < 4 px is tiny
    px = ring.pixel
    cx, cy = ring.extent[0] + 24.5 * px, ring.extent[3] - 17.5 * px
    inner = np.hypot(pos[1][:, 0] - cx, pos[1][:, 1] - cy) < 3.5 * px
    assert inner.mean() < 0.03
    # invertibility: integrating back from t=1 recovers the N(0, I) start
    fwd, _ = integrate(run.model, z0[:500], torch.tensor([0.0, 1.0]), rtol=1e-6, atol=1e-6)
    back, _ = integrate(run.model, torch.from_numpy(fwd[-1]), torch.tensor([1.0, 0.0]), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(back[-1], z0[:500].numpy(), atol=0.02)


def test_same_seed_same_checkpoint_different_seed_differs(ring, tmp_path):
    cfg = tiny(steps=20, eval_samples=500)
    fit(ring, cfg, tmp_path / "a", progress=False)
    fit(ring, cfg, tmp_path / "b", progress=False)
    fit(ring, tiny(steps=20, eval_samples=500, seed=1), tmp_path / "c", progress=False)
    a, b, c = (torch.load(tmp_path / n / "checkpoint.pt", weights_only=True) for n in "abc")
    for k in a["model"]:
        torch.testing.assert_close(a["model"][k], b["model"][k], rtol=0, atol=0)
    assert any(not torch.equal(a["model"][k], c["model"][k]) for k in a["model"])
    ma, mb = (json.loads((tmp_path / n / "metrics.json").read_text()) for n in "ab")
    assert ma["excess_tv"] == mb["excess_tv"]


def _interrupt_at(n):
    def on_step(step, loss):
        if step == n:
            raise KeyboardInterrupt

    return on_step


def test_ctrl_c_saves_checkpoint_and_resume_matches_uninterrupted_run(ring, tmp_path):
    cfg = tiny(steps=40, eval_samples=500)
    with pytest.raises(FitInterrupted) as exc:
        fit(ring, cfg, tmp_path / "cut", progress=False, on_step=_interrupt_at(15))
    assert exc.value.step == 15
    ck = torch.load(tmp_path / "cut" / "checkpoint.pt", weights_only=True)
    assert ck["step"] == 15 and not ck["complete"]
    assert not (tmp_path / "cut" / "metrics.json").exists()
    assert not [p for p in os.listdir(tmp_path / "cut") if "partial" in p]
    metrics = fit(ring, FitConfig(), tmp_path / "cut", resume=True, progress=False)  # saved config wins
    assert metrics["steps"] == 40
    fit(ring, cfg, tmp_path / "whole", progress=False)
    a = torch.load(tmp_path / "cut" / "checkpoint.pt", weights_only=True)
    b = torch.load(tmp_path / "whole" / "checkpoint.pt", weights_only=True)
    assert a["complete"] and a["step"] == 40
    for k in b["ema"]:
        torch.testing.assert_close(a["ema"][k], b["ema"][k], rtol=0, atol=0)


def test_real_sigint_stops_at_a_step_boundary(ring, tmp_path, sigint_default):
    def on_step(step, loss):
        if step == 5:
            os.kill(os.getpid(), signal.SIGINT)

    with pytest.raises(FitInterrupted) as exc:
        fit(ring, tiny(steps=30, eval_samples=500), tmp_path, progress=False, on_step=on_step)
    assert exc.value.step == 5
    assert torch.load(tmp_path / "checkpoint.pt", weights_only=True)["step"] == 5
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # handler restored


def test_resume_without_checkpoint_is_a_clear_error(ring, tmp_path):
    with pytest.raises(FileNotFoundError, match="config"):
        fit(ring, tiny(), tmp_path, resume=True, progress=False)


def test_tiny_ffjord_fit_lowers_nll(ring, tmp_path):
    cfg = tiny(method="ffjord", steps=12, batch_size=64, lr=1e-2, hidden=32, ffjord_tol=1e-2, eval_samples=200)
    held_out = torch.from_numpy(ring.sample(300, np.random.default_rng(99)))
    torch.manual_seed(cfg.seed)
    nll_before = -float(log_prob(cfg.resolved().build_model(), held_out, rtol=1e-4, atol=1e-4).mean())
    metrics = fit(ring, cfg, tmp_path, progress=False)
    assert metrics["method"] == "ffjord" and metrics["steps"] == 12
    nll_after = -float(log_prob(load_run(tmp_path).model, held_out, rtol=1e-4, atol=1e-4).mean())
    assert nll_after < nll_before - 0.5, (nll_before, nll_after)
    assert nll_after > ring.entropy() - 0.05  # a likelihood can not beat the density's own entropy (much)


@pytest.mark.skipif(torch.cuda.is_available(), reason="machine has CUDA")
def test_resolve_device():
    assert resolve_device("auto") == torch.device("cpu") or resolve_device("auto").type == "mps"
    assert resolve_device("cpu") == torch.device("cpu")
    with pytest.raises(DeviceError, match="CUDA is not available"):
        resolve_device("cuda")
    with pytest.raises(DeviceError, match="unknown device"):
        resolve_device("gpu-please")


@pytest.mark.parametrize(
    "kw, msg",
    [({"method": "vae"}, "method"), ({"steps": 0}, "steps"), ({"lr": -1.0}, "lr"), ({"batch_size": 1}, "batch")],
)
def test_bad_config_is_one_clear_valueerror(kw, msg):
    with pytest.raises(ValueError, match=msg):
        FitConfig(**kw).resolved()
