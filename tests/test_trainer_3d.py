"""3-D targets: meshes (surface and volume), point clouds and pictures with depth, from file to landed film end."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import fit_tiny, require_module

trimesh = require_module("trimesh")
require_module("torch")

from flowreel.addon.core.trajformat import read  # noqa: E402
from flowreel.trainer.fit.runs import load_run  # noqa: E402
from flowreel.trainer.flow.export import export_trajectories  # noqa: E402
from flowreel.trainer.metrics.shape import quality3d  # noqa: E402
from flowreel.trainer.targets.registry import load_target  # noqa: E402

N = 3000  # particles of the exports: enough for stable metrics, a fraction of a second to land


def _two_tone_ball(path: Path) -> Path:
    """An icosphere, red on top (z > 0) and blue below, written with vertex colours."""
    m = trimesh.creation.icosphere(subdivisions=2, radius=1.5)
    top = m.vertices[:, 2] > 0
    m.visual.vertex_colors = np.column_stack([top * 255, np.zeros(len(top)), ~top * 255, np.full(len(top), 255)])
    m.export(path)
    return path


@pytest.fixture(scope="module")
def ball_run(tmp_path_factory, one_torch_thread):
    tmp = tmp_path_factory.mktemp("ball")
    return load_run(fit_tiny(_two_tone_ball(tmp / "ball.ply"), tmp / "run"))


def _floor_spread(target, n: int, seeds: int = 6) -> dict[str, tuple[float, float]]:
    """Mean and standard deviation over independent exact sample sets of n points, for each metric: the
    tolerance of 'at the sampling floor' comes from the metric's own sampling noise, not a guess."""
    rows = [quality3d(target.sample(n, np.random.default_rng([9, s])), target, np.random.default_rng([8, s]))
            for s in range(seeds)]  # fmt: skip
    return {k: (float(np.mean([r[k] for r in rows])), float(np.std([r[k] for r in rows]))) for k in ("chamfer",
            "coverage")}  # fmt: skip


def _at_floor(points, target, spread) -> dict:
    q = quality3d(points, target, np.random.default_rng(3))
    for k, (mean, sd) in spread.items():
        # 5 standard deviations of the floor's own noise, and at least 2 % of it (a floor std can come out tiny)
        assert abs(q[k] - mean) <= max(5 * sd, 0.02 * mean), (k, q[k], mean, sd)
    return q


# ---- meshes --------------------------------------------------------------------------------------
def test_mesh_fit_lands_exactly_on_the_surface_with_vertex_colours(ball_run):
    target = ball_run.density
    assert target.dim == 3 and ball_run.model.dim == 3
    metrics = json.loads((ball_run.run_dir / "metrics.json").read_text())
    assert {"chamfer", "chamfer_floor", "coverage", "coverage_floor"} <= set(metrics)
    assert "excess_tv" not in metrics
    traj = export_trajectories(ball_run, N, 5, progress=False)
    assert traj.positions.shape == (5, N, 3)
    assert traj.meta["extent"] == pytest.approx([-4, 4, -4, 4, -4, 4])
    assert traj.meta["target"]["kind"] == "mesh" and traj.meta["target"]["colors"] == "vertex_colors"
    end = traj.positions[-1]
    spread = _floor_spread(target, N)
    _at_floor(end, target, spread)
    # the metric can fail: the 40-step flow's own ends are far from the floor
    flow_end = export_trajectories(ball_run, N, 2, progress=False, landing="flow").positions[-1]
    q_flow = quality3d(flow_end, target, np.random.default_rng(3))
    assert q_flow["chamfer"] > spread["chamfer"][0] + 20 * spread["chamfer"][1]
    # the surface of a (faceted) sphere of radius 4, its z range the whole box
    r = np.linalg.norm(end, axis=1)
    assert r.max() <= 4.0 + 1e-4 and r.min() > 3.8
    assert end[:, 2].min() < -3.5 and end[:, 2].max() > 3.5
    # colours: red above, blue below (interpolated across the equator's triangles)
    red, blue = traj.colors[:, 0].astype(int), traj.colors[:, 2].astype(int)
    assert np.all(red[end[:, 2] > 0.6] > blue[end[:, 2] > 0.6])
    assert np.all(blue[end[:, 2] < -0.6] > red[end[:, 2] < -0.6])


