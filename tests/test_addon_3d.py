"""3-D films through the bpy module: import, camera (the front view with a gentle elevation, an orbit that
ends on the front and loops with ping-pong, framing at every angle, depth of field), lights, and a render
that shows the points where the camera projects them. tests/test_3d_front.py: which front, and reading it."""

from __future__ import annotations

import math

import numpy as np
import pytest

from flowreel.addon.core import trajformat
from flowreel.addon.core.options import SceneOptions
from flowreel.addon.core.trajformat import Trajectory

T = 9
# Eight particles at the corners of a box at t = 1 (different depths from any view), from 3-D noise.
END = np.array([(x, y, z) for x in (-2.0, 2.0) for y in (-1.5, 1.5) for z in (-1.0, 1.0)], np.float32)
EXTENT = [-2.0, 2.0, -1.5, 1.5, -1.0, 1.0]  # its largest face is the top: the front is +z
STANDING = END[:, [0, 2, 1]]  # the same box standing (x by z the largest face): the front is -y
STANDING_EXTENT = [-2.0, 2.0, -1.0, 1.0, -1.5, 1.5]


def write_3d(path, end=END, extent=EXTENT, seed=0, T=T):
    rng = np.random.default_rng(seed)
    start = rng.normal(size=end.shape).astype(np.float32)
    t = np.linspace(0, 1, T, dtype=np.float32)
    pos = ((1 - t)[:, None, None] * start + t[:, None, None] * end).astype(np.float32)
    pos[1:-1] += 0.3 * np.sin(np.pi * t[1:-1])[:, None, None]  # curved paths: frames in between differ
    cols = rng.integers(0, 256, size=(len(end), 4), dtype=np.uint8)
    trajformat.write(path, Trajectory(pos, t, {"extent": extent}, cols))
    return pos, cols


def small(**kw):
    base = dict(fps=8, seconds=2.0, hold_start=0.5, hold_end=0.5, resolution=(320, 180))
    base.update(kw)
    return SceneOptions(**base)


def evaluated(bpy, obj, frame):
    from flowreel.addon import compat

    bpy.context.scene.frame_set(frame)
    return compat.evaluated_point_positions(obj)


def view(bpy, points):
    from bpy_extras.object_utils import world_to_camera_view
    from mathutils import Vector

    scene = bpy.context.scene
    return np.array([tuple(world_to_camera_view(scene, scene.camera, Vector(map(float, p)))) for p in points])


def test_3d_file_imports_positions_and_colours(bpy, tmp_path):
    from flowreel.addon.scene.build import build_scene

    pos, cols = write_3d(tmp_path / "s.npz")
    opts = small()
    obj = build_scene(bpy.context.scene, str(tmp_path / "s.npz"), opts)
    scene = bpy.context.scene
    np.testing.assert_allclose(evaluated(bpy, obj, scene.frame_start), pos[0], atol=2e-5)
    np.testing.assert_allclose(evaluated(bpy, obj, scene.frame_end), pos[-1], atol=2e-5)
    assert np.ptp(pos[-1][:, 2]) > 1.0  # z really varies: not flattened onto a plane
    c = np.empty(len(END) * 4, np.float32)
    obj.data.attributes["flowreel_color"].data.foreach_get("color", c)
    srgb = cols[:, :3] / 255.0
    np.testing.assert_allclose(c.reshape(-1, 4)[:, :3], np.where(srgb <= 0.04045, srgb / 12.92,
                                                                 ((srgb + 0.055) / 1.055) ** 2.4), atol=1e-5)
    assert obj["flowreel_dim"] == 3


@pytest.mark.parametrize("standing", [False, True], ids=["flat", "standing"])
@pytest.mark.parametrize("move", ["STATIC", "PUSH_IN", "ORBIT"])
def test_3d_camera_ends_on_the_front_gently_elevated_and_frames_the_shape_box(bpy, tmp_path, move, standing):
    from flowreel.addon.scene.build import auto_radius, build_scene

    end, extent = (STANDING, STANDING_EXTENT) if standing else (END, EXTENT)
    write_3d(tmp_path / "s.npz", end=end, extent=extent)
    build_scene(bpy.context.scene, str(tmp_path / "s.npz"), small(camera=move))
    scene = bpy.context.scene
    r = auto_radius(extent, len(end), end, "-y" if standing else "+z")
    x0, x1, y0, y1, z0, z1 = extent
    corners = [(x, y, z) for x in (x0 - r, x1 + r) for y in (y0 - r, y1 + r) for z in (z0 - r, z1 + r)]
    widest = 0.0
    for f in range(scene.frame_start, scene.frame_end + 1):
        scene.frame_set(f)
        v = view(bpy, corners)
        assert (v[:, :2] >= -1e-5).all() and (v[:, :2] <= 1 + 1e-5).all() and (v[:, 2] > 0).all(), (move, f)
        widest = max(widest, np.abs(v[:, :2] - 0.5).max())
    assert widest > 0.4  # framed, not lost in the distance
    m = scene.camera.matrix_world  # the last frame
    back, right = np.array(m.to_3x3().col[2]), np.array(m.to_3x3().col[0])  # the camera looks along -back
    e = math.radians(15.0)
    # standing: from the front (-y), 15 degrees above the horizon; flat: from above, leaning to the reader (-y)
    want = [0.0, -math.cos(e), math.sin(e)] if standing else [0.0, -math.sin(e), math.cos(e)]
    np.testing.assert_allclose(back, want, atol=1e-5)
    np.testing.assert_allclose(right, [1.0, 0.0, 0.0], atol=1e-5)  # level, x to the right: reads left to right


