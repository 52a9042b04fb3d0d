"""Registration, the import operators, and every bad input: an ERROR report, CANCELLED, scene unchanged."""

import json

import numpy as np
import pytest

from flowreel.addon.core import trajformat
from flowreel.addon.core.trajformat import Trajectory

COUNTED = ("objects", "meshes", "materials", "node_groups", "cameras", "actions", "collections", "worlds")


def good(path, N=30):
    rng = np.random.default_rng(0)
    pos = rng.normal(size=(5, N, 2)).astype(np.float32)
    trajformat.write(path, Trajectory(pos, np.linspace(0, 1, 5, dtype=np.float32), {"extent": [-4, 4, -4, 4]}))
    return pos


def counts(bpy):
    s = bpy.context.scene
    return {k: len(getattr(bpy.data, k)) for k in COUNTED} | {
        "frame_end": s.frame_end, "fps": s.render.fps, "res": (s.render.resolution_x, s.render.resolution_y),
        "camera": s.camera}


def test_register_unregister_twice(bpy):
    from flowreel import addon
    from flowreel.addon import registration

    menu = bpy.types.TOPBAR_MT_file_import
    for _ in range(2):
        addon.register()
        assert hasattr(bpy.types.Scene, "flowreel")
        for name in ("VIEW3D_PT_flowreel", "IMPORT_SCENE_OT_flowreel", "FLOWREEL_OT_import_settings"):
            assert hasattr(bpy.types, name), name
        assert registration.menu_import in menu._dyn_ui_initialize()
        if hasattr(bpy.types, "FileHandler"):  # drag-and-drop of .npz onto the viewport (4.1+)
            assert hasattr(bpy.types, "FLOWREEL_FH_import")
        assert bpy.context.scene.flowreel.look == "glow"
        addon.unregister()
        assert not hasattr(bpy.types.Scene, "flowreel")
        for name in ("VIEW3D_PT_flowreel", "IMPORT_SCENE_OT_flowreel", "FLOWREEL_OT_import_settings"):
            assert not hasattr(bpy.types, name), name
        assert registration.menu_import not in menu._dyn_ui_initialize()
        assert not hasattr(bpy.types, "FLOWREEL_FH_import")


def test_import_operator_and_panel_button(addon_registered, tmp_path):
    bpy = addon_registered
    good(tmp_path / "t.npz")
    assert bpy.ops.import_scene.flowreel(filepath=str(tmp_path / "t.npz"), max_particles=10, camera="ORBIT",
                                         easing="LINEAR", seconds=1.0) == {"FINISHED"}
    obj = bpy.data.objects["Flowreel Points"]
    assert len(obj.data.vertices) == 10
    assert bpy.context.scene.frame_end == 1 + round(0.5 * 24) + 24 + 24
    settings = bpy.context.scene.flowreel
    settings.filepath = str(tmp_path / "t.npz")
    settings.color_mode = "SINGLE"
    settings.fps = 10
    assert bpy.ops.flowreel.import_settings() == {"FINISHED"}
    assert bpy.context.scene.render.fps == 10
    assert len([o for o in bpy.data.objects if o.name.startswith("Flowreel Points")]) == 2


def _corrupt(p):
    p.write_bytes(b"PK\x03\x04 this is not really a zip archive" * 10)


def _empty(p):
    p.write_bytes(b"")


def _wrong_keys(p):
    np.savez(p, points=np.zeros((3, 4, 2), np.float32), times=np.linspace(0, 1, 3, dtype=np.float32))


def _meta():
    return np.array(json.dumps({"format": "flowreel.traj/1", "extent": [-4, 4, -4, 4]}))


def _wrong_shape(p):
    np.savez(p, positions=np.zeros((3, 4), np.float32), times=np.linspace(0, 1, 3, dtype=np.float32), meta=_meta())


def _with(value):
    def make(p):
        pos = np.zeros((4, 5, 2), np.float32)
        pos[2, 3, 0] = value
        np.savez(p, positions=pos, times=np.linspace(0, 1, 4, dtype=np.float32), meta=_meta())

    return make


BAD = {
    "missing": (None, "no such file"),
    "corrupt": (_corrupt, "not a readable"),
    "empty": (_empty, "not a readable"),
    "wrong-keys": (_wrong_keys, "missing positions"),
    "wrong-shape": (_wrong_shape, "shape"),
    "nan": (_with(np.nan), "NaN or inf"),
    "inf": (_with(np.inf), "NaN or inf"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_file_cancels_with_error_and_scene_unchanged(addon_registered, tmp_path, case):
    bpy = addon_registered
    make, message = BAD[case]
    path = tmp_path / "bad.npz"
    if make:
        make(path)
    before = counts(bpy)
    # Called from Python, an operator's ERROR report surfaces as RuntimeError("Error: <message>")
    with pytest.raises(RuntimeError, match=message) as info:
        bpy.ops.import_scene.flowreel(filepath=str(path))
    assert "bad.npz" in str(info.value) and "Traceback" not in str(info.value)
    assert counts(bpy) == before
    assert not (tmp_path / "flowreel_cache").exists() or not any((tmp_path / "flowreel_cache").iterdir())


def test_unwritable_cache_folder(addon_registered, tmp_path):
    bpy = addon_registered
    good(tmp_path / "t.npz")
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")  # a folder below a file cannot be created, even by root
    before = counts(bpy)
    with pytest.raises(RuntimeError, match="cache folder .* is not writable"):
        bpy.ops.import_scene.flowreel(filepath=str(tmp_path / "t.npz"), cache_dir=str(blocker / "cache"))
    assert counts(bpy) == before


def test_run_import_returns_cancelled_and_reports(addon_registered, tmp_path):
    """The operator path without bpy.ops' exception translation: {'CANCELLED'} plus one ERROR line."""
    from flowreel.addon.core.options import SceneOptions
    from flowreel.addon.ui.ops import run_import

    bpy = addon_registered

    class Recorder:
        def __init__(self):
            self.reports = []

        def report(self, kind, msg):
            self.reports.append((set(kind), msg))

    op = Recorder()
    before = counts(bpy)
    assert run_import(op, bpy.context, str(tmp_path / "nope.npz"), SceneOptions()) == {"CANCELLED"}
    assert op.reports == [({"ERROR"}, "nope.npz: no such file")]
    good(tmp_path / "t.npz")
    op = Recorder()
    assert run_import(op, bpy.context, str(tmp_path / "t.npz"), SceneOptions(easing="WOBBLY")) == {"CANCELLED"}
    assert op.reports[0][0] == {"ERROR"} and "easing must be one of" in op.reports[0][1]
    assert counts(bpy) == before
