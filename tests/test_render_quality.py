"""`--quality draft|final` of the render script and `trainer render`: the settings declared once in
addon/core/contract/render_quality.py are the ones that render; explicit flags still win."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from conftest import require_module
from test_addon_render_util import write_tiny_traj

from flowreel.addon.core.contract.render_quality import RENDER_QUALITY
from flowreel.addon.render.args import build_parser
from flowreel.trainer.cli import main
from flowreel.trainer.film import movie

_SCENE = """
import json, sys
import bpy
bpy.ops.wm.open_mainfile(filepath=sys.argv[-1])
s = bpy.context.scene
c = s.cycles
print("FLOWREEL_SCENE " + json.dumps({
    "engine": s.render.engine, "samples": c.samples, "motion_blur": s.render.use_motion_blur,
    "denoise": c.use_denoising,
    "resolution": [s.render.resolution_x, s.render.resolution_y],
    "cycles": {k: getattr(c, k) for k in json.loads(sys.argv[-2])},
}))
"""


def test_quality_sets_the_render_flags_and_given_flags_win():
    """--quality final gives the declared engine, samples, denoiser, resolution and motion blur; --samples and
    --resolution given with it win, in either order; draft differs; no --quality keeps the look's own."""
    final = RENDER_QUALITY["final"]["flags"]
    a = build_parser().parse_args(["t.npz", "--quality", "final"])
    assert (a.engine, a.samples, a.denoise, a.resolution, a.motion_blur) == (
        final["engine"], final["samples"], final["denoise"], final["resolution"], final["motion_blur"])
    a = build_parser().parse_args(["t.npz", "--samples", "3", "--quality", "final", "--resolution", "64x40"])
    assert (a.samples, a.resolution, a.motion_blur) == (3, (64, 40), final["motion_blur"])
    d = build_parser().parse_args(["t.npz", "--quality=draft"])
    assert (d.samples, d.resolution, d.motion_blur) == (4, (1280, 720), False)
    plain = build_parser().parse_args(["t.npz"])
    assert plain.quality is None and plain.samples is None  # the look's own samples


def test_movie_quality_is_the_core_declaration():
    """`trainer movie`'s render settings per quality are the core's (one declaration for both commands)."""
    for name, q in movie.QUALITY.items():
        f = RENDER_QUALITY[name]["flags"]
        assert (q["samples"], q["denoise"], q["resolution"], q["motion_blur"], q["engine"].upper()) == (
            f["samples"], f["denoise"], f["resolution"], f["motion_blur"], f["engine"])


@pytest.mark.parametrize("look", ["glow", "ink"])
def test_trainer_render_quality_final_renders_with_the_final_settings(tmp_path, look):
    """`trainer render --quality final` (a tiny frame): a glowing look's flat film renders with the splat engine,
    the lit ink look with Cycles at the final samples, denoiser and every Cycles setting the declaration names;
    both with the final motion blur (flags given with it win: the parser test above)."""
    require_module("bpy")
    traj = write_tiny_traj(tmp_path / "tiny.npz")
    declared = RENDER_QUALITY["final"]
    samples = declared["flags"]["samples"]
    blend = tmp_path / f"scene{samples}.blend"
    args = ["render", str(traj), "-o", str(tmp_path / f"f{samples}/"), "--quality", "final", "--look", look,
            "--resolution", "48x32", "--frames", "3-3", "--save-blend", str(blend)]
    assert main(args) == 0
    assert (tmp_path / f"f{samples}" / "frame_0003.png").is_file()
    r = subprocess.run([sys.executable, "-c", _SCENE, json.dumps(list(declared["cycles"])), str(blend)],
                       capture_output=True, text=True, timeout=240, cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    got = json.loads(next(ln for ln in r.stdout.splitlines() if ln.startswith("FLOWREEL_SCENE "))[15:])
    assert got["motion_blur"] is declared["flags"]["motion_blur"] and got["resolution"] == [48, 32]
    record = json.loads((tmp_path / f"f{samples}" / "flowreel_render.json").read_text())
    # The frames: the splat engine for the glowing look; the saved .blend renders with Cycles at the final samples
    # either way (a Blender without the add-on has no splat engine).
    assert record["engine"] == ("SPLAT" if look == "glow" else "CYCLES") and declared["flags"]["engine"] == "SPLAT"
    assert got["engine"] == "CYCLES" and got["samples"] == samples
    if declared["flags"]["denoise"] != "auto":  # auto: on where the build has OIDN (test_cli_render.py)
        assert got["denoise"] is (declared["flags"]["denoise"] == "on")
    for k, v in declared["cycles"].items():
        assert got["cycles"][k] == v, k
