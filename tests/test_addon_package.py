"""scripts/build_addon.py: zip layout, manifest, and a real extension install with the bpy module (5.0)."""

import json
import os
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import numpy as np

from flowreel.addon.core import trajformat
from flowreel.addon.core.trajformat import Trajectory

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "scripts"))
import build_addon  # noqa: E402

sys.path.pop(0)


def test_zip_layout_and_manifest(tmp_path):
    (tmp_path / "junk").mkdir()
    path = build_addon.build(tmp_path)
    assert path.name == "flowreel-0.1.0.zip"
    names = zipfile.ZipFile(path).namelist()
    assert all(n.startswith("flowreel/") for n in names)
    assert not any("__pycache__" in n or n.endswith(".pyc") for n in names)
    for required in ("__init__.py", "registration.py", "scene/build.py", "render/__main__.py",
                     "compat.py", "core/__init__.py",
                     "core/trajformat.py",
                     "blender_manifest.toml"):
        assert f"flowreel/{required}" in names
    manifest = tomllib.loads(zipfile.ZipFile(path).read("flowreel/blender_manifest.toml").decode())
    assert manifest["schema_version"] == "1.0.0" and manifest["id"] == "flowreel"
    assert manifest["blender_version_min"] == "4.2.0" and manifest["type"] == "add-on"
    assert manifest["permissions"]["files"] == "Read pictures and trajectories, write caches, runs and films"
    assert not [p for p in os.listdir(tmp_path) if p.startswith(".tmp-")]


def test_every_addon_module_is_in_the_zip(tmp_path):
    """The zip packs the add-on's folder recursively: a new subpackage needs no entry in build_addon.py."""
    names = set(zipfile.ZipFile(build_addon.build(tmp_path)).namelist())
    addon = Path(REPO) / "addon"
    modules = [p.relative_to(addon).as_posix() for p in addon.rglob("*.py") if "__pycache__" not in p.parts]
    assert len(modules) > 40 and "jobs/runner.py" in modules
    assert not [m for m in modules if f"flowreel/{m}" not in names]


def test_addon_package_imports_without_bpy():
    code = "import sys; from flowreel import addon; assert 'bpy' not in sys.modules; print(addon.bl_info['name'])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=60)
    assert out.returncode == 0 and out.stdout.strip() == "Flowreel", out.stderr


SCRIPT = r"""
import json, sys, bpy
args = json.loads(sys.argv[1])
r = bpy.ops.extensions.package_install_files(filepath=args["zip"], repo="user_default", enable_on_install=True)
out = {"install": sorted(r), "module": "bl_ext.user_default.flowreel" in sys.modules,
       "registered": hasattr(bpy.types.Scene, "flowreel")}
out["import"] = sorted(bpy.ops.import_scene.flowreel(filepath=args["traj"], camera="PUSH_IN", look="ink"))
obj = bpy.data.objects["Flowreel Points"]
out["vertices"] = len(obj.data.vertices)
out["modifiers"] = [m.type for m in obj.modifiers]
print("FLOWREEL_RESULT " + json.dumps(out))
"""


def test_installs_as_extension_with_bpy_module(bpy, tmp_path):  # bpy fixture: skips (or fails in CI) without it
    path = build_addon.build(tmp_path / "dist")
    pos = np.random.default_rng(0).normal(size=(4, 25, 2)).astype(np.float32)
    trajformat.write(tmp_path / "t.npz", Trajectory(pos, np.linspace(0, 1, 4, dtype=np.float32),
                                                    {"extent": [-4, 4, -4, 4]}))
    args = json.dumps({"zip": str(path), "traj": str(tmp_path / "t.npz")})
    env = dict(os.environ, BLENDER_USER_RESOURCES=str(tmp_path / "resources"))
    proc = subprocess.run([sys.executable, "-c", SCRIPT, args], capture_output=True, text=True, env=env,
                          cwd=tmp_path, timeout=300)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("FLOWREEL_RESULT ")]
    assert lines, proc.stdout[-3000:] + proc.stderr[-3000:]
    out = json.loads(lines[-1].split(" ", 1)[1])
    assert out == {"install": ["FINISHED"], "module": True, "registered": True, "import": ["FINISHED"],
                   "vertices": 25, "modifiers": ["MESH_CACHE", "NODES"]}
