"""Sequences (flowreel.traj/2 with K keys): timing, key colours, the Keys rows, the render script, bad input.

The files are synthetic (numpy + trajformat.write): noise -> a square -> a ring, red at the square and
blue at the ring, so nothing here needs the trainer.
"""

import json
import re

import numpy as np
import pytest

from flowreel.addon.core import sequence, timing, trajformat
from flowreel.addon.core.options import OptionsError, SceneOptions
from flowreel.addon.core.trajformat import Trajectory

RED, BLUE = (255, 0, 0, 255), (0, 0, 255, 255)
PER = 8  # file frames per move


def make_seq(path, N=120, seed=0, key_hold=None, move_seconds=(None, None), colors=True, format_ok=True,
             per=(PER, PER)):
    """noise -> square -> ring over per[0] + per[1] + 1 file frames (each move even in time, at times 0, 0.5,
    1); key 1 = the square (red), key 2 = the ring (blue)."""
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(N, 2))
    side, which = rng.uniform(-1.5, 1.5, N), rng.integers(0, 4, N)
    square = np.stack([np.where(which < 2, np.where(which == 0, -1.5, 1.5), side),
                       np.where(which >= 2, np.where(which == 2, -1.5, 1.5), side)], 1)
    a = np.linspace(0, 2 * np.pi, N, endpoint=False)
    ring = np.stack([2.5 * np.cos(a), 2.5 * np.sin(a)], 1)
    ends = [z, square, ring]
    T = per[0] + per[1] + 1
    pos = np.empty((T, N, 2), np.float32)
    for m in range(2):
        for j in range(per[m] + 1):  # a curved path: samples between keys are not a straight line
            u = j / per[m]
            pos[m * per[0] + j] = (1 - u) * ends[m] + u * ends[m + 1] + 0.3 * np.sin(np.pi * u)
    times = np.concatenate([np.linspace(0, 0.5, per[0] + 1)[:-1], np.linspace(0.5, 1, per[1] + 1)]).astype(np.float32)
    kc = np.stack([np.tile(np.array(c, np.uint8), (N, 1)) for c in (RED, RED, BLUE)])
    keys = [
        {"index": 0, "time": 0.0, "kind": "noise", "name": None, "sha256": None, "extent": None, "hold": None},
        {"index": per[0], "time": float(times[per[0]]), "kind": "picture", "name": "square.png", "sha256": "0" * 64,
         "extent": [-1.5, 1.5, -1.5, 1.5], "hold": key_hold},
        {"index": T - 1 if format_ok else PER, "time": 1.0, "kind": "picture", "name": "ring.png",
         "sha256": "1" * 64, "extent": [-2.5, 2.5, -2.5, 2.5], "hold": None},
    ]
    segments = [{"kind": "move", "from": 0, "to": 1, "via": "flow", "seconds": move_seconds[0]},
                {"kind": "hold", "key": 1, "seconds": None},
                {"kind": "move", "from": 1, "to": 2, "via": "direct", "seconds": move_seconds[1]}]
    meta = {"format": trajformat.FORMAT, "extent": [-4.0, 4.0, -3.0, 3.0], "keys": keys, "segments": segments}
    traj = Trajectory(pos, times, meta, kc[-1] if colors else None, None, kc if colors else None)
    if format_ok:
        trajformat.write(path, traj)
    else:  # what a broken writer would leave: bypass write's validation
        np.savez(path, positions=pos, times=times, meta=np.array(json.dumps(meta)), colors=kc[-1], key_colors=kc)
    return pos


def small(**kw):
    base = dict(fps=8, seconds=1.0, hold_start=0.5, hold_end=0.5, hold_keys=1.0, resolution=(64, 36))
    base.update(kw)
    return SceneOptions(**base)


def resolved(path, **kw):
    return sequence.resolve_file(small(**kw), trajformat.read(path))


