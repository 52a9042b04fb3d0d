"""The camera of a picture sequence frames each key's own picture, and moves between key framings with the film.

Synthetic files (numpy + trajformat.write, no trainer): noise -> a square box [-4, 4]^2 -> a wide bar
[-4, 4] x [-1, 1] (or a bar off the centre), 64 x 36 frames (16:9): the square's framing is set by the
frame's height, the bar's by its width, so framing the union (the square) leaves the bar at 9/16 of the
width it should fill.
"""

import numpy as np
import pytest

from flowreel.addon.core import trajformat
from flowreel.addon.core.options import SceneOptions
from flowreel.addon.core.trajformat import Trajectory

SQUARE = (-4.0, 4.0, -4.0, 4.0)
BAR = (-4.0, 4.0, -1.0, 1.0)
RADIUS = 0.05
PER = 4  # file frames per move
# fps 8, holds 0.5 / 1 / 0.5 s, moves 1 s: rests (arrive, leave) on the keys
STOPS = [(1, 5), (13, 21), (29, 33)]


def make_film(path, bar=BAR, N=64, seed=0):
    """noise -> square -> bar: particles spread over each key's box (the camera only reads the boxes)."""
    rng = np.random.default_rng(seed)
    ends = [rng.normal(size=(N, 2))]
    for x0, x1, y0, y1 in (SQUARE, bar):
        ends.append(np.stack([rng.uniform(x0, x1, N), rng.uniform(y0, y1, N)], 1))
    T = 2 * PER + 1
    pos = np.empty((T, N, 2), np.float32)
    for m in range(2):
        for j in range(PER + 1):
            u = j / PER
            pos[m * PER + j] = (1 - u) * ends[m] + u * ends[m + 1]
    keys = [
        {"index": 0, "time": 0.0, "kind": "noise", "name": None, "sha256": None, "extent": None, "hold": None},
        {"index": PER, "time": 0.5, "kind": "picture", "name": "square.png", "sha256": "0" * 64,
         "extent": list(SQUARE), "hold": None},
        {"index": T - 1, "time": 1.0, "kind": "picture", "name": "bar.png", "sha256": "1" * 64,
         "extent": list(bar), "hold": None},
    ]
    segments = [{"kind": "move", "from": 0, "to": 1, "via": "flow", "seconds": None},
                {"kind": "move", "from": 1, "to": 2, "via": "direct", "seconds": None}]
    union = [min(SQUARE[0], bar[0]), max(SQUARE[1], bar[1]), min(SQUARE[2], bar[2]), max(SQUARE[3], bar[3])]
    meta = {"format": trajformat.FORMAT, "extent": union, "keys": keys, "segments": segments}
    times = np.concatenate([np.linspace(0, 0.5, PER + 1)[:-1], np.linspace(0.5, 1, PER + 1)]).astype(np.float32)
    trajformat.write(path, Trajectory(pos, times, meta, None))


def small(**kw):
    base = dict(fps=8, seconds=1.0, hold_start=0.5, hold_end=0.5, hold_keys=1.0, resolution=(64, 36),
                radius=RADIUS)
    base.update(kw)
    return SceneOptions(**base)


def fill(bpy, frame, box, radius=RADIUS):
    """(half-width, half-height, centre x, centre y) of `box` grown by the radius, in frame fractions at
    `frame`: the largest |x - 0.5| and |y - 0.5| of its projected corners (0.5 = the frame's edge)."""
    from bpy_extras.object_utils import world_to_camera_view
    from mathutils import Vector

    scene = bpy.context.scene
    scene.frame_set(frame)
    x0, x1, y0, y1 = box
    pts = [world_to_camera_view(scene, scene.camera, Vector((x, y, 0.0)))
           for x in (x0 - radius, x1 + radius) for y in (y0 - radius, y1 + radius)]
    xs, ys = np.array([p.x for p in pts]), np.array([p.y for p in pts])
    return (float(np.abs(xs - 0.5).max()), float(np.abs(ys - 0.5).max()), float(xs.mean()), float(ys.mean()))


def matrices(bpy, frames):
    scene = bpy.context.scene
    out = []
    for f in frames:
        scene.frame_set(f)
        out.append(np.array(scene.camera.matrix_world))
    return out


def tight():
    return 0.5 / (1.0 + SceneOptions().margin)  # a framed box fills 1 / (1 + margin) of the half-frame


@pytest.mark.parametrize("bar", [BAR, (-3.0, 3.0, 1.0, 2.5)], ids=["centred", "off-centre"])
def test_each_key_is_framed_on_its_own_picture(bpy, tmp_path, bar):
    from flowreel.addon.scene.build import build_scene

    make_film(tmp_path / "s.npz", bar)
    build_scene(bpy.context.scene, str(tmp_path / "s.npz"), small())
    assert bpy.context.scene.frame_end == STOPS[-1][1]
    (n0, n1), (s0, s1), (b0, b1) = STOPS
    for f in (s0, s1, n0, n1):  # the square, and the noise before it, fill the height
        w, h, cx, cy = fill(bpy, f, SQUARE)
        assert h == pytest.approx(tight(), abs=1e-3) and w < h, f"frame {f}"
        assert (cx, cy) == pytest.approx((0.5, 0.5), abs=1e-4)
    bar_aspect = (bar[1] - bar[0] + 2 * RADIUS) / (bar[3] - bar[2] + 2 * RADIUS)
    for f in (b0, b1):  # the bar fills its limiting side, centred
        w, h, cx, cy = fill(bpy, f, bar)
        assert max(w, h) == pytest.approx(tight(), abs=1e-3), f"frame {f}"
        assert (w > h) == (bar_aspect > 16 / 9)
        assert (cx, cy) == pytest.approx((0.5, 0.5), abs=1e-4), f"frame {f}"
    # mid-move: between the two framings, getting closer to the bar's step by step
    widths = [fill(bpy, f, bar)[0] for f in range(s1, b0 + 1)]
    assert all(b > a for a, b in zip(widths, widths[1:], strict=False)), widths
    # the holds: the camera does not move at all (the render script copies these frames)
    for a, b in STOPS:
        ms = matrices(bpy, range(a, b + 1))
        for f, m in zip(range(a, b + 1), ms, strict=True):
            np.testing.assert_array_equal(m, ms[0], err_msg=f"frame {f} of the hold {a}-{b}")


