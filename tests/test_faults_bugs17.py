"""Issue 17's two bugs: Render Film's `blender -b` command exits 0 on a Python error, and a cancelled fit
of a 3-D target is not resumed by the add-on (it looked for density.npz only)."""

from __future__ import annotations

import subprocess
import types

from conftest import require_module

from flowreel.addon.jobs import runner as jobs


def test_a_cancelled_3d_fit_resumes(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "checkpoint.pt").write_bytes(b"x")
    (run / "target.npz").write_bytes(b"x")  # a mesh's, point cloud's or slab's saved target
    argv, _ = jobs.fit_command(["trainer"], "shape.ply", run, steps=20)
    assert "--resume" in argv


def test_the_saved_target_names_are_the_trainers():
    require_module("torch")
    from flowreel.trainer.targets.registry import PICTURE_FILE
    from flowreel.trainer.targets.target3d import RUN_FILE

    assert set(jobs.SAVED_TARGETS) == {PICTURE_FILE, RUN_FILE}


def test_render_film_command_fails_on_a_python_error(monkeypatch, blender_exe, tmp_path):
    """The add-on's Render Film command, run by a real `blender -b` on a script that raises: non-zero exit."""
    require_module("bpy")
    from flowreel.addon.core.options import SceneOptions
    from flowreel.addon.ui import fit_ops

    monkeypatch.setattr(fit_ops, "bpy", types.SimpleNamespace(app=types.SimpleNamespace(binary_path=blender_exe)))
    argv = fit_ops.render_command(tmp_path / "t.npz", tmp_path / "film.mp4", "CYCLES", SceneOptions())
    assert argv[:2] == [blender_exe, "-b"]
    code = argv.index("--python-exit-code")
    assert int(argv[code + 1]) != 0 and code < argv.index("--python")
    broken = tmp_path / "broken.py"
    broken.write_text("raise RuntimeError('a bug in the render script')\n")
    argv[argv.index("--python") + 1] = str(broken)  # the same command, a script that fails
    r = subprocess.run(argv, capture_output=True, text=True, timeout=300)
    assert r.returncode != 0
