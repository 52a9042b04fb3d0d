"""Auto-framed camera for static, push-in and orbit moves: frames the picture or shape, or every particle.

Two framings (SceneOptions.framing):
- PICTURE (default): the box of the picture or shape (the file's `extent`: 4 numbers for a picture on
  the z = 0 plane, 6 for a 3-D shape), grown by the particle radius. The film ends on it, so that is
  what should fill the frame; framing every particle let a few strays at t = 1 and the tails of the
  noise cloud at t = 0 set the zoom, and the picture filled about half the frame. The picture's
  longer side spans [-4, 4] and the noise is N(0, I), so only the cloud's sparse tails reach past
  the frame edge.
- ALL: the bounding box over ALL frames of the imported particles (gathered while the point cache
  is written), grown by the particle radius. A box is convex and so is the view frustum, so if the
  8 box corners are in view every particle at every frame is too.

Either box fills 1 / (1 + margin) of the half-frame in its limiting direction (the last frame of a
push-in); the orbit keeps all 8 corners in view at every angle of its turn.

A 3-D shape with framing PICTURE is framed by its end-frame particles instead of its box's corners (a
box's corners reach far past a rounded shape's silhouette: the README's monkey filled 55 % of the frame
height): the scene builder reduces the end frame to its support points (shape_support.py) and the
distance keeps a ball of the radius plus the support pad around each in view (`fit_distance_spheres`)
at every angle the camera takes. The rig stays at the extent's centre (with exact landing the particles'
box has the same centre), and the depth of field's f-stop is set by the shape's depth, not the box's.

A picture sequence (two or more picture keys whose boxes differ, framing PICTURE, STATIC camera) is
framed per key instead (`key_framings`): while the film rests on key k the camera frames that key's
own box (the union `extent` would leave a wide word at the end filling half the frame after a square
logo), and between keys it moves with the film. The rig's x, y (the box centre) and the camera's
distance are keyed with the very keyframes that drive the Mesh Cache (`timing.key_fcurve`, values per
key): the camera lands on a key exactly when the points do, stands still through every hold (so the
render script's copies of still frames stay valid), plays without Python handlers and is re-keyed
with the film's timing (`key_framing`, called again by film_timing.retime). A noise key takes the
framing of the next picture key (the first one for a noise -> pictures film). Push-in and orbit keep
the union framing.

Rig: an empty at the centre of the box (orbit pivot and depth-of-field focus target) with the
camera as its child. The camera looks down its local -Z axis, tilted about X by `tilt`.
- Pictures (D = 2): the rig turns about Z; STATIC and PUSH_IN look straight down with +Y up; ORBIT
  is tilted 35 degrees and sweeps 40 degrees (-20 .. +20, eased like the flow) unless `orbit_degrees`
  says otherwise.
- 3-D shapes: the film resolves on the shape's front (core/contract/shapes3d.py: the file's `target.front`, the
  largest face of its box, or SceneOptions.front). The rig's axes are the front view's (local Z towards
  the camera, Y the screen's up, X its right: `rig_rotation`), and the camera looks at the front from
  ELEVATION_3D above it (towards world +z; for a top front, from the reader's side, -y), so a word ends
  readable and its walls show a little depth. ORBIT turns the rig about the front view's up axis, a
  full 360 degrees unless `orbit_degrees` says otherwise, eased like the flow, and ENDS on the front
  when the shape lands (it begins the sweep before it), resting there while the shape holds; ping-pong
  turns back the way it came, so the loop's next frame is its first (`orbit_keys_3d`).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence

import bpy
import numpy as np
from mathutils import Matrix, Vector

from .. import compat
from ..core import timing
from ..core.contract import shapes3d
from ..core.contract.camera_moves import MOVES
from ..core.options import SceneOptions
from . import support as shape_support

ORBIT_SWEEP = math.radians(40.0)  # pictures: default total turn of the orbit (-20 deg .. +20 deg)
ELEVATION_3D = math.radians(15.0)  # 3-D: a gentle look down at the front (enough for depth, a word still reads)
SIDE_TURN = {"-y": 0.0, "+x": math.pi / 2, "+y": math.pi, "-x": -math.pi / 2}  # rig's turn about z per side front
FULL_TURN_SWEEP = math.radians(360.0)  # 3-D: default total turn of the orbit
SENSOR_MM = 36.0
DOF_FSTOP_2D = 2.8  # pictures: today's aperture (a flat picture is all at one depth when seen from above)
# 3-D: the blur of the framed box's nearest side as a fraction of the frame's longer side (0.3 %: about
# 6 pixels at 1920 wide, slightly soft); the far side is softer still by less, the centre is sharp.
DOF_EDGE_BLUR = 0.003
# Lowest f-stop dof_fstop picks (Cycles takes any f-stop > 0; Blender's UI drags down to 0.1 and takes
# less typed). Scenes are in metres and a shape spans several of them, so the design blur needs a wide
# aperture: f/0.15 for a [-4, 4]^3 shape with the 50 mm lens. The former floor, f/0.5, cut that shape's
# blur to a third (Cycles measurement: bench/RESULTS.md, tests/test_addon_dof_render.py).
DOF_FSTOP_MIN = 0.01
ORBIT_FIT_STEP = math.radians(0.5)  # the orbit's fit also checks angles this close between frames
FIT_SLACK = 1.0005  # the fitted distance grows this much for float32 round-off in Blender's matrices
FRONT_KEY = "flowreel_front"  # rig property: the 3-D film's front ("-y", "+z", ...), shown in the panel
KEY_FRAMING = "flowreel_key_framing"  # camera property: JSON [[centre x, centre y, distance] per key]
RIG_ACTION, CAMERA_ACTION = "Flowreel Rig Action", "Flowreel Camera Action"


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


def rx(angle: float) -> np.ndarray:
    c, s = math.cos(angle), math.sin(angle)
    return np.array([[1.0, 0.0, 0.0], [0.0, c, -s], [0.0, s, c]])


def euler_matrix(euler: Sequence[float]) -> np.ndarray:
    """Blender's XYZ Euler as a matrix (Rz @ Ry @ Rx)."""
    (cx, sx), (cy, sy), (cz, sz) = ((math.cos(a), math.sin(a)) for a in euler)
    rz = np.array([[cz, -sz, 0.0], [sz, cz, 0.0], [0.0, 0.0, 1.0]])
    ry = np.array([[cy, 0.0, sy], [0.0, 1.0, 0.0], [-sy, 0.0, cy]])
    return rz @ ry @ np.array([[1.0, 0.0, 0.0], [0.0, cx, -sx], [0.0, sx, cx]])


