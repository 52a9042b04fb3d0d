"""Release artefacts (scripts/build_dist.py): the wheel and sdist pass `twine check`, every zip passes Blender's
own `blender_ext.py validate`, and the full linux-x64 zip, installed by Blender's extension API into a fresh user
folder of the bpy 5.0 module in a venv with no torch and no `trainer` on PATH, fits a picture from
bpy.ops.flowreel.fit and imports the point cloud (the bundled trainer, run with that venv's own Python), then
renders a film with bpy.ops.flowreel.render_film; both run to their end in background mode.

The full zip needs the wheel cache (`make dist-cache`: .dist-cache/linux-x64, about 320 MB, filled once) and
the torch-free venv with bpy (`make dist-cache` too: .venv-dist/bpy-5.0); under CI=true their absence fails.
"""

import json
import os
import subprocess
import sys
import tomllib
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest
from conftest import REPO, missing_dependency, require_module

from flowreel.addon.core.version import VERSION

sys.path.insert(0, str(REPO / "scripts"))
import build_dist  # noqa: E402

sys.path.pop(0)

CACHE = Path(os.environ.get("FLOWREEL_DIST_CACHE", REPO / ".dist-cache"))
CLEAN_PYTHON = Path(os.environ.get("FLOWREEL_DIST_VENV", REPO / ".venv-dist" / "bpy-5.0")) / "bin" / "python"


@pytest.fixture(scope="module")
def dists(tmp_path_factory):
    require_module("build")
    require_module("twine")
    out = tmp_path_factory.mktemp("dist")
    return {b.kind: b.path for b in build_dist.python_dists(out)}


def test_wheel_and_sdist_pass_twine_check_with_the_one_version(dists):
    assert dists["wheel"].name == f"flowreel-{VERSION}-py3-none-any.whl"
    assert dists["sdist"].name == f"flowreel-{VERSION}.tar.gz"
    report = build_dist.twine_check([dists["wheel"], dists["sdist"]])
    assert report.count("PASSED") == 2, report
    with zipfile.ZipFile(dists["wheel"]) as zf:
        names = zf.namelist()
        meta = Parser().parsestr(zf.read(f"flowreel-{VERSION}.dist-info/METADATA").decode())
    assert meta["Version"] == VERSION and meta["License-Expression"] == "MIT"
    assert any(u.startswith("Source, https://") for u in meta.get_all("Project-URL"))
    assert "Programming Language :: Python :: 3.11" in meta.get_all("Classifier")
    for needed in ("flowreel/__init__.py", "flowreel/trainer/cli/__init__.py",
                   "flowreel/addon/core/version.py", "flowreel/addon/core/trajformat.py",
                   "flowreel/trainer/targets/fonts/DejaVuSans-Bold.ttf", "flowreel/addon/blend_templates/glow.blend"):
        assert needed in names


def test_every_module_is_in_the_wheel(dists):
    """setup.py finds every package under flowreel_api/, trainer/ and addon/: none is left out of the wheel."""
    with zipfile.ZipFile(dists["wheel"]) as zf:
        names = set(zf.namelist())
    missing, count = [], 0
    for folder, package in (("flowreel_api", "flowreel"), ("trainer", "flowreel/trainer"), ("addon", "flowreel/addon")):
        for p in (REPO / folder).rglob("*.py"):
            if "__pycache__" not in p.parts:
                count += 1
                name = f"{package}/{p.relative_to(REPO / folder).as_posix()}"
                missing += [] if name in names else [name]
    assert count > 100 and not missing, missing


def test_light_zip_passes_blender_validate(tmp_path):
    require_module("bpy")  # its scripts carry blender_ext.py (not imported here)
    path = build_dist.build_addon.build(tmp_path)
    assert build_dist.validate(path).startswith("Success parsing TOML in ")
    # and the validator does refuse: a manifest whose version is not semantic
    bad = tmp_path / "bad.zip"
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(bad, "w") as dst:
        for name in src.namelist():
            data = src.read(name)
            if name.endswith("blender_manifest.toml"):
                data = data.replace(f'version = "{VERSION}"'.encode(), b'version = "banana"')
            dst.writestr(name, data)
    with pytest.raises(build_dist.DistError, match="semantic-version"):
        build_dist.validate(bad)


def test_full_manifest_adds_platform_and_wheels_before_the_tables():
    text = (REPO / "addon" / "blender_manifest.toml").read_text(encoding="utf-8")
    manifest = tomllib.loads(build_dist.full_manifest(text, "windows-x64", ["a-1-py3-none-any.whl"]))
    assert manifest["platforms"] == ["windows-x64"] and manifest["wheels"] == ["./wheels/a-1-py3-none-any.whl"]
    assert manifest["permissions"] == tomllib.loads(text)["permissions"] and manifest["version"] == VERSION