# --- timing, pure Python --------------------------------------------------------------------------
def test_timing_takes_the_file_then_the_options_and_flags_win(tmp_path):
    make_seq(tmp_path / "s.npz", key_hold=2.0, move_seconds=(None, 3.0))
    o = resolved(tmp_path / "s.npz")
    assert o.key_holds == (0.5, 2.0, 0.5) and o.move_seconds == (1.0, 3.0)  # file where it says, else defaults
    make_seq(tmp_path / "d.npz")
    assert resolved(tmp_path / "d.npz", hold_keys=0.25).key_holds == (0.5, 0.25, 0.5)  # a middle key: hold_keys
    assert resolved(tmp_path / "d.npz", reverse=True, hold_start=2.0).key_holds == (0.5, 1.0, 2.0)  # film's start
    o = resolved(tmp_path / "s.npz", key_holds=(0, 1, 2), move_seconds=(4, 5))
    assert o.key_holds == (0, 1, 2) and o.move_seconds == (4, 5)
    with pytest.raises(OptionsError, match="2 key holds given, but the film has 3 keys .*noise, square.png, ring.png"):
        resolved(tmp_path / "s.npz", key_holds=(1, 2))
    assert sequence.resolve(o, trajformat.read(tmp_path / "s.npz").keys, []) == o  # resolving twice changes nothing


def test_three_keys_layout_holds_moves_reverse_and_ping_pong(tmp_path):
    make_seq(tmp_path / "s.npz")
    o = resolved(tmp_path / "s.npz")  # holds 0.5, 1, 0.5 s; moves 1, 1 s; 8 fps
    lay = timing.layout(o)
    assert [(s.arrive, s.leave, s.key) for s in lay.stops] == [(1, 5, 0), (13, 21, 1), (29, 33, 2)]
    assert lay.frames == 4 + 8 + 8 + 8 + 4 + 1
    s = [timing.key_position(f, o) for f in range(lay.start, lay.end + 1)]
    assert s[12:21] == [1.0] * 9 and s[:5] == [0.0] * 5 and s[-5:] == [2.0] * 5
    assert all(b > a for a, b in zip(s[4:13], s[5:13], strict=False))  # each move eases monotonically
    assert timing.key_position(17 - 4 + 8 + 4, o) == pytest.approx(1.5)  # halfway through the second move
    r = timing.layout(resolved(tmp_path / "s.npz", reverse=True))
    assert [st.key for st in r.stops] == [2, 1, 0] and r.frames == lay.frames
    p = timing.layout(resolved(tmp_path / "s.npz", ping_pong=True))
    assert [st.key for st in p.stops] == [0, 1, 2, 1, 0] and p.frames == 2 * lay.frames - 4 - 2
    assert timing.flow_time(p.end + 1, resolved(tmp_path / "s.npz", ping_pong=True)) == 0.0  # the loop closes


@pytest.mark.parametrize("kw", [{}, {"reverse": True}, {"ping_pong": True}, {"hold_start": 0, "hold_end": 0},
                                {"reverse": True, "ping_pong": True, "hold_start": 1.25}])
def test_a_single_flow_keeps_the_classic_timing(tmp_path, kw):
    """A v1 file (two keys) resolved from the file plays exactly as the options alone did before sequences."""
    pos = np.random.default_rng(0).normal(size=(5, 10, 2)).astype(np.float32)
    meta = {"format": trajformat.FORMAT_V1, "extent": [-4, 4, -4, 4]}
    np.savez(tmp_path / "v1.npz", positions=pos, times=np.linspace(0, 1, 5, dtype=np.float32),
             meta=np.array(json.dumps(meta)))
    classic = small(**kw)
    o = sequence.resolve_file(classic, trajformat.read(tmp_path / "v1.npz"))
    assert len(o.key_holds) == 2
    a, b = timing.layout(classic), timing.layout(o)
    assert (a.start, a.flow_start, a.flow_end, a.back_start, a.back_end, a.end) == \
           (b.start, b.flow_start, b.flow_end, b.back_start, b.back_end, b.end)
    assert timing.keys(classic) == timing.keys(o)
    assert [timing.flow_time(f, classic) for f in range(0, a.end + 3)] == [timing.flow_time(f, o) for f in
                                                                            range(0, a.end + 3)]


