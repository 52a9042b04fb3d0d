"""Text in: `--text "Hello" [--font FILE]` draws the words as the picture with the bundled font or the user's; the
run key is the text, the font's bytes and the size; bad fonts and text are one line and write nothing."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from flowreel.trainer.cli import main
from flowreel.trainer.targets.text import DEFAULT_FONT, load_text_density, render_text, text_key


def test_default_font_ships_with_its_licence():
    assert DEFAULT_FONT.is_file() and DEFAULT_FONT.stat().st_size > 100_000
    licence = (DEFAULT_FONT.parent / "LICENSE").read_text()
    assert "Bitstream" in licence and "DejaVu" in licence


def test_text_fills_the_working_size():
    im = render_text("Hello", max_side=512)
    w, h = im.size
    assert 480 <= w <= 512 and 80 <= h < w  # a word: wide, its longer side the working size less the margin
    a = np.asarray(im)
    assert (a[..., :3] == 255).all()  # white ink, the coverage in alpha
    ys, xs = np.nonzero(a[..., 3] > 128)
    assert xs.min() > 0 and ys.min() > 0 and xs.max() < w - 1 and ys.max() < h - 1  # nothing cut off
    assert xs.max() - xs.min() > 0.85 * w  # and the text spans the picture
    two = render_text("Hello\\nWorld", max_side=512)  # a typed \n breaks the line
    assert two.size[1] > 1.6 * h


def test_text_density_and_key(tmp_path):
    d = load_text_density("Hi", max_side=256)
    assert d.name == "text-Hi" and max(d.shape) <= 256 and d.weights.sum() == pytest.approx(1.0)
    copy = tmp_path / "same.ttf"
    shutil.copy(DEFAULT_FONT, copy)
    assert d.sha256 == text_key("Hi", None, 256) == text_key("Hi", copy, 256)  # the font by its bytes, not its path
    assert load_text_density("Hi", copy, max_side=256).sha256 == d.sha256  # a font named with --font
    other = tmp_path / "other.ttf"  # other bytes: another font as far as the key goes
    other.write_bytes(DEFAULT_FONT.read_bytes() + b"\0")
    others = {text_key("Ho", None, 256), text_key("Hi", None, 512), text_key("Hi", other, 256)}
    assert d.sha256 not in others and len(others) == 3


def _bad_fonts(tmp_path):
    (tmp_path / "notes.ttf").write_text("not a font\n")
    (tmp_path / "empty.otf").write_bytes(b"")
    (tmp_path / "cut.ttf").write_bytes(DEFAULT_FONT.read_bytes()[:2000])  # a truncated download
    (tmp_path / "folder.ttf").mkdir()
    return ["notes.ttf", "empty.otf", "cut.ttf", "folder.ttf", "missing.ttf"]


def test_bad_fonts_are_one_line_and_write_nothing(tmp_path, capsys):
    for name in _bad_fonts(tmp_path):
        run, out = tmp_path / f"run-{name}", tmp_path / f"{name}.npz"
        code = main(["fit", "--text", "Hello", "--font", str(tmp_path / name), "--out", str(run), "--export",
                     str(out), "--steps", "5"])  # fmt: skip
        err = capsys.readouterr().err.strip()
        assert code == 1 and len(err.splitlines()) == 1 and f"--font {name}" in err and "Traceback" not in err, err
        assert not run.exists() and not out.exists()


@pytest.mark.parametrize(
    "args, says",
    [
        (["--text", "   "], "--text is empty"),
        (["--text", "x" * 300], "at most 200"),
        (["pic.png", "--text", "Hi"], "a picture or --text, not both"),
        (["--font", "a.ttf"], "--font is for --text"),
        ([], "or --text WORDS"),
        (["--text", "Hi", "--fill", "volume"], "--fill applies to 3-D files"),
        (["--text", "Hi", "--invert"], "--invert applies to pictures"),
        (["--text", "Hi 字"], "the default font (DejaVu Sans) has no glyph for 字"),
    ],
)
def test_bad_text_is_one_line(tmp_path, capsys, args, says):
    run = tmp_path / "run"
    assert main(["fit", *args, "--out", str(run), "--steps", "5"]) in (1, 2)
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and says in err, err
    assert not run.exists()


def test_fit_text_exports_the_word(tmp_path):
    """`trainer fit --text`: the run is named after the words, the film ends on the drawn text."""
    from flowreel.addon.core import trajformat

    out = tmp_path / "hi.npz"
    assert main(["fit", "--text", "Hi", "--steps", "10", "--export", str(out), "--particles", "2000", "--frames", "3",
                 "--max-side", "128", "--eval-samples", "1000", "--tol", "1e-2", "--out", str(tmp_path / "run"),
                 "-q"]) == 0  # fmt: skip
    traj = trajformat.read(out)
    d = load_text_density("Hi", max_side=128)
    assert traj.meta["image"]["name"] == "text-Hi" and traj.meta["image"]["sha256"] == d.sha256
    assert np.isfinite(d.log_density(traj.positions[-1])).all()  # every particle ends on a glyph's pixel


def test_font_is_package_data():
    """The wheel carries the default font and its licence (pyproject's package-data for flowreel.trainer.targets)."""
    import fnmatch
    import tomllib

    from conftest import REPO

    data = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    globs = data["flowreel.trainer.targets"]
    for name in ("fonts/DejaVuSans-Bold.ttf", "fonts/LICENSE"):
        assert any(fnmatch.fnmatch(name, g) for g in globs), name
