"""Fit from Blender beyond one picture: the selected object, a 3-D file, a sequence of pictures.

Through the operators with the bpy module and the real trainer as a child (tiny settings), the add-on's
timer pumped by hand as in test_addon_fit; each bad case one report, nothing started, scene unchanged.
The planning (jobs.fit_plan) and the sequence's progress lines are checked without Blender too.
"""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest
import test_addon_fit
from test_addon_fit import TINY, picture, pump
from test_addon_ops import counts

from flowreel.addon.jobs import fit_plan as fit_targets
from flowreel.addon.jobs import runner as jobs
from flowreel.addon.jobs.runner import Job, JobError

addon_enabled = test_addon_fit.addon_enabled  # the fixtures of Fit Picture's tests: the add-on, the trainer
trainer = test_addon_fit.trainer


# ---- without Blender ---------------------------------------------------------------------------
def test_check_target_takes_pictures_by_bytes_and_shapes_by_suffix(tmp_path):
    png = tmp_path / "ok.png"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(20))
    (tmp_path / "cloud.xyz").write_text("0 0 0\n1 1 1\n")
    (tmp_path / "empty.obj").write_bytes(b"")
    (tmp_path / "notes.txt").write_text("hello")
    assert fit_targets.check_target(png) == png
    assert fit_targets.check_target(tmp_path / "cloud.xyz") == tmp_path / "cloud.xyz"
    for name, words in (("empty.obj", "empty.obj: an empty file, not a 3-D target"),
                        ("notes.txt", "notes.txt: not a picture .* nor a 3-D target .*\\.stl"),
                        ("gone.ply", "gone.ply: no such file")):  # fmt: skip
        with pytest.raises(JobError, match=words):
            fit_targets.check_target(tmp_path / name)


def test_the_addons_3d_suffixes_are_the_trainers(trainer):
    """The add-on cannot import the trainer (no torch in Blender): both use the core's one declaration."""
    from flowreel.addon.core.contract import shapes3d
    from flowreel.trainer.targets import mesh as mesh_target

    assert fit_targets.MESH_SUFFIXES is mesh_target.MESH_SUFFIXES is shapes3d.MESH_SUFFIXES
    assert fit_targets.POINT_SUFFIXES is mesh_target.POINT_SUFFIXES is shapes3d.POINT_SUFFIXES
    assert set(shapes3d.CONVENTIONS) == set(shapes3d.SHAPE_SUFFIXES)  # every format has its axes


def test_a_sequence_is_sorted_by_name_with_numbers_in_order(tmp_path):
    paths = [picture(tmp_path / n) for n in ("frame10.png", "frame2.png", "Frame1.png")]
    assert [p.name for p in fit_targets.check_sequence(paths)] == ["Frame1.png", "frame2.png", "frame10.png"]
    (tmp_path / "shape.obj").write_text("v 0 0 0\n")
    with pytest.raises(JobError, match="shape.obj: a sequence is made of pictures"):
        fit_targets.check_sequence([paths[0], tmp_path / "shape.obj"])
    with pytest.raises(JobError, match="two or more"):
        fit_targets.check_sequence(paths[:1])