# --- the scene, through the bpy module ------------------------------------------------------------
def _evaluated(bpy, obj, frame):
    """(positions [n, 3], display colours [n, 4]) of the evaluated point cloud at `frame`."""
    bpy.context.scene.frame_set(frame)
    dg = bpy.context.evaluated_depsgraph_get()
    for inst in dg.object_instances:
        ob = inst.object
        if ob.type == "POINTCLOUD" and ob.original == obj.original:
            p = np.empty(len(ob.data.attributes["position"].data) * 3, np.float32)
            ob.data.attributes["position"].data.foreach_get("vector", p)
            c = np.empty(len(ob.data.attributes["flowreel_display"].data) * 4, np.float32)
            ob.data.attributes["flowreel_display"].data.foreach_get("color", c)
            return p.reshape(-1, 3)[:, :2], c.reshape(-1, 4)
    raise LookupError("no point cloud")


def _expected(pos, o, frame, samples=(0, PER, 2 * PER)):
    """Positions at `frame`: the cache sample of the key position, linear between file frames."""
    x = timing.sample_at(timing.key_position(frame, o), samples)
    j = min(int(np.floor(x)), len(pos) - 2)
    return (1 - (x - j)) * pos[j] + (x - j) * pos[j + 1]


def test_keys_land_holds_hold_and_colours_blend(bpy, tmp_path):
    from flowreel.addon.scene import film_timing
    from flowreel.addon.scene.build import build_scene

    pos = make_seq(tmp_path / "s.npz")
    obj = build_scene(bpy.context.scene, str(tmp_path / "s.npz"), small())
    o = film_timing.film_options(obj, small())
    lay = timing.layout(o)
    scene = bpy.context.scene
    assert (scene.frame_start, scene.frame_end) == (1, 33) == (lay.start, lay.end)
    red, blue = np.array([1.0, 0, 0]), np.array([0, 0, 1.0])
    for stop, index, color in zip(lay.stops, (0, PER, 2 * PER), (red, red, blue), strict=True):
        for f in range(stop.arrive, stop.leave + 1):  # the whole hold: exactly the key's frame, its colour
            p, c = _evaluated(bpy, obj, f)
            np.testing.assert_allclose(p, pos[index], atol=1e-5, err_msg=f"frame {f}, key {stop.key}")
            np.testing.assert_allclose(c[:, :3], np.tile(color, (len(c), 1)), atol=1e-6, err_msg=f"frame {f}")
    for f in (6, 9, 11, 22, 25, 27):  # mid-move: the eased path between samples, the colours mixing
        p, c = _evaluated(bpy, obj, f)
        np.testing.assert_allclose(p, _expected(pos, o, f), atol=2e-5, err_msg=f"frame {f}")
        s = timing.key_position(f, o)
        want = red if s <= 1 else (2 - s) * red + (s - 1) * blue
        np.testing.assert_allclose(c[0, :3], want, atol=1e-5, err_msg=f"frame {f}, s = {s}")
    _, c = _evaluated(bpy, obj, 25)
    assert c[0, 0] == pytest.approx(0.5, abs=1e-5) and c[0, 2] == pytest.approx(0.5, abs=1e-5)


def test_moves_at_their_own_rates_keep_their_frames(bpy, tmp_path):
    """A 4-frame move then a 12-frame one (times even within each move, not overall): no resampling, each
    key at its own frame of the file."""
    from flowreel.addon.scene import film_timing
    from flowreel.addon.scene.build import build_scene
    from flowreel.addon.scene.pointcache import uniform_times

    pos = make_seq(tmp_path / "s.npz", per=(4, 12))
    traj = trajformat.read(tmp_path / "s.npz")
    assert not uniform_times(traj.times) and uniform_times(traj.times, knots=[0, 4, 16])
    assert not uniform_times(np.linspace(0, 1, 17) ** 2, knots=[0, 4, 16])
    obj = build_scene(bpy.context.scene, str(tmp_path / "s.npz"), small())
    o = film_timing.film_options(obj, small())
    lay = timing.layout(o)
    for stop, index in zip(lay.stops, (0, 4, 16), strict=True):
        np.testing.assert_allclose(_evaluated(bpy, obj, stop.arrive)[0], pos[index], atol=1e-5)
    for f in (8, 23, 26):
        np.testing.assert_allclose(_evaluated(bpy, obj, f)[0], _expected(pos, o, f, (0, 4, 16)), atol=2e-5)


