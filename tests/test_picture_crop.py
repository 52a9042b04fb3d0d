"""Issue 24: a picture is cropped to its ink (robustly), so padding changes neither the framing nor the film."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import fit_tiny
from PIL import Image, ImageDraw, ImageFilter

from flowreel.trainer.targets.picture import load_density
from flowreel.trainer.targets.picture_crop import ink_box

N = 20_000


def _logo() -> Image.Image:
    """A 300x120 logo whose ink touches its canvas's edges: a blue disc and a black bar with a white word."""
    im = Image.new("RGB", (300, 120), "white")
    d = ImageDraw.Draw(im)
    d.ellipse([0, 0, 119, 119], fill=(20, 60, 200))
    d.rectangle([140, 30, 299, 90], fill="black")
    d.text((150, 50), "FLOW", fill="white")
    return im


def _padded(im: Image.Image, left=70, top=310, right=530, bottom=70) -> Image.Image:
    """`im` on a larger white canvas, unequal padding on every side."""
    out = Image.new("RGB", (im.width + left + right, im.height + top + bottom), "white")
    out.paste(im, (left, top))
    return out


def _ink_in_frame(points: np.ndarray, extent) -> np.ndarray:
    """The end frame's ink box as fractions of the framed box (the extent, which `--framing picture` fills):
    (left, right, bottom, top), each in [0, 1]."""
    x0, x1, y0, y1 = extent
    lo, hi = np.percentile(points[:, :2], [0.5, 99.5], axis=0)
    return np.array([(lo[0] - x0) / (x1 - x0), (hi[0] - x0) / (x1 - x0),
                     (lo[1] - y0) / (y1 - y0), (hi[1] - y0) / (y1 - y0)])  # fmt: skip


@pytest.fixture(scope="module")
def films(tmp_path_factory, one_torch_thread):
    """The last frames of tiny fits' films: the logo, the padded logo, and the padded logo with --crop none
    (the padded fit's flow landing on the whole canvas: exact landing puts the canvas's samples at the end)."""
    from dataclasses import replace

    from flowreel.trainer.fit.runs import load_run
    from flowreel.trainer.flow.export import export_trajectories

    tmp = tmp_path_factory.mktemp("crop")
    _logo().save(tmp / "logo.png")
    _padded(_logo()).save(tmp / "padded.png")
    runs = {name: load_run(fit_tiny(tmp / f"{name}.png", tmp / name)) for name in ("logo", "padded")}
    runs["canvas"] = replace(runs["padded"], density=load_density(tmp / "padded.png", crop="none"))
    return {name: export_trajectories(run, N, 2, seed=1, progress=False, landing="exact", rtol=1e-3, atol=1e-3)
            for name, run in runs.items()}  # fmt: skip


def test_padding_gives_the_same_last_frame(films):
    logo, padded = films["logo"], films["padded"]
    assert padded.meta["extent"] == pytest.approx(logo.meta["extent"])
    a = _ink_in_frame(logo.positions[-1], logo.meta["extent"])
    b = _ink_in_frame(padded.positions[-1], padded.meta["extent"])
    np.testing.assert_allclose(b, a, atol=0.01)  # same fill and position in the frame
    assert a[1] - a[0] > 0.9  # the ink fills the framed box's width, less the small margin


def test_crop_none_keeps_the_canvas(films):
    canvas = films["canvas"]
    assert canvas.meta["extent"] == pytest.approx([-4, 4, -4 * 500 / 900, 4 * 500 / 900], abs=0.01)  # 900x500
    box = _ink_in_frame(canvas.positions[-1], canvas.meta["extent"])
    assert box[1] - box[0] == pytest.approx(300 / 900, abs=0.01)  # today's framing: the ink a third of the width
    assert box[0] == pytest.approx(70 / 900, abs=0.01)
    assert canvas.meta["image"]["crop_box"] == [0, 0, 900, 500]


def test_metadata_records_source_size_and_crop_box(films):
    image = films["padded"].meta["image"]
    assert image["source_size"] == [900, 500] and image["crop"] == "ink"
    x0, y0, x1, y1 = image["crop_box"]  # the ink (70..370 x 310..430) plus a small margin
    assert (x0, y0, x1, y1) == (70 - 6, 310 - 6, 370 + 6, 430 + 6)
    assert image["working_size"] == [2 * 312, 2 * 132]  # the working resolution goes to the ink, not the padding


def _true_box(im: Image.Image) -> tuple[int, int, int, int]:
    ink = np.asarray(im.convert("L")) < 128
    rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    return int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1


def _weights(im: Image.Image) -> np.ndarray:
    return 1 - np.asarray(im.convert("L"), np.float32) / 255