@pytest.mark.parametrize("suffix", [".ply", ".stl"])
def test_z_up_files_are_taken_as_they_are(tmp_path, suffix):
    path = tmp_path / f"box{suffix}"
    trimesh.creation.box(extents=(2.0, 4.0, 8.0)).apply_translation((5, 5, 5)).export(path)
    t = load_target(path)
    assert t.extent == pytest.approx([-1, 1, -2, 2, -4, 4])  # centred, the longest side (z) on [-4, 4]
    assert (t.meta()["up"], t.meta()["forward"]) == ("z", "y")
    pts = t.sample(4000, np.random.default_rng(0))
    on_a_face = np.isclose(np.abs(pts), [1, 2, 4], atol=1e-4).any(axis=1)
    assert on_a_face.all() and np.ptp(pts[:, 2]) > 7.5


@pytest.mark.parametrize("suffix", [".glb", ".gltf"])
def test_gltf_is_turned_from_y_up_to_z_up(tmp_path, suffix):
    path = tmp_path / f"box{suffix}"
    # glTF y up: the box is 8 tall (y) and 4 deep (z, toward the viewer)
    mesh = trimesh.creation.box(extents=(2.0, 8.0, 4.0)).apply_translation((0, 0, 2))
    mesh.export(path)
    t = load_target(path)
    assert t.extent == pytest.approx([-1, 1, -2, 2, -4, 4])  # glTF's y became z; its +z (front) became -y
    assert (t.meta()["up"], t.meta()["forward"], t.meta()["axes"]) == ("y", "-z", "glTF convention")


# ---- volume ----------------------------------------------------------------------------------------------
def test_fill_volume_lands_inside_the_box(tmp_path, one_torch_thread):
    path = tmp_path / "box.obj"
    trimesh.creation.box(extents=(2.0, 8.0, 4.0)).export(path)  # OBJ: y up, -z forward
    run = load_run(fit_tiny(path, tmp_path / "run", fill="volume"))
    end = export_trajectories(run, N, 3, progress=False).positions[-1]
    assert np.all(np.abs(end) <= np.array([1, 2, 4]) + 1e-5)  # the box (analytically)
    # uniform inside, not on the faces: |x| / 1 is uniform on [0, 1] (mean 1/2), few points near a face
    assert np.mean(np.abs(end[:, 0])) == pytest.approx(0.5, abs=0.04)
    assert np.mean(np.abs(end[:, 0]) > 0.99) < 0.03
    assert read_meta_fill(run) == "volume"


def read_meta_fill(run) -> str:
    return run.density.meta()["fill"]


def test_volume_samples_of_a_sphere_are_inside_and_fill_it(tmp_path):
    path = tmp_path / "ball.stl"
    trimesh.creation.icosphere(subdivisions=3).export(path)
    t = load_target(path, fill="volume")
    pts = t.sample(20000, np.random.default_rng(1))
    r = np.linalg.norm(pts, axis=1)
    assert r.max() <= 4.0 + 1e-6
    assert np.mean(r < 2.0) == pytest.approx(1 / 8, abs=0.015)  # uniform in a ball: P(r < R/2) = 1/8


def test_inside_test_matches_a_sphere():
    from flowreel.trainer.targets.mesh_inside import inside_mesh

    m = trimesh.creation.icosphere(subdivisions=4, radius=1.0)
    p = np.random.default_rng(2).uniform(-1.2, 1.2, (20000, 3))
    r = np.linalg.norm(p, axis=1)
    clear = (r < 0.99) | (r > 1.0)  # the faceted sphere lies between radius ~0.995 and 1
    inside = inside_mesh(p, m.vertices[m.faces])
    assert np.array_equal(inside[clear], r[clear] < 0.99)


# ---- point clouds ----------------------------------------------------------------------------------------
def _torus_points(n: int = 4000) -> np.ndarray:
    rng = np.random.default_rng(4)
    u, v = rng.uniform(0, 2 * np.pi, (2, n))
    return np.column_stack([(2 + 0.6 * np.cos(v)) * np.cos(u), (2 + 0.6 * np.cos(v)) * np.sin(u), 0.6 * np.sin(v)])


