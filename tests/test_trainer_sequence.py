"""Sequences: picture A flows into B (and on), one set of particles, every key exact, fits cached by content."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from flowreel.addon.core.trajformat import read, write
from flowreel.trainer.metrics.picture import histogram_tv

pytestmark = pytest.mark.usefixtures("one_torch_thread")

N = 4000
F = 8  # frames per move
# The test pictures are drawn to line up on one 48x32 canvas, read pixel for pixel: --crop none keeps the
# canvas (the default crops each picture to its own ink) and --max-side 48 its pixels (the default resamples a
# small picture up smoothly); tests/test_picture_crop.py and test_picture_smooth.py test those.
DENSITY = {"invert": False, "threshold": None, "max_side": 48, "crop": "none", "frame": None}


def _tiny_config(steps: int = 40):
    """conftest.fit_tiny's network; `steps` more where a test needs the flow's own shape of path."""
    from flowreel.trainer.fit.loop import FitConfig

    return FitConfig(steps=steps, hidden=32, depth=2, n_fourier=16, batch_size=256, eval_samples=500, eval_tol=1e-3)


def _draw(path: Path, shape: str, color: tuple[int, int, int]) -> Path:
    im = Image.new("RGB", (48, 32), "white")
    d = ImageDraw.Draw(im)
    if shape == "square":
        d.rectangle([4, 6, 24, 26], fill=color)
    elif shape == "ring":
        d.ellipse([18, 2, 46, 30], fill=color)
        d.ellipse([26, 10, 38, 22], fill="white")
    elif shape == "sides":  # bars at both sides: far from the noise in the middle
        d.rectangle([1, 2, 8, 29], fill=color)
        d.rectangle([39, 2, 46, 29], fill=color)
    elif shape == "corners":  # blocks near the same sides: a short way from "sides"
        d.rectangle([1, 2, 10, 14], fill=color)
        d.rectangle([37, 17, 46, 29], fill=color)
    else:  # a bar across the top
        d.rectangle([2, 2, 45, 9], fill=color)
    im.save(path)
    return path


@pytest.fixture(scope="module")
def pics(tmp_path_factory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("pics")
    return {"a": _draw(tmp / "a.png", "square", (255, 0, 0)), "b": _draw(tmp / "b.png", "ring", (0, 0, 255)),
            "c": _draw(tmp / "c.png", "bar", (0, 160, 0))}  # fmt: skip


@pytest.fixture(scope="module")
def runs_root(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("runs")


def _plan(paths, runs_root, start="noise", via="direct", steps=40, fit=True):
    from flowreel.trainer.sequence.plan import SequenceOptions, ensure_fits, load_pictures, plan

    cfg = _tiny_config(steps)
    p = plan(load_pictures(paths, DENSITY), SequenceOptions(start=start, via=via), cfg, DENSITY, runs_root)
    if fit:
        ensure_fits(p, cfg, progress=False, say=lambda s: None)
    return p


def _export(p, frames=F, n=N, seed=0):
    from flowreel.trainer.sequence.export import export_sequence

    return export_sequence(p, n, frames, seed=seed, rtol=1e-3, atol=1e-3)


BINS = 16  # few particles: coarse bins keep the sampling floor low and steady


def _tv(samples, density):
    return histogram_tv(samples, density, bins=BINS)


def _floor(density, n, seeds=range(10)):
    """The largest TV of n exact samples over a few draws: the sampling floor with its spread."""
    return max(_tv(density.sample(n, np.random.default_rng(s)), density) for s in seeds)


@pytest.fixture(scope="module")
def abc(pics, runs_root, tmp_path_factory):
    """A three-picture film from noise, written and read back through the format."""
    p = _plan([pics["a"], pics["b"], pics["c"]], runs_root)
    path = tmp_path_factory.mktemp("abc") / "abc.npz"
    write(path, _export(p))
    return p, read(path)


def test_three_pictures_frames_keys_and_exact_keys(abc):
    p, traj = abc
    assert traj.n_frames == 1 + 3 * F  # noise -> a -> b -> c
    assert [k["index"] for k in traj.keys] == [0, F, 2 * F, 3 * F]
    assert [k["kind"] for k in traj.keys] == ["noise", "picture", "picture", "picture"]
    assert [k["name"] for k in traj.keys] == [None, "a.png", "b.png", "c.png"]
    np.testing.assert_allclose([k["time"] for k in traj.keys], traj.times[[0, F, 2 * F, 3 * F]])
    moves = [s for s in traj.segments if s["kind"] == "move"]
    assert [m["via"] for m in moves] == ["flow", "direct", "direct"]
    holds = [s for s in traj.segments if s["kind"] == "hold"]
    assert [h["key"] for h in holds] == [1, 2]  # between moves only: the film's ends are the render's holds
    for k, d in zip((1, 2, 3), p.densities, strict=True):
        frame = traj.positions[traj.keys[k]["index"]]
        assert _tv(frame, d) <= _floor(d, N), f"key {k} ({d.name}) is not exact samples"
    # the gauge tells pictures apart: key b's frame is far from picture a
    assert _tv(traj.positions[2 * F], p.densities[0]) > 0.5
    # the camera's box holds every picture
    ext = traj.extent
    for d in p.densities:
        assert ext[0] <= d.extent[0] and ext[1] >= d.extent[1] and ext[2] <= d.extent[2] and ext[3] >= d.extent[3]


def test_start_noise_is_the_single_picture_films_noise(abc):
    from flowreel.trainer.flow.export import initial_noise

    _, traj = abc
    np.testing.assert_array_equal(traj.positions[0], initial_noise(N, 0))


def test_start_picture_opens_on_exact_samples_of_a(pics, runs_root):
    p = _plan([pics["a"], pics["b"]], runs_root, start="picture")
    traj = _export(p)
    assert traj.n_frames == 1 + F and [k["index"] for k in traj.keys] == [0, F]
    assert [k["kind"] for k in traj.keys] == ["picture", "picture"]
    a, b = p.densities
    assert _tv(traj.positions[0], a) <= _floor(a, N)
    assert _tv(traj.positions[-1], b) <= _floor(b, N)
    assert (traj.key_colors[0][:, :3] == [255, 0, 0]).all()


def test_key_colours_red_then_blue(abc):
    _, traj = abc
    kc = traj.key_colors
    assert kc.shape == (4, N, 4) and kc.dtype == np.uint8
    assert (kc[1][:, :3] == [255, 0, 0]).all()  # a: red square
    assert (kc[2][:, :3] == [0, 0, 255]).all()  # b: blue ring
    assert (kc[3][:, :3] == [0, 160, 0]).all()  # c: green bar
    np.testing.assert_array_equal(kc[0], kc[1])  # the noise key takes the next key's colours
    np.testing.assert_array_equal(traj.colors, kc[-1])


def test_positions_are_continuous_across_keys(abc):
    _, traj = abc
    step = np.linalg.norm(np.diff(traj.positions, axis=0), axis=2)  # [T-1, N]
    worst = step.max(axis=1)  # the largest step of each frame
    typical = np.median(worst)
    for k in traj.keys[1:-1]:
        i = k["index"]
        near = max(worst[i - 1], worst[i])  # the steps into and out of the key
        assert near <= 2.5 * typical, f"a jump at key {k['name']}: {near:.3f} vs typical {typical:.3f}"
    # what a pop would look like: the next move starting anywhere but the landed samples
    shuffled = traj.positions[F][np.random.default_rng(0).permutation(N)]
    assert np.linalg.norm(shuffled - traj.positions[F], axis=1).max() > 2.5 * typical


def test_cached_fits_are_reused(pics, tmp_path, monkeypatch):
    from flowreel.trainer.film.movie import MovieSettings, run_dir_for
    from flowreel.trainer.fit import loop as fit_mod
    from flowreel.trainer.sequence.plan import noise_run_dir

    calls: list[Path] = []
    real = fit_mod.fit

    def counting(density, config, run_dir, **kw):
        calls.append(Path(run_dir))
        return real(density, config, run_dir, **kw)

    monkeypatch.setattr(fit_mod, "fit", counting)
    root = tmp_path / "runs"
    cfg = _tiny_config()
    # a single-picture film's fit of a, where `trainer movie a.png` keeps it
    from flowreel.trainer.targets.picture import load_density

    single = run_dir_for(load_density(pics["a"]).sha256, "a", MovieSettings(pics["a"], tmp_path / "f.mp4",
                                                                             runs_root=root, fit_config=cfg,
                                                                             density_options=DENSITY))
    real(load_density(pics["a"], **DENSITY), cfg, single, progress=False)
    assert noise_run_dir(load_density(pics["a"], **DENSITY), cfg, DENSITY, root) == single
    p = _plan([pics["a"], pics["b"]], root)
    assert calls == [p.moves[1].legs[0].run_dir]  # only the pair a -> b: a's noise flow is the single film's
    calls.clear()
    p2 = _plan([pics["a"], pics["b"], pics["a"], pics["b"]], root)  # a b a b: nothing new
    assert calls == []
    legs = [m.legs[0] for m in p2.moves[1:]]
    assert [leg.run_dir for leg in legs] == [legs[0].run_dir] * 3 and [leg.backward for leg in legs] == [
        False, True, False]  # b -> a runs a -> b backward
    _plan([pics["a"], pics["b"]], root, via="noise")  # via noise: a's run is reused, b's noise flow is new
    assert [c.name.split("-")[0] for c in calls] == ["b"]


def test_via_noise_and_direct_both_valid_and_direct_is_straighter(pics, tmp_path):
    from flowreel.trainer.metrics.paths import move_stats

    # Two pictures with ink at the sides: the way through noise (in the middle) is a real detour. Flows
    # trained a little longer than the tiny ones, so the noise legs really go through noise.
    a, b = _draw(tmp_path / "sides.png", "sides", (255, 0, 0)), _draw(tmp_path / "corners.png", "corners", (0, 0, 255))
    stats = {}
    for via in ("direct", "noise"):
        p = _plan([a, b], tmp_path / "runs", start="picture", via=via, steps=300)
        path = tmp_path / f"{via}.npz"
        write(path, _export(p, frames=16, n=2000))
        traj = read(path)
        assert [s["via"] for s in traj.segments if s["kind"] == "move"] == [via]
        assert _tv(traj.positions[-1], p.densities[1]) <= _floor(p.densities[1], 2000)
        stats[via] = move_stats(traj.positions, traj.keys)[0]
    d, n = stats["direct"], stats["noise"]
    assert d["length"] < 0.7 * n["length"], stats
    assert d["curvature"] < 0.85 * n["curvature"], stats
    assert n["length"] > 2 * n["chord"], stats  # the gauge sees the detour through noise


def test_fm_batch_noise_path_unchanged():
    """With no source, a batch is drawn exactly as before sources existed (same draws in the same order)."""
    from flowreel.trainer.fit.batches import fm_batch, ot_pair, step_rng
    from flowreel.trainer.targets.picture import ImageDensity

    w = np.zeros((8, 8))
    w[2:6, 1:4] = 1
    d = ImageDensity(w, np.zeros((8, 8, 4), np.uint8))
    got = fm_batch(d, step_rng(3, 7), batch_size=128, ot=True, ot_block=64, t_power=1.0, sigma=0.1)
    rng = step_rng(3, 7)
    x1 = d.sample(128, rng)
    x0 = rng.standard_normal(x1.shape).astype(np.float32)
    x1 = ot_pair(x0, x1, 64)
    t = rng.random(128).astype(np.float32)
    eps = rng.standard_normal(x1.shape).astype(np.float32)
    for k, v in {"x0": x0, "x1": x1, "t": t, "eps": eps}.items():
        np.testing.assert_array_equal(got[k], v)
    # with a source, x0 is that picture's samples (inside its box), paired by OT as before
    src = fm_batch(d, step_rng(3, 7), batch_size=128, ot=True, ot_block=64, t_power=1.0, sigma=0.0, source=d)
    assert histogram_tv(src["x0"], d, bins=8) < 0.25


# ---- the command line ------------------------------------------------------------------------------
def _trainer(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "flowreel.trainer", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=300)  # fmt: skip


@pytest.mark.parametrize("bad", ["missing", "blank"])
def test_cli_bad_picture_is_named_and_nothing_is_written(pics, tmp_path, bad):
    if bad == "blank":
        Image.new("RGB", (32, 32), "white").save(tmp_path / "blank.png")
    name = "missing.png" if bad == "missing" else "blank.png"
    # the bad picture last: every picture is checked before the first fit starts
    args = ["fit", str(pics["a"]), str(pics["b"]), name, "--out", "seq", "--export", "seq.npz", "--steps", "40"]
    before = set(tmp_path.iterdir())
    r = _trainer(args, tmp_path)
    assert r.returncode != 0
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and name in lines[0], r.stderr
    assert ("no such file" if bad == "missing" else "no ink") in lines[0]
    assert set(tmp_path.iterdir()) == before  # no seq folder, no runs folder, no .npz


def test_cli_bad_sequence_flags(pics, tmp_path):
    r = _trainer(["fit", str(pics["a"]), str(pics["b"]), "--via", "sideways"], tmp_path)
    assert r.returncode == 2 and "--via" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    r = _trainer(["fit", str(pics["a"]), str(pics["b"]), "--start", "middle"], tmp_path)
    assert r.returncode == 2 and "--start" in r.stderr
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize("flags, expect", [
    (["--landing", "flow", "--export", "x.npz"], "--landing flow is for a single picture"),
    (["--logp", "--export", "x.npz"], "--logp is for a single picture"),
    (["--method", "ffjord"], "--method ffjord is for a single picture"),
    (["--depth", "1"], "--depth, --fill, --up and --forward are for a single 3-D target"),
    (["--up", "y"], "--depth, --fill, --up and --forward are for a single 3-D target"),
])
def test_cli_single_picture_options_are_refused_for_a_sequence(pics, tmp_path, capsys, monkeypatch, flags, expect):
    from flowreel.trainer.cli import main

    monkeypatch.chdir(tmp_path)
    assert main(["fit", str(pics["a"]), str(pics["b"]), *flags]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and expect in err[0], err
    assert list(tmp_path.iterdir()) == []


def test_cli_fit_then_export_a_sequence(pics, tmp_path, capsys):
    from flowreel.trainer.cli import main

    common = ["--particles", "600", "--frames-per-move", "6", "-q"]
    args = ["fit", str(pics["a"]), str(pics["b"]), "--out", str(tmp_path / "seq"), "--runs-dir", str(tmp_path / "r"),
            "--steps", "40", "--eval-samples", "500", "--via", "noise", "--hold", "0.5", "--seconds-per-move", "2",
            "--export", str(tmp_path / "fit.npz"), *common]  # fmt: skip
    assert main(args) == 0
    assert (tmp_path / "seq" / "sequence.json").is_file()
    assert main(["export", str(tmp_path / "seq"), "--export", str(tmp_path / "again.npz"), *common]) == 0
    a, b = read(tmp_path / "fit.npz"), read(tmp_path / "again.npz")
    assert a.n_frames == b.n_frames == 1 + 2 * 6
    np.testing.assert_allclose(a.positions, b.positions, atol=1e-4)  # the same film from the sequence folder
    segs = a.segments
    assert segs == [{"kind": "move", "from": 0, "to": 1, "via": "flow", "seconds": 2.0},
                    {"kind": "hold", "key": 1, "seconds": 0.5},
                    {"kind": "move", "from": 1, "to": 2, "via": "noise", "seconds": 2.0}]  # fmt: skip
    assert [k["hold"] for k in a.keys] == [None, 0.5, None]  # the film's ends rest --hold-start / --hold-end
    # a single picture still goes the single-picture way, whatever the sequence flags say
    assert main(["fit", str(pics["a"]), "--out", str(tmp_path / "one"), "--steps", "40", "--eval-samples", "500",
                 "--via", "noise", "--export", str(tmp_path / "one.npz"), "--particles", "300", "--frames", "5",
                 "-q"]) == 0  # fmt: skip
    one = read(tmp_path / "one.npz")
    assert one.n_frames == 5 and [k["kind"] for k in one.keys] == ["noise", "picture"]
    assert not (tmp_path / "one" / "sequence.json").exists()
