"""Export as Flowreel target: the selected object's evaluated mesh, in world space, as .ply / .obj that
numpy (and trimesh, the trainer's reader, when installed) read back; bad selections are one-line errors."""

from __future__ import annotations

import math
import os

import numpy as np
import pytest
from conftest import require_module


def read_ply(path) -> dict:
    """A small PLY reader (numpy only): header, vertices (structured) and triangles [F, 3]."""
    raw = open(path, "rb").read()
    end = raw.index(b"end_header\n") + len(b"end_header\n")
    header = raw[:end].decode("ascii").splitlines()
    fmt = header[1].split()[1]
    n_vert = n_face = 0
    props = []
    for line in header:
        w = line.split()
        if w[:2] == ["element", "vertex"]:
            n_vert, current = int(w[2]), "vertex"
        elif w[:2] == ["element", "face"]:
            n_face, current = int(w[2]), "face"
        elif w[0] == "property" and current == "vertex":
            props.append((w[2], {"float": "<f4", "uchar": "u1"}[w[1]]))
    body = raw[end:]
    if fmt == "ascii":
        rows = body.decode("ascii").splitlines()
        v = np.array([[float(x) for x in r.split()] for r in rows[:n_vert]])
        verts = np.empty(n_vert, dtype=props)
        for i, (name, _) in enumerate(props):
            verts[name] = v[:, i]
        f = np.array([[int(x) for x in r.split()] for r in rows[n_vert:n_vert + n_face]], dtype=np.int64)
        assert (f[:, 0] == 3).all()
        faces = f[:, 1:]
    else:
        assert fmt == "binary_little_endian"
        verts = np.frombuffer(body, dtype=props, count=n_vert)
        rest = body[verts.nbytes:]
        f = np.frombuffer(rest, dtype=[("n", "u1"), ("v", "<i4", (3,))], count=n_face)
        assert (f["n"] == 3).all() and len(rest) == f.nbytes  # nothing after the last face
        faces = f["v"]
    return {"header": header, "verts": verts, "faces": faces}


def xyz(ply) -> np.ndarray:
    v = ply["verts"]
    return np.c_[v["x"], v["y"], v["z"]].astype(np.float64)


def select_only(bpy, obj) -> None:
    for o in bpy.context.view_layer.objects:
        o.select_set(False)
    if obj is not None:
        obj.select_set(True)
    bpy.context.view_layer.objects.active = obj


def evaluated_world(bpy, obj) -> tuple[np.ndarray, int]:
    """World-space vertices and triangle count of the object's evaluated mesh, computed independently."""
    dg = bpy.context.evaluated_depsgraph_get()
    ob = obj.evaluated_get(dg)
    me = ob.to_mesh()
    mw = ob.matrix_world
    pts = np.array([tuple(mw @ v.co) for v in me.vertices])
    tris = sum(len(p.vertices) - 2 for p in me.polygons)
    ob.to_mesh_clear()
    return pts, tris


def moved_monkey(bpy):
    bpy.ops.mesh.primitive_monkey_add(size=2.0)
    obj = bpy.context.active_object
    obj.modifiers.new("sub", "SUBSURF").levels = 1
    obj.location = (3.0, -2.0, 1.5)
    obj.rotation_euler = (0.3, 0.0, math.radians(70))
    obj.scale = (1.5, 1.5, 1.5)
    return obj


@pytest.mark.parametrize("ascii", [False, True])
def test_monkey_with_modifier_exports_in_world_space(addon_registered, tmp_path, ascii):
    bpy = addon_registered
    obj = moved_monkey(bpy)
    select_only(bpy, obj)
    want, n_tris = evaluated_world(bpy, obj)
    assert len(want) > len(obj.data.vertices)  # the subdivision really adds vertices
    path = tmp_path / "monkey.ply"
    assert bpy.ops.export_scene.flowreel_target(filepath=str(path), ascii=ascii) == {"FINISHED"}
    ply = read_ply(path)
    assert ply["header"][1].startswith("format " + ("ascii" if ascii else "binary_little_endian"))
    got = xyz(ply)
    assert len(got) == len(want)
    np.testing.assert_allclose(got, want, atol=1e-4)
    assert abs(got.mean(axis=0) - (3.0, -2.0, 1.5)).max() < 0.5  # moved: world space, not object space
    faces = ply["faces"]
    assert len(faces) == n_tris > 0 and faces.min() >= 0 and faces.max() < len(got)
    assert "red" not in ply["verts"].dtype.names  # the monkey has no colours