def test_markers_are_the_target_platforms_not_this_machines(tmp_path):
    """pip download alone would give Windows torch's Linux-only nvidia wheels; the resolver evaluates markers for
    the target (a Requires-Dist with a platform marker, in a hand-made wheel)."""
    wheel = tmp_path / "demo-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr("demo-1.0.dist-info/METADATA", "Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n"
                    "Requires-Dist: nvidia-nccl-cu13; platform_system == 'Linux'\n"
                    "Requires-Dist: colorama; platform_system == 'Windows'\nRequires-Dist: sympy>=1.13\n"
                    "Requires-Dist: pyyaml; extra == 'yaml'\n")  # fmt: skip
    names = {p: [r.name for r in build_dist.wheel_requirements(wheel, build_dist.marker_env(p))]
             for p in ("linux-x64", "windows-x64", "macos-arm64")}
    assert names == {"linux-x64": ["nvidia-nccl-cu13", "sympy"], "windows-x64": ["colorama", "sympy"],
                     "macos-arm64": ["sympy"]}  # fmt: skip


@pytest.fixture(scope="module")
def full_linux_zip(dists, tmp_path_factory):
    """flowreel-<version>-full-linux-x64.zip from the cached wheel set and this checkout's fresh wheel."""
    try:
        wheels = build_dist.cached_wheels("linux-x64", CACHE, dists["wheel"])
    except build_dist.DistError as e:
        missing_dependency(str(e))
    return build_dist.full_zip(tmp_path_factory.mktemp("full"), "linux-x64", wheels)


def test_full_zip_carries_the_trainer_and_passes_blender_validate(full_linux_zip):
    require_module("bpy")
    assert full_linux_zip.name == f"flowreel-{VERSION}-full-linux-x64.zip"
    with zipfile.ZipFile(full_linux_zip) as zf:
        names = zf.namelist()
        manifest = tomllib.loads(zf.read("flowreel/blender_manifest.toml").decode())
    wheels = [n.rpartition("/")[2] for n in names if n.endswith(".whl")]
    assert manifest["platforms"] == ["linux-x64"]
    assert sorted(w.removeprefix("./wheels/") for w in manifest["wheels"]) == sorted(wheels)
    for dist in ("flowreel", "torch", "torchdiffeq", "numpy", "scipy", "pillow", "trimesh", "tqdm",
                 "imageio_ffmpeg", "ffmpeg_python", "resvg_py"):
        assert any(w.startswith(dist + "-") for w in wheels), dist
    torch = next(w for w in wheels if w.startswith("torch-"))
    assert "+cpu" in torch and not any(w.startswith("nvidia") for w in wheels)  # the CPU build, no CUDA wheels
    assert build_dist.validate(full_linux_zip).startswith("Success parsing TOML in ")


INSTALL_AND_FIT = r"""
import json, os, shutil, sys, bpy
args = json.loads(sys.argv[1])
out = {"torch_in_venv": os.path.isdir(os.path.join(sys.prefix, "lib", "python3.11", "site-packages", "torch")),
       "trainer_on_path": shutil.which("trainer")}
out["install"] = sorted(bpy.ops.extensions.package_install_files(filepath=args["zip"], repo="user_default",
                                                                 enable_on_install=True))
ext = sys.modules["bl_ext.user_default.flowreel"]
from bl_ext.user_default.flowreel.jobs import runner as jobs, trainer_source
t = trainer_source.choose(ext.ui.prefs.get().trainer)
out["kind"], out["python"] = t.kind, t.argv[0] == sys.executable
out["site_in_user_folder"] = t.site.startswith(args["resources"])
# a few steps and particles: the test's budget, not the add-on's (as tests/test_addon_fit.py does)
jobs.QUALITY["draft"] = {"fm": 30, "ffjord": 5, "particles": 500, "frames": 9, "eval_samples": 500}
prefs = bpy.context.preferences.addons["bl_ext.user_default.flowreel"].preferences
prefs.runs_dir = args["runs"]
out["fit"] = sorted(bpy.ops.flowreel.fit(filepath=args["png"], seed=1))
obj = bpy.data.objects.get("Flowreel Points")
out["vertices"] = len(obj.data.vertices) if obj else 0
traj = bpy.context.scene.flowreel.filepath
out["traj_in_runs"] = traj.startswith(args["runs"])
# Render Film runs to its end too: a few tiny Workbench frames (the extension's render.py by its path)
s = bpy.context.scene.flowreel
s.seconds, s.fps, s.hold_start, s.hold_end, s.resolution = 0.5, 8, 0.0, 0.0, (64, 36)
film = os.path.join(args["runs"], "film.mp4")
out["render"] = sorted(bpy.ops.flowreel.render_film(engine="WORKBENCH", output=film))
out["film"] = os.path.isfile(film) and os.path.getsize(film) > 0
# the render child's Blender start-up left the extension's wheels in place (fit_ops.render_env)
out["still_bundled"] = trainer_source.choose("").kind
print("FLOWREEL_RESULT " + json.dumps(out))
"""


