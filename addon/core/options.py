"""Scene options shared by the import operator, the sidebar panel and the headless render script.

Pure Python (no bpy), so the render script can parse arguments into it and tests can build it.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from . import over_time
from .background import BackgroundError, parse_background
from .contract.camera_moves import MOVES
from .errors import FlowreelError

EASINGS = ("LINEAR", "EASE_IN_OUT", "EASE_IN", "EASE_OUT")
CAMERA_MOVES = tuple(MOVES)  # core/contract/camera_moves.py
COLOR_MODES = ("IMAGE", "GRADIENT", "SINGLE")
LOOKS = ("glow", "ink", "neon")
ENGINES = ("CYCLES", "EEVEE", "WORKBENCH", "SPLAT")
FRAMINGS = ("PICTURE", "ALL")
FRONT_CHOICES = ("AUTO", "-Y", "+Z", "+X", "+Y", "-X", "-Z")  # a 3-D film's front (core/contract/shapes3d.py)


class OptionsError(FlowreelError, ValueError):
    """A scene option that cannot work (ValueError too: it is a bad value)."""


@dataclass
class SceneOptions:
    """Everything that shapes the imported scene; defaults make a good 5 s film."""

    radius: float = 0.0  # particle radius in world units; 0 = automatic from extent and count
    max_particles: int = 0  # import a subset; 0 = all
    color_mode: str = "IMAGE"  # IMAGE colour, GRADIENT by start position, or SINGLE colour
    color: tuple[float, float, float, float] = (1.0, 0.85, 0.6, 1.0)  # for SINGLE
    look: str = "glow"
    seconds: float = 5.0  # duration of the flow itself, holds excluded
    fps: int = 24
    hold_start: float = 0.5  # seconds of noise at rest before the flow
    hold_end: float = 1.0  # seconds of the image at rest after the flow
    # Sequences (docs/format.md "Keys and the timeline"): a middle key's default hold, and per-key holds /
    # per-move seconds in key order that override the file's (empty = the file's, else the defaults above).
    hold_keys: float = 1.0
    key_holds: tuple[float, ...] = ()
    move_seconds: tuple[float, ...] = ()
    easing: str = "EASE_IN_OUT"
    reverse: bool = False  # image dissolves into noise
    ping_pong: bool = False  # noise -> image -> noise, for looping GIFs
    camera: str = "STATIC"
    # Total turn of the ORBIT camera in degrees (negative: clockwise); 0 = automatic: a 40 degree sweep
    # for pictures (today's films), one full 360 degree turn for 3-D films.
    orbit_degrees: float = 0.0
    # PICTURE: the camera frames the picture's box (the film's end); ALL: every particle of every frame.
    framing: str = "PICTURE"
    # The side of a 3-D shape the film resolves on: AUTO = the file's (the largest face of its box), or one
    # of -Y (Blender's front), +Z (top), +X, +Y, -X, -Z. Pictures ignore it.
    front: str = "AUTO"
    margin: float = 0.08  # free space around the framed box, as a fraction of the half-frame
    resolution: tuple[int, int] = (1920, 1080)
    lens_mm: float = 50.0
    depth_of_field: bool = False
    motion_blur: bool = False
    # "" = the look's own world; "transparent" (alpha), "#rrggbb" or a picture file (core/background.py).
    background: str = ""
    # Colour and size over time (core/over_time.py): "" (colours from the start), "noise" or "#rrggbb";
    # the radius times size_start at the start, size_end at the end.
    color_start: str = ""
    size_start: float = 1.0
    size_end: float = 1.0
    trail: float = 0.0  # seconds of ghosts behind moving particles (addon/scene/trails.py); 0 = none
    cache_dir: str = ""  # "" = "//flowreel_cache" beside the .blend (or beside the .npz if unsaved)
    seed: int = 0  # subset choice and random ids

    def check(self) -> None:
        """Raise OptionsError with one clear line for values that cannot work."""
        for name, value, allowed in (
            ("easing", self.easing, EASINGS),
            ("camera", self.camera, CAMERA_MOVES),
            ("color_mode", self.color_mode, COLOR_MODES),
            ("look", self.look, LOOKS),
            ("framing", self.framing, FRAMINGS),
            ("front", self.front, FRONT_CHOICES),
        ):
            if value not in allowed:
                raise OptionsError(f"{name} must be one of {', '.join(allowed)}, got {value!r}")
        if not (self.seconds > 0):
            raise OptionsError(f"seconds must be > 0, got {self.seconds}")
        if not (1 <= self.fps <= 240):
            raise OptionsError(f"fps must be between 1 and 240, got {self.fps}")
        if self.hold_start < 0 or self.hold_end < 0 or self.hold_keys < 0 or any(not h >= 0 for h in self.key_holds):
            raise OptionsError("holds must be >= 0 seconds")
        if any(not s > 0 for s in self.move_seconds):
            raise OptionsError(f"move seconds must be > 0, got {', '.join(f'{s:g}' for s in self.move_seconds)}")
        if not (0.0 <= self.margin <= 1.0):
            raise OptionsError(f"margin must be between 0 and 1, got {self.margin}")
        if not (abs(self.orbit_degrees) <= 3600):  # also rejects NaN
            raise OptionsError(f"orbit_degrees must be between -3600 and 3600, got {self.orbit_degrees}")
        if self.radius < 0 or self.max_particles < 0:
            raise OptionsError("radius and max_particles must be >= 0")
        try:
            parse_background(self.background)
            over_time.parse_color_start(self.color_start)
            over_time.check_size("size_start", self.size_start)
            over_time.check_size("size_end", self.size_end)
            if not (0.0 <= self.trail <= 10.0):
                raise OptionsError(f"trail must be from 0 to 10 seconds, got {self.trail}")
        except (BackgroundError, over_time.OverTimeError) as e:
            raise OptionsError(str(e)) from None
        w, h = self.resolution
        if not (16 <= w <= 16384 and 16 <= h <= 16384):
            raise OptionsError(f"resolution must be between 16 and 16384 pixels a side, got {w}x{h}")


# ---- Blender's properties (addon/ui/props.py generates one per field from this table) -------------------------
@dataclass(frozen=True)
class Ui:
    """How one SceneOptions field appears in Blender: its label, help and bounds (the property's default is the
    field's). A field without an entry gets a plain property named after it; ui/props.py declares by hand only
    the fields that are no single property (resolution, colours, background, colour at the start, Keys rows)."""

    label: str
    help: str = ""
    min: float | None = None
    max: float | None = None
    soft_min: float | None = None
    soft_max: float | None = None
    subtype: str = ""
    unit: str = ""
    precision: int | None = None


CHOICES: dict[str, tuple[str, ...]] = {"color_mode": COLOR_MODES, "look": LOOKS, "easing": EASINGS,
                                       "camera": CAMERA_MOVES, "framing": FRAMINGS, "front": FRONT_CHOICES}
UI: dict[str, Ui] = {
    "radius": Ui("Radius", "Particle radius (0 = automatic from extent and count)", min=0.0, soft_max=0.2,
                 precision=4, unit="LENGTH"),
    "max_particles": Ui("Particles", "Import a random subset (0 = all)", min=0),
    "color_mode": Ui("Colour"),
    "look": Ui("Look"),
    "seconds": Ui("Duration", "Seconds of flow, holds excluded", min=0.05, soft_max=60.0, unit="TIME_ABSOLUTE"),
    "fps": Ui("FPS", min=1, max=240),
    "hold_start": Ui("Hold Start", "Seconds at rest before the flow", min=0.0, soft_max=10.0),
    "hold_end": Ui("Hold End", "Seconds at rest after the flow", min=0.0, soft_max=10.0),
    "hold_keys": Ui("Hold Keys", "Seconds at rest on each middle key of a sequence", min=0.0, soft_max=10.0),
    "easing": Ui("Easing"),
    "reverse": Ui("Reverse", "The image dissolves into noise"),
    "ping_pong": Ui("Ping-Pong", "Noise, image, noise: loops seamlessly"),
    "camera": Ui("Camera"),
    "orbit_degrees": Ui("Orbit", "Total turn of the orbit camera in degrees (0 = automatic: 40 for pictures, 360 "
                        "for 3-D films)", min=-3600.0, max=3600.0, soft_min=-360.0, soft_max=360.0),
    "framing": Ui("Framing"),
    "front": Ui("Front", "The side of a 3-D shape the film ends on (Auto: the largest face of its box)"),
    "margin": Ui("Margin", "Free space around the framed box, a fraction of the half-frame", min=0.0, max=1.0,
                 subtype="FACTOR"),
    "lens_mm": Ui("Lens", min=1.0, max=5000.0, unit="CAMERA"),
    "depth_of_field": Ui("Depth of Field"),
    "motion_blur": Ui("Motion Blur"),
    "cache_dir": Ui("Cache Folder", "Where the point cache goes (empty = //flowreel_cache beside the .blend)",
                    subtype="DIR_PATH"),
    "seed": Ui("Seed", "Subset choice and random ids", min=0),
    "size_start": Ui("Size Start", "Particle size at the start, a factor of the radius", min=0.0, max=20.0,
                     soft_max=4.0),
    "size_end": Ui("Size End", "Particle size at the end, a factor of the radius", min=0.0, max=20.0, soft_max=4.0),
    "trail": Ui("Trail", "Seconds of tapering ghosts behind moving particles (0 = none)", min=0.0, max=10.0,
                soft_max=1.0, unit="TIME_ABSOLUTE"),
}


# Command-line types shared by the render script and the `trainer` command (argparse shows their messages).
def number(kind: type, lo: float | None = None, hi: float | None = None, lo_open: bool = False,
           hi_open: bool = False, what: str = "a number") -> Callable[[str], Any]:
    """An argparse type: `kind(text)` within [lo, hi] (open ends where asked), finite; else `what` in the error."""

    def parse(text: str):
        try:
            v = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {what}") from None
        if isinstance(v, float) and not math.isfinite(v):
            raise argparse.ArgumentTypeError(f"{text!r} is not {what}")
        if lo is not None and (v <= lo if lo_open else v < lo) or hi is not None and (v >= hi if hi_open else v > hi):
            raise argparse.ArgumentTypeError(f"{text!r} is not {what}")
        return v

    parse.__name__ = what  # argparse names the type in some messages
    return parse

def parse_resolution(text: str) -> tuple[int, int]:
    """'1920x1080' -> (1920, 1080)."""
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"resolution must look like 1920x1080, got {text!r}") from None
    if not (16 <= w <= 16384 and 16 <= h <= 16384):
        raise argparse.ArgumentTypeError(f"resolution must be between 16 and 16384 pixels a side, got {text}")
    return w, h


def seconds_list(lo_open: bool = False) -> Callable[[str], tuple[float, ...]]:
    """'0.5,1,2' -> (0.5, 1.0, 2.0): seconds >= 0 (> 0 with lo_open); '' -> () (the file's timing)."""
    one = number(float, lo=0, lo_open=lo_open, what="a number > 0" if lo_open else "a number >= 0")

    def parse(text: str) -> tuple[float, ...]:
        parts = [p.strip() for p in text.split(",")] if text.strip() else []
        try:
            return tuple(one(p) for p in parts)
        except argparse.ArgumentTypeError as e:
            raise argparse.ArgumentTypeError(f"{text!r}: seconds separated by commas, each {e}") from None

    parse.__name__ = "a list of seconds"
    return parse


def choice(allowed: Sequence[str], upper: bool = True) -> Callable[[str], str]:
    """A case-insensitive choice: 'ease-in-out' -> 'EASE_IN_OUT' (upper) or 'Glow' -> 'glow'."""

    def conv(text: str) -> str:
        v = text.upper().replace("-", "_") if upper else text.lower()
        if v not in allowed:
            raise argparse.ArgumentTypeError(
                f"unknown value {text!r}: choose one of {', '.join(a.lower() for a in allowed)}"
            )
        return v

    return conv


# --- scene flags, generated from SceneOptions -----------------------------------------------------
@dataclass(frozen=True)
class Flag:
    """How one SceneOptions field appears on a command line.

    `type` parses for the render script, where SceneOptions.check() reports bad values; `strict`
    (default: `type`) rejects them while parsing, for `trainer movie`, which must fail before a fit
    of minutes. `movie`: `trainer movie` offers the flag too. `default`: the flag's default when it
    is not the field's (None = decided later, see `scene_options_from`)."""

    help: str
    type: Callable[[str], Any] | None = None
    strict: Callable[[str], Any] | None = None
    movie: bool = False
    metavar: str | None = None
    default: Any = "<field's>"  # a sentinel: no flag default is a str like this


def _color_start(text: str) -> str:
    try:
        over_time.parse_color_start(text)
    except over_time.OverTimeError as e:
        raise argparse.ArgumentTypeError(str(e)) from None
    return text


_size = number(float, lo=0, hi=over_time.MAX_SIZE, what=f"a factor from 0 to {over_time.MAX_SIZE:g}")


def _background(text: str) -> str:
    """--background, checked while parsing (`trainer movie` must fail before a fit of minutes)."""
    try:
        parse_background(text)
    except BackgroundError as e:
        raise argparse.ArgumentTypeError(str(e)) from None
    return text


_positive = number(float, lo=0, lo_open=True, what="a positive number")


def _front(text: str) -> str:
    """'auto', '-y', 'z', '+Z' ... -> 'AUTO', '-Y', '+Z' (argparse shows the one-line error)."""
    from .contract.shapes3d import AxisError, parse_front

    if text.strip().lower() == "auto":
        return "AUTO"
    try:
        return parse_front(text).upper()
    except AxisError:
        raise argparse.ArgumentTypeError(f"unknown front {text!r}: choose auto, -y, +z, +x, +y, -x or -z") from None
_nonneg = number(float, lo=0, what="a number >= 0")

# Fields without an entry get a plain flag of their default's type, so a new option reaches the
# render script without editing this table; NO_FLAG lists fields no command line offers.
FLAGS: dict[str, Flag] = {
    "look": Flag(f"one of {', '.join(LOOKS)}", choice(LOOKS, False), movie=True),
    "resolution": Flag("frame size", parse_resolution, movie=True, metavar="WxH"),
    "fps": Flag("frames per second", int, number(int, lo=1, hi=240, what="an fps from 1 to 240"), movie=True),
    "seconds": Flag("duration of the flow (holds excluded)", float, _positive, movie=True),
    "hold_start": Flag("seconds of noise at rest before the flow", float, _nonneg, movie=True),
    "hold_end": Flag("seconds of the image at rest after the flow", float, _nonneg, movie=True),
    "hold_keys": Flag("seconds at rest at each middle key of a sequence", float, _nonneg),
    "key_holds": Flag("seconds at rest at each key of a sequence, in key order, e.g. 0.5,1,2 (default: the file's, "
                      "else --hold-start, --hold-keys, --hold-end)", seconds_list(), metavar="S,S,..."),
    "move_seconds": Flag("seconds of each move from key to key, e.g. 3,2 (default: the file's, else --seconds)",
                         seconds_list(True), metavar="S,S,..."),
    "easing": Flag("linear, ease_in_out, ease_in or ease_out", choice(EASINGS), movie=True),
    "reverse": Flag("the image dissolves into noise"),
    "ping_pong": Flag("noise -> image -> noise (looping GIFs)"),
    "camera": Flag(", ".join(m.lower() for m in CAMERA_MOVES[:-1]) + f" or {CAMERA_MOVES[-1].lower()}",
                   choice(CAMERA_MOVES), movie=True),
    "orbit_degrees": Flag("total turn of the orbit camera in degrees (0 = automatic: 40 for pictures, 360 for "
                          "3-D films, ending on the shape's front)", float,
                          number(float, -3600, 3600, what="degrees from -3600 to 3600"), movie=True,
                          metavar="DEG"),
    "framing": Flag("picture: the picture's box fills the frame at the end; all: every particle of every frame "
                    "stays in view", choice(FRAMINGS), movie=True),
    "front": Flag("the side of a 3-D shape the film ends on: auto (the largest face of its box, near-ties to -y "
                  "then +z), -y (front), +z (top), +x, +y, -x or -z", _front, movie=True, metavar="SIDE"),
    "margin": Flag("free space around the framed box, a fraction of the half-frame (the box fills "
                   "1 / (1 + margin))", float, number(float, lo=0, hi=1, what="a number from 0 to 1"), movie=True),
    "radius": Flag("particle radius (0 = automatic)", float),
    "max_particles": Flag("render a random subset (0 = all)", int),
    "color_mode": Flag("image, gradient or single (default: gradient for the neon look, else image)",
                       choice(COLOR_MODES), default=None),
    "cache_dir": Flag("PC2 cache folder (default: <film stem>_frames/cache beside the output)"),
    "motion_blur": Flag("blur the particles along their motion"),
    "depth_of_field": Flag("focus on the framed picture or shape, the nearer and farther particles soft", movie=True),
    "seed": Flag("subset choice and random ids", int),
    "background": Flag("transparent (a film with alpha: .mov, .webm or a PNG folder), a #rrggbb colour or a "
                       "picture file under the film (default: the look's own)", str, _background, movie=True,
                       metavar="BG"),
    "color_start": Flag("particles start in this #rrggbb colour, or noise: in the noise's own palette, and take the "
                        "picture's colours as they land (default: the picture's from the start)", str, _color_start,
                        movie=True, metavar="COLOUR"),
    "size_start": Flag("particle size at the start, a factor of the radius (grows or shrinks to --size-end over the "
                       "film, eased like it)", float, _size, movie=True, metavar="F"),
    "trail": Flag("leave a tapering trail this many seconds long behind moving particles (ghosts of earlier "
                  "frames; gone where they rest)", float, number(float, lo=0, hi=10, what="seconds from 0 to 10"),
                  movie=True, metavar="SECONDS"),
    "size_end": Flag("particle size at the end, a factor of the radius", float, _size, movie=True, metavar="F"),
}
NO_FLAG = frozenset({"color", "lens_mm"})


def _flag_of(f: dataclasses.Field) -> Flag:
    spec = FLAGS.get(f.name)
    if spec is not None:
        return spec
    kind = type(f.default) if f.default is not dataclasses.MISSING else str
    return Flag(f"scene option {f.name}", None if kind is bool else kind)


def scene_flags(command: str) -> list[tuple[str, Flag, Any]]:
    """(field name, flag, default) of every scene flag `command` ("render" or "movie") offers."""
    out = []
    for f in dataclasses.fields(SceneOptions):
        if f.name in NO_FLAG:
            continue
        spec = _flag_of(f)
        if command == "movie" and not spec.movie:
            continue
        default = f.default if spec.default == "<field's>" else spec.default
        out.append((f.name, spec, default))
    return out


def add_scene_flags(parser: Any, command: str, defaults: dict[str, Any] | None = None,
                    none_means: dict[str, str] | None = None) -> None:
    """Add one flag per SceneOptions field to `parser`. `defaults` overrides some; an override of None
    is decided later, and `none_means[name]` says by what in the help (e.g. "the quality's")."""
    for name, spec, default in scene_flags(command):
        overridden = bool(defaults) and name in defaults
        if overridden:
            default = defaults[name]
        flag = "--" + name.replace("_", "-")
        if default is None and overridden and none_means and name in none_means:
            help_text = f"{spec.help} (default: {none_means[name]})"
        elif default in (None, "", False, ()):
            help_text = spec.help
        else:
            help_text = f"{spec.help} (default: {_shown(default)})"
        if isinstance(default, bool):
            parser.add_argument(flag, action="store_true", help=spec.help)
            continue
        kind = (spec.strict or spec.type) if command == "movie" else spec.type
        parser.add_argument(flag, type=kind, default=default, metavar=spec.metavar, help=help_text)


def _shown(value: Any) -> str:
    if isinstance(value, tuple):
        return "x".join(str(v) for v in value)
    return str(value).lower() if isinstance(value, str) else str(value)


def scene_options_from(args: argparse.Namespace, **fixed: Any) -> SceneOptions:
    """SceneOptions from parsed scene flags (fields without a flag keep their defaults; `fixed` wins)."""
    values = {f.name: getattr(args, f.name) for f in dataclasses.fields(SceneOptions) if hasattr(args, f.name)}
    values.update(fixed)
    if values.get("color_mode") is None:  # the neon look's single hue reads best as a gradient
        values["color_mode"] = "GRADIENT" if values.get("look") == "neon" else "IMAGE"
    return SceneOptions(**values)