@pytest.mark.parametrize("name", ["monkey.ply", "monkey_ascii.ply", "monkey.obj"])
def test_trimesh_reads_the_export_as_the_trainer_will(addon_registered, tmp_path, name):
    trimesh = require_module("trimesh")
    bpy = addon_registered
    obj = moved_monkey(bpy)
    select_only(bpy, obj)
    want, n_tris = evaluated_world(bpy, obj)
    path = tmp_path / name
    assert bpy.ops.export_scene.flowreel_target(filepath=str(path), ascii="ascii" in name) == {"FINISHED"}
    m = trimesh.load(str(path), process=False)
    assert len(m.vertices) == len(want) and len(m.faces) == n_tris
    # The file holds the format's axes (OBJ: y up, forward -z, as Blender's own exporter writes it); turned
    # back by the convention the trainer reads it with, it is the scene's mesh.
    from flowreel.addon.core.contract.shapes3d import CONVENTIONS, to_world

    np.testing.assert_allclose(to_world(np.asarray(m.vertices), *CONVENTIONS[path.suffix]), want, atol=1e-4)
    if path.suffix == ".obj":
        np.testing.assert_allclose(np.asarray(m.vertices)[:, 1], want[:, 2], atol=1e-4)  # the scene's z is y


def test_vertex_colours_are_exported(addon_registered, tmp_path):
    bpy = addon_registered
    bpy.ops.mesh.primitive_cube_add(size=2.0)
    obj = bpy.context.active_object
    me = obj.data
    attr = me.color_attributes.new("Col", "FLOAT_COLOR", "POINT")
    lin = np.zeros((len(me.vertices), 4), np.float32)
    lin[:, 0] = np.linspace(0.0, 1.0, len(me.vertices))  # red ramp, linear
    lin[:, 2] = 0.2140  # sRGB 128
    lin[:, 3] = 1.0
    attr.data.foreach_set("color", lin.ravel())
    me.color_attributes.active_color = attr
    select_only(bpy, obj)
    for name in ("cube.ply", "cube.obj"):
        assert bpy.ops.export_scene.flowreel_target(filepath=str(tmp_path / name)) == {"FINISHED"}
    v = read_ply(tmp_path / "cube.ply")["verts"]
    srgb = np.where(lin[:, 0] <= 0.0031308, 12.92 * lin[:, 0], 1.055 * lin[:, 0] ** (1 / 2.4) - 0.055)
    np.testing.assert_allclose(v["red"], np.round(srgb * 255), atol=1)
    np.testing.assert_allclose(v["blue"], 128, atol=1)
    assert (v["alpha"] == 255).all() and (v["green"] == 0).all()
    lines = (tmp_path / "cube.obj").read_text().splitlines()
    vs = np.array([[float(x) for x in line.split()[1:]] for line in lines if line.startswith("v ")])
    fs = np.array([[int(x) for x in line.split()[1:]] for line in lines if line.startswith("f ")])
    assert vs.shape == (8, 6) and len(fs) == 12 and fs.min() == 1 and fs.max() == 8  # 1-based triangles
    np.testing.assert_allclose(vs[:, 3] * 255, np.round(srgb * 255), atol=1)


def test_text_object_exports_as_a_mesh(addon_registered, tmp_path):
    bpy = addon_registered
    bpy.ops.object.text_add()
    obj = bpy.context.active_object
    obj.data.body = "Hi"
    obj.data.extrude = 0.1
    obj.location = (0.0, 0.0, 2.0)
    select_only(bpy, obj)
    want, n_tris = evaluated_world(bpy, obj)
    assert bpy.ops.export_scene.flowreel_target(filepath=str(tmp_path / "text.ply")) == {"FINISHED"}
    ply = read_ply(tmp_path / "text.ply")
    got = xyz(ply)
    assert len(got) == len(want) > 8 and len(ply["faces"]) == n_tris > 0
    np.testing.assert_allclose(got, want, atol=1e-4)
    np.testing.assert_allclose([got[:, 2].min(), got[:, 2].max()], [1.9, 2.1], atol=1e-4)  # extruded, moved up


@pytest.mark.parametrize("case", ["nothing", "camera", "empty_mesh", "bad_extension"])
def test_bad_selection_reports_one_line_and_writes_nothing(addon_registered, tmp_path, case):
    bpy = addon_registered
    name = "target.ply"
    if case == "nothing":
        bpy.ops.mesh.primitive_cube_add()
        select_only(bpy, None)
        expect = "select a mesh, text or curve object"
    elif case == "camera":
        cam = bpy.data.objects.new("Shot", bpy.data.cameras.new("Shot"))
        bpy.context.scene.collection.objects.link(cam)
        select_only(bpy, cam)
        expect = "'Shot' is a camera object"
    elif case == "empty_mesh":
        ob = bpy.data.objects.new("Void", bpy.data.meshes.new("Void"))
        bpy.context.scene.collection.objects.link(ob)
        select_only(bpy, ob)
        expect = "'Void' has no vertices"
    else:
        bpy.ops.mesh.primitive_cube_add()
        name = "target.stl"
        expect = "written as .ply or .obj"
    # Called from Python, an operator's ERROR report surfaces as RuntimeError("Error: <message>")
    with pytest.raises(RuntimeError, match=expect) as info:
        bpy.ops.export_scene.flowreel_target(filepath=str(tmp_path / name))
    assert len(str(info.value).strip().splitlines()) == 1  # one line, no traceback
    assert os.listdir(tmp_path) == []  # nothing written, not even a temporary file
