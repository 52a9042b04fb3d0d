"""Issue 23: a small picture lands smooth (no pixel staircase); a large one lands exactly as before."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import fit_tiny
from PIL import Image, ImageDraw, ImageFilter

from flowreel.trainer.targets.picture import ImageDensity, load_density

pytestmark = pytest.mark.usefixtures("one_torch_thread")

SIDE, SUPER = 40, 16  # the small picture, and how finely its shapes are drawn before the anti-aliasing shrink
FINE = 4 * SIDE  # the grid the end frame is judged on: 4x finer than the picture's pixels
N = 60_000


def _small_logo(path, colours=("black", "black")):
    """A disc and a thin ring, anti-aliased at 40x40 like a favicon."""
    big = Image.new("RGB", (SIDE * SUPER, SIDE * SUPER), "white")
    d = ImageDraw.Draw(big)
    d.ellipse([6 * SUPER, 6 * SUPER, 22 * SUPER, 22 * SUPER], fill=colours[0])
    d.ellipse([20 * SUPER, 18 * SUPER, 36 * SUPER, 34 * SUPER], outline=colours[1], width=int(1.5 * SUPER))
    big.resize((SIDE, SIDE), Image.BOX).save(path)
    return path


def _fine_histogram(xy: np.ndarray) -> np.ndarray:
    """Fraction of the points in each cell of a FINE x FINE grid over the picture's box [-4, 4]^2 (row 0 = top)."""
    fx, fy = (xy[:, 0] + 4) / 8, (4 - xy[:, 1]) / 8
    bx = np.clip((fx * FINE).astype(int), 0, FINE - 1)
    by = np.clip((fy * FINE).astype(int), 0, FINE - 1)
    return np.bincount(by * FINE + bx, minlength=FINE * FINE).reshape(FINE, FINE) / len(xy)


def _smooth_reference(path) -> np.ndarray:
    """The picture upsampled 4x by Pillow's Lanczos filter (not the loader's), as ink mass per fine cell."""
    with Image.open(path) as im:
        fine = np.asarray(im.convert("L").resize((FINE, FINE), Image.LANCZOS), np.float64)
    ink = np.clip(1 - fine / 255, 0, None)
    return ink / ink.sum()


def _tv(hist: np.ndarray, ref: np.ndarray) -> float:
    return float(0.5 * np.abs(hist - ref).sum())


@pytest.fixture(scope="module")
def end_frames(tmp_path_factory):
    """The last frame of a tiny fit's film of the small logo as it is read now, and what exact landing puts
    there when the picture is read pixel for pixel (--max-side 40): its exact samples."""
    from flowreel.trainer.fit.runs import load_run
    from flowreel.trainer.flow.export import export_trajectories
    from flowreel.trainer.flow.landing import exact_samples

    tmp = tmp_path_factory.mktemp("smooth")
    pic = _small_logo(tmp / "favicon.png")
    run = load_run(fit_tiny(pic, tmp / "run", crop="none"))
    traj = export_trajectories(run, N, 2, seed=1, progress=False, landing="exact", rtol=1e-3, atol=1e-3)
    pixels = load_density(pic, crop="none", max_side=SIDE)
    return pic, {"smooth": (traj.positions[-1], traj, run.density),
                 "pixels": (exact_samples(pixels, N, np.random.default_rng(1))[0], None, pixels)}  # fmt: skip


def test_small_picture_end_frame_matches_the_smooth_picture_at_the_sampling_floor(end_frames):
    pic, frames = end_frames
    ref = _smooth_reference(pic)
    rng = np.random.default_rng(7)  # the floor: as many points drawn from the reference itself, worst of 3 draws
    floor = max(_tv(np.bincount(rng.choice(ref.size, N, p=ref.ravel()), minlength=ref.size).reshape(ref.shape) / N,
                    ref) for _ in range(3))  # fmt: skip
    smooth = _tv(_fine_histogram(frames["smooth"][0]), ref)
    pixels = _tv(_fine_histogram(frames["pixels"][0]), ref)
    assert smooth <= 1.03 * floor, (smooth, floor)
    assert pixels >= 1.15 * floor, (pixels, floor)  # pixel squares: a staircase the fine grid sees


def test_small_picture_working_size_and_metadata(end_frames):
    _, frames = end_frames
    _, traj, density = frames["smooth"]
    assert density.shape == (520, 520) and density.source_size == (SIDE, SIDE)  # 13 x 40
    image = traj.meta["image"]
    assert image["source_size"] == [SIDE, SIDE] and image["working_size"] == [520, 520]
    assert frames["pixels"][2].shape == (SIDE, SIDE)  # --max-side at the picture's size keeps its pixels


def test_colours_are_interpolated_at_each_sample(tmp_path):
    d = load_density(_small_logo(tmp_path / "two.png", ("red", "blue")), crop="none")
    xy, rgba = d.sample_with_colors(200_000, np.random.default_rng(2))
    # Particles inside one source pixel on the disc's anti-aliased edge: colours change with the position,
    # not one flat colour per source pixel.
    col, row = np.floor((xy[:, 0] + 4) / 8 * SIDE).astype(int), np.floor((4 - xy[:, 1]) / 8 * SIDE).astype(int)
    with Image.open(tmp_path / "two.png") as im:
        src = np.asarray(im.convert("RGB"))
    edge = [(r, c) for r in range(SIDE) for c in range(SIDE) if 60 < src[r, c, 1] < 200 and src[r, c, 2] < 100]
    assert edge, "the test picture has an anti-aliased red edge"
    varied = [len(np.unique(rgba[(row == r) & (col == c)], axis=0)) for r, c in edge]
    assert np.median(varied) >= 4
    # and the smooth picture adds no ink on the paper: nothing lands where the source has no ink nearby
    ink = np.asarray(Image.fromarray(255 - src.min(axis=2)).resize(d.shape[::-1], Image.NEAREST)) > 0
    grown = np.asarray(Image.fromarray(ink.astype(np.uint8) * 255).filter(ImageFilter.MaxFilter(29))) > 0
    assert d.weights[~grown].sum() == 0


def test_hard_edges_stay_hard(tmp_path):
    """A thresholded small picture is still binary after the smooth resampling: smooth outline, hard edge."""
    d = load_density(_small_logo(tmp_path / "bw.png"), crop="none", threshold=0.5)
    assert d.shape == (520, 520)
    assert set(np.unique(d.weights / d.weights.max())) == {0.0, 1.0}


def test_512_px_picture_is_read_pixel_for_pixel_and_lands_bit_identically(tmp_path):
    im = Image.new("RGB", (512, 384), "white")
    d = ImageDraw.Draw(im)
    d.ellipse([40, 30, 300, 290], fill=(30, 90, 200))
    d.rectangle([320, 100, 500, 140], fill="black")
    im.save(tmp_path / "big.png")
    got = load_density(tmp_path / "big.png", crop="none")
    rgb = np.asarray(im, np.float32)
    ink = 1.0 - (rgb @ np.array([0.299, 0.587, 0.114], np.float32)) / 255.0
    want = ImageDensity(np.where(ink < 1e-6, 0.0, ink.astype(np.float64)), np.asarray(im.convert("RGBA")))
    np.testing.assert_array_equal(got.weights, want.weights)
    np.testing.assert_array_equal(got.rgba, want.rgba)
    # The end frame of exact landing is these samples: the same bits as the picture's pixels give.
    a = got.sample_with_colors(50_000, np.random.default_rng(5))
    b = want.sample_with_colors(50_000, np.random.default_rng(5))
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
