"""Blender's side of a cluster: with a Cluster Address in the add-on's preferences, Render Film runs
`trainer render --cluster` with the same progress and Cancel; Cancel stops the cluster's tasks (the trainer's
local cluster is gone with it), keeps the frames that came back, and Render Film again finishes the film
without drawing them again."""

from __future__ import annotations

import time

from conftest import require_module
from test_addon_fit import addon_enabled, pump  # noqa: F401 - addon_enabled is a fixture
from test_addon_ops import good
from test_addon_render_cancel import render_again_finishes
from test_cluster_util import LOOPBACK, assert_no_raylet_left, raylets

from flowreel.addon.core.frames import FRAME_GLOB

require_module("torch")  # the trainer renders on the cluster
require_module("ray")


def test_render_film_through_a_cluster_cancels_and_resumes(addon_enabled, tmp_path, monkeypatch):  # noqa: F811
    from flowreel.addon.ui import fit_ops

    bpy = addon_enabled
    for k, v in {**LOOPBACK, "FLOWREEL_CLUSTER_CACHE": str(tmp_path / "nodes")}.items():
        monkeypatch.setenv(k, v)  # the trainer child and its local cluster inherit these
    before = set(raylets())
    bpy.context.preferences.addons["flowreel.addon"].preferences.cluster = "local"
    good(tmp_path / "t.npz")
    s = bpy.context.scene.flowreel
    s.filepath = str(tmp_path / "t.npz")
    s.resolution_x, s.resolution_y, s.fps, s.seconds, s.hold_start, s.hold_end = 64, 48, 4, 6.0, 0.0, 0.0  # 25 frames
    frames_dir, film = tmp_path / "t_frames", tmp_path / "t.mp4"
    assert bpy.ops.flowreel.render_film(engine="WORKBENCH") == {"FINISHED"}
    job = fit_ops.STATE.job
    assert job.argv[-len(job.argv) + job.argv.index("render"):][:3] == ["render", "--cluster", "local"]
    end = time.monotonic() + 240
    while job.poll() == "running" and job.step < 1:
        assert time.monotonic() < end, "no frame progress from the cluster render"
        time.sleep(0.1)
    assert job.running, job.message
    assert job.steps == 25  # one bar over all the film's frames
    assert bpy.ops.flowreel.fit_cancel() == {"FINISHED"}
    pump()
    assert job.state == "cancelled"
    kept = {p.name: p.stat().st_mtime_ns for p in frames_dir.glob(FRAME_GLOB)}
    assert 1 <= len(kept) < 25 and not film.exists()
    assert not [p for p in frames_dir.iterdir() if "partial" in p.name]
    assert_no_raylet_left(before)  # the tasks stopped with the trainer: no cluster left running

    render_again_finishes(bpy, frames_dir, film, kept, 25)  # through the cluster again
    assert_no_raylet_left(before)
