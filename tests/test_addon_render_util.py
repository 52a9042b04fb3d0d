"""Helpers shared by the looks and render tests (tiny trajectories, projecting points, reading PNGs).

Named test_addon_render_* so it sits with the render tests; it defines no tests itself.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent

# Six particles, well apart both as noise (t = 0) and as the "image" (t = 1), so each one can be
# checked on its own in a tiny render.
START = np.array([[-2.4, 1.2], [0.2, 1.5], [2.3, 0.9], [-1.9, -1.3], [0.6, -0.6], [2.4, -1.4]], np.float32)
END = np.array([[-2.0, -1.0], [-1.0, 1.0], [0.0, -1.0], [1.0, 1.0], [2.0, -1.0], [0.0, 0.3]], np.float32)
COLORS = np.array([[255, 120, 40, 255], [255, 220, 60, 255], [90, 255, 120, 255],
                   [80, 160, 255, 255], [255, 90, 200, 255], [240, 240, 240, 255]], np.uint8)
EXTENT = [-3.0, 3.0, -2.0, 2.0]
RADIUS = 0.25
# A film of 5 scene frames: 1 = noise at rest, 2-4 the flow (t = 0, 0.5, 1), 5 = the image at rest.
FILM_ARGS = ["--fps", "4", "--seconds", "0.5", "--hold-start", "0.25", "--hold-end", "0.25",
             "--radius", str(RADIUS), "--resolution", "64x40", "--samples", "4", "--easing", "linear"]
FILM_FRAMES = 5


def write_tiny_traj(path: str | os.PathLike, n_frames: int = 5, positions: np.ndarray | None = None) -> Path:
    from flowreel.addon.core import trajformat

    t = np.linspace(0.0, 1.0, n_frames, dtype=np.float32)
    if positions is None:
        positions = (START[None] * (1 - t[:, None, None]) + END[None] * t[:, None, None]).astype(np.float32)
    traj = trajformat.Trajectory(positions, t, {"extent": EXTENT}, COLORS.copy())
    trajformat.write(path, traj)
    return Path(path)


def project(scene, points_xy: np.ndarray, radius: float) -> tuple[np.ndarray, np.ndarray]:
    """Pixel centres (col, row; row 0 = top) of points on the z = 0 plane through the scene camera,
    and each point's projected radius in pixels."""
    from bpy_extras.object_utils import world_to_camera_view
    from mathutils import Vector

    w, h = scene.render.resolution_x, scene.render.resolution_y
    cam = scene.camera
    right = cam.matrix_world.to_3x3() @ Vector((1.0, 0.0, 0.0))  # offset across the view
    centres, radii = [], []
    for x, y in points_xy:
        p = Vector((float(x), float(y), 0.0))
        c = world_to_camera_view(scene, cam, p)
        e = world_to_camera_view(scene, cam, p + right * radius)
        centres.append((c.x * w, (1.0 - c.y) * h))
        radii.append(abs(e.x - c.x) * w)
    return np.array(centres), np.array(radii)


def read_png(path) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"), dtype=np.float64)


def check_points_drawn(img: np.ndarray, centres: np.ndarray, radii: np.ndarray, *, dark_points: bool = False,
                       margin: float = 2.5, contrast: float = 60.0) -> None:
    """Points are visible at their projections and nothing is drawn elsewhere.

    Brightness (HSV value: the largest channel, fair to saturated blues and magentas) near every
    centre differs from the background by more than `contrast` (brighter, or darker for
    `dark_points`), and every pixel farther than radius + margin from all points is background.
    """
    luma = img.max(axis=2)
    h, w = luma.shape
    rows, cols = np.mgrid[0:h, 0:w]
    dist = np.full((h, w), np.inf)
    for (cx, cy), r in zip(centres, radii, strict=True):
        dist = np.minimum(dist, np.hypot(cols + 0.5 - cx, rows + 0.5 - cy) - r)
    far = dist > margin
    assert far.sum() > 0.3 * h * w, "test geometry: points cover most of the frame"
    background = np.median(luma[far])
    for i, ((cx, cy), r) in enumerate(zip(centres, radii, strict=True)):
        assert 0 <= cx < w and 0 <= cy < h, f"point {i} projects outside the frame ({cx:.1f}, {cy:.1f})"
        near = np.hypot(cols + 0.5 - cx, rows + 0.5 - cy) <= max(1.0, 0.6 * r)
        delta = (background - luma[near].min()) if dark_points else (luma[near].max() - background)
        assert delta > contrast, f"point {i} at pixel ({cx:.0f}, {cy:.0f}) is not drawn (contrast {delta:.0f})"
    stray = np.abs(luma[far] - background)
    assert stray.max() < contrast / 2, (
        f"{int((stray >= contrast / 2).sum())} pixels away from every point are drawn (max {stray.max():.0f})")


def make_points(bpy, xy: np.ndarray, colors: np.ndarray, radius: float):
    """A minimal points object like addon.scene's (mesh + Mesh to Points + Set Material, per-point
    `flowreel_display`), so looks can be tested without a trajectory file. Returns (object, set-material node)."""
    from flowreel.addon import compat

    me = bpy.data.meshes.new("pts")
    me.vertices.add(len(xy))
    me.vertices.foreach_set("co", np.c_[xy, np.zeros(len(xy))].astype(np.float32).ravel())
    attr = me.attributes.new("flowreel_display", "FLOAT_COLOR", "POINT")
    attr.data.foreach_set("color", np.asarray(colors, np.float32).ravel())
    me.update()
    ob = bpy.data.objects.new("pts", me)
    bpy.context.scene.collection.objects.link(ob)
    ng = bpy.data.node_groups.new("pts", "GeometryNodeTree")
    compat.new_group_socket(ng, "Geometry", "INPUT", "NodeSocketGeometry")
    compat.new_group_socket(ng, "Geometry", "OUTPUT", "NodeSocketGeometry")
    gin, gout = ng.nodes.new("NodeGroupInput"), ng.nodes.new("NodeGroupOutput")
    to_points = ng.nodes.new("GeometryNodeMeshToPoints")
    to_points.inputs["Radius"].default_value = radius
    set_mat = ng.nodes.new("GeometryNodeSetMaterial")
    ng.links.new(gin.outputs[0], to_points.inputs["Mesh"])
    ng.links.new(to_points.outputs["Points"], set_mat.inputs["Geometry"])
    ng.links.new(set_mat.outputs["Geometry"], gout.inputs[0])
    ob.modifiers.new("pts", "NODES").node_group = ng
    return ob, set_mat


def look_scene(bpy, look: str, size: tuple[int, int] = (64, 40), samples: int = 4, colors: np.ndarray = COLORS):
    """Fresh scene: the END points in `colors` (sRGB uint8, made linear), a camera 8 units above,
    the look applied, Cycles."""
    from flowreel.addon.looks.apply import apply_look

    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    lin = (colors[:, :3] / 255.0) ** 2.2
    ob, set_mat = make_points(bpy, END, np.c_[lin, np.ones(len(lin))], RADIUS)
    mat = apply_look(scene, look)
    set_mat.inputs["Material"].default_value = mat
    cam = bpy.data.objects.new("cam", bpy.data.cameras.new("cam"))
    scene.collection.objects.link(cam)
    cam.location = (0.0, 0.0, 8.0)
    scene.camera = cam
    scene.render.resolution_x, scene.render.resolution_y = size
    scene.render.resolution_percentage = 100
    scene.cycles.samples = samples
    return scene, mat
