"""Transparent films from the render script: each alpha format keeps alpha, the glow composites cleanly.

Tiny renders (64x40, 4 samples, 6 particles, 5 frames) through `flowreel.addon.render.__main__.main` with the bpy
module; ffmpeg decodes the films back to RGBA.
"""

from __future__ import annotations

import subprocess

import numpy as np
import pytest
from conftest import require_module
from PIL import Image
from test_addon_render_util import END, FILM_ARGS, FILM_FRAMES, RADIUS, project, write_tiny_traj

from flowreel.addon.render import __main__ as render

W, H = 64, 40


@pytest.fixture
def traj(tmp_path):
    return write_tiny_traj(tmp_path / "tiny.npz")


def _decode_rgba(ffmpeg_exe: str, film) -> np.ndarray:
    """Every frame of `film` as uint8 RGBA [T, H, W, 4]; VP9's alpha needs the libvpx decoder."""
    codec = ["-c:v", "libvpx-vp9"] if str(film).endswith(".webm") else []
    raw = subprocess.run([ffmpeg_exe, "-v", "error", *codec, "-i", str(film), "-f", "rawvideo", "-pix_fmt", "rgba",
                          "-"], capture_output=True, check=True).stdout
    return np.frombuffer(raw, np.uint8).reshape(-1, H, W, 4)


def _png(path) -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray(im.convert("RGBA"))


def _empty_corners(centres: np.ndarray) -> list[tuple[slice, slice]]:
    """The 3x3 corner blocks farther than a third of the frame's width from every point (the glow's
    faint tail reaches about that far in a frame this small)."""
    out = []
    for r, c in ((0, 0), (0, W - 1), (H - 1, 0), (H - 1, W - 1)):
        if np.hypot(centres[:, 0] - c, centres[:, 1] - r).min() > W / 3:
            out.append((slice(max(0, r - 2), r + 1), slice(max(0, c - 2), c + 1)))
    return out


@pytest.mark.parametrize("look", ["glow", "ink"])
def test_each_alpha_format_is_clear_in_the_corners_and_opaque_on_the_points(bpy, traj, tmp_path, ffmpeg_exe, look):
    frames = tmp_path / "frames"
    films = [tmp_path / "film.mov", tmp_path / "film.webm"]
    for film in films:  # the second film reuses the frames of the first
        rc = render.main([str(traj), "-o", str(film), "--frames-dir", str(frames), "--background", "transparent",
                          "--look", look, *FILM_ARGS])
        assert rc == 0
    seq = tmp_path / "seq"  # a PNG sequence: -o FOLDER/
    assert render.main([str(traj), "-o", f"{seq}/", "--background", "transparent", "--look", look, "--frames",
                        f"{FILM_FRAMES}-{FILM_FRAMES}", *FILM_ARGS]) == 0
    centres, _ = project(bpy.context.scene, END, RADIUS)
    cols, rows = centres[:, 0].astype(int), centres[:, 1].astype(int)
    assert not list(seq.glob("*.pc2"))  # the PNG-sequence film's folder holds its frames (and their record)
    last = {"png": _png(seq / f"frame_{FILM_FRAMES:04d}.png")}
    for film in films:
        decoded = _decode_rgba(ffmpeg_exe, film)
        assert len(decoded) == FILM_FRAMES
        last[film.suffix] = decoded[-1]
    probe = subprocess.run([ffmpeg_exe.replace("ffmpeg", "ffprobe"), "-v", "error", "-show_entries",
                            "stream=codec_name,profile", "-of", "csv=p=0", str(films[0])],
                           capture_output=True, text=True).stdout
    assert probe.strip().split(",")[:2] == ["prores", "4444"], probe
    from flowreel.trainer.film.sheet import contact_sheet

    with Image.open(contact_sheet(frames, tmp_path / "sheet.png", tile_width=64)) as sheet:  # alpha shown
        tile = np.asarray(sheet.convert("RGB"))[28:, :64].astype(int)  # the t = 0 tile, below its label
    assert {40, 64} <= set(np.unique(tile[:3, :, 0]))  # the checkerboard where the film is clear
    corners = _empty_corners(centres)
    assert len(corners) >= 2
    for kind, rgba in last.items():
        for rows_, cols_ in corners:  # 10-bit ProRes and VP9 alpha decode 0 as 0 or 1
            assert rgba[rows_, cols_, 3].max() <= (0 if kind == "png" else 1), kind
        on_points = rgba[rows, cols, 3]
        assert on_points.min() > 150, (kind, on_points)


def test_glow_over_white_has_no_fog_and_no_dark_fringe(bpy, traj, tmp_path):
    """The transparent glow laid over black is the opaque glow film (the halo is kept, nothing veils it),
    and laid over white no pixel is darker than the light it holds (no grey fog, no dark rim)."""
    last = ["--frames", f"{FILM_FRAMES}-{FILM_FRAMES}", "--no-video", *FILM_ARGS]
    assert render.main([str(traj), "--frames-dir", str(tmp_path / "opaque"), *last]) == 0
    assert render.main([str(traj), "--frames-dir", str(tmp_path / "alpha"), "--background", "transparent",
                        *last]) == 0
    name = f"frame_{FILM_FRAMES:04d}.png"
    opaque = _png(tmp_path / "opaque" / name)[..., :3].astype(float)
    rgba = _png(tmp_path / "alpha" / name).astype(float)
    a = rgba[..., 3:] / 255.0
    over_black = rgba[..., :3] * a
    over_white = rgba[..., :3] * a + 255.0 * (1.0 - a)
    assert np.abs(over_black - opaque).max() <= 2.0
    halo = (a[..., 0] > 0) & (a[..., 0] < 0.5)
    assert halo.sum() > 50, "the glow reaches past the points"
    assert (over_white >= opaque - 1.0).all()
    assert over_white.max(axis=2).min() >= 254  # the brightest channel stays white: a tint, never grey