def front_rig(front: str) -> tuple[tuple[float, float, float], int, float]:
    """(the rig's Euler XYZ whose axes are the front view's, the Euler channel that turns it about the view's
    up axis, that channel's sign). Side fronts turn about world z; a top front about +y, a bottom one about -y."""
    front = shapes3d.parse_front(front)
    if front == "+z":
        return (0.0, 0.0, 0.0), 1, 1.0
    if front == "-z":
        return (math.pi, 0.0, 0.0), 1, -1.0  # Rx(pi) Ry(-a) = Ry(a) about the bottom view's up (-y)
    return (math.pi / 2, 0.0, SIDE_TURN[front]), 2, 1.0


def rig_euler(front: str, angle: float) -> tuple[float, float, float]:
    """The rig's Euler XYZ turned `angle` about the front view's up axis (0: the front view)."""
    base, channel, sign = front_rig(front)
    e = list(base)
    e[channel] += sign * angle
    return tuple(e)


def tilt_3d(front: str) -> float:
    """The camera's tilt in the rig (about its X, the screen's right): ELEVATION_3D towards world +z; a top
    front has its screen's up on +y, so the camera leans to -y, the side a reader of it stands on."""
    return ELEVATION_3D if shapes3d.parse_front(front) == "+z" else -ELEVATION_3D