def test_point_cloud_npy_is_the_target(tmp_path, one_torch_thread):
    pts = _torus_points()
    np.save(tmp_path / "torus.npy", pts)
    run = load_run(fit_tiny(tmp_path / "torus.npy", tmp_path / "run"))
    t = run.density
    assert t.extent == pytest.approx([-4, 4, -4, 4, -1.2 / 5.2 * 4, 1.2 / 5.2 * 4], abs=0.02)
    traj = export_trajectories(run, N, 3, progress=False)
    end = traj.positions[-1]
    assert traj.meta["target"]["kind"] == "points" and len(traj.meta["extent"]) == 6
    # every particle ends ON a point of the cloud (world coordinates), distinct ones (N <= cloud size)
    d = np.linalg.norm(end[:, None, :] - t.points[None, :, :], axis=2).min(axis=1)
    assert d.max() < 1e-5
    assert len(np.unique(end, axis=0)) == N
    _at_floor(end, t, _floor_spread(t, N))


def test_point_cloud_xyz_with_colours_and_points_only_ply(tmp_path):
    pts = _torus_points(500)
    rgb = np.where(pts[:, :1] > 0, [[255, 0, 0]], [[0, 255, 0]])
    np.savetxt(tmp_path / "t.xyz", np.column_stack([pts, rgb]), fmt="%.6f")
    t = load_target(tmp_path / "t.xyz")
    pos, col = t.sample_with_colors(500, np.random.default_rng(0))
    assert len(np.unique(pos, axis=0)) == 500 and len(t.extent) == 6
    far = np.abs(pos[:, 0]) > 0.2  # centring moves x = 0 a little (the bounding box's centre)
    assert np.all((col[far, 0] == 255) == (pos[far, 0] > 0))  # the file's colours travel with their points
    rgba = np.column_stack([rgb, np.full(500, 255)]).astype(np.uint8)
    trimesh.PointCloud(pts, colors=rgba).export(tmp_path / "t.ply")
    t2 = load_target(tmp_path / "t.ply")
    assert t2.kind == "points" and len(t2.points) == 500
    assert t2.extent == pytest.approx(t.extent, abs=1e-5)
    pos, col = t2.sample_with_colors(500, np.random.default_rng(0))
    far = np.abs(pos[:, 0]) > 0.2
    assert np.all((col[far, 0] == 255) == (pos[far, 0] > 0))


# ---- picture with depth -------------------------------------------------------------------------------
def test_picture_with_depth_is_a_slab(tmp_path, one_torch_thread):
    from PIL import Image

    img = np.full((40, 60, 3), 255, np.uint8)
    img[10:30, 5:25] = (200, 0, 0)  # a red square on the left
    img[10:30, 40:55] = (0, 0, 200)  # a blue bar on the right
    Image.fromarray(img).save(tmp_path / "two.png")
    # the 60x40 canvas pixel for pixel (no crop to the ink, no smooth resampling: tests/test_picture_*.py)
    run = load_run(fit_tiny(tmp_path / "two.png", tmp_path / "run", depth=1.0, crop="none", max_side=60))
    t = run.density
    assert t.extent == pytest.approx([-4, 4, -8 / 3, 8 / 3, -0.5, 0.5])
    traj = export_trajectories(run, N, 3, progress=False)
    end = traj.positions[-1]
    assert traj.meta["target"]["depth"] == 1.0 and traj.meta["image"]["name"] == "two.png"
    z = end[:, 2]
    assert z.min() >= -0.5 and z.max() <= 0.5
    assert z.min() < -0.45 and z.max() > 0.45 and np.std(z) == pytest.approx(1 / np.sqrt(12), rel=0.1)
    assert np.all(np.isfinite(t.density.log_density(end[:, :2])))  # every particle on an inked pixel
    left = end[:, 0] < 0
    assert np.all(traj.colors[left, 0] == 200) and np.all(traj.colors[~left, 2] == 200)


