"""The operators' invoke() paths in Blender's real UI (Debian's Blender 3.4 under xvfb-run): what a click
runs, which the bpy module cannot (it has no window, so invoke falls back to execute). The file browsers open
on operators that carry the preferences' and the sidebar's defaults, and the Fit Selected Object dialog
starts the fit with them. tests/ui_invoke_script.py does the clicking."""

from __future__ import annotations

import sys

from conftest import REPO, run_blender_ui

SCRIPT = REPO / "tests" / "ui_invoke_script.py"


def test_invoke_opens_browsers_and_dialog_with_the_preference_defaults(blender_exe, tmp_path):
    trainer = f"{sys.executable} -c 'import time; time.sleep(60)'"  # a fit that never ends: only its argv counts
    r, _ = run_blender_ui(blender_exe, SCRIPT, [trainer, str(tmp_path / "runs")], tmp_path)
    assert r["error"] is None, r["error"]

    # Fit Picture or Shape…: a file browser for pictures and 3-D files, the preferences' quality and look
    assert r["fit_invoke"] == ["RUNNING_MODAL"]
    assert r["fit_browser"]["operator"] == "FLOWREEL_OT_fit"
    assert (r["fit_browser"]["quality"], r["fit_browser"]["look"]) == ("final", "neon")
    assert "*.png" in r["fit_browser"]["filter_glob"] and "*.obj" in r["fit_browser"]["filter_glob"]
    # Import: a file browser whose options start from the sidebar's
    assert r["import_invoke"] == ["RUNNING_MODAL"]
    assert r["import_browser"] == {"operator": "IMPORT_SCENE_OT_flowreel", "look": "ink"}
    # Fit Selected Object: a dialog; its OK fits the cube at the final quality's steps, to import with neon
    assert r["fit_object_invoke"] == ["RUNNING_MODAL"]
    argv = r["fit_object_argv"]
    assert argv is not None, r["last"]
    assert argv[argv.index("--steps") + 1] == "5000" and argv[argv.index("fit") + 1].endswith("Cube.ply")
    assert r["fit_object_look"] == "neon"
