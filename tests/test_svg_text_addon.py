"""The add-on takes an SVG in Fit Picture (file filter, first-bytes check, a real fit) and words in Fit Text
(run folder by words and font, the trainer's argv, bad input one report and nothing started)."""

from __future__ import annotations

import gzip
import shutil
import sys

import pytest
from conftest import require_module
from test_addon_fit import addon_enabled, pump, trainer  # noqa: F401 (fixtures)

from flowreel.addon.jobs import fit_plan as fit_targets
from flowreel.addon.jobs.runner import JobError, check_picture
from flowreel.trainer.targets.text import DEFAULT_FONT

SVG = ('<?xml version="1.0" encoding="UTF-8"?>\n<!-- a logo -->\n<svg xmlns="http://www.w3.org/2000/svg" width="40" '
       'height="20"><path d="M2 2 H18 V18 H2 Z M6 6 V14 H14 V6 Z" fill="#f00" fill-rule="evenodd"/>'
       '<circle cx="30" cy="10" r="8" fill="#00f"/></svg>')  # fmt: skip


def test_check_picture_takes_svg_by_its_bytes(tmp_path):
    (tmp_path / "logo.svg").write_text(SVG)
    (tmp_path / "logo.svgz").write_bytes(gzip.compress(SVG.encode()))
    (tmp_path / "named.xml").write_text(SVG)  # any name: the first bytes say SVG
    for name in ("logo.svg", "logo.svgz", "named.xml"):
        assert check_picture(tmp_path / name) == tmp_path / name
        assert fit_targets.check_target(tmp_path / name) == tmp_path / name
    (tmp_path / "notes.svg").write_text("just words\n")
    (tmp_path / "plain.svgz").write_text(SVG)  # a .svgz that is not gzip
    (tmp_path / "page.xml").write_text("<html><body/></html>")
    for name in ("notes.svg", "plain.svgz", "page.xml"):
        with pytest.raises(JobError, match=rf"^{name}: not a picture \(PNG, JPEG, GIF, BMP, TIFF, WebP or SVG\)"):
            fit_targets.check_target(tmp_path / name)


def test_file_filter_lists_svg():
    require_module("bpy")
    from flowreel.addon.ui import fit_ops

    globs = fit_ops.TARGETS.split(";")
    assert "*.svg" in globs and "*.svgz" in globs and "*.png" in globs


def test_plan_text_argv_run_folder_and_reuse(tmp_path):
    cmd = [sys.executable, "-m", "flowreel.trainer"]
    font = tmp_path / "Brand.ttf"
    shutil.copy(DEFAULT_FONT, font)
    words, f = fit_targets.check_text("  -Hello   World ", font)
    assert words == "-Hello World" and f == font
    run = fit_targets.text_run_dir(tmp_path / "runs", words, f, "fm", 0, 40)
    assert run.name.startswith("text--Hello_World-") and run == fit_targets.text_run_dir(tmp_path / "runs", words,
                                                                                       f, "fm", 0, 40)  # fmt: skip
    assert run != fit_targets.text_run_dir(tmp_path / "runs", words, None, "fm", 0, 40)  # another font
    assert run != fit_targets.text_run_dir(tmp_path / "runs", "Hello", f, "fm", 0, 40)  # other words
    plan = fit_targets.plan_text(cmd, words, f, run, method="fm", quality="draft", steps=40, seed=0)
    assert plan.how == "fit" and plan.argv[len(cmd):len(cmd) + 3] == ["fit", "--text=-Hello World",
                                                                              f"--font={font}"]  # fmt: skip
    assert "--crop" not in plan.argv and plan.argv[plan.argv.index("--out") + 1] == str(run)
    run.mkdir(parents=True)
    (run / "metrics.json").write_text("{}")
    assert fit_targets.plan_text(cmd, words, f, run, method="fm", quality="draft", steps=40, seed=0).how == "export"


@pytest.mark.parametrize("font, says", [("notes.ttf", "notes.ttf: not a TrueType or OpenType font"),
                                        ("missing.ttf", "no such font"), ("", "type the words")])
def test_fit_text_bad_input_is_one_report_and_starts_nothing(addon_enabled, tmp_path, font, says):  # noqa: F811
    from flowreel.addon.ui import fit_ops

    bpy = addon_enabled
    (tmp_path / "notes.ttf").write_text("not a font")
    kwargs = {"text": "Hello", "font": str(tmp_path / font)} if font else {"text": "   "}
    with pytest.raises(RuntimeError, match=says):
        bpy.ops.flowreel.fit_text(**kwargs)
    assert fit_ops.STATE.job is None and not (tmp_path / "runs").exists()


def test_fit_svg_and_text_from_blender_import(addon_enabled, trainer, tmp_path):  # noqa: F811
    """Fit Picture with an SVG and Fit Text with a word: each a real tiny fit, imported as points."""
    from test_addon_fit import TINY

    from flowreel.addon.core import trajformat
    from flowreel.addon.ui import fit_ops

    bpy = addon_enabled
    svg = tmp_path / "logo.svg"
    svg.write_text(SVG)
    for start, name in ((lambda: bpy.ops.flowreel.fit(filepath=str(svg), look="ink"), "logo.svg"),
                        (lambda: bpy.ops.flowreel.fit_text(text="Hi", look="ink"), "text-Hi")):  # fmt: skip
        assert start() == {"FINISHED"}
        job = fit_ops.STATE.job
        pump(timeout=300)
        assert job.state == "done" and fit_ops.STATE.last_kind == "INFO", job.message
        assert len(bpy.data.objects["Flowreel Points"].data.vertices) == TINY["particles"]
        traj = trajformat.read(bpy.context.scene.flowreel.filepath)
        assert traj.meta["image"]["name"] == name
    assert "--text=Hi" in job.argv


def test_fit_text_with_a_broken_font_is_the_trainers_one_line(addon_enabled, trainer, tmp_path):  # noqa: F811
    """A font with a TrueType signature but cut short: the trainer starts, fails, says why in one line."""
    from flowreel.addon.ui import fit_ops

    bpy = addon_enabled
    (tmp_path / "cut.ttf").write_bytes(DEFAULT_FONT.read_bytes()[:3000])
    assert bpy.ops.flowreel.fit_text(text="Hi", font=str(tmp_path / "cut.ttf")) == {"FINISHED"}
    pump(timeout=300)
    assert fit_ops.STATE.last_kind == "ERROR" and "\n" not in fit_ops.STATE.last
    assert fit_ops.STATE.last.startswith("Flowreel: trainer: error: --font cut.ttf: "), fit_ops.STATE.last
    assert "Flowreel Points" not in bpy.data.objects