# ---- the CLI: export, eval, bad input ----------------------------------------------------------------
def test_cli_export_and_eval_of_a_3d_run(ball_run, tmp_path, capsys):
    from flowreel.trainer.cli import main

    out = tmp_path / "ball.npz"
    assert main(["export", str(ball_run.run_dir), "--export", str(out), "--particles", "2000", "--frames", "4",
                 "-q"]) == 0  # fmt: skip
    traj = read(out)
    assert traj.positions.shape == (4, 2000, 3) and len(traj.meta["extent"]) == 6
    assert traj.keys[-1]["kind"] == "mesh"
    assert main(["eval", str(ball_run.run_dir), "--tv-particles", "2000", "-q"]) == 0
    printed = capsys.readouterr().out
    assert "Chamfer" in printed and "coverage" in printed
    result = json.loads((ball_run.run_dir / "eval.json").read_text())
    assert result["chamfer"] > result["chamfer_floor"] > 0


def _bad_inputs(tmp: Path) -> list[tuple[list[str], str]]:
    (tmp / "garbage.glb").write_bytes(b"glTF\x02\x00\x00\x00garbage")
    (tmp / "empty.obj").write_text("")
    (tmp / "flat.obj").write_text("v 0 0 0\nv 1 0 0\nv 2 0 0\nf 1 2 3\n")
    (tmp / "nan.obj").write_text("v 0 0 0\nv 1 0 0\nv nan 1 0\nf 1 2 3\n")
    (tmp / "open.obj").write_text("v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n")
    np.save(tmp / "flat.npy", np.zeros((5, 2)))
    nan = np.ones((5, 3))
    nan[2, 1] = np.nan
    np.save(tmp / "nan.npy", nan)
    (tmp / "shape.fbx").write_text("not a format we read")
    return [
        (["garbage.glb"], "cannot read as a mesh"),
        (["empty.obj"], "empty mesh"),
        (["flat.obj"], "zero surface area"),
        (["nan.obj"], "NaN"),
        (["open.obj", "--fill", "volume"], "watertight"),
        (["flat.npy"], "[N, 3]"),
        (["nan.npy"], "NaN"),
        (["shape.fbx"], "not a picture, mesh or point cloud"),
    ]


def _check_failure(code: int, stderr: str, args: list[str], problem: str) -> None:
    assert code != 0, args
    lines = stderr.splitlines()
    assert len(lines) == 1 and "Traceback" not in stderr, stderr
    assert lines[0].startswith(f"trainer: error: {args[0]}: ") and problem in lines[0], (args, lines)


def test_bad_3d_inputs_fail_in_one_line_and_write_nothing(tmp_path, capsys, monkeypatch):
    from flowreel.trainer.cli import main

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("FLOWREEL_DEBUG", raising=False)
    for args, problem in _bad_inputs(tmp_path):
        before = set(tmp_path.iterdir())
        code = main(["fit", *args, "--out", "run", "--export", "t.npz", "-q"])
        _check_failure(code, capsys.readouterr().err, args, problem)
        assert set(tmp_path.iterdir()) == before, args  # no run folder, no export, no temporary file


def test_bad_3d_input_through_the_installed_command(tmp_path):
    trainer = Path(sys.executable).with_name("trainer")
    cmd = [str(trainer)] if trainer.exists() else [sys.executable, "-m", "flowreel.trainer.cli"]
    cases = dict((a[0], (a, p)) for a, p in _bad_inputs(tmp_path))
    for args, problem in (cases["garbage.glb"], cases["open.obj"]):
        before = set(tmp_path.iterdir())
        r = subprocess.run([*cmd, "fit", *args, "--out", "run", "--export", "t.npz", "-q"], cwd=tmp_path,
                           capture_output=True, text=True, env={**os.environ, "FLOWREEL_DEBUG": ""})  # fmt: skip
        _check_failure(r.returncode, r.stderr, args, problem)
        assert set(tmp_path.iterdir()) == before, args