@pytest.mark.parametrize("ping_pong", [False, True])
def test_3d_orbit_ends_on_the_front_rests_there_and_ping_pong_loops(bpy, tmp_path, ping_pong):
    from flowreel.addon.core import timing
    from flowreel.addon.scene.build import build_scene

    write_3d(tmp_path / "s.npz", end=STANDING, extent=STANDING_EXTENT)
    opts = small(camera="ORBIT", ping_pong=ping_pong, easing="EASE_IN_OUT")
    assert opts.orbit_degrees == 0  # automatic: a full turn for 3-D
    build_scene(bpy.context.scene, str(tmp_path / "s.npz"), opts)
    scene = bpy.context.scene
    lay = timing.layout(opts)
    rig = scene.camera.parent
    angles, mats = {}, {}
    for f in range(lay.start, lay.end + 2):
        scene.frame_set(f)
        angles[f] = rig.rotation_euler[2]  # a standing front turns about world z
        mats[f] = np.array(scene.camera.matrix_world)
    assert angles[lay.flow_end] - angles[lay.start] == pytest.approx(2 * math.pi, abs=1e-5)  # one full turn
    assert np.all(np.diff([angles[f] for f in range(lay.start, lay.flow_end + 1)]) > 0)  # turning all the way
    front = mats[lay.flow_end]
    np.testing.assert_allclose(front[:3, 2], [0.0, -math.cos(math.radians(15)), math.sin(math.radians(15))],
                               atol=1e-5)  # on the front when the shape lands
    rest = lay.back_start if ping_pong else lay.end  # the film ends on the front
    assert rest > lay.flow_end
    for f in range(lay.flow_end, rest + 1):  # and rests there while the shape holds
        np.testing.assert_allclose(mats[f], front, atol=1e-5)
    if ping_pong:
        np.testing.assert_allclose(mats[lay.end + 1], mats[lay.start], atol=1e-4)  # the loop's next frame
        assert timing.flow_time(lay.end + 1, opts) == timing.flow_time(lay.start, opts)
    # Every corner of the shape's box in view at the angles of the turn.
    x0, x1, y0, y1, z0, z1 = STANDING_EXTENT
    corners = [(x, y, z) for x in (x0, x1) for y in (y0, y1) for z in (z0, z1)]
    for f in range(lay.start, lay.end + 1):
        scene.frame_set(f)
        v = view(bpy, corners)
        assert (v[:, :2] >= 0).all() and (v[:, :2] <= 1).all() and (v[:, 2] > 0).all(), f


def test_orbit_degrees_sets_the_turn_and_pictures_keep_their_40_degree_sweep(bpy, tmp_path):
    from test_addon_scene import make_traj

    from flowreel.addon.scene.build import build_scene

    def turn(path, **kw):
        bpy.ops.wm.read_factory_settings(use_empty=True)
        build_scene(bpy.context.scene, str(path), small(camera="ORBIT", easing="LINEAR", **kw))
        scene = bpy.context.scene
        rig = scene.camera.parent
        scene.frame_set(scene.frame_start)
        a = rig.rotation_euler[2]
        scene.frame_set(scene.frame_end)
        return math.degrees(rig.rotation_euler[2] - a), scene

    make_traj(tmp_path / "p.npz")  # a picture (D = 2)
    sweep, scene = turn(tmp_path / "p.npz")
    assert sweep == pytest.approx(40.0, abs=1e-3)
    assert not [o for o in scene.objects if o.type == "LIGHT"]  # pictures: no added lights
    assert scene.camera.data.dof.aperture_fstop == pytest.approx(2.8)
    sweep, _ = turn(tmp_path / "p.npz", orbit_degrees=90.0)
    assert sweep == pytest.approx(90.0, abs=1e-3)
    write_3d(tmp_path / "s.npz", end=STANDING, extent=STANDING_EXTENT)  # a standing front turns about z
    sweep, scene = turn(tmp_path / "s.npz", orbit_degrees=-120.0)
    assert sweep == pytest.approx(-120.0, abs=1e-3)
    with pytest.raises(ValueError, match="orbit_degrees"):
        SceneOptions(orbit_degrees=float("nan")).check()