@pytest.mark.slow
def test_full_zip_installs_into_a_torch_free_bpy_and_fits(full_linux_zip, tmp_path):
    from PIL import Image, ImageDraw

    if not CLEAN_PYTHON.is_file():
        missing_dependency(f"the torch-free bpy venv {CLEAN_PYTHON.parent.parent} (make dist-cache)")
    png = tmp_path / "ring.png"
    im = Image.new("L", (48, 48), 255)
    ImageDraw.Draw(im).ellipse((8, 8, 40, 40), outline=0, width=6)
    im.save(png)
    resources = tmp_path / "resources"
    args = {"zip": str(full_linux_zip), "png": str(png), "runs": str(tmp_path / "runs"), "resources": str(resources)}
    # nothing inherited: no venv with torch on PATH, no PYTHONPATH, a fresh Blender user folder
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "LANG": "C.UTF-8", "OMP_NUM_THREADS": "1",
           "BLENDER_USER_RESOURCES": str(resources)}  # fmt: skip
    proc = subprocess.run([str(CLEAN_PYTHON), "-c", INSTALL_AND_FIT, json.dumps(args)], capture_output=True,
                          text=True, env=env, cwd=tmp_path, timeout=900)  # fmt: skip
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("FLOWREEL_RESULT ")]
    assert lines, proc.stdout[-3000:] + proc.stderr[-3000:]
    out = json.loads(lines[-1].split(" ", 1)[1])
    assert out == {"torch_in_venv": False, "trainer_on_path": None, "install": ["FINISHED"], "kind": "bundled",
                   "python": True, "site_in_user_folder": True, "fit": ["FINISHED"], "vertices": 500,
                   "traj_in_runs": True, "render": ["FINISHED"], "film": True,
                   "still_bundled": "bundled"}, out


LIGHT_ZIP_FITS = r"""
import json, os, sys, bpy
args = json.loads(sys.argv[1])
out = {"install": sorted(bpy.ops.extensions.package_install_files(filepath=args["zip"], repo="user_default",
                                                                  enable_on_install=True))}
from bl_ext.user_default.flowreel.jobs import runner as jobs, trainer_source
jobs.QUALITY["draft"] = {"fm": 20, "ffjord": 5, "particles": 300, "frames": 5, "eval_samples": 300}
prefs = bpy.context.preferences.addons["bl_ext.user_default.flowreel"].preferences
prefs.runs_dir = args["runs"]
# `trainer` on PATH fits (tests/test_addon_fit.py fits with the command set, from the checkout's add-on)
t = trainer_source.choose(prefs.trainer)
fit = sorted(bpy.ops.flowreel.fit(filepath=args["png"], seed=1))
obj = bpy.data.objects.get("Flowreel Points")
out["path"] = [t.kind, fit, len(obj.data.vertices) if obj else 0]
# the command set in the preferences wins over PATH, and passes the version check
prefs.trainer = args["set"]
t = trainer_source.choose(prefs.trainer)
out["set"] = [t.kind, list(trainer_source.check(t).argv) == jobs.resolve_command(prefs.trainer)]
print("FLOWREEL_RESULT " + json.dumps(out))
"""


@pytest.mark.slow
def test_light_zip_fits_with_a_trainer_on_path_and_one_set_in_the_preferences(tmp_path):
    """The add-on alone, installed as an extension into the bpy module of this venv: the `trainer` found on PATH
    fits, and the command set in the preferences (this Python's -m flowreel.trainer) is the one chosen."""
    require_module("bpy")
    require_module("torch")
    from PIL import Image, ImageDraw

    png = tmp_path / "dot.png"
    im = Image.new("L", (32, 32), 255)
    ImageDraw.Draw(im).ellipse((6, 6, 26, 26), fill=0)
    im.save(png)
    path = build_dist.build_addon.build(tmp_path / "dist")
    bindir = Path(sys.executable).parent
    assert (bindir / "trainer").is_file()
    args = {"zip": str(path), "png": str(png), "runs": str(tmp_path / "runs"),
            "set": f"{sys.executable} -m flowreel.trainer"}  # fmt: skip
    env = {"PATH": f"{bindir}:/usr/bin:/bin", "HOME": str(tmp_path), "LANG": "C.UTF-8", "OMP_NUM_THREADS": "1",
           "BLENDER_USER_RESOURCES": str(tmp_path / "resources")}  # fmt: skip
    proc = subprocess.run([sys.executable, "-c", LIGHT_ZIP_FITS, json.dumps(args)], capture_output=True, text=True,
                          env=env, cwd=tmp_path, timeout=900)  # fmt: skip
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("FLOWREEL_RESULT ")]
    assert lines, proc.stdout[-3000:] + proc.stderr[-3000:]
    out = json.loads(lines[-1].split(" ", 1)[1])
    assert out == {"install": ["FINISHED"], "path": ["path", ["FINISHED"], 300], "set": ["set", True]}