# ---- the whole job ---------------------------------------------------------------------------------------
@pytest.mark.slow
def test_movie_of_a_mesh_end_to_end(tmp_path, ball_run, ffmpeg_exe, ffprobe_exe):
    """`trainer movie shape.ply`: fits, exports a valid 3-D file and renders it (tiny budget, bpy or blender)."""
    from conftest import TINY_FIT, decode_video, probe_video
    from test_addon_render_util import read_png

    from flowreel.trainer.film.movie import MovieSettings, make_movie, summary
    from flowreel.trainer.fit.loop import FitConfig

    if require_module("bpy") is None:
        return
    shape = _two_tone_ball(tmp_path / "shape.ply")
    s = MovieSettings(image=shape, output=tmp_path / "film.mp4", particles=1500, samples=1, resolution=(96, 64),
                      seconds=0.5, fps=8, hold_start=0.0, hold_end=0.0, runs_root=tmp_path / "runs",
                      fit_config=FitConfig(**TINY_FIT))  # fmt: skip
    result = make_movie(s)
    n_frames = 5  # 0.5 s at 8 fps and the frame at t = 1, no holds
    assert probe_video(ffprobe_exe, result.files[0]) == (n_frames, 96, 64)
    (traj_path,) = (tmp_path / "runs").glob("*/traj-*.npz")
    traj = read(traj_path)
    assert traj.dim == 3 and len(traj.extent) == 6 and traj.meta["landing"]["method"] == "exact"
    assert "Chamfer" in summary(result)
    frames = sorted((tmp_path / "film_frames").glob("frame_*.png"))
    assert [f.name for f in frames] == [f"frame_{i:04d}.png" for i in range(1, n_frames + 1)]
    pngs = [read_png(f) for f in frames]
    assert all(p.max() > 100 for p in pngs)  # the particles are in view on every frame
    # The film is these frames, in this order: each decoded frame is nearest its own PNG (frames differ: orbit).
    film = decode_video(ffmpeg_exe, result.files[0], tmp_path / "decoded")
    for i, decoded in enumerate(film):
        errors = [np.abs(decoded - p).mean() for p in pngs]
        others = min(e for j, e in enumerate(errors) if j != i)
        assert errors[i] < 0.5 * others, (i, errors)  # its own frame, clearly (H.264 at 96x64 blurs a little)
    # no --camera: a 3-D target orbits (a picture stays static: tests/test_movie.py)
    record = json.loads((tmp_path / "film_frames" / "flowreel_render.json").read_text())
    assert record["camera"] == "ORBIT"


def test_preview_of_a_3d_file_is_the_front_view(ball_run):
    from flowreel.trainer.film.preview import render_frames

    traj = export_trajectories(ball_run, 2000, 2, progress=False)
    last = list(render_frames(traj, size=128, glow=0.0))[-1].astype(float).sum(axis=2)
    lit = last > last.min() + 60
    rows, cols = np.nonzero(lit)
    # the sphere's front view is a disc: as tall as wide, centred
    assert abs(np.ptp(rows) - np.ptp(cols)) <= 0.1 * np.ptp(cols)
    assert abs(rows.mean() - last.shape[0] / 2) < 5 and abs(cols.mean() - last.shape[1] / 2) < 5


@pytest.mark.parametrize("form", ["ply-binary", "ply-ascii", "obj"])
def test_reads_what_the_addons_export_target_writes(tmp_path, form):
    """Blender's "Export as Flowreel target" (addon/ui/export_target.py) writes .ply or .obj with vertex colours."""
    from flowreel.addon.ui.export_target import TargetMesh, obj_bytes, ply_bytes

    m = trimesh.creation.icosphere(subdivisions=2)
    top = m.vertices[:, 2] > 0
    colors = np.column_stack([top * 255, np.zeros(len(top)), ~top * 255, np.full(len(top), 255)]).astype(np.uint8)
    tm = TargetMesh(m.vertices.astype(np.float32), m.faces.astype(np.int32), colors)
    path = tmp_path / ("t.obj" if form == "obj" else "t.ply")
    path.write_bytes(obj_bytes(tm) if form == "obj" else ply_bytes(tm, ascii=form == "ply-ascii"))
    t = load_target(path)
    assert t.kind == "mesh" and len(t.faces) == len(m.faces) and t.meta()["colors"] == "vertex_colors"
    pts, col = t.sample_with_colors(2000, np.random.default_rng(0))
    assert np.all(col[pts[:, 2] > 1.5, 0] > 200) and np.all(col[pts[:, 2] < -1.5, 2] > 200)  # off the equator