def test_plan_reuses_a_finished_run_exports_a_missing_film_and_resumes_a_cancelled_fit(tmp_path, monkeypatch):
    monkeypatch.setitem(jobs.QUALITY, "draft", TINY)
    target = tmp_path / "blob.ply"
    target.write_bytes(b"ply bytes")
    run = fit_targets.run_dir_for_bytes(tmp_path / "runs", "blob", target.read_bytes(), "fm", 1, 40, "volume")
    assert run == fit_targets.run_dir_for_bytes(tmp_path / "runs", "blob", b"ply bytes", "fm", 1, 40, "volume")
    assert run != fit_targets.run_dir_for_bytes(tmp_path / "runs", "blob", b"edited bytes", "fm", 1, 40, "volume")
    assert run != fit_targets.run_dir_for_bytes(tmp_path / "runs", "blob", b"ply bytes", "fm", 1, 40, "surface")
    run.mkdir(parents=True)

    def plan():
        return fit_targets.plan_single(["trainer"], target, run, method="fm", quality="draft", steps=40, seed=1,
                                       fill="volume")  # fmt: skip

    first = plan()
    assert first.how == "fit" and first.argv[1:5] == ["fit", str(target), "--fill", "volume"]
    assert first.argv[first.argv.index("--export") + 1] == str(first.export)
    (run / "checkpoint.pt").write_bytes(b"x")
    (run / "density.npz").write_bytes(b"x")
    assert plan().how == "resume" and "--resume" in plan().argv
    (run / "metrics.json").write_text("{}")
    assert plan().how == "export" and plan().argv[1:3] == ["export", str(run)]
    first.export.write_bytes(b"film")
    assert plan().how == "reuse" and plan().argv is None


def test_sequence_progress_names_the_flow_and_the_panel_shows_it():
    lines = [{"event": "start", "stage": "fit", "flow": 2, "flows": 3, "steps": 40, "resume": False},
             {"event": "progress", "stage": "fit", "step": 10, "steps": 40, "loss": 0.5, "elapsed": 1.0, "eta": 75.0,
              "flow": 2, "flows": 3}]  # fmt: skip
    script = f"import json\nfor e in {lines!r}: print(json.dumps(e), flush=True)\nimport time; time.sleep(30)"
    job = Job([sys.executable, "-c", script]).start()
    try:
        for _ in range(200):
            job.poll()
            if job.step == 10:
                break
            import time

            time.sleep(0.05)
        assert job.status_line() == "Flowreel fit (flow 2/3): step 10/40, loss 0.5, ETA 1:15"
        assert job.short_lines() == ["Flow 2/3: Step 10/40", "Loss 0.5, ETA 1:15"]
    finally:
        job.kill()


def test_trainer_sequence_emits_json_progress_per_flow(trainer, tmp_path, monkeypatch):
    """The sequence CLI's --progress json: a start line per flow, progress with flow/flows, export, done."""
    import subprocess

    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    a, b = picture(tmp_path / "a.png"), picture(tmp_path / "b.png", size=24)
    out = subprocess.run([sys.executable, "-m", "flowreel.trainer", "fit", str(a), str(b),
                          "--out", str(tmp_path / "seq"), "--runs-dir", str(tmp_path / "runs"),
                          "--steps", "20", "--particles", "100",
                          "--frames-per-move", "3", "--eval-samples", "100", "--export", str(tmp_path / "s.npz"),
                          "--progress", "json"], capture_output=True, text=True, timeout=120, cwd=tmp_path)  # fmt: skip
    assert out.returncode == 0, out.stderr
    events = [json.loads(line) for line in out.stdout.splitlines()]  # stdout is nothing but JSON
    starts = [e for e in events if e["event"] == "start"]
    assert [(e["flow"], e["flows"]) for e in starts] == [(1, 2), (2, 2)]
    last = [e for e in events if e["event"] == "progress"][-1]
    assert (last["flow"], last["step"], last["steps"], last["eta"]) == (2, 20, 20, 0.0)
    assert [e["stage"] for e in events if e["event"] == "stage"][-1] == "export"
    assert events[-1]["event"] == "done" and events[-1]["export"] == str(tmp_path / "s.npz")


# ---- in Blender ----------------------------------------------------------------------------------
def last_frame(bpy, obj):
    from flowreel.addon import compat

    bpy.context.scene.frame_set(bpy.context.scene.frame_end)
    return np.asarray(compat.evaluated_point_positions(obj))


def ico(bpy, radius=1.0):
    bpy.ops.object.select_all(action="DESELECT")
    bpy.ops.mesh.primitive_ico_sphere_add(subdivisions=3, radius=radius, location=(0.0, 0.0, 0.0))
    return bpy.context.active_object


def runs(tmp_path):
    root = tmp_path / "runs"
    return sorted(p.name for p in root.iterdir()) if root.exists() else []


