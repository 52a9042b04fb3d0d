"""Encoding from the render script, also inside Blender's own Python.

Blender's Python has numpy but no pip packages, so when ``ffmpeg-python`` cannot be imported the
encode step runs in a subprocess of another Python that has it ($FLOWREEL_PYTHON, the
repository's .venv, then python3/python on PATH). With none, `encode` raises a RenderError that
says where the frames are.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from ..core.child import die_with_parent
from ..core.errors import RenderError
from ..core.frames import FRAME_PATTERN

HERE = Path(__file__).resolve().parent.parent  # the add-on's folder
REPO = HERE.parent  # a checkout: its .venv may have ffmpeg-python for Blender's own Python


def python_with_ffmpeg() -> str | None:
    """A Python executable that can import ffmpeg-python (for Blender's own, package-less Python)."""
    candidates = [os.environ.get("FLOWREEL_PYTHON"), str(REPO / ".venv" / "bin" / "python"), "python3", "python"]
    for exe in candidates:
        if not exe:
            continue
        try:
            r = subprocess.run([exe, "-c", "import ffmpeg, numpy"], capture_output=True, timeout=60)
        except (OSError, subprocess.TimeoutExpired):
            continue
        if r.returncode == 0:
            return exe
    return None


def encoder_available() -> bool:
    """Whether this Python can import ffmpeg-python."""
    try:
        import ffmpeg  # noqa: F401
    except ImportError:
        return False
    return True


def can_encode() -> bool:
    """Whether some Python here can encode the frames (this one or another)."""
    return encoder_available() or python_with_ffmpeg() is not None


def encode(folder: Path, start: int, video: Path, fps: int, gif_width: int | None) -> None:
    """Encode the frames folder's PNGs (from scene frame `start`) to `video`."""
    from ..core.encode import frames_pattern

    pattern = frames_pattern(folder, FRAME_PATTERN)  # a `%` in the folder's name is not a pattern
    if encoder_available():
        from ..core.encode import encode_image_sequence

        encode_image_sequence(pattern, str(video), fps, start_number=start, gif_width=gif_width)
        return
    exe = python_with_ffmpeg()
    if exe is None:
        raise RenderError(f"cannot encode {video.name}: this Python lacks ffmpeg-python and no other Python has it "
                          f"(set FLOWREEL_PYTHON); the frames are in {folder}")
    # The other Python need not have Flowreel installed: load the core package (stdlib + numpy) by path.
    code = ("import importlib, importlib.util, os, sys\n"
            "spec = importlib.util.spec_from_file_location('flowreel_core', sys.argv[1], "
            "submodule_search_locations=[os.path.dirname(sys.argv[1])])\n"
            "core = importlib.util.module_from_spec(spec); sys.modules['flowreel_core'] = core\n"
            "spec.loader.exec_module(core)\n"
            "m = importlib.import_module('flowreel_core.encode')\n"
            "errors = importlib.import_module('flowreel_core.errors')\n"
            "try: m.encode_image_sequence(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), "
            "int(sys.argv[6]) or None)\n"
            "except errors.FlowreelError as e: print(e, file=sys.stderr); sys.exit(1)")
    argv = [str(HERE / "core" / "__init__.py"), pattern, str(video), str(fps), str(start), str(gif_width or 0)]
    r = subprocess.run([exe, "-c", code, *argv], capture_output=True, text=True, preexec_fn=die_with_parent())
    if r.returncode != 0:
        lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
        raise RenderError(lines[-1] if lines else f"encoding {video.name} failed (exit {r.returncode})")
