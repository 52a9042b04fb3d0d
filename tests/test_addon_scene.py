"""build_scene with the bpy module: evaluated point positions, timing, camera framing, attributes, rollback."""

import os
import shutil

import numpy as np
import pytest

from flowreel.addon.core import trajformat
from flowreel.addon.core.options import SceneOptions
from flowreel.addon.core.trajformat import Trajectory

T, N = 9, 60


def make_traj(path, D=2, colors=True, seed=0, T=T, N=N):
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(N, D)).astype(np.float32)
    x = rng.uniform(-3, 3, size=(N, D)).astype(np.float32)
    if D == 3:
        x[:, 2] *= 0.2
    ts = np.linspace(0, 1, T, dtype=np.float32)
    # a curved path, so linear interpolation between samples is not the same as between ends
    pos = (1 - ts)[:, None, None] * z + ts[:, None, None] * x + np.sin(np.pi * ts)[:, None, None] * 0.5
    pos = pos.astype(np.float32)
    cols = rng.integers(0, 256, size=(N, 4), dtype=np.uint8) if colors else None
    trajformat.write(path, Trajectory(pos, ts, {"extent": [-4, 4, -3, 3] + [-1, 1] * (D == 3)}, cols))
    return pos, cols


def expected(pos, t):
    k = t * (len(pos) - 1)
    j = min(int(np.floor(k)), len(pos) - 2)
    w = k - j
    p = (1 - w) * pos[j] + w * pos[j + 1]
    return np.pad(p, ((0, 0), (0, 3 - p.shape[1])))


def evaluated(bpy, obj, frame):
    from flowreel.addon import compat

    bpy.context.scene.frame_set(frame)
    return compat.evaluated_point_positions(obj)


def small(**kw):
    base = dict(fps=8, seconds=2.0, hold_start=0.5, hold_end=0.5, resolution=(320, 180))
    base.update(kw)
    return SceneOptions(**base)


@pytest.mark.parametrize(
    "kw",
    [
        {},
        {"easing": "LINEAR", "reverse": True},
        {"easing": "EASE_OUT", "ping_pong": True},
        {"easing": "EASE_IN", "hold_start": 1.0, "hold_end": 0.0},
    ],
    ids=["ease-in-out", "linear-reverse", "ease-out-pingpong", "ease-in-hold"],
)
def test_evaluated_positions_follow_timing(bpy, tmp_path, kw):
    from flowreel.addon.core import timing
    from flowreel.addon.scene.build import build_scene

    pos, _ = make_traj(tmp_path / "t.npz")
    opts = small(**kw)
    obj = build_scene(bpy.context.scene, str(tmp_path / "t.npz"), opts)
    scene = bpy.context.scene
    lay = timing.layout(opts)
    assert (scene.frame_start, scene.frame_end) == (lay.start, lay.end)
    frames = sorted({lay.start, lay.flow_start, lay.flow_start + 3, (lay.flow_start + lay.flow_end) // 2,
                     lay.flow_end - 1, lay.flow_end, lay.end, lay.back_start + 2})
    seen = set()
    for f in frames:
        t = timing.flow_time(f, opts)
        seen.add(round(t, 3))
        np.testing.assert_allclose(evaluated(bpy, obj, f), expected(pos, t), atol=2e-5, err_msg=f"frame {f}, t={t}")
    assert {0.0, 1.0} <= seen and len(seen) >= 4  # holds and in-between times were all checked
    if kw.get("reverse"):
        np.testing.assert_allclose(evaluated(bpy, obj, lay.start), expected(pos, 1.0), atol=2e-5)


def test_3d_subset_and_index_attribute(bpy, tmp_path):
    from flowreel.addon.scene.build import build_scene, subset_indices

    pos, _ = make_traj(tmp_path / "t.npz", D=3)
    obj = build_scene(bpy.context.scene, str(tmp_path / "t.npz"), small(max_particles=17, seed=3))
    idx = subset_indices(N, 17, 3)
    assert len(obj.data.vertices) == 17
    stored = np.empty(17, np.int32)
    obj.data.attributes["flowreel_index"].data.foreach_get("value", stored)
    np.testing.assert_array_equal(stored, idx)
    from flowreel.addon.core import timing

    f = (timing.layout(small()).flow_start + timing.layout(small()).flow_end) // 2
    t = timing.flow_time(f, small())
    np.testing.assert_allclose(evaluated(bpy, obj, f), expected(pos[:, idx], t), atol=2e-5)


