"""3-D files read back as they lay in the scene (Blender's exporters with their defaults and the add-on's own
Export as Flowreel target), and a 3-D film resolves on the shape's front: a standing shape ends seen from
-y, a flat word from above with its own up as the picture's up (a render's silhouette against the letters),
the file's or the option's front wins, and the key light falls on the front faces."""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import require_module

from flowreel.addon.core import trajformat
from flowreel.addon.core.contract import shapes3d
from flowreel.addon.core.options import SceneOptions
from flowreel.addon.core.trajformat import Trajectory

E = math.radians(15.0)  # the camera's elevation over the front (addon/camera/rig.py ELEVATION_3D)


def _select_only(bpy, obj) -> None:
    for o in bpy.context.view_layer.objects:
        o.select_set(False)
    obj.select_set(True)
    bpy.context.view_layer.objects.active = obj


def _world_vertices(bpy, obj) -> np.ndarray:
    dg = bpy.context.evaluated_depsgraph_get()
    ob = obj.evaluated_get(dg)
    me = ob.to_mesh()
    co = np.array([tuple(ob.matrix_world @ v.co) for v in me.vertices], dtype=np.float64)
    ob.to_mesh_clear()
    return co


def _normalised(points: np.ndarray) -> np.ndarray:
    lo, hi = points.min(0), points.max(0)
    return (points - (lo + hi) / 2) * (8.0 / (hi - lo).max())


EXPORTERS = {
    "flowreel.ply": lambda bpy, p: bpy.ops.export_scene.flowreel_target(filepath=p),
    "flowreel.obj": lambda bpy, p: bpy.ops.export_scene.flowreel_target(filepath=p),
    "blender.obj": lambda bpy, p: bpy.ops.wm.obj_export(filepath=p),
    "blender.ply": lambda bpy, p: bpy.ops.wm.ply_export(filepath=p),
    "blender.stl": lambda bpy, p: bpy.ops.wm.stl_export(filepath=p),
    "blender.glb": lambda bpy, p: bpy.ops.export_scene.gltf(filepath=p),
}


@pytest.mark.parametrize("how", sorted(EXPORTERS))
def test_exports_with_the_defaults_read_back_as_they_lay_in_the_scene(addon_registered, tmp_path, how):
    """A turned monkey (no symmetry left) exported as a user would; the trainer's target is the scene's mesh."""
    require_module("trimesh")
    from scipy.spatial import cKDTree

    from flowreel.trainer.targets.registry import load_target

    bpy = addon_registered
    bpy.ops.mesh.primitive_monkey_add(location=(1.0, -2.0, 0.5), rotation=(0.4, 0.2, 0.9))
    obj = bpy.context.active_object
    _select_only(bpy, obj)
    want = _normalised(_world_vertices(bpy, obj))
    path = tmp_path / f"monkey.{how.split('.')[1]}"
    assert EXPORTERS[how](bpy, str(path)) == {"FINISHED"}
    t = load_target(path)
    got = t.vertices
    d_got, _ = cKDTree(want).query(got)  # every vertex read is a scene vertex, and the other way round
    d_want, _ = cKDTree(got).query(want)
    assert max(d_got.max(), d_want.max()) < 1e-3 * 8, how
    assert (t.meta()["up"], t.meta()["forward"]) == shapes3d.CONVENTIONS[path.suffix]


def _write(path, end: np.ndarray, meta: dict | None = None, T: int = 5) -> None:
    rng = np.random.default_rng(0)
    start = rng.normal(size=end.shape).astype(np.float32)
    t = np.linspace(0, 1, T, dtype=np.float32)
    pos = ((1 - t)[:, None, None] * start + t[:, None, None] * end).astype(np.float32)
    lo, hi = end.min(0), end.max(0)
    extent = [float(v) for pair in zip(lo, hi, strict=True) for v in pair]
    trajformat.write(path, Trajectory(pos, t, {"extent": extent, **(meta or {})}, None))


def _box_points(size, n=2000, seed=1) -> np.ndarray:
    return (np.random.default_rng(seed).uniform(-0.5, 0.5, (n, 3)) * np.asarray(size)).astype(np.float32)


