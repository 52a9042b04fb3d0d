"""Auto-framed camera: every particle of every frame stays in view, for static, push-in and orbit moves.

Framing uses the bounding box over ALL frames of the imported particles (gathered while the point
cache is written), grown by the particle radius, so that every particle on every frame is in view;
and it is cheap to keep exact: a box is convex and so is the view frustum, so if
the 8 box corners are in view every particle at every frame is too. Gaussian noise at t = 0 has
thin tails (about 5 sigma for 1M particles), so the full box costs little zoom; a robust quantile
box would crop stray particles.

Rig: an empty at the centre of the box on the z = 0 plane (orbit pivot and depth-of-field focus
target) with the camera as its child. The camera looks down its local -Z axis; for STATIC and
PUSH_IN it looks straight down -Z with +Y up, for ORBIT it is tilted and the rig turns about Z.
"""

from __future__ import annotations

import math

import bpy
import numpy as np
from mathutils import Matrix, Vector

from . import compat
from .core import timing
from .core.options import SceneOptions

MARGIN = 0.08  # particles fill at most 1 / (1 + MARGIN) of the half-frame in each direction
PUSH_IN_START = 1.3  # push-in starts this much farther away than the tight fit, ends at the fit
ORBIT_TILT = math.radians(35.0)  # camera tilt from straight down
ORBIT_SWEEP = math.radians(40.0)  # total turn of the orbit over the film (-20 deg .. +20 deg)
SENSOR_MM = 36.0


def half_tangents(opts: SceneOptions) -> tuple[float, float]:
    """tan of the half field of view horizontally and vertically; the lens sets the longer side."""
    w, h = opts.resolution
    t_long = (SENSOR_MM / 2.0) / opts.lens_mm
    return (t_long, t_long * h / w) if w >= h else (t_long * w / h, t_long)


def box_corners(bbox: tuple[float, ...], pad: float) -> np.ndarray:
    """The 8 corners [8, 3] of the bounding box (xmin, xmax, ymin, ymax, zmin, zmax) grown by `pad`."""
    x0, x1, y0, y1, z0, z1 = bbox
    xs, ys, zs = (x0 - pad, x1 + pad), (y0 - pad, y1 + pad), (z0 - pad, z1 + pad)
    return np.array([(x, y, z) for x in xs for y in ys for z in zs], dtype=np.float64)


def rotation(tilt: float, turn: float) -> np.ndarray:
    """World rotation (columns = camera x, y, z axes) of a camera tilted by `tilt` about X, turned about Z."""
    ct, st, cz, sz = math.cos(tilt), math.sin(tilt), math.cos(turn), math.sin(turn)
    rx = np.array([[1, 0, 0], [0, ct, -st], [0, st, ct]])
    rz = np.array([[cz, -sz, 0], [sz, cz, 0], [0, 0, 1]])
    return rz @ rx


def fit_distance(corners: np.ndarray, center: np.ndarray, rot: np.ndarray, tan_w: float, tan_h: float) -> float:
    """Smallest distance along the view axis from `center` that keeps every corner inside the frame.

    In camera coordinates a point q is at depth d - q_z when the camera sits d behind the centre,
    and is inside when |q_x| <= tan_w' (d - q_z) and |q_y| <= tan_h' (d - q_z).
    """
    q = (corners - center) @ rot  # rows: camera-space coordinates (rot is orthonormal)
    tw, th = tan_w / (1.0 + MARGIN), tan_h / (1.0 + MARGIN)
    need = np.maximum(np.abs(q[:, 0]) / tw, np.abs(q[:, 1]) / th) + q[:, 2]
    return float(need.max())


def orbit_turn(frame: float, opts: SceneOptions, lay: timing.Layout) -> float:
    return -ORBIT_SWEEP / 2 + ORBIT_SWEEP * timing.eased_progress(frame, lay.start, lay.end, opts.easing)


