"""Blender's properties are generated from SceneOptions (core/options.py: UI, CHOICES): a scene option is declared
once and appears as a property with its label, bounds and default, in the sidebar's sections and the importer."""

from __future__ import annotations

import dataclasses

import pytest

from flowreel.addon.core.options import CHOICES, UI, SceneOptions


def test_every_scene_option_is_a_property_with_its_declared_label_bounds_and_default(addon_registered):
    bpy = addon_registered
    from flowreel.addon.ui import props

    rna = bpy.types.Scene.bl_rna.properties["flowreel"].fixed_type.properties
    defaults = SceneOptions()
    for name in props._GENERATED:
        p = rna[name]
        ui = UI.get(name)
        assert p.name == (ui.label if ui else name.replace("_", " ").title())
        if name in CHOICES:
            assert [i.identifier for i in p.enum_items] == list(CHOICES[name]) and p.default == getattr(defaults, name)
        elif p.type in ("INT", "FLOAT"):
            assert abs(p.default - getattr(defaults, name)) < 1e-6
            if ui and ui.min is not None:
                assert abs(p.hard_min - ui.min) < 1e-6
    assert rna["fps"].hard_min == 1 and rna["fps"].hard_max == 240 and rna["margin"].subtype == "FACTOR"
    s = bpy.context.scene.flowreel
    got = dataclasses.asdict(s.to_options())  # the sidebar's defaults are the options' defaults (float32 aside)
    for name, want in dataclasses.asdict(defaults).items():
        assert got[name] == (pytest.approx(want) if isinstance(want, (float, tuple)) and want else want), name
    by_hand = {"color", "resolution", "background", "color_start", "key_holds", "move_seconds"}
    assert {f.name for f in dataclasses.fields(SceneOptions)} - by_hand == set(props._GENERATED)


def test_the_panel_draws_every_setting_once_and_follows_its_conditions(addon_registered):
    bpy = addon_registered
    from flowreel.addon.ui.props import OPTION_NAMES, panel_rows

    s = bpy.context.scene.flowreel
    drawn = [name for _, rows in panel_rows(s) for name in rows]
    assert len(drawn) == len(set(drawn)) and "More" not in [h for h, _ in panel_rows(s)]
    assert "orbit_degrees" not in drawn and "color" not in drawn  # STATIC camera, IMAGE colours
    s.camera, s.color_mode, s.background_kind = "ORBIT", "SINGLE", "PICTURE"
    drawn = {name for _, rows in panel_rows(s) for name in rows}
    assert {"orbit_degrees", "color", "background_picture"} <= drawn and "background_color" not in drawn
    s.background_kind = "COLOR"
    s.color_start_kind = "COLOR"
    drawn = {name for _, rows in panel_rows(s) for name in rows}
    assert set(OPTION_NAMES) - drawn == {"background_picture"}  # every setting has its row
