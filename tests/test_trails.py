"""Trails (addon/scene/trails.py): ghosts of earlier frames behind moving particles, gone where they rest."""

from __future__ import annotations

import numpy as np
import pytest
from test_addon_render_util import RADIUS, read_png, write_tiny_traj

from flowreel.addon.core.options import SceneOptions

FPS = 8


def _opts(**kw) -> SceneOptions:
    # 1 s of flow at 8 fps between 0.5 s holds: scene frames 1-4 noise at rest, 5-13 the flow, 13-17 at rest.
    return SceneOptions(fps=FPS, seconds=1.0, hold_start=0.5, hold_end=0.5, easing="LINEAR", radius=RADIUS,
                        resolution=(64, 40), **kw)


def _cloud(bpy, name: str, frame: int) -> tuple[np.ndarray, np.ndarray]:
    """(positions [n, 2], radii [n]) of object `name`'s evaluated point cloud at `frame`."""
    bpy.context.scene.frame_set(frame)
    dg = bpy.context.evaluated_depsgraph_get()
    obj = bpy.data.objects[name]
    for inst in dg.object_instances:
        if inst.object.type == "POINTCLOUD" and inst.object.original == obj:
            attrs = inst.object.data.attributes
            p = np.empty(len(attrs["position"].data) * 3, np.float32)
            attrs["position"].data.foreach_get("vector", p)
            r = np.empty(len(attrs["radius"].data), np.float32)
            attrs["radius"].data.foreach_get("value", r)
            return p.reshape(-1, 3)[:, :2], r
    raise LookupError(name)


def test_ghosts_show_earlier_frames_and_vanish_at_rest(bpy, tmp_path):
    from flowreel.addon.scene import trails
    from flowreel.addon.scene.build import build_scene

    traj = write_tiny_traj(tmp_path / "t.npz", n_frames=9)
    opts = _opts(trail=0.25)  # 2 frames at 8 fps: two ghosts, one frame apart
    obj = build_scene(bpy.context.scene, str(traj), opts)
    ghosts = [o for o in bpy.data.objects if o.name.startswith(trails.PREFIX)]
    assert len(ghosts) == trails.ghost_count(opts) == 2
    for i, g in enumerate(sorted(ghosts, key=lambda o: o.name), 1):
        pos, r = _cloud(bpy, g.name, 10)  # mid-flow: where the particles were i frames ago
        then, _ = _cloud(bpy, obj.name, 10 - i)
        np.testing.assert_allclose(pos, then, atol=1e-5)
        np.testing.assert_allclose(r, RADIUS * (1 - i / 3), rtol=1e-5)
        now, _ = _cloud(bpy, obj.name, 10)
        assert np.linalg.norm(pos - now, axis=1).min() > 0.05  # behind the particle: a visible trail
        pos, r = _cloud(bpy, g.name, 17)  # at rest: inside its particle (same place, smaller)
        rest, r0 = _cloud(bpy, obj.name, 17)
        np.testing.assert_allclose(pos, rest, atol=1e-6)
        assert (r < r0).all()


@pytest.mark.parametrize("engine", ["cycles", "splat"])
def test_trail_renders_streaks_mid_flow_and_nothing_extra_at_rest(bpy, tmp_path, engine):
    """In Cycles and in the splat engine (which draws the ghosts' evaluated point clouds) alike."""
    from flowreel.addon.render import __main__ as render

    traj = write_tiny_traj(tmp_path / "t.npz", n_frames=9)
    args = ["--fps", str(FPS), "--seconds", "1", "--hold-start", "0.5", "--hold-end", "0.5", "--radius", str(RADIUS),
            "--resolution", "64x40", "--samples", "4", "--easing", "linear", "--no-video", "--frames", "9-17",
            "--engine", engine]
    lit = {}
    for name, extra in (("plain", []), ("trail", ["--trail", "0.4"])):
        assert render.main([str(traj), "--frames-dir", str(tmp_path / name), *args, *extra]) == 0
        lit[name] = [(read_png(tmp_path / name / f"frame_{f:04d}.png").max(axis=2) > 40).sum() for f in (9, 17)]
    assert lit["trail"][0] > 1.3 * lit["plain"][0]  # mid-flow: the streaks light more of the frame
    assert abs(lit["trail"][1] - lit["plain"][1]) <= 0.02 * lit["plain"][1]  # at rest: the same picture


def test_trail_flag_and_still_frames():
    from flowreel.addon.core.stills import still_keys
    from flowreel.addon.render.args import build_parser
    from flowreel.trainer.cli import build_parser as trainer_parser

    assert build_parser().parse_args(["t.npz", "--trail", "0.3"]).trail == 0.3
    assert trainer_parser().parse_args(["movie", "a.png", "-o", "f.mp4", "--trail", "0.5"]).trail == 0.5
    # The first frames of the end hold still show the trail arriving: not copies of each other.
    plain, trail = still_keys(_opts(), range(1, 18)), still_keys(_opts(trail=0.25), range(1, 18))
    assert plain[14] == plain[15] and trail[14] != trail[15] and trail[16] == trail[17]
