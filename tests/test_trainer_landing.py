"""Exact landing: the end is the picture, the start is N(0, I), the correction moves in small steps."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import fit_tiny
from PIL import Image, ImageDraw

from flowreel.addon.core.trajformat import read
from flowreel.trainer.cli import main
from flowreel.trainer.flow import landing
from flowreel.trainer.metrics.picture import excess_gaussian_tv, gaussian_tv, histogram_tv

pytestmark = pytest.mark.usefixtures("one_torch_thread")

N = 20_000
FRAMES = 11


def _picture(tmp_path):
    im = Image.new("L", (48, 32), 255)
    d = ImageDraw.Draw(im)
    d.ellipse([4, 4, 28, 28], fill=0)
    d.ellipse([12, 12, 20, 20], fill=255)  # a hole: dust left in it by a poor fit is easy to see
    d.rectangle([32, 6, 44, 26], fill=0)
    p = tmp_path / "pic.png"
    im.save(p)
    return p


@pytest.fixture(scope="module")
def run(tmp_path_factory, one_torch_thread):
    """A deliberately poor (40-step, tiny) fit: its own end is far from the picture."""
    from flowreel.trainer.fit.runs import load_run

    tmp = tmp_path_factory.mktemp("landing")
    return load_run(fit_tiny(_picture(tmp), tmp / "run"))


@pytest.fixture(scope="module")
def both(run):
    from flowreel.trainer.flow.export import export_trajectories

    kw = dict(n_particles=N, n_frames=FRAMES, seed=3, progress=False, rtol=1e-3, atol=1e-3)
    return export_trajectories(run, landing="exact", **kw), export_trajectories(run, landing="flow", **kw)


def _floor(density, n, seeds=range(5)):
    """Largest histogram TV of n exact samples over a few draws: the sampling floor, with its spread."""
    return max(histogram_tv(density.sample(n, np.random.default_rng(s)), density) for s in seeds)


def test_end_frame_is_at_the_sampling_floor(run, both):
    exact, flow = both
    floor = _floor(run.density, N)
    assert histogram_tv(exact.positions[-1], run.density) <= floor
    # ... which the poor fit's own end is far from: the test can fail.
    assert histogram_tv(flow.positions[-1], run.density) > 2 * floor


def test_end_colours_are_the_samples_pixels(run, both):
    exact, _ = both
    d = run.density
    row, col, inside = d._pixel_index(exact.positions[-1])
    assert inside.all() and (d.weights[row, col] > 0).all()  # every particle ends on ink
    np.testing.assert_array_equal(exact.colors, d.rgba[row, col])


def test_start_frame_is_gaussian(both):
    exact, flow = both
    from flowreel.trainer.flow.export import initial_noise

    np.testing.assert_array_equal(exact.positions[0], initial_noise(N, 3))  # untouched: the ramp is 0 at t=0
    floor = max(gaussian_tv(np.random.default_rng(s).standard_normal((N, 2))) for s in range(5))
    assert gaussian_tv(exact.positions[0]) <= floor
    assert excess_gaussian_tv(exact.positions[0], np.random.default_rng(0)) < 0.01
    # the gauge itself tells a non-Gaussian cloud apart
    assert gaussian_tv(exact.positions[0] * 1.3) > 1.5 * floor


def test_flow_landing_is_the_plain_flow(run, both):
    exact, flow = both
    np.testing.assert_array_equal(flow.colors, run.density.colors_at(flow.positions[-1]))
    assert flow.meta["landing"] == {"method": "flow"}
    # exact = flow + ramp(t) x (sample - flow end), frame by frame: the flow still gives the motion
    offset = exact.positions[-1].astype(np.float64) - flow.positions[-1]
    for k, t in enumerate(exact.times):
        expect = flow.positions[k] + landing.ramp(float(t)) * offset
        np.testing.assert_allclose(exact.positions[k], expect, atol=1e-4)


def test_meta_records_the_landing(both):
    exact, _ = both
    m = exact.meta["landing"]
    assert m["method"] == "exact" and m["schedule"] == "smoothstep"
    assert 0 <= m["median_offset"] <= m["p99_offset"] <= m["max_offset"]
    assert "exact picture sample" in exact.meta["colors"]


def test_added_step_is_bounded(both):
    exact, flow = both
    added = np.linalg.norm(np.diff(exact.positions - flow.positions, axis=0), axis=2)
    m = exact.meta["landing"]
    assert added.max() <= m["max_added_step"] + 1e-4
    # smoothstep's steepest slope is 1.5: no frame moves a particle more than 1.5 / (T - 1) of its offset
    assert m["max_added_step"] <= 1.5 / (FRAMES - 1) * m["max_offset"] + 1e-6
    per_particle = added.max(axis=0)
    offset = np.linalg.norm(exact.positions[-1] - flow.positions[-1], axis=1)
    assert (per_particle <= 1.5 / (FRAMES - 1) * offset + 1e-4).all()


def test_pairing_is_a_permutation_and_finds_an_exact_match():
    rng = np.random.default_rng(0)
    y = rng.standard_normal((5000, 2)).astype(np.float32)
    shuffle = rng.permutation(5000)
    perm = landing.pair(y[shuffle], y)
    np.testing.assert_array_equal(perm, shuffle)  # the same points in another order: zero cost
    x = y + rng.normal(0, 0.05, y.shape).astype(np.float32)
    perm = landing.pair(x, y)
    assert sorted(perm) == list(range(5000))
    cost = ((x - y[perm]) ** 2).sum(1).mean()
    assert cost <= ((x - y) ** 2).sum(1).mean() * 1.05  # about as good as the known near-optimal pairing
    unrefined = ((x - y[landing.pair(x, y, refine=0)]) ** 2).sum(1).mean()
    assert cost <= unrefined  # refining passes never make it worse


def test_ramp_and_bad_schedule():
    assert landing.ramp(0.0) == 0.0 and landing.ramp(1.0) == 1.0
    assert np.all(np.diff(landing.ramp(np.linspace(0, 1, 101))) >= 0)
    with pytest.raises(ValueError, match="schedule"):
        landing.ramp(0.5, "cubic")
    with pytest.raises(ValueError, match="--landing"):
        landing.check_method("backward")


def test_cli_landing_flag(run, tmp_path, capsys):
    out = tmp_path / "e.npz"
    args = ["export", str(run.run_dir), "--particles", "500", "--frames", "4", "--tol", "1e-3", "-q"]
    assert main([*args, "--export", str(out)]) == 0
    assert read(out).meta["landing"]["method"] == "exact"  # the default
    assert main([*args, "--export", str(out), "--landing", "flow"]) == 0
    assert read(out).meta["landing"]["method"] == "flow"
    capsys.readouterr()
    assert main([*args, "--export", str(out), "--landing", "sideways"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("trainer: error: ") and "--landing" in err[0]


def test_movie_cache_key_includes_the_landing(tmp_path, monkeypatch):
    """A film with the other landing must not reuse a cached export; the same landing does.

    The cached file is the one make_movie itself wrote for the first film (not a planted name), so the
    test fails if the landing leaves the key, whatever the naming."""
    from flowreel.addon.core.trajformat import Trajectory
    from flowreel.trainer.film import movie
    from flowreel.trainer.fit.loop import FitConfig
    from flowreel.trainer.targets.registry import load_target

    seen, rendered = [], []

    def fake_export(run, n, frames, seed=0, landing="exact", **_):  # a valid tiny file: the render is stopped anyway
        seen.append(landing)
        t = np.linspace(0, 1, frames, dtype=np.float32)
        pos = np.zeros((frames, 3, 2), np.float32) + t[:, None, None]
        return Trajectory(pos, t, {"extent": [-1, 1, -1, 1]})

    def stop_at_render(s, traj_path, out, seconds=None):
        rendered.append(Path(traj_path).name)
        raise movie.MovieError("stop here")

    def no_fit(*args, **kwargs):
        raise AssertionError("make_movie fitted: the planted run folder is not the one it uses")

    monkeypatch.setattr(movie, "export_trajectories", fake_export)
    monkeypatch.setattr(movie, "load_run", lambda run_dir: None)
    monkeypatch.setattr(movie, "render_film", stop_at_render)
    monkeypatch.setattr(movie, "fit", no_fit)
    pic = _picture(tmp_path)

    def film(landing):
        s = movie.MovieSettings(image=pic, output=tmp_path / "f.mp4", runs_root=tmp_path / "runs", landing=landing,
                                particles=3, fit_config=FitConfig(steps=movie.QUALITY["draft"]["fit_steps"]))
        d = load_target(pic, **s.density_options)  # the target make_movie loads, so the run folder it uses
        run_dir = movie.run_dir_for(d.sha256, pic.stem, s)
        run_dir.mkdir(parents=True, exist_ok=True)
        (run_dir / "metrics.json").write_text("{}")  # the fit is done: only the export's key matters
        with pytest.raises(movie.MovieError, match="stop here"):
            movie.make_movie(s)

    film("exact")
    film("flow")
    assert seen == ["exact", "flow"]  # the exact export on disk was not reused for the flow landing
    assert rendered[0] != rendered[1]
    film("exact")
    film("flow")
    assert seen == ["exact", "flow"]  # each landing's own export is reused
    assert rendered[2:] == rendered[:2]
    with pytest.raises(movie.MovieError, match="--landing"):
        movie.make_movie(movie.MovieSettings(image=pic, output=tmp_path / "f.mp4", landing="backward"))


def test_draft_movie_fits_the_shorter_preset_unless_told(tmp_path, monkeypatch):
    """Draft films fit the quality's shorter step count (the end is exact; the fit only shapes the motion)."""
    from flowreel.trainer.film import movie
    from flowreel.trainer.fit.loop import FitConfig

    steps = []

    def fake_fit(density, config, run_dir, resume=False):
        steps.append(config.steps)
        raise movie.MovieError("stop here")

    monkeypatch.setattr(movie, "fit", fake_fit)
    pic = _picture(tmp_path)
    for quality, given, expect in (("draft", None, movie.QUALITY["draft"]["fit_steps"]), ("draft", 300, 300),
                                   ("final", None, None)):  # fmt: skip
        s = movie.MovieSettings(image=pic, output=tmp_path / "f.mp4", runs_root=tmp_path / "runs", quality=quality,
                                fit_config=FitConfig(steps=given))  # fmt: skip
        with pytest.raises(movie.MovieError, match="stop here"):
            movie.make_movie(s)
        assert steps[-1] == expect