def test_fit_selected_object_is_a_3d_film_on_its_surface_and_again_reuses_it(addon_enabled, trainer, tmp_path):
    from flowreel.addon.ui import fit_ops

    bpy = addon_enabled
    sphere = ico(bpy, radius=1.5)
    assert bpy.ops.flowreel.fit_object(seed=1, look="ink") == {"FINISHED"}
    job = fit_ops.STATE.job
    assert job.running and "--fill" in job.argv and job.argv[job.argv.index("--fill") + 1] == "surface"
    pump()
    assert job.state == "done", job.message
    obj = bpy.data.objects["Flowreel Points"]
    assert len(obj.data.vertices) == TINY["particles"]
    end = last_frame(bpy, obj)
    # The trainer centres a shape and scales its box's longest side to 2 BOX (trainer/target3d.normalise):
    # the sphere in the film, from the object's own vertices and triangles.
    from flowreel.trainer.targets.target3d import BOX

    verts = np.array([v.co for v in sphere.data.vertices], dtype=np.float64)
    scale = 2 * BOX / np.ptp(verts, axis=0).max()
    sphere.data.calc_loop_triangles()
    tri = verts[np.array([list(t.vertices) for t in sphere.data.loop_triangles])]
    normal = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    inner = np.abs(np.einsum("ij,ij->i", normal / np.linalg.norm(normal, axis=1, keepdims=True), tri[:, 0])).min()
    r = np.linalg.norm(end, axis=1) / scale  # the sphere's box is centred on its centre, the origin
    # exact landing: every particle on the icosphere's triangles, between their planes' and the vertices' radius
    assert r.min() > inner - 1e-3 and r.max() < 1.5 + 1e-3, (r.min(), inner, r.max())
    assert np.ptp(end[:, 2]) > 0.8 * np.ptp(end[:, 0])  # a shape with depth, not a flat picture
    scene = bpy.context.scene
    scene.frame_set(scene.frame_end)
    back = np.array(scene.camera.matrix_world.to_3x3().col[2])  # the camera looks along -back
    # the 3-D view of the front (a sphere's box faces tie: -y, Blender's front), 15 deg from above; not the top view
    assert back[1] < -0.9 and 0.2 < back[2] < 0.3, back
    [run] = runs(tmp_path)
    checkpoint = tmp_path / "runs" / run / "checkpoint.pt"
    stamp = checkpoint.stat().st_mtime_ns

    # the same, unchanged object: the finished run imports again at once, no trainer started
    bpy.ops.object.select_all(action="DESELECT")
    sphere.select_set(True)
    bpy.context.view_layer.objects.active = sphere
    assert bpy.ops.flowreel.fit_object(seed=1) == {"FINISHED"}
    assert fit_ops.STATE.job is None and runs(tmp_path) == [run] and checkpoint.stat().st_mtime_ns == stamp
    assert fit_ops.STATE.last.startswith("Flowreel: imported ")
    # an edited object is another fit (another folder); not run here
    sphere.scale = (2.0, 2.0, 2.0)
    bpy.context.view_layer.update()
    assert bpy.ops.flowreel.fit_object(seed=1) == {"FINISHED"}
    assert fit_ops.STATE.job.running and len(runs(tmp_path)) == 2
    fit_ops.STATE.job.kill()
    fit_ops.tick()


def test_fit_selected_object_refuses_no_selection_and_a_camera(addon_enabled, tmp_path):
    from flowreel.addon.ui import fit_ops

    bpy = addon_enabled
    bpy.ops.object.camera_add()
    cam = bpy.context.active_object
    bpy.ops.object.select_all(action="DESELECT")
    before = counts(bpy)
    with pytest.raises(RuntimeError) as info:
        bpy.ops.flowreel.fit_object()
    assert "select a mesh, text or curve object to fit" in str(info.value) and "\n" not in str(info.value).strip()
    cam.select_set(True)
    bpy.context.view_layer.objects.active = cam
    with pytest.raises(RuntimeError, match="is a camera object"):
        bpy.ops.flowreel.fit_object()
    assert fit_ops.STATE.job is None and runs(tmp_path) == [] and counts(bpy) == before