@pytest.mark.parametrize("move", ["STATIC", "PUSH_IN", "ORBIT"])
@pytest.mark.parametrize("resolution", [(320, 180), (180, 320)])
def test_camera_sees_every_particle_on_every_frame(bpy, tmp_path, move, resolution):
    from bpy_extras.object_utils import world_to_camera_view
    from mathutils import Vector

    from flowreel.addon.scene.build import build_scene

    make_traj(tmp_path / "t.npz")
    opts = small(camera=move, resolution=resolution, framing="ALL")
    obj = build_scene(bpy.context.scene, str(tmp_path / "t.npz"), opts)
    scene = bpy.context.scene
    cam = scene.camera
    assert cam is not None and cam.type == "CAMERA"
    widest = 0.0
    for f in range(scene.frame_start, scene.frame_end + 1):
        pts = evaluated(bpy, obj, f)
        mw = obj.matrix_world
        for p in pts:
            v = world_to_camera_view(scene, cam, mw @ Vector(p))
            assert 0.0 <= v.x <= 1.0 and 0.0 <= v.y <= 1.0 and v.z > 0, (f, tuple(v))
            widest = max(widest, abs(v.x - 0.5), abs(v.y - 0.5))
    assert widest > 0.3  # framed, not lost in the distance
    if move == "STATIC":
        # looks straight down -Z with +Y up
        m = cam.matrix_world.to_3x3()
        np.testing.assert_allclose(tuple(m.col[2]), (0, 0, 1), atol=1e-6)
        np.testing.assert_allclose(tuple(m.col[1]), (0, 1, 0), atol=1e-6)


def picture_corners(radius: float, extent=(-4, 4, -3, 3)):
    x0, x1, y0, y1 = extent
    return [(x, y, 0.0) for x in (x0 - radius, x1 + radius) for y in (y0 - radius, y1 + radius)]


def projected(bpy, points):
    """Camera-view coordinates (x, y in 0..1 inside the frame, z = depth) of world points, this frame."""
    from bpy_extras.object_utils import world_to_camera_view
    from mathutils import Vector

    scene = bpy.context.scene
    return np.array([tuple(world_to_camera_view(scene, scene.camera, Vector(p))) for p in points])


@pytest.mark.parametrize("move", ["STATIC", "PUSH_IN"])
@pytest.mark.parametrize("resolution", [(320, 180), (180, 320), (200, 200)])
@pytest.mark.parametrize("margin", [0.08, 0.0, 0.15])
def test_picture_framing_fills_the_frame_at_the_end(bpy, tmp_path, move, resolution, margin):
    from flowreel.addon.scene.build import auto_radius, build_scene

    make_traj(tmp_path / "t.npz")
    opts = small(camera=move, resolution=resolution, margin=margin)
    assert opts.framing == "PICTURE"  # the default
    build_scene(bpy.context.scene, str(tmp_path / "t.npz"), opts)
    scene = bpy.context.scene
    scene.frame_set(scene.frame_end)
    v = projected(bpy, picture_corners(auto_radius([-4, 4, -3, 3], N)))
    assert (v[:, :2] >= -1e-6).all() and (v[:, :2] <= 1 + 1e-6).all() and (v[:, 2] > 0).all()
    fill = max(v[:, 0].max() - v[:, 0].min(), v[:, 1].max() - v[:, 1].min())  # the limiting dimension
    assert fill >= 0.85
    np.testing.assert_allclose(fill, 1 / (1 + margin), atol=2e-3)


def test_push_in_ends_on_the_picture_framing(bpy, tmp_path):
    from flowreel.addon.scene.build import build_scene

    make_traj(tmp_path / "t.npz")
    build_scene(bpy.context.scene, str(tmp_path / "t.npz"), small())
    scene = bpy.context.scene
    scene.frame_set(scene.frame_end)
    still = scene.camera.matrix_world.copy()
    bpy.ops.wm.read_factory_settings(use_empty=True)
    build_scene(bpy.context.scene, str(tmp_path / "t.npz"), small(camera="PUSH_IN"))
    scene = bpy.context.scene
    scene.frame_set(scene.frame_start)
    start = scene.camera.matrix_world.copy()
    scene.frame_set(scene.frame_end)
    np.testing.assert_allclose(np.array(scene.camera.matrix_world), np.array(still), atol=1e-5)
    assert (start.translation - still.translation).length > 0.1


