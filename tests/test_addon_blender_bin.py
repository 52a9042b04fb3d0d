"""The add-on in a real `blender -b` (Debian's 3.4 in CI): install the built zip as a legacy add-on,
import a trajectory through the operator, check evaluated positions, framing and a bad file."""

import os
import subprocess

import numpy as np
import pytest
from conftest import run_in_blender_with_zip

from flowreel.addon.core import trajformat
from flowreel.addon.core.trajformat import Trajectory

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

SCRIPT = r"""
import json, sys
import bpy, numpy as np
from bpy_extras.object_utils import world_to_camera_view
args = json.loads(sys.argv[sys.argv.index("--") + 1])
bpy.ops.preferences.addon_install(filepath=args["zip"])
bpy.ops.preferences.addon_enable(module="flowreel")
import flowreel
from flowreel import compat
from flowreel.core import timing
from flowreel.core.options import SceneOptions
out = {"version": list(bpy.app.version), "registered": hasattr(bpy.types.Scene, "flowreel")}
bpy.ops.wm.save_as_mainfile(filepath=args["blend"])  # saved first: the cache path is stored relative
kw = dict(fps=8, seconds=2.0, hold_start=0.5, hold_end=0.5, easing="EASE_IN_OUT", camera="ORBIT")
r = bpy.ops.import_scene.flowreel(filepath=args["traj"], resolution_x=320, resolution_y=180, **kw)
out["result"] = sorted(r)
opts = SceneOptions(resolution=(320, 180), **kw)
pos = np.load(args["traj"])["positions"]
obj = bpy.data.objects["Flowreel Points"]
scene = bpy.context.scene
err, outside = 0.0, 0
for f in range(scene.frame_start, scene.frame_end + 1):
    scene.frame_set(f)
    got = compat.evaluated_point_positions(obj)
    k = timing.flow_time(f, opts) * (len(pos) - 1)
    j = min(int(k), len(pos) - 2)
    exp = (1 - (k - j)) * pos[j] + (k - j) * pos[j + 1]
    err = max(err, float(np.abs(got[:, :2] - exp).max()))
    for p in got:
        v = world_to_camera_view(scene, scene.camera, obj.matrix_world @ __import__("mathutils").Vector(p))
        outside += not (0 <= v.x <= 1 and 0 <= v.y <= 1 and v.z > 0)
out["max_err"], out["outside"], out["frames"] = err, outside, scene.frame_end
out["cache_path"] = obj.modifiers[0].filepath
scene.render.engine = "CYCLES"
scene.cycles.samples = 2
scene.render.resolution_percentage = 50
scene.frame_set(1)
bpy.ops.wm.save_mainfile()
n_objects = len(bpy.data.objects)
try:
    bpy.ops.import_scene.flowreel(filepath=args["bad"])
    out["bad"] = "no error"
except RuntimeError as e:
    out["bad"] = str(e)
out["unchanged"] = len(bpy.data.objects) == n_objects
bpy.ops.preferences.addon_disable(module="flowreel")
out["unregistered"] = not hasattr(bpy.types.Scene, "flowreel")
print("FLOWREEL_RESULT " + json.dumps(out))
"""


@pytest.mark.blender_bin
def test_zip_installs_and_imports_in_blender_binary(blender_exe, tmp_path):
    rng = np.random.default_rng(1)
    T, N = 7, 40
    z, x = rng.normal(size=(N, 2)), rng.uniform(-3, 3, size=(N, 2))
    ts = np.linspace(0, 1, T, dtype=np.float32)
    pos = ((1 - ts)[:, None, None] * z + ts[:, None, None] * x + 0.3 * np.sin(np.pi * ts)[:, None, None])
    trajformat.write(tmp_path / "t.npz", Trajectory(pos.astype(np.float32), ts, {"extent": [-4, 4, -4, 4]}))
    (tmp_path / "bad.npz").write_bytes(b"garbage")
    args = {"traj": str(tmp_path / "t.npz"), "bad": str(tmp_path / "bad.npz"), "blend": str(tmp_path / "film.blend")}
    out = run_in_blender_with_zip(blender_exe, SCRIPT, args, tmp_path)
    assert out["registered"] and out["result"] == ["FINISHED"]
    assert out["max_err"] < 2e-5 and out["outside"] == 0 and out["frames"] == 1 + 4 + 16 + 4
    assert "bad.npz" in out["bad"] and "not a readable" in out["bad"] and out["unchanged"]
    assert out["unregistered"]
    assert out["cache_path"].startswith("//flowreel_cache")

    # The saved .blend, moved with its cache folder, renders with plain `blender -b` and no add-on:
    # the points move between frames (the Mesh Cache plays) and show up as bright pixels on the dark look.
    from PIL import Image

    farm = tmp_path / "farm"
    farm.mkdir()
    os.replace(tmp_path / "film.blend", farm / "film.blend")
    os.replace(tmp_path / "flowreel_cache", farm / "flowreel_cache")
    frames = (1, 15)
    for f in frames:
        proc = subprocess.run([blender_exe, "-b", str(farm / "film.blend"), "--factory-startup", "-o",
                               str(farm / "frame_####"), "-F", "PNG", "-f", str(f)],
                              capture_output=True, text=True, timeout=300, cwd=tmp_path)
        assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    imgs = [np.asarray(Image.open(farm / f"frame_{f:04d}.png").convert("L"), dtype=np.float32) for f in frames]
    for im in imgs:
        assert im.shape == (90, 160)
        assert (im > 60).mean() > 0.002 and np.median(im) < 30  # points drawn, background dark
    assert np.abs(imgs[0] - imgs[1]).mean() > 1.0  # different frames show different positions