def test_depth_of_field_focuses_on_the_shape_centre_and_blurs_its_sides_slightly(bpy, tmp_path):
    from flowreel.addon.camera import rig as camera
    from flowreel.addon.scene.build import build_scene

    end = END + np.float32([5.0, -3.0, 2.0])  # off the origin: the focus must follow the shape
    extent = [-2 + 5, 2 + 5, -1.5 - 3, 1.5 - 3, -1 + 2, 1 + 2]
    write_3d(tmp_path / "s.npz", end=end, extent=extent)
    build_scene(bpy.context.scene, str(tmp_path / "s.npz"), small(depth_of_field=True))
    scene = bpy.context.scene
    scene.frame_set(scene.frame_end)
    cam = scene.camera
    dof = cam.data.dof
    assert dof.use_dof
    focus = np.array(dof.focus_object.matrix_world.translation)
    np.testing.assert_allclose(focus, [5.0, -3.0, 2.0], atol=1e-5)
    # Thin lens as Cycles takes it: aperture radius = lens / (2 f-stop); blur on the focal plane,
    # as a fraction of the frame's width there, of the nearest and farthest corners of the box.
    eye = np.array(cam.matrix_world.translation)
    fwd = -np.array(cam.matrix_world.to_3x3().col[2])
    s = float((focus - eye) @ fwd)
    a = cam.data.lens * 1e-3 / (2 * dof.aperture_fstop)
    width = 2 * s * (camera.SENSOR_MM / 2) / cam.data.lens
    corners = np.array([(x, y, z) for x in extent[:2] for y in extent[2:4] for z in extent[4:]])
    d = (corners - eye) @ fwd
    blur = 2 * a * np.abs(d - s) / d / width
    assert 0.001 < blur.max() < 0.006  # the near side only slightly soft (about 0.3 % of the frame)
    assert blur.min() < blur.max()


@pytest.mark.parametrize("look", ["glow", "ink"])
def test_3d_looks_get_key_and_rim_lights_turning_with_the_camera(bpy, tmp_path, look):
    from flowreel.addon.scene.build import build_scene

    write_3d(tmp_path / "s.npz")
    obj = build_scene(bpy.context.scene, str(tmp_path / "s.npz"), small(camera="ORBIT", look=look))
    scene = bpy.context.scene
    suns = [o for o in scene.objects if o.type == "LIGHT" and o.name.startswith("Flowreel")]
    assert sorted(o.name for o in suns) == ["Flowreel Key", "Flowreel Rim"]
    assert all(o.parent == scene.camera.parent and o.data.use_shadow for o in suns)
    mat = obj.active_material
    kinds = {n.bl_idname for n in mat.node_tree.nodes}
    assert "ShaderNodeBsdfDiffuse" in kinds  # lit points: the glow keeps part of its emission
    if look == "glow":
        assert mat.name.endswith("_3d") and "ShaderNodeEmission" in kinds
        assert bpy.data.materials["flowreel_glow"].node_tree.nodes.get("Diffuse BSDF") is None  # 2-D one untouched


def test_3d_render_shows_points_where_the_camera_projects_them(bpy, tmp_path):
    """Workbench (studio light, shadow, cavity), the last frame of a 3-D orbit: each particle is drawn at
    its projection through the scene camera and nothing is drawn away from them."""
    from bpy_extras.object_utils import world_to_camera_view
    from mathutils import Vector
    from test_addon_render_util import check_points_drawn, read_png

    from flowreel.addon.render import __main__ as render

    write_3d(tmp_path / "s.npz")
    frames = tmp_path / "frames"
    args = ["--fps", "4", "--seconds", "0.5", "--hold-start", "0.25", "--hold-end", "0.25", "--radius", "0.2",
            "--resolution", "160x90", "--samples", "1", "--easing", "linear", "--camera", "orbit"]
    assert render.main([str(tmp_path / "s.npz"), "--engine", "workbench", "--no-video", "--frames-dir",
                        str(frames), "--frames", "5-5", *args]) == 0
    scene = bpy.context.scene
    scene.frame_set(5)
    cam = scene.camera
    assert scene.display.shading.light == "STUDIO"
    right = cam.matrix_world.to_3x3() @ Vector((1.0, 0.0, 0.0))
    w, h = scene.render.resolution_x, scene.render.resolution_y
    centres, radii = [], []
    for p in END:
        c = world_to_camera_view(scene, cam, Vector(map(float, p)))
        e = world_to_camera_view(scene, cam, Vector(map(float, p)) + right * 0.2)
        centres.append((c.x * w, (1.0 - c.y) * h))
        radii.append(abs(e.x - c.x) * w)
    img = read_png(frames / "frame_0005.png")
    assert img.shape == (90, 160, 3)
    check_points_drawn(img, np.array(centres), np.array(radii), margin=2.5)