def _opts(**kw) -> SceneOptions:
    base = dict(fps=8, seconds=1.0, hold_start=0.25, hold_end=0.5, resolution=(160, 90))
    base.update(kw)
    return SceneOptions(**base)


def _back_axis(scene) -> np.ndarray:
    scene.frame_set(scene.frame_end)
    return np.array(scene.camera.matrix_world.to_3x3().col[2])


@pytest.mark.parametrize(("move", "meta", "option", "front"), [
    ("STATIC", None, "AUTO", "-y"),  # a standing box, no front in the file: the rule's
    ("ORBIT", None, "AUTO", "-y"),
    ("STATIC", {"target": {"front": "+x"}}, "AUTO", "+x"),  # the file's front
    ("ORBIT", {"target": {"front": "+x"}}, "+Z", "+z"),  # the option wins over the file
])
def test_a_film_ends_on_the_front_the_file_or_the_option_names(addon_registered, tmp_path, move, meta, option,
                                                                front):
    from flowreel.addon.camera import rig as camera
    from flowreel.addon.scene.build import build_scene
    from flowreel.addon.ui import panel

    bpy = addon_registered
    _write(tmp_path / "s.npz", _box_points((6.0, 2.0, 8.0)), meta)  # standing: x by z is the largest face
    build_scene(bpy.context.scene, str(tmp_path / "s.npz"), _opts(camera=move, front=option))
    scene = bpy.context.scene
    np.testing.assert_allclose(_back_axis(scene), camera.view_rotation_3d(front)[:, 2], atol=1e-5)
    towards = shapes3d.axis_vector(front)
    assert _back_axis(scene) @ towards == pytest.approx(math.cos(E), abs=1e-5)  # 15 degrees off the front
    assert panel._film_front(bpy.context) == front  # what the sidebar shows
    if front == "-y":
        assert _back_axis(scene)[1] < -0.95 and _back_axis(scene)[2] > 0.2  # facing -y, a little from above


def test_rig_axes_are_the_front_views_and_the_orbit_turns_about_its_up():
    from flowreel.addon.camera import rig as camera

    for f in shapes3d.FRONTS:
        np.testing.assert_allclose(camera.euler_matrix(camera.rig_euler(f, 0.0)), shapes3d.front_basis(f), atol=1e-12)
        up = shapes3d.front_basis(f)[:, 1]
        for a in (0.7, -2.0):
            turned = camera.euler_matrix(camera.rig_euler(f, a))
            np.testing.assert_allclose(turned[:, 1], up, atol=1e-12)  # the up axis stays put
            assert turned[:, 2] @ shapes3d.front_basis(f)[:, 2] == pytest.approx(math.cos(a))


def test_the_key_light_falls_on_the_front_faces_more_than_on_their_walls(addon_registered, tmp_path):
    from flowreel.addon.scene.build import build_scene

    bpy = addon_registered
    _write(tmp_path / "s.npz", _box_points((8.0, 3.0, 0.4)))  # a flat slab: the front is +z
    build_scene(bpy.context.scene, str(tmp_path / "s.npz"), _opts(camera="ORBIT"))
    scene = bpy.context.scene
    scene.frame_set(scene.frame_end)
    key = bpy.data.objects["Flowreel Key"]
    to_light = np.array(key.matrix_world.to_3x3().col[2])  # a sun shines along its -Z
    normals = {n: shapes3d.axis_vector(n) for n in ("+z", "+x", "-x", "+y", "-y")}
    lambert = {n: max(0.0, float(to_light @ v)) for n, v in normals.items()}
    assert lambert["+z"] > 0.8  # the letters' faces
    assert all(lambert[n] < 0.5 for n in ("+x", "-x", "+y", "-y"))  # their walls
    cam = np.array(scene.camera.matrix_world.to_3x3().col[2])
    assert to_light @ cam > 0.7  # on the side the camera ends on


# "FL" made of boxes, lying flat on the ground as Blender's Text makes words (x right, y up the page, z up).
LETTERS = [(0.0, 0.3, 0.0, 2.0), (0.0, 1.2, 1.7, 2.0), (0.0, 0.9, 0.85, 1.15),  # F
           (1.6, 1.9, 0.0, 2.0), (1.6, 2.8, 0.0, 0.3)]  # L