def test_single_flow_and_uniform_colours_import_as_before(bpy, tmp_path):
    """No per-key attributes or blend where nothing needs blending: a v1 file, GRADIENT colours."""
    from flowreel.addon.scene.build import build_scene

    pos = np.random.default_rng(0).normal(size=(5, 10, 2)).astype(np.float32)
    trajformat.write(tmp_path / "one.npz", Trajectory(pos, np.linspace(0, 1, 5, dtype=np.float32),
                                                      {"extent": [-4, 4, -4, 4]}, np.full((10, 4), 200, np.uint8)))
    make_seq(tmp_path / "s.npz")
    for path, opts in ((tmp_path / "one.npz", small()), (tmp_path / "s.npz", small(color_mode="GRADIENT"))):
        obj = build_scene(bpy.context.scene, str(path), opts)
        assert not any(a.name.startswith("flowreel_display_") for a in obj.data.attributes)
        kinds = {n.bl_idname for n in obj.modifiers["Flowreel Points"].node_group.nodes}
        assert kinds == {"NodeGroupInput", "NodeGroupOutput", "GeometryNodeMeshToPoints", "GeometryNodeSetMaterial"}


def test_key_rows_show_the_keys_and_editing_a_hold_re_keys(addon_registered, tmp_path):
    from flowreel.addon.scene import film_timing

    bpy = addon_registered
    pos = make_seq(tmp_path / "s.npz")
    assert bpy.ops.import_scene.flowreel(filepath=str(tmp_path / "s.npz"), fps=8, seconds=1.0, hold_start=0.5,
                                         hold_end=0.5, hold_keys=1.0, resolution_x=64, resolution_y=36) == {"FINISHED"}
    obj = bpy.data.objects["Flowreel Points"]
    rows = obj.flowreel_keys
    assert [(r.name, r.kind, r.hold) for r in rows] == [("noise", "noise", 0.5), ("square.png", "picture", 1.0),
                                                        ("ring.png", "picture", 0.5)]
    assert [r.seconds for r in rows][:2] == [1.0, 1.0]
    scene = bpy.context.scene
    assert scene.frame_end == 33
    rows[1].hold = 2.0  # the square rests 8 frames longer
    rows[0].seconds = 0.5  # and the first move takes 4 frames fewer
    assert scene.frame_end == 33 + 8 - 4
    film_opts = film_timing.film_options(obj, small())
    lay = timing.layout(film_opts)
    assert [(s.arrive, s.leave) for s in lay.stops] == [(1, 5), (9, 25), (33, 37)]
    assert film_opts.key_holds == (0.5, 2.0, 0.5)
    for f, index in ((9, PER), (25, PER), (33, 2 * PER), (37, 2 * PER)):
        p, c = _evaluated(bpy, obj, f)
        np.testing.assert_allclose(p, pos[index], atol=1e-5, err_msg=f"frame {f}")
        assert (c[0, 2] > 0.99) == (index == 2 * PER)  # the colour follows the new timing too
    p, _ = _evaluated(bpy, obj, 29)
    assert np.abs(p - pos[PER]).max() > 0.5  # moving again after the longer hold


def test_broken_keys_report_one_line_and_build_nothing(addon_registered, tmp_path):
    bpy = addon_registered
    make_seq(tmp_path / "bad.npz", format_ok=False)  # the last key's index is not the last frame
    before = {k: len(getattr(bpy.data, k)) for k in ("objects", "meshes", "node_groups", "actions", "materials")}
    with pytest.raises(RuntimeError, match=r"bad\.npz: key indices must increase from 0 to 16") as info:
        bpy.ops.import_scene.flowreel(filepath=str(tmp_path / "bad.npz"))
    assert "Traceback" not in str(info.value) and "\n" not in str(info.value).strip()
    assert {k: len(getattr(bpy.data, k)) for k in before} == before
    assert not (tmp_path / "flowreel_cache").exists() or not any((tmp_path / "flowreel_cache").iterdir())