def setup_camera(
    scene: bpy.types.Scene,
    collection: bpy.types.Collection,
    bbox: tuple[float, ...],
    radius: float,
    opts: SceneOptions,
) -> bpy.types.Object:
    """Create the rig + camera framing `bbox` for the chosen move; make it the scene camera."""
    lay = timing.layout(opts)
    corners = box_corners(bbox, radius)
    center = np.array([(bbox[0] + bbox[1]) / 2, (bbox[2] + bbox[3]) / 2, 0.0])
    tan_w, tan_h = half_tangents(opts)
    tilt = ORBIT_TILT if opts.camera == "ORBIT" else 0.0
    if opts.camera == "ORBIT":
        turns = [orbit_turn(f, opts, lay) for f in range(lay.start, lay.end + 1)]
        dist = max(fit_distance(corners, center, rotation(tilt, a), tan_w, tan_h) for a in turns)
    else:
        dist = fit_distance(corners, center, rotation(0.0, 0.0), tan_w, tan_h)
    dist = max(dist, 1e-3) * 1.0005  # float32 round-off in Blender's matrices

    rig = bpy.data.objects.new("Flowreel Rig", None)
    rig.empty_display_type = "PLAIN_AXES"
    rig.empty_display_size = 0.1 * max(bbox[1] - bbox[0], bbox[3] - bbox[2])
    rig.location = Vector(center)
    collection.objects.link(rig)

    cam_data = bpy.data.cameras.new("Flowreel Camera")
    cam_data.lens = opts.lens_mm
    cam_data.sensor_width = cam_data.sensor_height = SENSOR_MM
    w, h = opts.resolution
    cam_data.sensor_fit = "HORIZONTAL" if w >= h else "VERTICAL"
    extent = float(np.linalg.norm(corners.max(axis=0) - corners.min(axis=0)))
    far = dist * (PUSH_IN_START if opts.camera == "PUSH_IN" else 1.0)
    cam_data.clip_start = max(1e-4, 0.01 * far)
    cam_data.clip_end = 2.0 * far + extent
    cam_data.dof.use_dof = bool(opts.depth_of_field)
    cam_data.dof.focus_object = rig  # the rig sits on the particle plane
    cam_data.dof.aperture_fstop = 2.8
    cam = bpy.data.objects.new("Flowreel Camera", cam_data)
    collection.objects.link(cam)
    cam.parent = rig  # parent inverse stays identity: local coordinates are relative to the rig
    cam.rotation_euler = (tilt, 0.0, 0.0)
    axis = Matrix.Rotation(tilt, 3, "X") @ Vector((0.0, 0.0, 1.0))  # the camera's backwards axis

    interp, easing = timing.EASING_KEYS[opts.easing]
    if opts.camera == "PUSH_IN":
        for i, (frame, d) in enumerate(((lay.start, dist * PUSH_IN_START), (lay.end, dist))):
            cam.location = axis * d
            for idx in range(3):
                fc = compat.ensure_fcurve(cam, "location", idx, "Flowreel Camera Action")
                _key(fc, frame, cam.location[idx], interp if i == 0 else "LINEAR", easing)
        cam.location = axis * (dist * PUSH_IN_START)
    else:
        cam.location = axis * dist
    if opts.camera == "ORBIT":
        fc = compat.ensure_fcurve(rig, "rotation_euler", 2, "Flowreel Rig Action")
        _key(fc, lay.start, -ORBIT_SWEEP / 2, interp, easing)
        _key(fc, lay.end, ORBIT_SWEEP / 2, "LINEAR", "AUTO")
        rig.rotation_euler[2] = -ORBIT_SWEEP / 2
    scene.camera = cam
    return cam


def _key(fc, frame: float, value: float, interp: str, easing: str) -> None:
    p = fc.keyframe_points.insert(frame, value, options={"FAST"})
    p.interpolation = interp
    p.easing = easing
    fc.extrapolation = "CONSTANT"
    fc.update()
