"""Blender properties mirroring SceneOptions: one mixin shared by the sidebar settings and the importer.

No `from __future__ import annotations` here: Blender reads the property annotations as objects.
"""

import dataclasses

import bpy
from bpy.props import BoolProperty, EnumProperty, FloatProperty, FloatVectorProperty, IntProperty, StringProperty

from ..core.contract.camera_moves import MOVES
from ..core.options import CHOICES, UI, SceneOptions, Ui

_LABELS = {
    "IMAGE": ("Image", "Each particle keeps the colour of the image where it ends"),
    "GRADIENT": ("Gradient", "Colour by start (noise) position"),
    "SINGLE": ("Single", "One colour for every particle"),
    "LINEAR": ("Linear", "Constant speed"),
    "EASE_IN_OUT": ("Ease In-Out", "Start and end slowly"),
    "EASE_IN": ("Ease In", "Start slowly"),
    "EASE_OUT": ("Ease Out", "End slowly"),
    **{name: (move.label, move.help) for name, move in MOVES.items()},  # core/contract/camera_moves.py
    "PICTURE": ("Picture", "The picture fills the frame at the end; the noise cloud's sparse tails may leave it"),
    "ALL": ("All Particles", "Every particle of every frame stays in view"),
    "AUTO": ("Auto", "The file's front: the largest face of the shape's box, near-ties to -Y, then +Z"),
    "-Y": ("-Y Front", "Blender's Front view"),
    "+Z": ("+Z Top", "Blender's Top view: a word lying flat reads from above"),
}


# SceneOptions.background as a kind, a colour and a picture (ids of their own: PICTURE is a framing too).
_BACKGROUND_ITEMS = [
    ("LOOK", "Look's", "The look's own background"),
    ("TRANSPARENT", "Transparent", "No background: a film with alpha (.mov ProRes 4444, .webm, or PNG frames)"),
    ("COLOR", "Colour", "One colour under the particles"),
    ("PICTURE", "Picture", "A picture under the particles, scaled to fill the frame"),
]


_COLOR_START_ITEMS = [
    ("PICTURE", "Picture's", "Particles have their picture's colours from the start"),
    ("COLOR", "Colour", "Particles start in one colour and take the picture's as they land"),
    ("NOISE", "Noise", "Particles start in the noise's own palette (hues by start position)"),
]


def _items(values):
    return [(v, *_LABELS.get(v, (v.title(), v.title()))) for v in values]


_D = SceneOptions()


def _property(name: str):
    """The Blender property of SceneOptions field `name`: label, help and bounds from core.options.UI, choices from
    core.options.CHOICES, the default from the field."""
    ui = UI.get(name) or Ui(name.replace("_", " ").title())
    default = getattr(_D, name)
    kw = {"name": ui.label}
    if ui.help:
        kw["description"] = ui.help
    if name in CHOICES:
        return EnumProperty(items=_items(CHOICES[name]), default=default, **kw)
    if isinstance(default, bool):
        return BoolProperty(default=default, **kw)
    if ui.subtype:
        kw["subtype"] = ui.subtype
    if isinstance(default, str):
        return StringProperty(default=default, **kw)
    bounds = {k: getattr(ui, k) for k in ("min", "max", "soft_min", "soft_max") if getattr(ui, k) is not None}
    if ui.unit:
        kw["unit"] = ui.unit
    if isinstance(default, int):
        return IntProperty(default=default, **kw, **{k: int(v) for k, v in bounds.items()})
    if ui.precision is not None:
        kw["precision"] = ui.precision
    return FloatProperty(default=float(default), **kw, **bounds)


# SceneOptions fields that are no single property, by hand, at their field's place (a sequence's holds and moves:
# the Keys rows of key_props.py).
_BY_HAND = {
    "color": {"color": FloatVectorProperty(name="Single Colour", subtype="COLOR", size=4, min=0.0, max=1.0,
                                           default=_D.color)},
    "resolution": {"resolution_x": IntProperty(name="Width", default=_D.resolution[0], min=16, max=16384,
                                               subtype="PIXEL"),
                   "resolution_y": IntProperty(name="Height", default=_D.resolution[1], min=16, max=16384,
                                               subtype="PIXEL")},
    "background": {
        "background_kind": EnumProperty(name="Background", items=_BACKGROUND_ITEMS, default="LOOK"),
        "background_color": FloatVectorProperty(name="Background Colour", subtype="COLOR_GAMMA", size=3, min=0.0,
                                                max=1.0, default=(1.0, 1.0, 1.0)),
        "background_picture": StringProperty(name="Background Picture", subtype="FILE_PATH", default=""),
    },
    "color_start": {
        "color_start_kind": EnumProperty(name="Start Colour", items=_COLOR_START_ITEMS, default="PICTURE"),
        "color_start_color": FloatVectorProperty(name="Start", subtype="COLOR_GAMMA", size=3, min=0.0, max=1.0,
                                                 default=(1.0, 1.0, 1.0)),
    },
    "key_holds": {},
    "move_seconds": {},
}
_GENERATED = tuple(f.name for f in dataclasses.fields(SceneOptions) if f.name not in _BY_HAND)