def view_rotation_3d(front: str, angle: float = 0.0) -> np.ndarray:
    """World rotation (columns = camera x, y, z) of the 3-D camera turned `angle` from the front view."""
    return euler_matrix(rig_euler(front, angle)) @ rx(tilt_3d(front))


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


def fit_distance_spheres(
    points: np.ndarray, radius: float, center: np.ndarray, rot: np.ndarray, tan_w: float, tan_h: float,
    margin: float = 0.0
) -> float:
    """Smallest distance along the view axis from `center` that keeps a ball of `radius` around every point
    inside the frame (the margin shrinks the frame as in `fit_distance`).

    A side plane of the frustum, |q_x| = t (d - q_z), has the unit normal (1, 0, t) / sqrt(1 + t^2) in the
    camera's (x, z); a ball stays inside when its centre is `radius` inside that plane:
    d >= |q_x| / t + q_z + radius sqrt(1 + t^2) / t (likewise for y)."""
    q = (np.asarray(points, dtype=np.float64) - center) @ rot
    tw, th = tan_w / (1.0 + margin), tan_h / (1.0 + margin)
    need = np.maximum((np.abs(q[:, 0]) + radius * math.hypot(1.0, tw)) / tw,
                      (np.abs(q[:, 1]) + radius * math.hypot(1.0, th)) / th) + q[:, 2]
    return float(need.max())


def film_dim(extent: Sequence[float] | None, bbox: Sequence[float], dim: int | None = None) -> int:
    """2 for a picture, 3 for a shape: `dim` when known, else a 6-number extent or particles off z = 0."""
    if dim is not None:
        return int(dim)
    if extent is not None:
        return 3 if len(extent) == 6 else 2
    return 3 if bbox[5] > bbox[4] else 2


def orbit_sweep(opts: SceneOptions, dim: int = 2) -> float:
    """Total turn of the orbit in radians: `orbit_degrees`, or 40 degrees for pictures and 360 for 3-D."""
    if opts.orbit_degrees:
        return math.radians(opts.orbit_degrees)
    return FULL_TURN_SWEEP if dim == 3 else ORBIT_SWEEP


def orbit_turn(frame: float, opts: SceneOptions, lay: timing.Layout) -> float:
    """A picture's rig turn about Z at `frame` (radians) for the ORBIT move: the sweep centred on the view."""
    sweep = orbit_sweep(opts, 2)
    return -sweep / 2 + sweep * timing.eased_progress(frame, lay.start, lay.end, opts.easing)


def orbit_keys_3d(opts: SceneOptions, lay: timing.Layout) -> list[tuple[int, float]]:
    """(frame, turn from the front) keys of a 3-D orbit, eased between them like the flow: the sweep ends
    on the front where the shape lands and rests there while it holds; reversed, it leaves the front when
    the shape starts to dissolve; ping-pong turns back the way it came, reaching its first view on frame
    end + 1, where the loop starts again."""
    sweep = orbit_sweep(opts, 3)
    if not opts.reverse:
        keys = [(lay.start, -sweep), (lay.flow_end, 0.0)]
        back = [(lay.back_start, 0.0), (lay.end + 1, -sweep)]
    else:
        keys = [(lay.flow_start, 0.0), (lay.flow_end, sweep)]
        back = [(lay.back_start, sweep), (lay.end + 1, 0.0)]
    if opts.ping_pong:
        keys += back
    out: list[tuple[int, float]] = []
    for frame, value in keys:
        if out and out[-1][0] == frame:
            out.pop()  # no hold: the later key wins (its value is the same)
        out.append((frame, value))
    return out


def film_front(opts: SceneOptions, meta: dict | None, extent: Sequence[float]) -> str:
    """The front a 3-D film resolves on: SceneOptions.front when set, else the file's (meta.target.front),
    else the rule's choice from its extent (core/contract/shapes3d.py)."""
    if opts.front != "AUTO":
        return shapes3d.parse_front(opts.front)
    return shapes3d.file_front(meta, extent)