def surface(n, axes, seed=1):
    """n points on the surface of the ellipsoid with semi-axes `axes` (a sphere when they are equal)."""
    u = np.random.default_rng(seed).normal(size=(n, 3))
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    end = (u * np.asarray(axes)).astype(np.float32)
    return end, [float(v) for pair in zip(end.min(axis=0), end.max(axis=0), strict=True) for v in pair]


def fill(v):
    """How far the farthest projected particle reaches from the frame's centre, as a fraction of the half-frame."""
    return float((np.abs(v[:, :2] - 0.5) / 0.5).max())


@pytest.mark.parametrize("axes", [(3.0, 3.0, 3.0), (4.0, 1.0, 1.0)], ids=["sphere", "ellipsoid-8x2x2"])
@pytest.mark.parametrize("move", ["ORBIT", "STATIC"])
def test_3d_camera_frames_the_end_frame_particles_not_the_box(bpy, tmp_path, axes, move):
    """Every end-frame particle in view at every angle of the orbit (frames and quarter frames between) and
    in the static view; at the limiting angle the shape reaches the margin line: it fills 1 / (1 + margin) of
    the half-frame (less the radius and the support pad, under 1.5 %), where the box's corners left it far
    smaller."""
    from flowreel.addon.scene.build import build_scene

    end, extent = surface(3000, axes)
    write_3d(tmp_path / "s.npz", end=end, extent=extent)
    margin, radius = 0.08, 0.01
    build_scene(bpy.context.scene, str(tmp_path / "s.npz"), small(camera=move, radius=radius, margin=margin))
    scene = bpy.context.scene
    reach = []
    for f in range(scene.frame_start, scene.frame_end + 1):
        for sub in (0.0, 0.25, 0.5, 0.75) if move == "ORBIT" else (0.0,):
            scene.frame_set(f, subframe=sub)
            v = view(bpy, end)
            assert (v[:, :2] >= 0).all() and (v[:, :2] <= 1).all() and (v[:, 2] > 0).all(), (f, sub)
            reach.append(fill(v))
    assert max(reach) <= 1 / (1 + margin) + 1e-5
    assert max(reach) >= 0.985 / (1 + margin), f"the shape fills {max(reach):.3f} of the half-frame"
    # The box's framing, for scale: its corners in view leave the shape well inside the margin line.
    from flowreel.addon.camera import rig as camera

    x0, x1, y0, y1, z0, z1 = extent
    corners = camera.box_corners(tuple(extent), radius)
    tan_w, tan_h = camera.half_tangents(scene_opts := small(camera=move, radius=radius, margin=margin))
    center = np.array([(x0 + x1) / 2, (y0 + y1) / 2, (z0 + z1) / 2])
    turns = np.radians(np.arange(360.0)) if move == "ORBIT" else [0.0]
    box_dist = max(camera.fit_distance(corners, center, camera.view_rotation_3d("-y", a), tan_w, tan_h,
                                       scene_opts.margin) for a in turns)  # fmt: skip
    cam_dist = float(np.linalg.norm(np.array(scene.camera.matrix_world.translation) - center))
    assert cam_dist < 0.95 * box_dist  # closer than the box's fit


def test_picture_camera_is_unchanged_by_the_3d_shape_framing(bpy, tmp_path):
    """A 2-D picture is still framed on its extent box, straight down: the closed-form distance."""
    from test_addon_scene import make_traj

    from flowreel.addon.camera import rig as camera
    from flowreel.addon.scene.build import build_scene

    make_traj(tmp_path / "p.npz")
    opts = small(radius=0.05)
    build_scene(bpy.context.scene, str(tmp_path / "p.npz"), opts)
    traj = trajformat.read(str(tmp_path / "p.npz"))
    x0, x1, y0, y1 = traj.extent
    tan_w, tan_h = camera.half_tangents(opts)
    k = 1 + opts.margin
    d = max(((x1 - x0) / 2 + 0.05) * k / tan_w, ((y1 - y0) / 2 + 0.05) * k / tan_h) * camera.FIT_SLACK
    scene = bpy.context.scene
    scene.frame_set(scene.frame_end)
    m = np.array(scene.camera.matrix_world)
    np.testing.assert_allclose(m[:3, :3], np.eye(3), atol=1e-6)  # straight down, +Y up
    np.testing.assert_allclose(m[:3, 3], [(x0 + x1) / 2, (y0 + y1) / 2, d], rtol=1e-6, atol=1e-6)