def test_colour_and_picture_backgrounds_fill_the_frame(bpy, traj, tmp_path):
    plate = tmp_path / "plate.png"
    Image.new("RGB", (32, 20), (30, 120, 60)).save(plate)
    last = ["--frames", f"{FILM_FRAMES}-{FILM_FRAMES}", "--no-video", *FILM_ARGS]
    for name, bg, want in (("col", "#2040c0", (0x20, 0x40, 0xC0)), ("pic", str(plate), (30, 120, 60))):
        assert render.main([str(traj), "--frames-dir", str(tmp_path / name), "--background", bg, *last]) == 0
        with Image.open(tmp_path / name / f"frame_{FILM_FRAMES:04d}.png") as im:
            assert im.mode == "RGB"
            px = np.asarray(im).astype(int)
        assert (np.abs(px[0, 0] - want) <= 2).all() and (np.abs(px[-1, -1] - want) <= 2).all()
        centres, _ = project(bpy.context.scene, END, RADIUS)
        on = px[centres[:, 1].astype(int), centres[:, 0].astype(int)]
        assert (np.abs(on - want).max(axis=1) > 60).all()  # the points show over it


def test_unreadable_background_picture_is_one_line_and_writes_nothing(bpy, traj, tmp_path, capsys):
    bad = tmp_path / "plate.png"
    bad.write_text("not a picture")
    rc = render.main([str(traj), "-o", str(tmp_path / "f.mp4"), "--background", str(bad), *FILM_ARGS])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 1 and len(err) == 1 and "plate.png" in err[0]
    assert not (tmp_path / "f_frames").exists()


@pytest.mark.parametrize("out", ["film.mp4", "film.gif"])
def test_mp4_and_gif_refuse_transparent(bpy, traj, tmp_path, capsys, out):
    rc = render.main([str(traj), "-o", str(tmp_path / out), "--background", "transparent", *FILM_ARGS])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc != 0 and len(err) == 1 and ".mov" in err[0] and ".webm" in err[0]
    assert not (tmp_path / out).exists() and not (tmp_path / "film_frames").exists()


def test_movie_refuses_a_transparent_mp4_before_fitting(tmp_path, capsys):
    require_module("torch")
    from flowreel.trainer.cli import main

    pic = tmp_path / "a.png"
    Image.new("L", (32, 32), 255).save(pic)
    rc = main(["movie", str(pic), "-o", str(tmp_path / "f.mp4"), "--background", "transparent",
               "--runs-dir", str(tmp_path / "runs")])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc != 0 and len(err) == 1 and ".webm" in err[0]
    assert not (tmp_path / "runs").exists()


def test_blenders_own_render_keeps_the_glow_in_alpha(bpy, tmp_path):
    """An imported scene rendered by Blender itself (Render Animation): a transparent film whose glow's alpha
    the compositor makes, so the halo is not cut off at the points' edges."""
    from test_addon_render_util import look_scene

    from flowreel.addon.core.options import SceneOptions
    from flowreel.addon.render.alpha_frames import prepare_scene

    scene, _ = look_scene(bpy, "glow")
    prepare_scene(scene, SceneOptions(background="transparent"))
    assert scene.render.film_transparent and scene.render.image_settings.color_mode == "RGBA"
    scene.render.filepath = str(tmp_path / "own.png")
    bpy.ops.render.render(write_still=True)
    rgba = _png(tmp_path / "own.png")
    centres, radii = project(scene, END, RADIUS)
    rows, cols = np.mgrid[0:H, 0:W]
    dist = np.min([np.hypot(cols + 0.5 - cx, rows + 0.5 - cy) - r for (cx, cy), r in zip(centres, radii, strict=True)],
                  axis=0)
    assert rgba[centres[:, 1].astype(int), centres[:, 0].astype(int), 3].min() > 200
    assert (rgba[(dist > 1.5) & (dist < 4), 3] > 0).mean() > 0.5  # the halo around the points has alpha


def test_sidebar_background_property_reaches_the_scene(addon_registered, traj):
    """The add-on's Background property: its kinds become SceneOptions.background, and an import with
    Transparent gives the scene a transparent film."""
    bpy = addon_registered
    from flowreel.addon.scene.build import build_scene

    s = bpy.context.scene.flowreel
    assert s.to_options().background == ""
    s.background_kind, s.background_color = "COLOR", (1.0, 0.5, 0.0)
    assert s.to_options().background == "#ff8000"
    s.background_kind = "TRANSPARENT"
    opts = s.to_options()
    assert opts.background == "transparent"
    build_scene(bpy.context.scene, str(traj), opts)
    assert bpy.context.scene.render.film_transparent