def _annotations() -> dict:
    out = {}
    for f in dataclasses.fields(SceneOptions):
        out.update(_BY_HAND[f.name] if f.name in _BY_HAND else {f.name: _property(f.name)})
    return out


class OptionProps:
    """Annotations for every SceneOptions field (mixin for PropertyGroup and Operator): a property per field,
    generated from core.options (a new scene option needs no line here), and the few composite ones above."""

    __annotations__ = _annotations()

    def color_start_option(self) -> str:
        """The SceneOptions.color_start these properties say ("", "noise" or "#rrggbb")."""
        if self.color_start_kind == "NOISE":
            return "noise"
        if self.color_start_kind == "COLOR":
            return _hex(self.color_start_color)
        return ""

    def background_option(self) -> str:
        """The SceneOptions.background these properties say ("", "transparent", "#rrggbb" or a picture path)."""
        if self.background_kind == "TRANSPARENT":
            return "transparent"
        if self.background_kind == "COLOR":
            return _hex(self.background_color)
        if self.background_kind == "PICTURE":
            return bpy.path.abspath(self.background_picture) if self.background_picture else ""
        return ""

    def to_options(self) -> SceneOptions:
        return SceneOptions(
            **{name: getattr(self, name) for name in _GENERATED},
            color=tuple(self.color), resolution=(self.resolution_x, self.resolution_y),
            background=self.background_option(), color_start=self.color_start_option(),
        )

    def copy_from(self, other) -> None:
        for name in OPTION_NAMES:
            setattr(self, name, getattr(other, name))


def _hex(rgb) -> str:
    """A display colour (0..1 per channel) as #rrggbb."""
    return "#" + "".join(f"{round(max(0.0, min(1.0, v)) * 255):02x}" for v in rgb)


OPTION_NAMES = tuple(OptionProps.__annotations__)


# The sidebar's settings, one place (panel.py draws them): (heading, rows). A row is a property, or (property,
# (other property, value)): drawn only while the other property has that value. A generated option that no row
# names is drawn under "More", so a new scene option shows up without a line here.
PANEL: tuple = (
    ("Particles", ("max_particles", "radius", "seed")),
    ("Look", ("look", "color_mode", ("color", ("color_mode", "SINGLE")), "color_start_kind",
              ("color_start_color", ("color_start_kind", "COLOR")), "size_start", "size_end", "trail",
              "background_kind", ("background_color", ("background_kind", "COLOR")),
              ("background_picture", ("background_kind", "PICTURE")))),
    ("Timing", ("seconds", "fps", "hold_start", "hold_end", "hold_keys", "easing", "reverse", "ping_pong",
                "motion_blur")),
    ("Camera", ("camera", ("orbit_degrees", ("camera", "ORBIT")), "framing", "front", "margin", "lens_mm",
                "depth_of_field", "resolution_x", "resolution_y")),
    (None, ("cache_dir",)),
)


def panel_rows(settings) -> list[tuple[str | None, list[str]]]:
    """PANEL's sections with the rows to draw for `settings` now, and "More" for options no row names."""
    named, out = set(), []
    for heading, rows in PANEL:
        shown = []
        for row in rows:
            name, cond = (row, None) if isinstance(row, str) else row
            named.add(name)
            if cond is None or getattr(settings, cond[0]) == cond[1]:
                shown.append(name)
        out.append((heading, shown))
    more = [n for n in OPTION_NAMES if n not in named and not n.endswith(("_kind", "_color", "_picture"))]
    return out + ([("More", more)] if more else [])


class FlowreelSettings(OptionProps, bpy.types.PropertyGroup):
    """Scene-level settings shown in View3D > Sidebar > Flowreel."""

    filepath: StringProperty(name="Trajectories", subtype="FILE_PATH", description="traj.npz to import")
