"""Colour and size over time (addon/scene/life.py, core/over_time.py): the evaluated point cloud's attributes."""

from __future__ import annotations

import numpy as np
import pytest
from test_addon_render_util import COLORS, RADIUS, write_tiny_traj

from flowreel.addon.core.options import OptionsError, SceneOptions


def _opts(**kw) -> SceneOptions:
    # 5 scene frames: 1 = noise at rest, 2-4 the flow (t = 0, 0.5, 1), 5 = the picture at rest.
    return SceneOptions(fps=4, seconds=0.5, hold_start=0.25, hold_end=0.25, easing="LINEAR", radius=RADIUS,
                        resolution=(64, 40), **kw)


def _points(bpy, obj, frame: int) -> tuple[np.ndarray, np.ndarray]:
    """(display colours [n, 4], radii [n]) of the evaluated point cloud at `frame`."""
    bpy.context.scene.frame_set(frame)
    dg = bpy.context.evaluated_depsgraph_get()
    for inst in dg.object_instances:
        ob = inst.object
        if ob.type == "POINTCLOUD" and ob.original == obj.original:
            attrs = ob.data.attributes
            c = np.empty(len(attrs["flowreel_display"].data) * 4, np.float32)
            attrs["flowreel_display"].data.foreach_get("color", c)
            r = np.empty(len(attrs["radius"].data), np.float32)
            attrs["radius"].data.foreach_get("value", r)
            return c.reshape(-1, 4), r
    raise LookupError("no point cloud")


def _linear(srgb: np.ndarray) -> np.ndarray:
    return np.where(srgb <= 0.04045, srgb / 12.92, ((srgb + 0.055) / 1.055) ** 2.4)


def test_start_colour_and_size_blend_into_the_picture(bpy, tmp_path):
    from flowreel.addon.scene.build import build_scene

    traj = write_tiny_traj(tmp_path / "t.npz")
    obj = build_scene(bpy.context.scene, str(traj), _opts(color_start="#ff0000", size_start=0.2, size_end=1.5))
    picture = _linear(COLORS[:, :3] / 255.0)
    red = np.array([1.0, 0.0, 0.0])
    for frame in (1, 2):  # the noise at rest and the flow's first frame: all start colour, start size
        c, r = _points(bpy, obj, frame)
        np.testing.assert_allclose(c[:, :3], np.tile(red, (6, 1)), atol=1e-5)
        np.testing.assert_allclose(r, 0.2 * RADIUS, rtol=1e-5)
    c, r = _points(bpy, obj, 3)  # half way (linear easing): half of each
    np.testing.assert_allclose(c[:, :3], 0.5 * red + 0.5 * picture, atol=1e-4)
    np.testing.assert_allclose(r, 0.85 * RADIUS, rtol=1e-4)
    for frame in (4, 5):  # landed: the picture's colours, the end size
        c, r = _points(bpy, obj, frame)
        np.testing.assert_allclose(c[:, :3], picture, atol=1e-4)
        np.testing.assert_allclose(r, 1.5 * RADIUS, rtol=1e-5)


def test_noise_palette_start_and_eased_timing(bpy, tmp_path):
    from flowreel.addon.scene.build import build_scene, display_colors

    traj = write_tiny_traj(tmp_path / "t.npz")
    opts = _opts(color_start="noise")
    opts.easing = "EASE_IN_OUT"
    obj = build_scene(bpy.context.scene, str(traj), opts)
    start = np.asarray([v.co[:] for v in obj.data.vertices], np.float32)
    gradient = display_colors(SceneOptions(color_mode="GRADIENT"), None, start)
    c, r = _points(bpy, obj, 1)
    np.testing.assert_allclose(c[:, :3], gradient[:, :3], atol=1e-5)
    np.testing.assert_allclose(r, RADIUS, rtol=1e-5)  # sizes untouched without --size-start / --size-end
    c, _ = _points(bpy, obj, 3)  # the middle of an eased move is still its middle
    np.testing.assert_allclose(c[:, :3], 0.5 * gradient[:, :3] + 0.5 * _linear(COLORS[:, :3] / 255.0), atol=1e-3)


def test_no_over_time_options_leave_the_group_as_it_was(bpy, tmp_path):
    from flowreel.addon.scene.build import build_scene

    obj = build_scene(bpy.context.scene, str(write_tiny_traj(tmp_path / "t.npz")), _opts())
    ng = obj.modifiers["Flowreel Points"].node_group
    assert not [n for n in ng.nodes if n.bl_idname == "GeometryNodeStoreNamedAttribute"]
    assert "flowreel_start_color" not in obj.data.attributes


@pytest.mark.parametrize("kw", [{"color_start": "red"}, {"color_start": "#12"}, {"size_start": -1.0},
                                {"size_end": float("nan")}])
def test_bad_values_are_one_line_errors(kw):
    with pytest.raises(OptionsError) as e:
        SceneOptions(**kw).check()
    assert "\n" not in str(e.value)


def test_flags_in_render_and_movie():
    from flowreel.addon.core.errors import UsageError
    from flowreel.addon.render.args import build_parser
    from flowreel.trainer.cli import build_parser as trainer_parser

    a = build_parser().parse_args(["t.npz", "--color-start", "noise", "--size-start", "0.3", "--size-end", "2"])
    assert (a.color_start, a.size_start, a.size_end) == ("noise", 0.3, 2.0)
    m = trainer_parser().parse_args(["movie", "a.png", "-o", "f.mp4", "--color-start", "#ffffff"])
    assert m.color_start == "#ffffff"
    with pytest.raises(UsageError):
        trainer_parser().parse_args(["movie", "a.png", "-o", "f.mp4", "--color-start", "teal"])


def test_movie_hands_its_scene_flags_to_the_render(tmp_path, monkeypatch):
    """`trainer movie --background/--color-start/--size-start/--size-end` reach the render script's options."""
    from flowreel.addon.core.options import scene_options_from
    from flowreel.addon.render.args import build_parser
    from flowreel.trainer.cli import main
    from flowreel.trainer.film import movie

    seen = {}

    def fake_make_movie(settings):
        seen["settings"] = settings
        raise KeyboardInterrupt  # stop here: no fit

    monkeypatch.setattr(movie, "make_movie", fake_make_movie)
    main(["movie", str(tmp_path / "a.png"), "-o", str(tmp_path / "f.mov"), "--background", "transparent",
          "--color-start", "noise", "--size-start", "0.5", "--size-end", "2", "--trail", "0.3"])
    monkeypatch.setattr(movie, "run_render", lambda args, blender=None: seen.setdefault("args", args) and 1)
    with pytest.raises(movie.MovieError):
        movie.render_film(seen["settings"], write_tiny_traj(tmp_path / "t.npz"), tmp_path / "f.mov")
    opts = scene_options_from(build_parser().parse_args(seen["args"]))
    assert (opts.background, opts.color_start, opts.size_start, opts.size_end, opts.trail) == (
        "transparent", "noise", 0.5, 2.0, 0.3)


def test_sidebar_properties_give_the_options(addon_registered):
    s = addon_registered.context.scene.flowreel
    assert (s.to_options().color_start, s.to_options().size_start) == ("", 1.0)
    s.color_start_kind, s.color_start_color, s.size_start, s.size_end = "COLOR", (0.0, 0.5, 1.0), 0.25, 2.0
    o = s.to_options()
    assert (o.color_start, o.size_start, o.size_end) == ("#0080ff", 0.25, 2.0)
    s.color_start_kind, s.trail = "NOISE", 0.3
    assert (s.to_options().color_start, s.to_options().trail) == ("noise", pytest.approx(0.3))
