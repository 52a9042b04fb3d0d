"""3-D films and Export as Flowreel target in a real `blender -b` (Debian's 3.4 in CI): the built zip
installed as a legacy add-on imports a 3-D file (positions, an orbit that ends on the front, lights) and
exports an evaluated, moved monkey and a Text object that numpy reads back."""

import os

import numpy as np
from conftest import run_in_blender_with_zip
from test_addon_3d import STANDING, STANDING_EXTENT, write_3d
from test_addon_export_target import read_ply, xyz

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

SCRIPT = r"""
import json, math, sys
import bpy, numpy as np
args = json.loads(sys.argv[sys.argv.index("--") + 1])
bpy.ops.preferences.addon_install(filepath=args["zip"])
bpy.ops.preferences.addon_enable(module="flowreel")
from flowreel import compat
out = {"version": list(bpy.app.version)}
r = bpy.ops.import_scene.flowreel(filepath=args["traj"], resolution_x=320, resolution_y=180, fps=8, seconds=2.0,
                                  hold_start=0.5, hold_end=0.5, camera="ORBIT")
out["import"] = sorted(r)
scene = bpy.context.scene
obj = bpy.data.objects["Flowreel Points"]
scene.frame_set(scene.frame_end)
out["end"] = compat.evaluated_point_positions(obj).tolist()
out["back"] = list(scene.camera.matrix_world.to_3x3().col[2])
rig = scene.camera.parent
out["front"] = rig.get("flowreel_front")
a = rig.rotation_euler[2]
scene.frame_set(scene.frame_start)
out["turn"] = math.degrees(a - rig.rotation_euler[2])
out["lights"] = sorted(o.name for o in scene.objects if o.type == "LIGHT" and o.parent == rig)
for o in bpy.context.view_layer.objects:  # (factory settings would unload the add-on)
    o.select_set(False)
bpy.ops.mesh.primitive_monkey_add(size=2.0)
ob = bpy.context.active_object
ob.modifiers.new("sub", "SUBSURF").levels = 1
ob.location = (3.0, -2.0, 1.5)
ob.rotation_euler = (0.3, 0.0, 1.2)
bpy.context.view_layer.update()
dg = bpy.context.evaluated_depsgraph_get()
ev = ob.evaluated_get(dg)
me = ev.to_mesh()
out["monkey"] = [list(ev.matrix_world @ v.co) for v in me.vertices]
out["monkey_tris"] = sum(len(p.vertices) - 2 for p in me.polygons)
ev.to_mesh_clear()
out["export"] = sorted(bpy.ops.export_scene.flowreel_target(filepath=args["ply"]))
bpy.ops.object.text_add()
txt = bpy.context.active_object
txt.data.body = "Hi"
txt.data.extrude = 0.1
for o in bpy.context.view_layer.objects:
    o.select_set(o == txt)
out["text"] = sorted(bpy.ops.export_scene.flowreel_target(filepath=args["obj"]))
cam = bpy.data.objects.new("Shot", bpy.data.cameras.new("Shot"))
bpy.context.scene.collection.objects.link(cam)
for o in bpy.context.view_layer.objects:
    o.select_set(o == cam)
bpy.context.view_layer.objects.active = cam
try:
    bpy.ops.export_scene.flowreel_target(filepath=args["bad"])
    out["bad"] = "no error"
except RuntimeError as e:
    out["bad"] = str(e)
print("FLOWREEL_RESULT " + json.dumps(out))
"""


def test_3d_import_and_target_export_in_blender_binary(blender_exe, tmp_path):
    pos, _ = write_3d(tmp_path / "s.npz", end=STANDING, extent=STANDING_EXTENT)
    args = {"traj": str(tmp_path / "s.npz"), "ply": str(tmp_path / "m.ply"), "obj": str(tmp_path / "t.obj"),
            "bad": str(tmp_path / "bad.ply")}
    out = run_in_blender_with_zip(blender_exe, SCRIPT, args, tmp_path)
    assert out["import"] == ["FINISHED"]
    np.testing.assert_allclose(out["end"], pos[-1], atol=2e-5)
    assert len(STANDING_EXTENT) == 6 and len(STANDING) == len(out["end"])
    e = np.radians(15.0)
    np.testing.assert_allclose(out["back"], [0.0, -np.cos(e), np.sin(e)], atol=1e-5)  # ends facing -y, from above
    assert out["front"] == "-y"
    assert abs(out["turn"] - 360.0) < 1e-3  # one full turn that ends on the front
    assert out["lights"] == ["Flowreel Key", "Flowreel Rim"]
    assert out["export"] == ["FINISHED"] and out["text"] == ["FINISHED"]
    ply = read_ply(tmp_path / "m.ply")
    np.testing.assert_allclose(xyz(ply), np.array(out["monkey"]), atol=1e-4)
    assert len(ply["faces"]) == out["monkey_tris"] > 0
    lines = (tmp_path / "t.obj").read_text().splitlines()
    assert sum(ln.startswith("v ") for ln in lines) > 8 and sum(ln.startswith("f ") for ln in lines) > 8
    assert "'Shot' is a camera object" in out["bad"] and not (tmp_path / "bad.ply").exists()