def _letters_mesh(bpy):
    verts, faces = [], []
    for x0, x1, y0, y1 in LETTERS:
        b = len(verts)
        verts += [(x, y, z) for z in (0.0, 0.2) for y in (y0, y1) for x in (x0, x1)]
        quads = [(0, 1, 3, 2), (4, 6, 7, 5), (0, 4, 5, 1), (2, 3, 7, 6), (0, 2, 6, 4), (1, 5, 7, 3)]
        faces += [tuple(b + i for i in q) for q in quads]
    me = bpy.data.meshes.new("FL")
    me.from_pydata(verts, [], faces)
    me.update()
    ob = bpy.data.objects.new("FL", me)
    bpy.context.scene.collection.objects.link(ob)
    return ob


def _crop(mask: np.ndarray, shape=(20, 30)) -> np.ndarray:
    """The mask's bounding box averaged down to `shape` cells, a cell inked when a third of it is: silhouettes
    compared whatever their scale, the gaps between points filled."""
    from PIL import Image

    rows, cols = np.nonzero(mask)
    sub = mask[rows.min():rows.max() + 1, cols.min():cols.max() + 1].astype(np.float32)
    small = Image.fromarray(sub, mode="F").resize(shape[::-1], Image.BOX)
    return np.asarray(small) > 1 / 3


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / (a | b).sum())


@pytest.mark.parametrize("move", ["static", "orbit"])
def test_a_flat_word_exported_with_blenders_defaults_ends_readable_from_above(bpy, tmp_path, move):
    """Letters lying flat, written by Blender's OBJ exporter (y up), read by the trainer, landed exactly (the
    film's end is exact samples of the shape) and rendered: the last frame's silhouette is the letters seen
    from above, the right way up and round (IoU against the letters drawn here; their mirror images and
    the word upside down score far lower)."""
    require_module("trimesh")
    from test_addon_render_util import read_png

    from flowreel.addon.render import __main__ as render
    from flowreel.trainer.targets.registry import file_meta, load_target

    ob = _letters_mesh(bpy)
    _select_only(bpy, ob)
    assert bpy.ops.wm.obj_export(filepath=str(tmp_path / "fl.obj")) == {"FINISHED"}
    target = load_target(tmp_path / "fl.obj")
    assert target.meta()["front"] == "+z"
    end = target.sample(6000, np.random.default_rng(0))
    _write(tmp_path / "fl.npz", end, file_meta(target))
    args = ["--fps", "4", "--seconds", "0.5", "--hold-start", "0.25", "--hold-end", "0.25", "--resolution",
            "192x108", "--samples", "1", "--easing", "linear", "--camera", move, "--radius", "0.06"]
    assert render.main([str(tmp_path / "fl.npz"), "--engine", "workbench", "--no-video", "--frames-dir",
                        str(tmp_path / "frames"), "--frames", "5-5", *args]) == 0
    img = read_png(tmp_path / "frames" / "frame_0005.png").astype(np.int32)
    mask = np.abs(img - img[0, 0]).sum(axis=2) > 60  # the points against the background
    # The reference: the letters drawn from above, x to the right and y up (image rows go down).
    h, w = 200, 280
    ys, xs = np.mgrid[0:h, 0:w]
    x, y = xs / (w - 1) * 2.8, (1 - ys / (h - 1)) * 2.0
    ref = np.zeros((h, w), bool)
    for x0, x1, y0, y1 in LETTERS:
        ref |= (x >= x0) & (x <= x1) & (y >= y0) & (y <= y1)
    got, want = _crop(mask), _crop(ref)
    iou = _iou(got, want)
    wrong = max(_iou(got, np.flipud(want)), _iou(got, np.fliplr(want)), _iou(got, want[::-1, ::-1]))
    assert iou > 0.7, f"IoU {iou:.2f}"  # measured 0.79 (static), 0.83 (orbit)
    assert iou > wrong + 0.2, f"IoU {iou:.2f}, upside down or mirrored {wrong:.2f}"  # those: 0.45-0.48