@pytest.mark.parametrize("resolution", [(320, 180), (180, 320)])
def test_orbit_keeps_the_picture_in_view_at_every_angle(bpy, tmp_path, resolution):
    from flowreel.addon.scene.build import auto_radius, build_scene

    make_traj(tmp_path / "t.npz")
    build_scene(bpy.context.scene, str(tmp_path / "t.npz"), small(camera="ORBIT", resolution=resolution))
    scene = bpy.context.scene
    corners = picture_corners(auto_radius([-4, 4, -3, 3], N))
    widest = 0.0
    for f in range(scene.frame_start, scene.frame_end + 1):
        scene.frame_set(f)
        v = projected(bpy, corners)
        assert (v[:, :2] >= -1e-6).all() and (v[:, :2] <= 1 + 1e-6).all() and (v[:, 2] > 0).all(), f
        widest = max(widest, np.abs(v[:, :2] - 0.5).max())
    assert widest > 0.4  # framed tightly at its widest angle, not lost in the distance


def test_picture_framing_may_crop_strays_all_keeps_them(bpy, tmp_path):
    from flowreel.addon.scene.build import build_scene

    pos, _ = make_traj(tmp_path / "t.npz")
    far = pos.copy()
    far[-1, 0] = (40.0, 30.0)  # one stray ends far outside the picture
    trajformat.write(tmp_path / "s.npz", Trajectory(far, np.linspace(0, 1, T, dtype=np.float32),
                                                    {"extent": [-4, 4, -3, 3]}))
    for framing, inside in (("PICTURE", False), ("ALL", True)):
        bpy.ops.wm.read_factory_settings(use_empty=True)
        build_scene(bpy.context.scene, str(tmp_path / "s.npz"), small(framing=framing))
        scene = bpy.context.scene
        scene.frame_set(scene.frame_end)
        v = projected(bpy, [(40.0, 30.0, 0.0)])[0]
        assert (0 <= v[0] <= 1 and 0 <= v[1] <= 1) == inside, framing


def test_bad_framing_and_margin_are_one_line_errors():
    with pytest.raises(ValueError, match="framing must be one of"):
        SceneOptions(framing="SOME").check()
    for m in (-0.1, 1.5, float("nan")):
        with pytest.raises(ValueError, match="margin must be between 0 and 1"):
            SceneOptions(margin=m).check()


def test_push_in_and_orbit_move(bpy, tmp_path):
    from flowreel.addon.scene.build import build_scene

    make_traj(tmp_path / "t.npz")
    scene = bpy.context.scene
    build_scene(scene, str(tmp_path / "t.npz"), small(camera="PUSH_IN"))
    scene.frame_set(scene.frame_start)
    far = scene.camera.matrix_world.translation.z
    scene.frame_set(scene.frame_end)
    assert scene.camera.matrix_world.translation.z < far * 0.9
    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    build_scene(scene, str(tmp_path / "t.npz"), small(camera="ORBIT", depth_of_field=True))
    scene.frame_set(scene.frame_start)
    a = scene.camera.matrix_world.translation.copy()
    scene.frame_set(scene.frame_end)
    b = scene.camera.matrix_world.translation.copy()
    assert (a - b).length > 0.1 and abs(a.z - b.z) < 1e-4  # turns around the plane at a constant height
    assert scene.camera.data.dof.use_dof and scene.camera.data.dof.focus_object is not None


