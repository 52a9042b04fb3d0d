"""Auto-framed camera for static, push-in and orbit moves: frames the picture, or every particle.

Two framings (SceneOptions.framing):
- PICTURE (default): the box of the picture (the file's `extent`), grown by the particle radius. The
  film ends on the picture, so that is what should fill the frame; framing every particle let a few
  strays at t = 1 and the tails of the noise cloud at t = 0 set the zoom, and the picture filled
  about half the frame. The picture's longer side spans [-4, 4] and the noise is N(0, I), so only
  the cloud's sparse tails reach past the frame edge.
- ALL: the bounding box over ALL frames of the imported particles (gathered while the point cache
  is written), grown by the particle radius. A box is convex and so is the view frustum, so if the
  8 box corners are in view every particle at every frame is too.

Either box fills 1 / (1 + margin) of the half-frame in its limiting direction (straight down, the
last frame of a push-in); the orbit keeps all 8 corners in view at every angle of its turn.

Rig: an empty at the centre of the box on the z = 0 plane (orbit pivot and depth-of-field focus
target) with the camera as its child. The camera looks down its local -Z axis; for STATIC and
PUSH_IN it looks straight down -Z with +Y up, for ORBIT it is tilted and the rig turns about Z.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import bpy
import numpy as np
from mathutils import Matrix, Vector

from . import compat
from .core import timing
from .core.options import SceneOptions

PUSH_IN_START = 1.3  # push-in starts this much farther away than the tight fit, ends at the fit
ORBIT_TILT = math.radians(35.0)  # camera tilt from straight down
ORBIT_SWEEP = math.radians(40.0)  # total turn of the orbit over the film (-20 deg .. +20 deg)
SENSOR_MM = 36.0


def half_tangents(opts: SceneOptions) -> tuple[float, float]:
    """tan of the half field of view horizontally and vertically; the lens sets the longer side."""
    w, h = opts.resolution
    t_long = (SENSOR_MM / 2.0) / opts.lens_mm
    return (t_long, t_long * h / w) if w >= h else (t_long * w / h, t_long)


def box_corners(bbox: tuple[float, ...], pad: float, pad_z: float | None = None) -> np.ndarray:
    """The 8 corners [8, 3] of the bounding box (xmin, xmax, ymin, ymax, zmin, zmax) grown by `pad`
    (by `pad_z` along z when given)."""
    x0, x1, y0, y1, z0, z1 = bbox
    pz = pad if pad_z is None else pad_z
    xs, ys, zs = (x0 - pad, x1 + pad), (y0 - pad, y1 + pad), (z0 - pz, z1 + pz)
    return np.array([(x, y, z) for x in xs for y in ys for z in zs], dtype=np.float64)


def rotation(tilt: float, turn: float) -> np.ndarray:
    """World rotation (columns = camera x, y, z axes) of a camera tilted by `tilt` about X, turned about Z."""
    ct, st, cz, sz = math.cos(tilt), math.sin(tilt), math.cos(turn), math.sin(turn)
    rx = np.array([[1, 0, 0], [0, ct, -st], [0, st, ct]])
    rz = np.array([[cz, -sz, 0], [sz, cz, 0], [0, 0, 1]])
    return rz @ rx


def fit_distance(
    corners: np.ndarray, center: np.ndarray, rot: np.ndarray, tan_w: float, tan_h: float, margin: float = 0.0
) -> float:
    """Smallest distance along the view axis from `center` that keeps every corner inside the frame.

    In camera coordinates a point q is at depth d - q_z when the camera sits d behind the centre,
    and is inside when |q_x| <= tan_w' (d - q_z) and |q_y| <= tan_h' (d - q_z).
    """
    q = (corners - center) @ rot  # rows: camera-space coordinates (rot is orthonormal)
    tw, th = tan_w / (1.0 + margin), tan_h / (1.0 + margin)
    need = np.maximum(np.abs(q[:, 0]) / tw, np.abs(q[:, 1]) / th) + q[:, 2]
    return float(need.max())


def orbit_turn(frame: float, opts: SceneOptions, lay: timing.Layout) -> float:
    return -ORBIT_SWEEP / 2 + ORBIT_SWEEP * timing.eased_progress(frame, lay.start, lay.end, opts.easing)


def framed_box(bbox: tuple[float, ...], extent: Sequence[float] | None, opts: SceneOptions) -> tuple[float, ...]:
    """The box the camera frames: the picture's extent on the z = 0 plane, or every particle's `bbox`."""
    if opts.framing == "PICTURE" and extent is not None:
        x0, x1, y0, y1 = (float(v) for v in extent[:4])
        return (x0, x1, y0, y1, 0.0, 0.0)
    return tuple(bbox)


def setup_camera(
    scene: bpy.types.Scene,
    collection: bpy.types.Collection,
    bbox: tuple[float, ...],
    radius: float,
    opts: SceneOptions,
    extent: Sequence[float] | None = None,
) -> bpy.types.Object:
    """Create the rig + camera for the chosen move and framing; make it the scene camera.

    `bbox`: every particle over every frame (xmin, xmax, ymin, ymax, zmin, zmax); `extent`: the
    picture's box (xmin, xmax, ymin, ymax), framed when opts.framing is PICTURE."""
    lay = timing.layout(opts)
    box = framed_box(bbox, extent, opts)
    # The picture is a flat box on z = 0: its outline is what must fill the frame (padding it in z
    # would pull the camera back by one radius for nothing).
    corners = box_corners(box, radius, 0.0 if box[4] == box[5] == 0.0 and opts.framing == "PICTURE" else None)
    center = np.array([(box[0] + box[1]) / 2, (box[2] + box[3]) / 2, 0.0])
    tan_w, tan_h = half_tangents(opts)
    tilt = ORBIT_TILT if opts.camera == "ORBIT" else 0.0
    if opts.camera == "ORBIT":
        turns = [orbit_turn(f, opts, lay) for f in range(lay.start, lay.end + 1)]
        dist = max(fit_distance(corners, center, rotation(tilt, a), tan_w, tan_h, opts.margin) for a in turns)
    else:
        dist = fit_distance(corners, center, rotation(0.0, 0.0), tan_w, tan_h, opts.margin)
    dist = max(dist, 1e-3) * 1.0005  # float32 round-off in Blender's matrices

    rig = bpy.data.objects.new("Flowreel Rig", None)
    rig.empty_display_type = "PLAIN_AXES"
    rig.empty_display_size = 0.1 * max(box[1] - box[0], box[3] - box[2])
    rig.location = Vector(center)
    collection.objects.link(rig)

    cam_data = bpy.data.cameras.new("Flowreel Camera")
    cam_data.lens = opts.lens_mm
    cam_data.sensor_width = cam_data.sensor_height = SENSOR_MM
    w, h = opts.resolution
    cam_data.sensor_fit = "HORIZONTAL" if w >= h else "VERTICAL"
    # Clipping covers every particle, framed or not (strays out of view must not pop at the edge).
    every = box_corners(bbox, radius)
    span = float(np.linalg.norm(every.max(axis=0) - every.min(axis=0)))
    far = dist * (PUSH_IN_START if opts.camera == "PUSH_IN" else 1.0)
    cam_data.clip_start = max(1e-4, 0.01 * far)
    cam_data.clip_end = 2.0 * far + span
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