def framed_box(bbox: tuple[float, ...], extent: Sequence[float] | None, opts: SceneOptions) -> tuple[float, ...]:
    """The box the camera frames: the file's extent (a picture on z = 0, or a 3-D shape's box), or
    every particle's `bbox`."""
    if opts.framing == "PICTURE" and extent is not None:
        if len(extent) == 6:
            return tuple(float(v) for v in extent)
        x0, x1, y0, y1 = (float(v) for v in extent[:4])
        return (x0, x1, y0, y1, 0.0, 0.0)
    return tuple(bbox)


def framed_size(bbox: tuple[float, ...], extent: Sequence[float] | None, opts: SceneOptions) -> float:
    """The diagonal of the framed box (the scale lights and ambient occlusion work at)."""
    b = framed_box(bbox, extent, opts)
    return float(np.linalg.norm([b[1] - b[0], b[3] - b[2], b[5] - b[4]]))


def dof_fstop(corners: np.ndarray, center: np.ndarray, rots: Sequence[np.ndarray], dist: float, tan_long: float,
              lens_mm: float) -> float:
    """f-stop that blurs the framed box's nearest side by DOF_EDGE_BLUR of the frame, focused on its centre.

    A point at depth d, focused at s, blurs to a disk of diameter 2 A |d - s| / d on the focal plane
    (aperture radius A = focal length / (2 f-stop), in scene units as Cycles and EEVEE take it), and
    the frame there is 2 s tan_long wide; the nearest side (d = s - h) blurs most.
    """
    h = max(float(np.abs(((corners - center) @ rot)[:, 2]).max()) for rot in rots)
    if h <= 1e-9 * max(dist, 1e-9):
        return DOF_FSTOP_2D
    near = max(dist - h, 0.05 * dist)
    aperture = DOF_EDGE_BLUR * near * dist * tan_long / h
    return float(min(max(lens_mm * 1e-3 / (2.0 * aperture), DOF_FSTOP_MIN), 128.0))