def test_attributes_and_colour_modes(bpy, tmp_path):
    from flowreel.addon.scene.build import build_scene

    pos, cols = make_traj(tmp_path / "t.npz")

    def attr(obj, name, width):
        a = obj.data.attributes[name]
        field = {"FLOAT_COLOR": "color", "FLOAT_VECTOR": "vector", "FLOAT": "value"}[a.data_type]
        out = np.empty(len(a.data) * width, np.float32)
        a.data.foreach_get(field, out)
        return a.data_type, a.domain, out.reshape(len(a.data), width) if width > 1 else out

    obj = build_scene(bpy.context.scene, str(tmp_path / "t.npz"), small())
    kind, domain, c = attr(obj, "flowreel_color", 4)
    assert (kind, domain) == ("FLOAT_COLOR", "POINT")
    srgb = cols[:, :3] / 255.0
    lin = np.where(srgb <= 0.04045, srgb / 12.92, ((srgb + 0.055) / 1.055) ** 2.4)
    np.testing.assert_allclose(c[:, :3], lin, atol=1e-5)
    np.testing.assert_allclose(c[:, 3], cols[:, 3] / 255.0, atol=1e-6)
    np.testing.assert_allclose(attr(obj, "flowreel_display", 4)[2], c)  # IMAGE mode shows image colours
    kind, _, start = attr(obj, "flowreel_start", 3)
    assert kind == "FLOAT_VECTOR"
    np.testing.assert_allclose(start[:, :2], pos[0])
    np.testing.assert_array_equal(start[:, 2], 0)  # a picture's particles start on the z = 0 plane
    kind, _, ids = attr(obj, "flowreel_id", 1)
    assert kind == "FLOAT" and ids.min() >= 0 and ids.max() < 1 and len(np.unique(ids)) == N

    obj = build_scene(bpy.context.scene, str(tmp_path / "t.npz"), small(color_mode="SINGLE", color=(0.1, 0.2, 0.3, 1)))
    np.testing.assert_allclose(attr(obj, "flowreel_display", 4)[2], np.tile([0.1, 0.2, 0.3, 1], (N, 1)), atol=1e-6)
    obj = build_scene(bpy.context.scene, str(tmp_path / "t.npz"), small(color_mode="GRADIENT"))
    g = attr(obj, "flowreel_display", 4)[2]
    assert g[:, :3].std(axis=0).max() > 0.1  # colours really vary with start position
    u = pos[0, :, 0] + pos[0, :, 1]
    lo, hi = np.argmin(u), np.argmax(u)
    assert not np.allclose(g[lo], g[hi])

    make_traj(tmp_path / "nocol.npz", colors=False)
    obj = build_scene(bpy.context.scene, str(tmp_path / "nocol.npz"), small())
    np.testing.assert_array_equal(attr(obj, "flowreel_display", 4)[2], np.ones((N, 4)))


def test_scene_settings_material_and_radius(bpy, tmp_path):
    from flowreel.addon.scene.build import auto_radius, build_scene

    make_traj(tmp_path / "t.npz")
    scene = bpy.context.scene
    obj = build_scene(scene, str(tmp_path / "t.npz"), small(fps=12, resolution=(400, 300), motion_blur=True))
    assert scene.render.fps == 12 and scene.render.fps_base == 1.0
    assert (scene.render.resolution_x, scene.render.resolution_y) == (400, 300)
    assert scene.render.use_motion_blur
    cache, geo = obj.modifiers
    assert (cache.type, cache.cache_format, cache.play_mode, cache.interpolation) == ("MESH_CACHE", "PC2", "CUSTOM",
                                                                                     "LINEAR")
    assert geo.type == "NODES" and obj.active_material is not None
    idnames = {n.bl_idname for n in geo.node_group.nodes}
    assert {"GeometryNodeMeshToPoints", "GeometryNodeSetMaterial"} <= idnames
    set_mat = next(n for n in geo.node_group.nodes if n.bl_idname == "GeometryNodeSetMaterial")
    assert set_mat.inputs["Material"].default_value == obj.active_material
    r = auto_radius([-4, 4, -3, 3], N)
    radius_values = [v for k, v in geo.items() if isinstance(v, float)]
    assert radius_values == [pytest.approx(r)]
    assert os.path.isfile(cache.filepath)  # unsaved .blend: absolute path beside the .npz
    assert os.path.dirname(cache.filepath) == str(tmp_path / "flowreel_cache")

    obj = build_scene(scene, str(tmp_path / "t.npz"), small(radius=0.123))
    assert [v for k, v in obj.modifiers[1].items() if isinstance(v, float)] == [pytest.approx(0.123)]


def test_failure_midway_leaves_scene_unchanged(bpy, tmp_path, monkeypatch):
    from flowreel.addon.camera import rig as camera
    from flowreel.addon.scene.build import SceneError, build_scene

    make_traj(tmp_path / "t.npz")
    scene = bpy.context.scene
    kinds = ("objects", "meshes", "materials", "node_groups", "cameras", "actions", "collections", "worlds", "lights",
             "scenes")
    before = {k: len(getattr(bpy.data, k)) for k in kinds}
    world = scene.world
    frame_end, fps = scene.frame_end, scene.render.fps

    def boom(*a, **k):
        raise RuntimeError("camera exploded")

    monkeypatch.setattr(camera, "setup_camera", boom)
    with pytest.raises(SceneError, match="camera exploded"):
        build_scene(scene, str(tmp_path / "t.npz"), small(fps=7))
    after = {k: len(getattr(bpy.data, k)) for k in before}
    assert after == before
    assert (scene.frame_end, scene.render.fps, scene.camera, scene.world) == (frame_end, fps, None, world)
    assert os.listdir(tmp_path / "flowreel_cache") == []  # its cache file was removed too


