"""What `--quality draft|final` renders: the one declaration, read by `trainer movie` (trainer/film/movie.py),
`trainer render` and the render script (addon/render/args.py gives the flags their defaults from it;
explicit flags such as --samples still win) and engines.py (the settings that have no flag).

The final settings are chosen from measured image quality per second (bench/bench_quality.py,
bench/RESULTS.md "Final quality at a tenth of the cost").
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any

# Per quality: `flags` are the render script's flag defaults (dest -> parsed value); `cycles` are Cycles
# scene settings with no flag (applied by engines.configure_engine when --quality is given); `glare` is
# the compositor glow's Quality ("" = the look's own).
RENDER_QUALITY: dict[str, dict[str, Any]] = {
    "draft": {
        "flags": {"resolution": (1280, 720), "engine": "CYCLES", "samples": 4, "denoise": "off",
                  "motion_blur": False},
        "cycles": {},
        "glare": "",
    },
    # Glowing looks on flat films: the splat engine, which draws the image Cycles converges to (SSIM 0.994-0.999
    # against a 512-sample Cycles reference, mid-flight and at rest) in a twentieth of the old final's time (64
    # samples + OpenImageDenoise). What it cannot draw (the lit ink look, 3-D shapes, depth of field) renders with
    # Cycles at 64 samples without a denoiser: the fewest that keep SSIM about 0.98 mid-flight there (32 gave
    # 0.96-0.97), at about 0.55-0.7 of the old cost (bench/RESULTS.md "Final quality at a tenth of the cost").
    "final": {
        "flags": {"resolution": (1920, 1080), "engine": "SPLAT", "samples": 64, "denoise": "off",
                  "motion_blur": True},
        "cycles": {},
        "glare": "",
    },
}  # fmt: skip
QUALITIES = tuple(RENDER_QUALITY)


def given_quality(argv: Sequence[str]) -> str | None:
    """The --quality NAME on a command line (the last one wins, as argparse would), or None."""
    pre = _Pre(add_help=False, allow_abbrev=False)
    pre.add_argument("--quality")
    args = list(argv)
    try:
        known, _ = pre.parse_known_args(args[: args.index("--")] if "--" in args else args)
    except ValueError:  # "--quality" without a name: the real parser says so in one line
        return None
    return known.quality if known.quality in RENDER_QUALITY else None  # else argparse's choices say it


class _Pre(argparse.ArgumentParser):
    def error(self, message: str):
        raise ValueError(message)


def apply_defaults(parser: Any, argv: Sequence[str]) -> None:
    """Make the quality named on `argv` the defaults of `parser`'s flags (before parsing: flags given win)."""
    name = given_quality(argv)
    if name is not None:
        dests = {a.dest for a in parser._actions}
        parser.set_defaults(**{k: v for k, v in RENDER_QUALITY[name]["flags"].items() if k in dests})


def add_quality_flag(parser: Any) -> None:
    parser.add_argument("--quality", choices=QUALITIES, default=None,
                        help="draft: 720p, Cycles at 4 samples, no denoiser; final: 1080p with motion blur, the splat "
                        "engine for glowing looks on flat films, else Cycles at 64 samples (bench/RESULTS.md); flags "
                        "given with it win (default: the look's own settings)")