def setup_camera(
    scene: bpy.types.Scene,
    collection: bpy.types.Collection,
    bbox: tuple[float, ...],
    radius: float,
    opts: SceneOptions,
    extent: Sequence[float] | None = None,
    dim: int | None = None,
    key_extents: Sequence[Sequence[float] | None] | None = None,
    support: np.ndarray | None = None,
    front: str | None = None,
) -> bpy.types.Object:
    """Create the rig + camera for the chosen move and framing; make it the scene camera.

    `bbox`: every particle over every frame (xmin, xmax, ymin, ymax, zmin, zmax); `extent`: the
    picture's box (4 numbers) or the shape's (6), framed when opts.framing is PICTURE; `dim`: the
    file's dimension (inferred from `extent` when not given); `key_extents`: each key's box (None for
    noise), in key order, with `opts` resolved per key (core/sequence.py): a picture sequence is then
    framed per key (`key_framings`); `support`: a 3-D film's end-frame support points
    (shape_support.support_points), framed instead of the box's corners with framing PICTURE; `front`: the
    3-D film's front (`film_front`; default: the rule's choice from the framed box)."""
    dim = film_dim(extent, bbox, dim)
    move = MOVES[opts.camera]  # core/contract/camera_moves.py
    lay = timing.layout(opts)
    box = framed_box(bbox, extent, opts)
    # The picture is a flat box on z = 0: its outline is what must fill the frame (padding it in z
    # would pull the camera back by one radius for nothing).
    flat = box[4] == box[5] == 0.0 and opts.framing == "PICTURE" and dim == 2
    corners = box_corners(box, radius, 0.0 if flat else None)
    center = np.array([(box[0] + box[1]) / 2, (box[2] + box[3]) / 2, (box[4] + box[5]) / 2])
    tan_w, tan_h = half_tangents(opts)
    orbit_keys: list[tuple[int, float]] = []
    if dim == 3:
        front = shapes3d.parse_front(front) if front else shapes3d.choose_front(box)
        tilt = tilt_3d(front)
        rig_rest = rig_euler(front, 0.0)
        if move.orbits:
            orbit_keys = orbit_keys_3d(opts, lay)
            rig_rest = rig_euler(front, orbit_keys[0][1])
        turns = [v for _, v in orbit_keys] or [0.0]
    else:
        tilt = move.tilt
        turns = [orbit_turn(f, opts, lay) for f in range(lay.start, lay.end + 1)] if move.orbits else [0.0]
        rig_rest = (0.0, 0.0, turns[0])
    lo, hi = min(turns), max(turns)
    turns += list(np.linspace(lo, hi, 2 + int((hi - lo) / ORBIT_FIT_STEP)))  # every angle between keys
    rots = [view_rotation_3d(front, a) if dim == 3 else rotation(tilt, a) for a in turns]
    shape = dim == 3 and opts.framing == "PICTURE" and support is not None and len(support) > 0
    if shape:  # the shape itself: every end-frame particle, grown by the radius and the support pad
        pad = radius + shape_support.cover_pad(support, center)
        dist = max(fit_distance_spheres(support, pad, center, r, tan_w, tan_h, opts.margin) for r in rots)
    else:
        dist = max(fit_distance(corners, center, r, tan_w, tan_h, opts.margin) for r in rots)
    dist = max(dist, 1e-3) * FIT_SLACK
    per_key = key_framings(extent, key_extents, radius, opts, dim)

    rig = bpy.data.objects.new("Flowreel Rig", None)
    rig.empty_display_type = "PLAIN_AXES"
    rig.empty_display_size = 0.1 * max(box[1] - box[0], box[3] - box[2])
    rig.location = Vector(center)
    rig.rotation_euler = rig_rest
    if dim == 3:
        rig[FRONT_KEY] = front
    collection.objects.link(rig)

    cam_data = bpy.data.cameras.new("Flowreel Camera")
    cam_data.lens = opts.lens_mm
    cam_data.sensor_width = cam_data.sensor_height = SENSOR_MM
    w, h = opts.resolution
    cam_data.sensor_fit = "HORIZONTAL" if w >= h else "VERTICAL"
    # Clipping covers every particle, framed or not (strays out of view must not pop at the edge).
    every = box_corners(bbox, radius)
    span = float(np.linalg.norm(every.max(axis=0) - every.min(axis=0)))
    far = dist * move.start_distance
    if per_key is not None:
        far = max(far, *(d for _, _, d in per_key))
    cam_data.clip_start = max(1e-4, 0.01 * far)
    cam_data.clip_end = 2.0 * far + span
    cam_data.dof.use_dof = bool(opts.depth_of_field)
    cam_data.dof.focus_object = rig  # the centre of the framed box (the picture's plane, the shape's middle)
    cam_data.dof.aperture_fstop = (
        dof_fstop(support if shape else corners, center, rots, dist, max(tan_w, tan_h), opts.lens_mm)
        if dim == 3 else DOF_FSTOP_2D)
    cam = bpy.data.objects.new("Flowreel Camera", cam_data)
    collection.objects.link(cam)
    cam.parent = rig  # parent inverse stays identity: local coordinates are relative to the rig
    cam.rotation_euler = (tilt, 0.0, 0.0)
    axis = Matrix.Rotation(tilt, 3, "X") @ Vector((0.0, 0.0, 1.0))  # the camera's backwards axis

    interp, easing = timing.EASING_KEYS[opts.easing]
    if move.start_distance != 1.0:  # eases in from there to the fit
        for i, (frame, d) in enumerate(((lay.start, dist * move.start_distance), (lay.end, dist))):
            cam.location = axis * d
            for idx in range(3):
                fc = compat.ensure_fcurve(cam, "location", idx, CAMERA_ACTION)
                _key(fc, frame, cam.location[idx], interp if i == 0 else "LINEAR", easing)
        cam.location = axis * (dist * move.start_distance)
    else:
        cam.location = axis * dist
    if move.orbits and dim == 3:
        _, channel, _ = front_rig(front)
        fc = compat.ensure_fcurve(rig, "rotation_euler", channel, RIG_ACTION)
        for i, (frame, turn) in enumerate(orbit_keys):
            last = i == len(orbit_keys) - 1
            _key(fc, frame, rig_euler(front, turn)[channel], "LINEAR" if last else interp, easing)
    elif move.orbits:
        fc = compat.ensure_fcurve(rig, "rotation_euler", 2, RIG_ACTION)
        _key(fc, lay.start, orbit_turn(lay.start, opts, lay), interp, easing)
        _key(fc, lay.end, orbit_turn(lay.end, opts, lay), "LINEAR", "AUTO")
    if per_key is not None:
        cam[KEY_FRAMING] = json.dumps(per_key)
        key_framing(cam, opts, lay.start)
    scene.camera = cam
    return cam


