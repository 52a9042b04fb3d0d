"""--background: parsing, which films keep alpha, and the display-space pixel work (core/background.py). No bpy."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from flowreel.addon.core import background as bgmod
from flowreel.addon.core.options import OptionsError, SceneOptions


def test_parse_kinds(tmp_path):
    pic = tmp_path / "plate.png"
    Image.new("RGB", (4, 4)).save(pic)
    assert bgmod.parse_background("").kind == "look"
    assert bgmod.parse_background("Transparent").kind == "transparent"
    assert bgmod.parse_background("#1a2B3c") == bgmod.Background("color", (0x1A, 0x2B, 0x3C))
    assert bgmod.parse_background(str(pic)) == bgmod.Background("picture", path=str(pic))
    for bad in ("#12345", "#gggggg", str(tmp_path / "missing.png")):
        with pytest.raises(bgmod.BackgroundError) as e:
            bgmod.parse_background(bad)
        assert "\n" not in str(e.value)
    with pytest.raises(OptionsError):
        SceneOptions(background="#12").check()


@pytest.mark.parametrize("out", ["film.mp4", "film.gif", "film.mkv"])
def test_mp4_and_gif_refuse_transparent_naming_the_formats_that_keep_it(out):
    with pytest.raises(bgmod.BackgroundError) as e:
        bgmod.check_output(out, bgmod.parse_background("transparent"))
    msg = str(e.value)
    assert "\n" not in msg and ".mov" in msg and ".webm" in msg and "PNG sequence" in msg


def test_alpha_formats_and_folders_keep_transparent(tmp_path):
    t = bgmod.parse_background("transparent")
    for out in ("film.mov", "film.webm", "frames/", str(tmp_path)):
        bgmod.check_output(out, t)
    with pytest.raises(bgmod.BackgroundError):  # a GIF beside the film would drop it
        bgmod.check_output("film.mov", t, gif=True)
    bgmod.check_output("film.mp4", bgmod.parse_background("#ffffff"), gif=True)  # opaque: anything goes


def test_unmultiply_gives_back_the_light_over_black_and_adds_it_over_white():
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
    rgb[:4, :4] = 0  # nothing shines here
    rgb[4, :4] = bgmod.CLEAR_BELOW - 1  # nor here: the faintest tail is clear
    rgba = bgmod.unmultiply(rgb)
    assert (rgba[:5, :4, 3] == 0).all()
    assert np.abs(bgmod.over(rgba, np.zeros(3)).astype(int) - rgb).max() < bgmod.CLEAR_BELOW  # the frame over black
    on_white = bgmod.over(rgba, np.full(3, 255)).astype(int)
    # No grey veil and no dark rim: over white every pixel is at least as bright as the light itself,
    # its brightest channel stays white.
    assert (on_white >= rgb.astype(int) - 1).all()
    assert (on_white.max(axis=2) >= 254).all()


def test_cover_fills_and_centres(tmp_path):
    pic = np.zeros((10, 40, 3), np.uint8)
    pic[:, :20] = (255, 0, 0)
    pic[:, 20:] = (0, 0, 255)
    out = bgmod.cover(pic, 8, 8)  # a wide picture in a square frame: scaled to 8 high, the middle kept
    assert out.shape == (8, 8, 3)
    assert (out[:, :3, 0] > 200).all() and (out[:, -3:, 2] > 200).all()


def test_write_png_reads_back(tmp_path):
    px = np.random.default_rng(1).integers(0, 256, (7, 5, 4), dtype=np.uint8)
    bgmod.write_png(tmp_path / "a.png", px)
    with Image.open(tmp_path / "a.png") as im:
        assert im.mode == "RGBA"
        assert (np.asarray(im) == px).all()


def test_background_flag_in_render_and_movie(tmp_path):
    from flowreel.addon.core.errors import UsageError
    from flowreel.addon.render.args import build_parser
    from flowreel.trainer.cli import build_parser as trainer_parser

    assert build_parser().parse_args(["t.npz", "--background", "transparent"]).background == "transparent"
    movie = trainer_parser().parse_args(["movie", "a.png", "-o", "f.mov", "--background", "#000000"])
    assert movie.background == "#000000"
    with pytest.raises(UsageError):  # refused while parsing, before any fit
        trainer_parser().parse_args(["movie", "a.png", "-o", "f.mov", "--background", str(tmp_path / "no.png")])


def test_cover_of_a_large_picture_averages_it(tmp_path):
    pic = np.zeros((400, 600, 3), np.uint8)
    pic[::2] = 200  # fine stripes: shrunk 10x they must average to grey, not alias to black or 200
    out = bgmod.cover(pic, 60, 40)
    assert out.shape == (40, 60, 3) and np.abs(out.astype(int) - 100).max() <= 2