def test_volume_of_an_open_mesh_is_the_trainers_one_line(addon_enabled, trainer, tmp_path):
    from flowreel.addon.ui import fit_ops

    bpy = addon_enabled
    bpy.ops.object.select_all(action="DESELECT")
    bpy.ops.mesh.primitive_grid_add(size=2.0)
    before = counts(bpy)
    assert bpy.ops.flowreel.fit_object(fill="volume") == {"FINISHED"}
    pump()
    assert fit_ops.STATE.last_kind == "ERROR" and "\n" not in fit_ops.STATE.last
    assert fit_ops.STATE.last.startswith("Flowreel: trainer: error: ") and "watertight" in fit_ops.STATE.last
    assert counts(bpy) == before


def test_two_pictures_make_a_sequence_in_name_order(addon_enabled, trainer, tmp_path):
    from flowreel.addon.ui import fit_ops

    bpy = addon_enabled
    picture(tmp_path / "b_ring.png", size=24)
    picture(tmp_path / "a_dot.png")
    files = [{"name": "b_ring.png"}, {"name": "a_dot.png"}]  # the browser's order: not the film's
    assert bpy.ops.flowreel.fit(directory=str(tmp_path), files=files, seed=1) == {"FINISHED"}
    job = fit_ops.STATE.job
    assert job.argv.index(str(tmp_path / "a_dot.png")) < job.argv.index(str(tmp_path / "b_ring.png"))
    seen = set()
    while fit_ops.tick() is not None:
        seen.add((job.flow, job.flows))
        __import__("time").sleep(0.05)
    assert job.state == "done", job.message
    assert (2, 2) in seen  # the panel said which flow of how many
    obj = bpy.data.objects["Flowreel Points"]
    assert [(k.kind, k.name) for k in obj.flowreel_keys] == [("noise", "noise"), ("picture", "a_dot.png"),
                                                             ("picture", "b_ring.png")]  # fmt: skip


def test_a_3d_file_through_fit_picture_and_a_bad_file_is_one_line(addon_enabled, trainer, tmp_path):
    from flowreel.addon.ui import fit_ops

    bpy = addon_enabled
    rng = np.random.default_rng(0)
    pts = rng.normal(size=(400, 3))
    pts = 2.0 * pts / np.linalg.norm(pts, axis=1, keepdims=True)  # a cloud on a sphere of radius 2
    np.savetxt(tmp_path / "ball.xyz", pts)
    (tmp_path / "notes.txt").write_text("no target")
    before = counts(bpy)
    with pytest.raises(RuntimeError) as info:
        bpy.ops.flowreel.fit(filepath=str(tmp_path / "notes.txt"))
    assert "notes.txt: not a picture" in str(info.value) and "\n" not in str(info.value).strip()
    assert fit_ops.STATE.job is None and counts(bpy) == before
    assert bpy.ops.flowreel.fit(filepath=str(tmp_path / "ball.xyz"), seed=3) == {"FINISHED"}
    assert "--fill" not in fit_ops.STATE.job.argv  # a point cloud has no surface/volume choice
    pump()
    assert fit_ops.STATE.last.startswith("Flowreel: imported "), fit_ops.STATE.last
    end = last_frame(bpy, bpy.data.objects["Flowreel Points"])
    from scipy.spatial import cKDTree

    from flowreel.trainer.targets.target3d import BOX

    lo, hi = pts.min(0), pts.max(0)  # the trainer centres the cloud's box and scales its longest side to 2 BOX
    film = (pts - (lo + hi) / 2) * (2 * BOX / (hi - lo).max())
    gap, _ = cKDTree(film).query(end)
    assert np.ptp(end[:, 2]) > 0.8 * np.ptp(end[:, 0]) and gap.max() < 0.02 * BOX, gap.max()  # on the cloud