def key_framings(extent: Sequence[float] | None, key_extents: Sequence[Sequence[float] | None] | None, radius: float,
                 opts: SceneOptions, dim: int) -> list[tuple[float, float, float]] | None:
    """(centre x, centre y, camera distance) framing each key's own picture box, in key order; None where the
    film keeps one framing: framing ALL, 3-D, a push-in or orbit, fewer than two picture keys or boxes that are
    all the same (a single picture frames exactly as it always did).

    Each key's distance is what a single picture with that box gets: its corners grown by the radius in x
    and y, solved by `fit_distance` with the margin, looking straight down."""
    if opts.framing != "PICTURE" or dim != 2 or not MOVES[opts.camera].still or not key_extents:
        return None
    if len(key_extents) != timing.n_keys(opts) or (extent is not None and len(extent) != 4):
        return None
    boxes = [None if e is None else tuple(float(v) for v in e[:4]) for e in key_extents]
    pictures = [b for b in boxes if b is not None]
    if len(pictures) < 2 or len(set(pictures)) < 2:
        return None
    tan_w, tan_h = half_tangents(opts)
    fits = {}
    for box in set(pictures):
        x0, x1, y0, y1 = box
        center = np.array([(x0 + x1) / 2, (y0 + y1) / 2, 0.0])
        corners = box_corners((x0, x1, y0, y1, 0.0, 0.0), radius, 0.0)
        d = fit_distance(corners, center, rotation(0.0, 0.0), tan_w, tan_h, opts.margin)
        fits[box] = (float(center[0]), float(center[1]), max(d, 1e-3) * FIT_SLACK)
    out = []
    for k, box in enumerate(boxes):
        if box is None:  # noise: the next picture's framing (the first picture for noise -> A -> B), else the last
            box = next((b for b in boxes[k + 1:] if b is not None), None) or pictures[-1]
        out.append(fits[box])
    return out


def key_framing(cam: bpy.types.Object, opts: SceneOptions, frame_start: int = timing.FRAME_START) -> bool:
    """Key the per-key framing stored on `cam` with the film's timing `opts` (per-key holds and moves): the
    rig's x, y and the camera's distance get the keyframes of the Mesh Cache's `eval_frame`, valued per key.
    False (nothing keyed) for a camera with one framing."""
    raw = cam.get(KEY_FRAMING) if cam is not None else None
    if not isinstance(raw, str) or cam.parent is None:
        return False
    per_key = json.loads(raw)
    if len(per_key) != timing.n_keys(opts):
        return False
    for ob, idx, action, col in ((cam.parent, 0, RIG_ACTION, 0), (cam.parent, 1, RIG_ACTION, 1),
                                 (cam, 2, CAMERA_ACTION, 2)):
        values = [float(f[col]) for f in per_key]
        timing.key_fcurve(compat.ensure_fcurve(ob, "location", idx, action), opts, frame_start=frame_start,
                          samples=values)
        ob.location[idx] = values[timing.layout(opts, frame_start).stops[0].key]
    return True


def _key(fc, frame: float, value: float, interp: str, easing: str) -> None:
    p = fc.keyframe_points.insert(frame, value, options={"FAST"})
    p.interpolation = interp
    p.easing = easing
    fc.extrapolation = "CONSTANT"
    fc.update()