def test_the_union_framing_left_the_bar_half_the_width(bpy, tmp_path):
    """What the per-key framing fixes: a push-in (which keeps the union framing) ends with the bar at 9/16 of it."""
    from flowreel.addon.scene.build import build_scene

    make_film(tmp_path / "s.npz")
    build_scene(bpy.context.scene, str(tmp_path / "s.npz"), small(camera="PUSH_IN"))
    w, h, _, _ = fill(bpy, STOPS[-1][1], BAR)
    assert w == pytest.approx(tight() * 9 / 16, abs=2e-3)
    assert "flowreel_key_framing" not in bpy.context.scene.camera


def test_a_single_picture_is_framed_as_before(bpy, tmp_path):
    """A one-picture file: the camera stands where the union logic puts it, first frame to last, unkeyed."""
    from flowreel.addon import compat
    from flowreel.addon.camera import rig as camera
    from flowreel.addon.scene.build import build_scene

    pos = np.random.default_rng(0).normal(size=(5, 10, 2)).astype(np.float32)
    trajformat.write(tmp_path / "one.npz", Trajectory(pos, np.linspace(0, 1, 5, dtype=np.float32),
                                                      {"extent": list(BAR)}, None))
    opts = small()
    build_scene(bpy.context.scene, str(tmp_path / "one.npz"), opts)
    cam = bpy.context.scene.camera
    corners = camera.box_corners((*BAR, 0.0, 0.0), RADIUS, 0.0)
    tan_w, tan_h = camera.half_tangents(opts)
    d = camera.fit_distance(corners, np.zeros(3), np.eye(3), tan_w, tan_h, opts.margin) * 1.0005
    want = np.eye(4)
    want[2, 3] = d
    scene = bpy.context.scene
    for m in matrices(bpy, (scene.frame_start, scene.frame_end)):
        np.testing.assert_allclose(m, want, atol=1e-5)
    assert compat.fcurves_of(cam) == [] and compat.fcurves_of(cam.parent) == []
    assert "flowreel_key_framing" not in cam


def test_editing_a_hold_re_keys_the_framing(addon_registered, tmp_path):
    bpy = addon_registered
    make_film(tmp_path / "s.npz")
    assert bpy.ops.import_scene.flowreel(filepath=str(tmp_path / "s.npz"), fps=8, seconds=1.0, hold_start=0.5,
                                         hold_end=0.5, hold_keys=1.0, resolution_x=64, resolution_y=36,
                                         radius=RADIUS) == {"FINISHED"}
    obj = bpy.data.objects["Flowreel Points"]
    obj.flowreel_keys[1].hold = 2.0  # the square rests 8 frames longer: (13, 29), the bar from 37 to 41
    scene = bpy.context.scene
    assert scene.frame_end == 41
    assert fill(bpy, 29, SQUARE)[1] == pytest.approx(tight(), abs=1e-3)  # the old bar frame: still the square
    assert fill(bpy, 33, BAR)[0] < tight() - 0.02  # moving
    for f in (37, 41):
        assert fill(bpy, f, BAR)[0] == pytest.approx(tight(), abs=1e-3), f"frame {f}"
    for a, b in ((13, 29), (37, 41)):
        ms = matrices(bpy, range(a, b + 1))
        assert all(np.array_equal(m, ms[0]) for m in ms), f"the camera moves during the hold {a}-{b}"


def test_reverse_and_ping_pong_follow_the_keys(bpy, tmp_path):
    """The framing is keyed by key, not by frame order: reversed, the film opens on the bar and ends on the noise
    (framed as the square); ping-pong comes back to the square's framing."""
    from flowreel.addon.scene.build import build_scene

    make_film(tmp_path / "s.npz")
    build_scene(bpy.context.scene, str(tmp_path / "s.npz"), small(reverse=True))
    scene = bpy.context.scene
    assert fill(bpy, scene.frame_start, BAR)[0] == pytest.approx(tight(), abs=1e-3)
    assert fill(bpy, scene.frame_end, SQUARE)[1] == pytest.approx(tight(), abs=1e-3)
    bpy.ops.wm.read_factory_settings(use_empty=True)
    build_scene(bpy.context.scene, str(tmp_path / "s.npz"), small(ping_pong=True))
    scene = bpy.context.scene
    assert fill(bpy, 29, BAR)[0] == pytest.approx(tight(), abs=1e-3)  # the turn
    assert fill(bpy, 45, SQUARE)[1] == pytest.approx(tight(), abs=1e-3)  # back on the square: it rests 41-49
