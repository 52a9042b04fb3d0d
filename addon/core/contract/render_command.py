"""The render child's command line, one spelling for both sides: `trainer render`/`trainer movie`
(trainer/film/launch.py) and the add-on's Render Film (addon/ui/fit_ops.py) both build it here.

The entry point is the package `flowreel.addon.render` (`python -m flowreel.addon.render` with the bpy
module); a Blender executable runs its file, `render/__main__.py` of the add-on's folder, by path.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..options import SceneOptions, scene_flags

RENDER_MODULE = "flowreel.addon.render"


def render_script(addon_dir: str | os.PathLike) -> Path:
    """The render entry point's file in the add-on folder `addon_dir` (a checkout's addon/, an unpacked zip)."""
    return Path(addon_dir) / "render" / "__main__.py"


def blender_command(blender: str, script: str | os.PathLike, args: list[str], site: str | None = None) -> list[str]:
    """`blender -b` running the render script with `args`: the one spelling of it (trainer and add-on).

    --python-exit-code: a Python error in the script (an import that fails, a bug) exits non-zero
    instead of 0, so the job is not reported as done. `site`: a folder appended to the script's sys.path
    first (the full extension's wheels: ffmpeg-python and imageio-ffmpeg's ffmpeg for the encode)."""
    first = ["--python-expr", f"import sys; sys.path.append({os.fspath(site)!r})"] if site else []
    return [blender, "-b", "--factory-startup", "--python-exit-code", "3", *first, "--python", os.fspath(script),
            "--", *args]  # fmt: skip


def render_flags(opts: SceneOptions) -> list[str]:
    """The render script's scene flags for a SceneOptions: the film it renders is the one the sidebar shows."""
    argv: list[str] = []
    for name, _spec, _default in scene_flags("render"):
        value = getattr(opts, name)
        flag = "--" + name.replace("_", "-")
        if isinstance(value, bool):
            argv += [flag] if value else []
        elif isinstance(value, tuple):
            argv += [flag, "x".join(str(v) for v in value)]
        elif value is not None and value != "":
            argv += [flag, str(value)]
    return argv


def cluster_render_command(trainer: list[str], traj: str | os.PathLike, output: str | os.PathLike, engine: str,
                           opts: SceneOptions, address: str) -> list[str]:
    """`trainer render --cluster ADDRESS`: the film's frames rendered in chunks on a Ray cluster, encoded here.
    Its progress lines are the render script's (`frame N (i/n) ... elapsed, ETA`), over all frames."""
    return [*trainer, "render", "--cluster", address, os.fspath(traj), "-o", os.fspath(output),
            "--engine", engine.lower(), *render_flags(opts)]

