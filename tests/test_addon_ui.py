"""Blender's real UI under a virtual X server (Debian's Blender 3.4 and xvfb-run): Fit Picture from the
sidebar, the import at its end, the last frame, and screenshots showing the points in the viewport.

The fit runs in this checkout's venv (Blender's own Python has no torch): the add-on's preferences name
`<venv python> -m flowreel.trainer`, as a user with a venv would set them. FLOWREEL_UI_SHOTS=DIR keeps
the screenshots (docs/media/blender_ui.png comes from there).
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import numpy as np
from conftest import REPO, require_module, run_blender_ui

SCRIPT = REPO / "tests" / "ui_fit_script.py"


def _luma(path: Path, box: list[int], height: int) -> np.ndarray:
    """The grey levels of a region given as Blender counts it (x, y from the bottom-left, w, h)."""
    from PIL import Image

    x, y, w, h = box
    img = np.asarray(Image.open(path).convert("L"), dtype=np.int16)
    return img[height - (y + h):height - y, x:x + w]


def test_fit_import_and_scrub_in_the_real_ui(blender_exe, tmp_path):
    require_module("torch")
    trainer = f"{sys.executable} -m flowreel.trainer"
    # OMP_NUM_THREADS reaches the trainer child: one torch thread is much faster on a shared 2-core box
    r, out = run_blender_ui(blender_exe, SCRIPT, [str(REPO / "examples" / "logo.png"), trainer, str(tmp_path / "runs")],
                            tmp_path, OMP_NUM_THREADS="1")
    if keep := os.environ.get("FLOWREEL_UI_SHOTS"):
        for name in ("before.png", "progress.png", "after.png"):
            if (out / name).exists():
                shutil.copy(out / name, Path(keep) / name)
    assert r["error"] is None, r["error"]
    assert r["fit_op"] == ["FINISHED"] and r["last"].startswith("Flowreel: imported")
    assert r["panel_drawn"], "the sidebar did not draw the Flowreel panel"
    # progress reached the UI while the fit ran: steps rising, and the status bar's line
    seen = [s for s in r["steps_seen"] if s]
    assert seen and seen == sorted(seen) and len(set(seen)) > 2, r["steps_seen"]
    assert r["status_line"].startswith("Flowreel fit: step ") and ", loss " in r["status_line"]
    # Render Film ran this very Blender in the background and counted its frames
    assert r["render_op"] == ["FINISHED"] and r["render_argv0"] == blender_exe
    assert r["render_last"] == f"Flowreel: wrote {out / 'film.mp4'}", r["render_last"]
    assert (out / "film.mp4").stat().st_size > 0
    # The viewport's middle (the camera frames the picture there) shows the points at the last frame; before
    # the fit it was an empty scene. The 3D view's region runs under its header and sidebar: leave those out.
    height = r["before.png"]["window"][1]
    x, y, w, h = r["after.png"]["viewport"]
    w = r["ui_region"][0] - x
    box = [x + int(0.3 * w), y + int(0.2 * h), int(0.4 * w), int(0.6 * h)]
    before, after = _luma(out / "before.png", box, height), _luma(out / "after.png", box, height)
    background = np.median(before)
    assert (np.abs(before - background) > 40).mean() < 0.005  # the 3D cursor and nothing else
    lit = np.abs(after - background) > 40
    assert lit.mean() > 0.02, f"only {lit.mean():.2%} of the viewport's middle differs from the empty scene"
    ys, xs = np.nonzero(lit)  # a patch of points, not a line or a speck
    assert np.ptp(xs) > 0.2 * box[2] and np.ptp(ys) > 0.2 * box[3]
