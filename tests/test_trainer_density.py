"""Image -> density rules: weights, coordinates, sampling, entropy, colours, bad images."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw

from flowreel.trainer.targets import picture as dens
from flowreel.trainer.targets.picture import DensityError, ImageDensity, load_density


def _save(im: Image.Image, tmp_path, name="pic.png"):
    p = tmp_path / name
    im.save(p)
    return p


def _pixels(path, **kw):
    """The density pixel for pixel: the whole canvas (no crop) at its own size (no resampling)."""
    with Image.open(path) as im:
        side = max(im.size)
    return load_density(path, crop="none", max_side=kw.pop("max_side", side), **kw)


def _white(w=64, h=64, mode="RGB"):
    return Image.new(mode, (w, h), "white")


def test_darkness_weights_and_y_up(tmp_path):
    im = _white()
    ImageDraw.Draw(im).rectangle([0, 0, 15, 15], fill="black")  # top-left corner of the picture
    d = _pixels(_save(im, tmp_path))
    assert d.weights.shape == (64, 64) and abs(d.weights.sum() - 1) < 1e-12
    assert d.weights[:16, :16].sum() == pytest.approx(1.0)
    s = d.sample(5000, np.random.default_rng(0))
    assert s.dtype == np.float32 and s.shape == (5000, 2)
    assert (s[:, 0] < -2).all() and (s[:, 0] >= -4).all()  # left quarter
    assert (s[:, 1] > 2).all() and (s[:, 1] <= 4).all()  # TOP quarter: y up


def test_grey_and_colour_darkness(tmp_path):
    im = _white(8, 8)
    im.putpixel((1, 1), (0, 0, 0))
    im.putpixel((2, 2), (255, 0, 0))  # red: luminance 0.299
    im.putpixel((3, 3), (128, 128, 128))
    d = _pixels(_save(im, tmp_path))
    w = d.weights / d.weights[1, 1]
    assert w[2, 2] == pytest.approx(1 - 0.299, abs=1e-3)
    assert w[3, 3] == pytest.approx(1 - 128 / 255, abs=1e-3)
    assert w.sum() == pytest.approx(1 + 0.701 + 127 / 255, abs=1e-3)


def test_alpha_channel_wins_over_darkness(tmp_path):
    im = Image.new("RGBA", (32, 32), (0, 0, 0, 0))  # transparent BLACK background: darkness would be everywhere
    ImageDraw.Draw(im).rectangle([16, 16, 31, 31], fill=(255, 255, 255, 255))  # white mark, bottom-right
    d = _pixels(_save(im, tmp_path))
    assert d.weights[16:, 16:].sum() == pytest.approx(1.0)
    s = d.sample(2000, np.random.default_rng(1))
    assert (s[:, 0] > 0).all() and (s[:, 1] < 0).all()


def test_opaque_rgba_uses_darkness(tmp_path):
    im = Image.new("RGBA", (16, 16), (255, 255, 255, 255))
    im.putpixel((4, 5), (0, 0, 0, 255))
    d = _pixels(_save(im, tmp_path))
    assert d.weights[5, 4] == pytest.approx(1.0)


def test_palette_transparency(tmp_path):
    im = Image.new("P", (16, 16), 0)
    im.putpalette([255, 255, 255, 200, 30, 30] + [0] * 762)
    ImageDraw.Draw(im).rectangle([0, 0, 3, 3], fill=1)
    im.info["transparency"] = 0
    p = tmp_path / "pal.png"
    im.save(p, transparency=0)
    d = _pixels(p)
    assert d.weights[:4, :4].sum() == pytest.approx(1.0)
    assert tuple(d.colors_at(np.array([[-3.9, 3.9]]))[0]) == (200, 30, 30, 255)


def test_16bit_and_float_grey(tmp_path):
    a = np.full((16, 16), 65535, np.uint16)
    a[2:6, 2:6] = 0
    a[8:10, 8:10] = 32768  # mid grey: darkness 0.5, not clipped to white
    Image.fromarray(a).save(tmp_path / "g16.png")
    d = _pixels(tmp_path / "g16.png")
    assert d.weights[9, 9] / d.weights[3, 3] == pytest.approx(0.5, abs=0.01)
    f = np.ones((16, 16), np.float32)
    f[0:4, 0:4] = 0.25
    Image.fromarray(f).save(tmp_path / "f.tiff")
    assert _pixels(tmp_path / "f.tiff").weights[0:4, 0:4].sum() == pytest.approx(1.0)


def test_invert(tmp_path):
    im = Image.new("L", (32, 32), 0)
    ImageDraw.Draw(im).rectangle([0, 24, 7, 31], fill=255)  # light mark bottom-left on black
    plain = _pixels(_save(im, tmp_path))  # without --invert the dark background is the ink
    assert plain.weights[24:, :8].sum() == 0
    d = _pixels(_save(im, tmp_path), invert=True)
    assert d.weights[24:, :8].sum() == pytest.approx(1.0)
    assert d.options["invert"] is True


def test_threshold_binarizes(tmp_path):
    im = _white(8, 8, "L")
    im.putpixel((0, 0), 0)
    im.putpixel((1, 0), 100)  # darkness 0.61
    im.putpixel((2, 0), 200)  # darkness 0.22
    d = _pixels(_save(im, tmp_path), threshold=0.5)
    assert set(np.unique(d.weights)) == {0.0, 0.5}
    assert d.weights[0, 0] == d.weights[0, 1] == 0.5 and d.weights[0, 2] == 0


def test_aspect_and_extent(tmp_path):
    im = _white(200, 100)
    ImageDraw.Draw(im).rectangle([0, 0, 199, 99], fill="black")
    d = _pixels(_save(im, tmp_path))
    assert d.extent == pytest.approx((-4, 4, -2, 2))
    s = d.sample(20000, np.random.default_rng(2))
    assert s[:, 0].min() >= -4 and s[:, 0].max() <= 4 and s[:, 1].min() >= -2 and s[:, 1].max() <= 2
    assert s[:, 0].std() / s[:, 1].std() == pytest.approx(2.0, rel=0.03)
    tall = _pixels(_save(Image.new("L", (30, 120), 0), tmp_path, "tall.png"))
    assert tall.extent == pytest.approx((-1, 1, -4, 4))


def test_sampling_frequencies_and_uniform_jitter():
    w = np.array([[1.0, 0.0, 3.0], [0.0, 2.0, 4.0]])
    d = ImageDensity(w, np.zeros((2, 3, 4), np.uint8))
    s = d.sample(200_000, np.random.default_rng(3))
    row, col, inside = d._pixel_index(s)
    assert inside.all()
    freq = np.bincount(row * 3 + col, minlength=6) / len(s)
    np.testing.assert_allclose(freq, (w / w.sum()).ravel(), atol=0.004)
    xmin, _, _, ymax = d.extent
    fx = (s[:, 0] - xmin) / d.pixel % 1.0
    fy = (ymax - s[:, 1]) / d.pixel % 1.0
    for f in (fx, fy):  # uniform inside the pixel: flat histogram of the fractional position
        h = np.histogram(f, bins=10, range=(0, 1))[0] / len(f)
        np.testing.assert_allclose(h, 0.1, atol=0.005)
    assert np.all(np.isfinite(d.log_density(s)))  # never sampled a zero-weight pixel


def test_entropy_exact_and_log_density_consistent(tmp_path):
    full = ImageDensity(np.ones((10, 10)), np.zeros((10, 10, 4), np.uint8))
    assert full.entropy() == pytest.approx(np.log(64.0))  # uniform on [-4, 4]^2
    half = ImageDensity(np.r_[np.ones((5, 10)), np.zeros((5, 10))], np.zeros((10, 10, 4), np.uint8))
    assert half.entropy() == pytest.approx(np.log(32.0))
    assert half.log_density(np.array([[0.0, 2.0]]))[0] == pytest.approx(-np.log(32.0))
    assert half.log_density(np.array([[0.0, -2.0], [5.0, 0.0], [0.0, 4.5]])).tolist() == [-np.inf] * 3
    d = load_density("examples/logo.png")
    s = d.sample(100_000, np.random.default_rng(4))
    assert -d.log_density(s).mean() == pytest.approx(d.entropy(), abs=0.02)
    # log_density integrates to 1 over the box (Monte Carlo with uniform points)
    u = np.random.default_rng(5).uniform(-4, 4, size=(200_000, 2))
    assert (np.exp(d.log_density(u)) * 64).mean() == pytest.approx(1.0, abs=0.03)


def test_colors_at(tmp_path):
    im = _white(20, 20)
    ImageDraw.Draw(im).rectangle([0, 0, 9, 19], fill=(200, 0, 0))  # red left half
    ImageDraw.Draw(im).rectangle([10, 0, 14, 19], fill=(0, 0, 220))  # blue stripe, white right edge
    d = _pixels(_save(im, tmp_path))
    c = d.colors_at(np.array([[-3.0, 0.0], [1.0, 1.0], [-9.0, 0.0], [3.9, 0.0]]))
    assert c.dtype == np.uint8 and c.shape == (4, 4)
    assert c[0].tolist() == [200, 0, 0, 255]
    assert c[1].tolist() == [0, 0, 220, 255]
    assert c[2].tolist() == [200, 0, 0, 255]  # outside the box: nearest edge pixel
    assert c[3].tolist() == [0, 0, 220, 255]  # on white paper: the nearest inked pixel's colour


def test_save_load_roundtrip(tmp_path):
    d = load_density("examples/text.png", threshold=0.5, max_side=128)
    d.save(tmp_path / "density.npz")
    e = ImageDensity.load_saved(tmp_path / "density.npz")
    np.testing.assert_array_equal(d.weights, e.weights)
    np.testing.assert_array_equal(d.rgba, e.rgba)
    assert (e.name, e.sha256, e.extent, e.options) == (d.name, d.sha256, d.extent, d.options)
    assert e.options == {"invert": False, "threshold": 0.5, "max_side": 128, "crop": "ink", "frame": None}
    assert (e.crop_box, e.source_size, e.frame_info) == (d.crop_box, d.source_size, d.frame_info)
    assert len(d.sha256) == 64


def test_large_image_downsampled(tmp_path):
    im = _white(3000, 1500)
    ImageDraw.Draw(im).ellipse([100, 100, 2900, 1400], fill="black")
    d = load_density(_save(im, tmp_path, "big.png"), crop="none")
    assert d.shape == (256, 512) and d.source_size == (3000, 1500)
    assert d.extent == pytest.approx((-4, 4, -2, 2))
    small = load_density(_save(im, tmp_path, "big.png"), max_side=100, crop="none")
    assert small.shape == (50, 100)
    jpg = _save(im, tmp_path, "big.jpg")
    dj = load_density(jpg, max_side=300, crop="none")
    assert dj.shape == (150, 300)
    # Same picture, same density, whatever the route (PNG box-average vs JPEG draft)
    png = load_density(_save(im, tmp_path, "big.png"), max_side=300, crop="none")
    assert np.abs(dj.weights - png.weights).sum() < 0.05


def test_pixel_limit_refused_before_decoding(tmp_path, monkeypatch):
    p = _save(_white(400, 300), tmp_path)
    monkeypatch.setattr(dens, "MAX_PIXELS", 100_000)
    with pytest.raises(DensityError, match=r"pic.png: image is 400x300 .*megapixel"):
        load_density(p)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 20_000)  # Pillow's own bomb guard (2x this raises)
    with pytest.raises(DensityError, match="too large to decode safely"):
        load_density(p)


def _one_line(e: pytest.ExceptionInfo) -> str:
    msg = str(e.value)
    assert "\n" not in msg
    return msg


@pytest.mark.parametrize(
    "make, expect",
    [
        (lambda d: d / "nope.png", "nope.png: no such file"),
        (lambda d: d, "is a directory"),
        (lambda d: (d / "a.png").write_text("hello, not a picture") and d / "a.png", "a.png: not an image"),
        (lambda d: _save(_white(), d, "white.png"), "white.png: no ink: every pixel is white"),
        (lambda d: _save(Image.new("RGBA", (9, 9), (0, 0, 0, 0)), d, "clear.png"), "fully transparent"),
        (lambda d: _save(Image.new("L", (1, 1), 0), d, "dot.png"), "dot.png: image is only 1x1 pixels"),
        (lambda d: _save(Image.new("L", (40, 3), 0), d, "thin.png"), "only 40x3 pixels"),
    ],
)
def test_bad_images(tmp_path, make, expect):
    path = make(tmp_path)
    with pytest.raises(DensityError) as e:
        load_density(path)
    assert expect in _one_line(e)


def test_truncated_image(tmp_path):
    im = Image.effect_noise((256, 256), 60)
    p = _save(im, tmp_path, "noise.png")
    data = p.read_bytes()
    p.write_bytes(data[: len(data) // 2])
    with pytest.raises(DensityError) as e:
        load_density(p)
    assert "noise.png: cannot decode image, truncated or corrupt" in _one_line(e)
    j = _save(im.convert("RGB"), tmp_path, "noise.jpg")
    j.write_bytes(j.read_bytes()[:300])
    with pytest.raises(DensityError, match="noise.jpg: "):
        load_density(j)


def test_bad_options(tmp_path):
    p = _save(Image.new("L", (9, 9), 0), tmp_path)
    for t in (0, 1, 1.5, -0.1):
        with pytest.raises(DensityError, match="threshold"):
            load_density(p, threshold=t)
    with pytest.raises(DensityError, match="max_side"):
        load_density(p, max_side=2)
    with pytest.raises(DensityError, match="no ink: every pixel is black"):
        load_density(p, invert=True)
    with pytest.raises(DensityError, match="no pixel reaches --threshold"):
        load_density(_save(Image.new("L", (9, 9), 200), tmp_path, "grey.png"), threshold=0.5)