@pytest.mark.parametrize("spoil", ["jpeg", "specks", "halo", "noise", "photo"])
def test_box_is_robust(tmp_path, spoil):
    clean = _padded(_logo())
    want = np.array(_true_box(clean))
    im = clean.copy()
    if spoil == "jpeg":
        im.save(tmp_path / "q.jpg", quality=40)
        im = Image.open(tmp_path / "q.jpg")
    elif spoil == "specks":  # dust far from the logo, in the corners
        d = ImageDraw.Draw(im)
        d.point([(2, 2), (897, 3), (5, 496)], fill="black")
        d.rectangle([880, 480, 882, 482], fill=(60, 60, 60))
    elif spoil == "halo":
        im = im.filter(ImageFilter.GaussianBlur(2))
    elif spoil == "noise":  # faint grain over the whole paper
        grain = np.random.default_rng(0).uniform(0, 14, (im.height, im.width, 1))
        im = Image.fromarray(np.clip(np.asarray(im, np.float64) - grain, 0, 255).astype(np.uint8))
    else:  # a photo of a print: grey, grainy paper that covers far more of the picture than the ink does
        grain = np.random.default_rng(1).normal(0, 3, (im.height, im.width, 1))
        im = Image.fromarray(np.clip(np.asarray(im, np.float64) * 0.9 + grain, 0, 255).astype(np.uint8))
    got = np.array(ink_box(_weights(im)))
    # JPEG rings inside the 8x8 blocks an edge crosses; a blur's halo is ink a viewer sees, a few pixels of it
    assert np.abs(got - want).max() <= {"jpeg": 6, "halo": 4}.get(spoil, 1), (got, want)


def test_a_tagline_and_a_full_stop_are_ink_not_specks():
    im = Image.new("L", (800, 400), 255)
    d = ImageDraw.Draw(im)
    d.rectangle([100, 100, 400, 200], fill=0)  # the logo
    d.rectangle([100, 330, 300, 338], fill=0)  # a thin tagline far below it
    d.rectangle([420, 195, 424, 199], fill=0)  # a full stop just after it
    assert ink_box(_weights(im)) == (100, 100, 425, 339)


def test_sequence_pictures_are_cropped_each_on_its_own(tmp_path):
    from flowreel.trainer.sequence.plan import load_pictures

    _padded(_logo()).save(tmp_path / "a.png")
    _padded(_logo(), 10, 10, 10, 400).save(tmp_path / "b.png")
    options = {"invert": False, "threshold": None, "max_side": 128}
    a, b = load_pictures([tmp_path / "a.png", tmp_path / "b.png"], {**options, "crop": "ink", "frame": None})
    assert a.extent == pytest.approx(b.extent)  # each fills its key's frame
    a, b = load_pictures([tmp_path / "a.png", tmp_path / "b.png"], {**options, "crop": "none", "frame": None})
    assert a.extent != pytest.approx(b.extent)  # --crop none: each picture's canvas (pictures made to line up)


def test_no_ink_is_one_line(tmp_path):
    from flowreel.trainer.targets.picture import DensityError

    Image.new("RGB", (50, 40), "white").save(tmp_path / "blank.png")
    with pytest.raises(DensityError, match=r"^blank.png: no ink: every pixel is white"):
        load_density(tmp_path / "blank.png")


def test_a_picture_with_depth_is_cropped_and_its_saved_copy_says_so(tmp_path):
    import json

    from flowreel.trainer.targets.registry import load_target
    from flowreel.trainer.targets.slab import PictureSlab

    _padded(_logo()).save(tmp_path / "padded.png")
    slab = load_target(tmp_path / "padded.png", depth=1.0, max_side=128)
    assert slab.extent[:4] == pytest.approx(load_density(tmp_path / "padded.png", max_side=128).extent)
    slab.save(tmp_path / "target.npz")
    with np.load(tmp_path / "target.npz", allow_pickle=False) as z:
        back = PictureSlab.from_saved(z, json.loads(str(z["info"])))
    assert back.meta() == slab.meta() and back.meta()["crop_box"] == [64, 304, 376, 436]


def test_a_big_photo_is_decoded_again_finely_enough_for_its_crop(tmp_path):
    """A JPEG decoded at 1/4 scale for its whole canvas would leave a small mark a few dozen pixels; the
    crop decodes it again at the scale its ink needs, so the mark gets the whole working size."""
    im = Image.new("RGB", (3200, 2400), (245, 245, 240))
    d = ImageDraw.Draw(im)
    d.ellipse([1400, 1000, 1900, 1500], fill=(15, 15, 15))
    d.ellipse([1500, 1100, 1800, 1400], fill=(245, 245, 240))  # a ring 100 px wide
    im.save(tmp_path / "photo.jpg", quality=90)
    got = load_density(tmp_path / "photo.jpg")
    x0, y0, x1, y1 = got.crop_box
    assert abs(x0 - 1390) <= 6 and abs(y0 - 990) <= 6 and abs(x1 - 1911) <= 6 and abs(y1 - 1511) <= 6
    assert max(got.shape) == 512  # the ring's 521 px box, shrunk to the working size (not grown from 130 px)
    ring = got.weights[got.shape[0] // 2] > got.weights.max() / 2
    assert ring.sum() == pytest.approx(2 * 100 * 512 / (x1 - x0), abs=4)