def test_saved_blend_plays_from_relative_cache_after_moving(bpy, tmp_path):
    from flowreel.addon.core import timing
    from flowreel.addon.scene.build import build_scene

    pos, _ = make_traj(tmp_path / "t.npz")
    project = tmp_path / "project"
    project.mkdir()
    bpy.ops.wm.save_as_mainfile(filepath=str(project / "film.blend"))
    opts = small()
    obj = build_scene(bpy.context.scene, str(tmp_path / "t.npz"), opts)
    assert obj.modifiers[0].filepath.startswith("//flowreel_cache" + os.sep) or obj.modifiers[0].filepath.startswith(
        "//flowreel_cache/")
    bpy.ops.wm.save_mainfile()
    # a render farm gets the .blend and its cache folder somewhere else, without the .npz
    farm = tmp_path / "farm"
    shutil.move(str(project), str(farm))
    os.unlink(tmp_path / "t.npz")
    bpy.ops.wm.read_factory_settings(use_empty=True)
    bpy.ops.wm.open_mainfile(filepath=str(farm / "film.blend"))
    obj = bpy.data.objects["Flowreel Points"]
    for f in (1, 10, 16, 25):
        np.testing.assert_allclose(evaluated(bpy, obj, f), expected(pos, timing.flow_time(f, opts)), atol=2e-5)


def test_grey_pictures_get_one_ink_and_colour_pictures_keep_theirs(bpy):
    from flowreel.addon.scene.build import display_colors

    opts = SceneOptions(color_mode="IMAGE")
    start = np.zeros((4, 3), np.float32)
    greys = np.array([[0, 0, 0, 255], [90, 90, 90, 255], [200, 200, 200, 255], [30, 30, 30, 255]], np.uint8)
    d = display_colors(opts, greys, start)
    assert np.all(d[:, :3] == d[0, :3]), "anti-aliased grey edges must not get a second colour"
    reds = np.array([[220, 30, 30, 255], [90, 90, 90, 255], [240, 10, 10, 255], [200, 40, 20, 255]], np.uint8)
    d = display_colors(opts, reds, start)
    assert d[0, 0] > 0.5 and d[0, 1] < 0.05 and not np.allclose(d[0, :3], d[1, :3])


def test_keyed_curves_drive_the_object_on_this_blender(bpy):
    """compat.ensure_fcurve's curve is the one the object evaluates, on every supported Blender.

    On 4.4-4.5 a curve made through the legacy `Action.fcurves` proxy lands in an unassigned slot:
    the keys exist but every frame evaluates as the first, so films stayed on the t=0 noise.
    """
    from flowreel.addon import compat

    mesh = bpy.data.meshes.new("m")
    obj = bpy.data.objects.new("o", mesh)
    bpy.context.scene.collection.objects.link(obj)
    fc = compat.ensure_fcurve(obj, "location", 2, "Test Action")
    fc.keyframe_points.insert(1, 0.0)
    fc.keyframe_points.insert(9, 4.0)
    assert compat.ensure_fcurve(obj, "location", 2) == fc  # found again, not duplicated
    assert [(c.data_path, c.array_index) for c in compat.fcurves_of(obj)] == [("location", 2)]
    for frame, z in ((1, 0.0), (9, 4.0), (20, 4.0)):
        bpy.context.scene.frame_set(frame)
        assert obj.location[2] == pytest.approx(z), f"frame {frame} on bpy {bpy.app.version_string}"


def test_auto_radius_covers_strokes_of_densely_inked_pictures():
    from flowreel.addon.scene.build import auto_radius, ink_area

    rng = np.random.default_rng(0)
    ext = [-4.0, 4.0, -4.0, 4.0]
    sparse = rng.uniform(-4, 4, size=(60_000, 2)) * [1.0, 0.1]  # ink on a tenth of the box
    full = rng.uniform(-4, 4, size=(60_000, 2))  # ink everywhere
    assert abs(ink_area(ext, sparse) / 64 - 0.1) < 0.03 and ink_area(ext, full) / 64 > 0.97
    base = auto_radius(ext, 60_000)
    assert auto_radius(ext, 60_000, sparse) == base  # dense enough already: unchanged
    r = auto_radius(ext, 60_000, full)
    assert r > 1.5 * base
    assert 1 - np.exp(-60_000 * np.pi * r**2 / ink_area(ext, full)) >= 0.95  # a stroke is covered
