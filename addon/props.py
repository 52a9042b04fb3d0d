"""Blender properties mirroring SceneOptions: one mixin shared by the sidebar settings and the importer.

No `from __future__ import annotations` here: Blender reads the property annotations as objects.
"""

import bpy
from bpy.props import BoolProperty, EnumProperty, FloatProperty, FloatVectorProperty, IntProperty, StringProperty

from .core.options import CAMERA_MOVES, COLOR_MODES, EASINGS, FRAMINGS, FRONT_CHOICES, LOOKS, SceneOptions

_LABELS = {
    "IMAGE": ("Image", "Each particle keeps the colour of the image where it ends"),
    "GRADIENT": ("Gradient", "Colour by start (noise) position"),
    "SINGLE": ("Single", "One colour for every particle"),
    "LINEAR": ("Linear", "Constant speed"),
    "EASE_IN_OUT": ("Ease In-Out", "Start and end slowly"),
    "EASE_IN": ("Ease In", "Start slowly"),
    "EASE_OUT": ("Ease Out", "End slowly"),
    "STATIC": ("Static", "Fixed top view"),
    "PUSH_IN": ("Push In", "Slow push-in towards the plane"),
    "ORBIT": ("Orbit", "Tilted view orbiting around the plane"),
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


class OptionProps:
    """Annotations for every SceneOptions field (mixin for PropertyGroup and Operator)."""

    radius: FloatProperty(name="Radius", description="Particle radius (0 = automatic from extent and count)",
                          default=_D.radius, min=0.0, soft_max=0.2, precision=4, unit="LENGTH")
    max_particles: IntProperty(name="Particles", description="Import a random subset (0 = all)",
                               default=_D.max_particles, min=0)
    color_mode: EnumProperty(name="Colour", items=_items(COLOR_MODES), default=_D.color_mode)
    color: FloatVectorProperty(name="Single Colour", subtype="COLOR", size=4, min=0.0, max=1.0, default=_D.color)
    look: EnumProperty(name="Look", items=_items(LOOKS), default=_D.look)
    seconds: FloatProperty(name="Duration", description="Seconds of flow, holds excluded",
                           default=_D.seconds, min=0.05, soft_max=60.0, unit="TIME_ABSOLUTE")
    fps: IntProperty(name="FPS", default=_D.fps, min=1, max=240)
    hold_start: FloatProperty(name="Hold Start", description="Seconds at rest before the flow",
                              default=_D.hold_start, min=0.0, soft_max=10.0)
    hold_end: FloatProperty(name="Hold End", description="Seconds at rest after the flow",
                            default=_D.hold_end, min=0.0, soft_max=10.0)
    hold_keys: FloatProperty(name="Hold Keys", description="Seconds at rest on each middle key of a sequence",
                             default=_D.hold_keys, min=0.0, soft_max=10.0)
    easing: EnumProperty(name="Easing", items=_items(EASINGS), default=_D.easing)
    reverse: BoolProperty(name="Reverse", description="The image dissolves into noise", default=_D.reverse)
    ping_pong: BoolProperty(name="Ping-Pong", description="Noise, image, noise: loops seamlessly",
                            default=_D.ping_pong)
    camera: EnumProperty(name="Camera", items=_items(CAMERA_MOVES), default=_D.camera)
    orbit_degrees: FloatProperty(name="Orbit", description="Total turn of the orbit camera in degrees "
                                 "(0 = automatic: 40 for pictures, 360 for 3-D films)",
                                 default=_D.orbit_degrees, min=-3600.0, max=3600.0, soft_min=-360.0, soft_max=360.0)
    framing: EnumProperty(name="Framing", items=_items(FRAMINGS), default=_D.framing)
    front: EnumProperty(name="Front", items=_items(FRONT_CHOICES), default=_D.front,
                        description="The side of a 3-D shape the film ends on (Auto: the largest face of its box)")
    margin: FloatProperty(name="Margin", description="Free space around the framed box, a fraction of the half-frame",
                          default=_D.margin, min=0.0, max=1.0, subtype="FACTOR")
    resolution_x: IntProperty(name="Width", default=_D.resolution[0], min=16, max=16384, subtype="PIXEL")
    resolution_y: IntProperty(name="Height", default=_D.resolution[1], min=16, max=16384, subtype="PIXEL")
    lens_mm: FloatProperty(name="Lens", default=_D.lens_mm, min=1.0, max=5000.0, unit="CAMERA")
    depth_of_field: BoolProperty(name="Depth of Field", default=_D.depth_of_field)
    motion_blur: BoolProperty(name="Motion Blur", default=_D.motion_blur)
    cache_dir: StringProperty(name="Cache Folder", subtype="DIR_PATH", default=_D.cache_dir,
                              description="Where the point cache goes (empty = //flowreel_cache beside the .blend)")
    seed: IntProperty(name="Seed", description="Subset choice and random ids", default=_D.seed, min=0)
    color_start_kind: EnumProperty(name="Start Colour", items=_COLOR_START_ITEMS, default="PICTURE")
    color_start_color: FloatVectorProperty(name="Start", subtype="COLOR_GAMMA", size=3, min=0.0, max=1.0,
                                           default=(1.0, 1.0, 1.0))
    size_start: FloatProperty(name="Size Start", description="Particle size at the start, a factor of the radius",
                              default=_D.size_start, min=0.0, max=20.0, soft_max=4.0)
    size_end: FloatProperty(name="Size End", description="Particle size at the end, a factor of the radius",
                            default=_D.size_end, min=0.0, max=20.0, soft_max=4.0)
    trail: FloatProperty(name="Trail", description="Seconds of tapering ghosts behind moving particles (0 = none)",
                         default=_D.trail, min=0.0, max=10.0, soft_max=1.0, unit="TIME_ABSOLUTE")
    background_kind: EnumProperty(name="Background", items=_BACKGROUND_ITEMS, default="LOOK")
    background_color: FloatVectorProperty(name="Background Colour", subtype="COLOR_GAMMA", size=3, min=0.0, max=1.0,
                                          default=(1.0, 1.0, 1.0))
    background_picture: StringProperty(name="Background Picture", subtype="FILE_PATH", default="")

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
            radius=self.radius, max_particles=self.max_particles, color_mode=self.color_mode,
            color=tuple(self.color), look=self.look, seconds=self.seconds, fps=self.fps,
            hold_start=self.hold_start, hold_end=self.hold_end, easing=self.easing, reverse=self.reverse,
            ping_pong=self.ping_pong, camera=self.camera, framing=self.framing, front=self.front, margin=self.margin,
            orbit_degrees=self.orbit_degrees,
            resolution=(self.resolution_x, self.resolution_y),
            lens_mm=self.lens_mm, depth_of_field=self.depth_of_field, motion_blur=self.motion_blur,
            cache_dir=self.cache_dir, seed=self.seed,
            hold_keys=self.hold_keys,
            background=self.background_option(),
            color_start=self.color_start_option(), size_start=self.size_start, size_end=self.size_end,
            trail=self.trail,
        )

    def copy_from(self, other) -> None:
        for name in OPTION_NAMES:
            setattr(self, name, getattr(other, name))


def _hex(rgb) -> str:
    """A display colour (0..1 per channel) as #rrggbb."""
    return "#" + "".join(f"{round(max(0.0, min(1.0, v)) * 255):02x}" for v in rgb)


OPTION_NAMES = tuple(OptionProps.__annotations__)


class FlowreelSettings(OptionProps, bpy.types.PropertyGroup):
    """Scene-level settings shown in View3D > Sidebar > Flowreel."""

    filepath: StringProperty(name="Trajectories", subtype="FILE_PATH", description="traj.npz to import")
