"""Pictures are read as a viewer shows them (issue 18): EXIF orientation, the frame of an animation, and the
command line's --crop / --frame reach the density and the run's key."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw

from flowreel.trainer.cli import main
from flowreel.trainer.targets.picture import DensityError, load_density


def _corner_mark(w=64, h=40) -> Image.Image:
    """Black ink in the top-left corner of a white picture; the rest of a bar along the top."""
    im = Image.new("RGB", (w, h), "white")
    d = ImageDraw.Draw(im)
    d.rectangle([0, 0, 15, 15], fill="black")
    d.rectangle([0, 0, w - 1, 3], fill="black")
    return im


def _with_orientation(im: Image.Image, path, orientation: int) -> None:
    exif = Image.Exif()
    exif[0x0112] = orientation
    im.save(path, exif=exif, quality=95)


@pytest.mark.parametrize("orientation", [3, 6, 8])
def test_exif_orientation_is_applied(tmp_path, orientation):
    stored = _corner_mark()
    _with_orientation(stored, tmp_path / "phone.jpg", orientation)
    shown = stored.transpose({3: Image.Transpose.ROTATE_180, 6: Image.Transpose.ROTATE_270,
                              8: Image.Transpose.ROTATE_90}[orientation])  # what a viewer shows  # fmt: skip
    shown.save(tmp_path / "shown.jpg", quality=95)
    d = load_density(tmp_path / "phone.jpg", crop="none", max_side=64)
    want = load_density(tmp_path / "shown.jpg", crop="none", max_side=64)
    assert d.source_size == shown.size and d.shape == want.shape
    assert np.abs(d.weights - want.weights).sum() < 0.02  # the same picture, not a turned one
    xy = d.sample(20_000, np.random.default_rng(0))
    on_ink = want.log_density(xy) > -np.inf
    assert on_ink.mean() > 0.97


def _animation(tmp_path, fmt="GIF") -> str:
    """Three frames, the ink in the left, middle and right third in turn."""
    frames = []
    for k in range(3):
        im = Image.new("RGB", (60, 30), "white")
        ImageDraw.Draw(im).rectangle([20 * k + 2, 5, 20 * k + 17, 25], fill="black")
        frames.append(im)
    path = tmp_path / f"anim.{ 'gif' if fmt == 'GIF' else 'png'}"
    frames[0].save(path, format=fmt, save_all=True, append_images=frames[1:], duration=100, loop=0)
    return path


@pytest.mark.parametrize("fmt", ["GIF", "PNG"])  # PNG: APNG
def test_animated_picture_says_its_frame_and_frame_picks_one(tmp_path, fmt):
    path = _animation(tmp_path, fmt)
    first = load_density(path, crop="none", max_side=60)
    assert first.frame_info == (0, 3) and first.meta()["frames"] == 3
    assert "frame 0 of 3" in first.describe() and "--frame N" in first.describe()
    assert first.weights[:, :20].sum() == pytest.approx(1.0)
    last = load_density(path, crop="none", max_side=60, frame=2)
    assert last.frame_info == (2, 3) and last.options["frame"] == 2
    assert last.weights[:, 40:].sum() == pytest.approx(1.0)
    with pytest.raises(DensityError, match=r"anim\.\w+: --frame 3: the picture has 3 frames \(0 to 2\)"):
        load_density(path, frame=3)


def test_frame_flag_on_the_command_line(tmp_path, capsys, one_torch_thread):
    path = _animation(tmp_path)
    assert main(["fit", str(path), "--out", str(tmp_path / "r0"), "--steps", "1", "--eval-samples", "200"]) == 0
    assert "frame 0 of 3 (0 to 2; --frame N picks another)" in capsys.readouterr().out  # not silently the first
    assert main(["fit", str(path), "--frame", "7", "--out", str(tmp_path / "run"), "--steps", "1"]) != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--frame 7: the picture has 3 frames" in err[0]
    _corner_mark().save(tmp_path / "still.png")
    assert main(["fit", str(tmp_path / "still.png"), "--frame", "1", "--out", str(tmp_path / "r2")]) != 0
    assert "has 1 frame (only frame 0)" in capsys.readouterr().err


def test_movie_passes_crop_and_frame_and_keys_its_run_by_them(tmp_path, monkeypatch):
    from flowreel.trainer.film import movie

    seen = []
    monkeypatch.setattr(movie, "make_movie", lambda s: seen.append(s) or (_ for _ in ()).throw(KeyboardInterrupt))
    path = _animation(tmp_path)
    for extra in ([], ["--crop", "none"], ["--frame", "2"]):
        main(["movie", str(path), "-o", str(tmp_path / "f.mp4"), *extra])
    opts = [s.density_options for s in seen]
    assert [(o["crop"], o["frame"]) for o in opts] == [("ink", None), ("none", None), ("ink", 2)]
    dirs = {movie.run_dir_for("0" * 64, "anim", s) for s in seen}
    assert len(dirs) == 3  # another crop or frame is another fit


def test_blender_fit_passes_the_crop_and_keys_its_run_folder_by_it(tmp_path):
    """Fit Picture in Blender runs `trainer fit` with the crop spelled out, in a folder whose name says it."""
    from flowreel.addon.jobs import fit_plan as fit_targets

    pic = tmp_path / "logo.png"
    _corner_mark().save(pic)
    data = pic.read_bytes()
    ink = fit_targets.run_dir_for_bytes(tmp_path, "logo", data, "fm", 0, 40)
    assert ink != fit_targets.run_dir_for_bytes(tmp_path, "logo", data, "fm", 0, 40, crop="none")
    assert ink != fit_targets.run_dir_for_bytes(tmp_path, "logo", data, "fm", 0, 40, frame=1)
    assert "crop" not in fit_targets.run_dir_for_bytes(tmp_path, "blob", b"ply", "fm", 0, 40, "surface").name
    argv = fit_targets.plan_single(["trainer"], pic, ink, method="fm", quality="draft", steps=40, seed=0).argv
    assert argv[argv.index("--crop") + 1] == "ink" and "--frame" not in argv
    argv = fit_targets.plan_single(["trainer"], pic, ink, method="fm", quality="draft", steps=40, seed=0,
                                   crop="none", frame=2).argv  # fmt: skip
    assert argv[argv.index("--crop") + 1] == "none" and argv[argv.index("--frame") + 1] == "2"
    from flowreel.trainer.cli import build_parser

    args = build_parser().parse_args(argv[1:])  # the trainer takes the command line the add-on builds
    assert (args.crop, args.frame) == ("none", 2)
