"""Presets (addon/core/contract/presets.py): flag defaults that bundle look, motion, colours and camera."""

from __future__ import annotations

import dataclasses

import pytest

from flowreel.addon.core.contract.presets import PRESETS
from flowreel.addon.core.errors import UsageError
from flowreel.addon.core.options import SceneOptions


def _movie(*argv: str):
    from flowreel.trainer.cli import build_parser

    return build_parser().parse_args(["movie", "a.png", "-o", "f.mp4", *argv])


@pytest.mark.parametrize("name", list(PRESETS))
def test_every_preset_is_valid_and_reaches_the_movie(name):
    values = PRESETS[name].values
    fields = {f.name for f in dataclasses.fields(SceneOptions)}
    SceneOptions(**{k: v for k, v in values.items() if k in fields}).check()
    args = _movie("--preset", name)
    for key, value in values.items():
        assert getattr(args, key) == value, key  # every value is a flag `trainer movie` has


def test_presets_look_different():
    keys = ("look", "camera", "turbulence", "turbulence_scale", "color_start", "trail", "size_start")
    rows = {n: tuple(p.values.get(k) for k in keys) for n, p in PRESETS.items()}
    assert len(rows) >= 5
    for a in rows:
        for b in rows:
            if a < b:
                assert sum(x != y for x, y in zip(rows[a], rows[b], strict=True)) >= 3, (a, b)


def test_flags_given_win_wherever_they_stand():
    assert _movie("--preset", "ink").look == "ink"
    assert _movie("--preset", "ink", "--look", "glow").look == "glow"  # glow is also the default: still wins
    assert _movie("--look", "glow", "--preset=ink").look == "glow"
    args = _movie("--preset", "galaxy", "--turbulence", "0", "--camera", "static")
    assert (args.turbulence, args.camera, args.trail) == (0.0, "STATIC", PRESETS["galaxy"].values["trail"])
    assert _movie().look == "glow" and _movie().turbulence == 0.0  # no preset: the plain defaults


def test_unknown_preset_is_one_line_naming_them():
    with pytest.raises(UsageError) as e:
        _movie("--preset", "sparkles")
    assert "\n" not in str(e.value) and all(n in str(e.value) for n in PRESETS)
    assert _movie("--preset", "Neon_Sign").preset == "neon-sign"


def test_render_script_takes_the_scene_part():
    from flowreel.addon.render.args import build_parser, scene_options

    opts = scene_options(build_parser().parse_args(["t.npz", "--preset", "swarm", "--size-end", "1.5"]))
    v = PRESETS["swarm"].values
    assert (opts.look, opts.color_start, opts.trail, opts.size_start) == (v["look"], v["color_start"], v["trail"],
                                                                          v["size_start"])
    assert opts.size_end == 1.5
