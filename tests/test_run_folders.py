"""One run-folder naming (core/contract/runs.py): a fit from Blender and `trainer movie` on the same target share a
run, and a run read under an older reading version of its kind is not reused."""

from __future__ import annotations

import hashlib
from pathlib import Path

from flowreel.addon.core.contract import runs
from flowreel.addon.jobs import fit_plan


def _movie_run(tmp_path: Path, target: Path, **density):
    from conftest import require_module

    require_module("torch")
    from flowreel.trainer.film.movie import MovieSettings, run_dir_for

    s = MovieSettings(target, tmp_path / "film.mp4", runs_root=tmp_path / "runs",
                      density_options={"invert": False, "threshold": None, "max_side": 512, **density})
    s.fit_config.steps = fit_plan.steps_for("draft", "fm", 0)  # what make_movie sets for --quality draft
    return run_dir_for(hashlib.sha256(target.read_bytes()).hexdigest(), target.stem, s)


def test_blender_fit_and_trainer_movie_share_a_picture_run(tmp_path):
    pic = tmp_path / "logo.png"
    pic.write_bytes(b"\x89PNG\r\n\x1a\n picture bytes")
    blender = fit_plan.run_dir_for_bytes(tmp_path / "runs", "logo", pic.read_bytes(), "fm", 0,
                                         fit_plan.steps_for("draft", "fm", 0))
    assert blender == _movie_run(tmp_path, pic, crop="ink", frame=None)
    assert blender != _movie_run(tmp_path, pic, crop="none", frame=None)  # another reading, another run


def test_blender_fit_and_trainer_movie_share_a_mesh_run(tmp_path):
    mesh = tmp_path / "shape.ply"
    mesh.write_bytes(b"ply\nformat ascii 1.0\n")
    blender = fit_plan.run_dir_for_bytes(tmp_path / "runs", "shape", mesh.read_bytes(), "fm", 0,
                                         fit_plan.steps_for("draft", "fm", 0), "surface")
    assert blender == _movie_run(tmp_path, mesh)  # --fill surface spelled out or not: the trainer's default
    assert blender != _movie_run(tmp_path, mesh, fill="volume")


def test_a_run_of_an_older_reading_version_is_not_reused(tmp_path, monkeypatch):
    """The 3-D axis convention changed (OBJ read y up): a run fitted under the old reading has another folder."""
    data = b"v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n"
    now = fit_plan.run_dir_for_bytes(tmp_path, "word", data, "fm", 0, 2000, "surface")
    picture_now = fit_plan.run_dir_for_bytes(tmp_path, "word", data, "fm", 0, 2000)
    monkeypatch.setitem(runs.READING_VERSIONS, "3d", runs.READING_VERSIONS["3d"] - 1)
    before = fit_plan.run_dir_for_bytes(tmp_path, "word", data, "fm", 0, 2000, "surface")
    assert before != now  # a finished run in `before` is never found for today's reading
    assert fit_plan.run_dir_for_bytes(tmp_path, "word", data, "fm", 0, 2000) == picture_now  # other kinds keep theirs
