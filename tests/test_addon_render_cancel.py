"""Cancelling Render Film from Blender (bpy module): the render child stops after its frame in progress, the
frames so far are kept, no film is written, the scene is untouched; Render Film again renders only the
missing frames and writes the film."""

from __future__ import annotations

import time

from test_addon_fit import addon_enabled, pump  # noqa: F401 - addon_enabled is a fixture
from test_addon_ops import counts, good

from flowreel.addon.core.frames import FRAME_GLOB


def test_cancel_render_keeps_its_frames_and_rendering_again_finishes(addon_enabled, tmp_path):  # noqa: F811
    from flowreel.addon.ui import fit_ops

    bpy = addon_enabled
    good(tmp_path / "t.npz")
    s = bpy.context.scene.flowreel
    s.filepath = str(tmp_path / "t.npz")
    # 6 s at 4 fps: 25 frames, long enough to cancel in the middle
    s.resolution_x, s.resolution_y, s.fps, s.seconds, s.hold_start, s.hold_end = 64, 48, 4, 6.0, 0.0, 0.0
    before = counts(bpy)
    frames_dir, film = tmp_path / "t_frames", tmp_path / "t.mp4"
    assert bpy.ops.flowreel.render_film(engine="WORKBENCH") == {"FINISHED"}
    job = fit_ops.STATE.job
    end = time.monotonic() + 120
    while job.poll() == "running" and job.step < 2:
        assert time.monotonic() < end, "no frame progress from the render"
        time.sleep(0.05)
    assert job.running, job.message
    assert bpy.ops.flowreel.fit_cancel() == {"FINISHED"}
    pump()
    assert job.state == "cancelled" and fit_ops.STATE.last_kind == "WARNING"
    kept = {p.name: p.stat().st_mtime_ns for p in frames_dir.glob(FRAME_GLOB)}
    assert 2 <= len(kept) < job.steps == 25
    assert fit_ops.STATE.last.startswith("Flowreel: render cancelled after ") and "rendering again skips them" in (
        fit_ops.STATE.last)
    assert not film.exists() and not [p for p in frames_dir.iterdir() if "partial" in p.name]
    assert counts(bpy) == before

    render_again_finishes(bpy, frames_dir, film, kept, 25)
    assert counts(bpy) == before


def render_again_finishes(bpy, frames_dir, film, kept: dict[str, int], frames: int) -> None:
    """Render Film again after a Cancel: the film is written, and the frames kept were not drawn again."""
    from flowreel.addon.ui import fit_ops

    assert bpy.ops.flowreel.render_film(engine="WORKBENCH") == {"FINISHED"}
    again = fit_ops.STATE.job
    pump(timeout=300)
    assert again.state == "done", again.message
    assert fit_ops.STATE.last == f"Flowreel: wrote {film}" and film.stat().st_size > 0
    assert len(list(frames_dir.glob(FRAME_GLOB))) == frames
    for name, mtime in kept.items():  # the frames the cancelled render finished were not drawn again
        assert (frames_dir / name).stat().st_mtime_ns == mtime, name