# --- the render script ----------------------------------------------------------------------------
def _pixels(path):
    from PIL import Image

    a = np.asarray(Image.open(path).convert("RGB")).reshape(-1, 3).astype(float)
    return a[a.sum(axis=1) > 60]  # the points (the glow look's background is black)


def test_render_script_films_the_sequence(bpy, tmp_path, capsys):
    from flowreel.addon.core.frames import read_record
    from flowreel.addon.render import __main__ as render
    from flowreel.trainer.film.sheet import frames_at_times

    make_seq(tmp_path / "s.npz", N=60)
    frames = tmp_path / "frames"
    base = [str(tmp_path / "s.npz"), "--no-video", "--frames-dir", str(frames), "--engine", "cycles", "--samples",
            "1", "--resolution", "64x36", "--fps", "8", "--seconds", "1", "--hold-start", "0.5", "--hold-end", "0.5",
            "--radius", "0.3"]
    assert render.main(base) == 0
    out = capsys.readouterr().out
    assert sorted(int(p.stem[6:]) for p in frames.glob("frame_*.png")) == list(range(1, 34))
    record = read_record(frames)
    assert record["key_holds"] == [0.5, 1.0, 0.5] and record["move_seconds"] == [1.0, 1.0]
    copied = {int(m) for m in re.findall(r"frame (\d+) \(\d+/\d+\) copy of", out)}
    # still frames are copies, and only they: frames whose neighbours show the same key
    assert copied == {2, 3, 4, 15, 16, 17, 18, 19, 20, 31, 32, 33}
    for f, (dominant, other) in ((13, (0, 2)), (21, (0, 2)), (29, (2, 0)), (33, (2, 0))):
        px = _pixels(frames / f"frame_{f:04d}.png")
        assert len(px) > 20, f"frame {f}: no points in view"
        assert px[:, dominant].mean() > px[:, other].mean() + 60, f"frame {f}: {px.mean(axis=0)}"
    mid = _pixels(frames / "frame_0025.png").mean(axis=0)  # s = 1.5: half red, half blue
    assert mid[0] > 80 and mid[2] > 80, mid
    opts = SceneOptions(fps=8, seconds=1.0, hold_start=0.5, hold_end=0.5, key_holds=tuple(record["key_holds"]),
                        move_seconds=tuple(record["move_seconds"]))
    assert frames_at_times(opts, [0.0, 0.5, 1.0]) == [1, 13, 29]  # the sheet finds the keys from the record

    # per-key flags change the film, and so the record: the old frames are not reused silently
    changed = [*base, "--key-holds", "0,0.5,0", "--move-seconds", "0.5,1"]
    assert render.main(changed) == 1
    assert "key_holds" in capsys.readouterr().err
    assert render.main([*changed, "--replace-changed", "--frames", "1-1"]) == 0
    assert read_record(frames)["key_holds"] == [0.0, 0.5, 0.0]
    assert render.main([*base, "--key-holds", "1,2"]) == 1  # two holds for three keys: one line, nothing rendered
    err = capsys.readouterr().err.strip()
    assert "2 key holds given, but the film has 3 keys" in err and len(err.splitlines()) == 1


def test_editing_a_row_moves_the_end_of_the_camera_move(addon_registered, tmp_path):
    from flowreel.addon import compat

    bpy = addon_registered
    make_seq(tmp_path / "s.npz")
    assert bpy.ops.import_scene.flowreel(filepath=str(tmp_path / "s.npz"), fps=8, seconds=1.0, camera="PUSH_IN",
                                         resolution_x=64, resolution_y=36) == {"FINISHED"}
    scene, obj = bpy.context.scene, bpy.data.objects["Flowreel Points"]

    def camera_key_frames():
        return sorted({round(p.co.x) for fc in compat.fcurves_of(scene.camera) for p in fc.keyframe_points})

    assert camera_key_frames() == [scene.frame_start, scene.frame_end]
    obj.flowreel_keys[2].hold = 3.0
    assert scene.frame_end == 1 + 4 + 8 + 8 + 8 + 24
    assert camera_key_frames() == [1, scene.frame_end]  # the push-in still ends on the film's last frame
