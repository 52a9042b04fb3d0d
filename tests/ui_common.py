"""What the scripts that run in Blender's full UI share (ui_fit_script.py, ui_invoke_script.py; started under
Xvfb by conftest.run_blender_ui): the result file, a guard that ends Blender with the traceback of any
failure in a timer callback, and the main 3D view."""

import json
import time
import traceback
from pathlib import Path

import bpy

RESULT: dict = {}
_OUT: list = []
_T0 = time.monotonic()


def start(out) -> Path:
    """Where result.json goes (the script's OUT_DIR); returns it as a Path."""
    _OUT[:] = [Path(out)]
    return _OUT[0]


def done(error=None) -> None:
    """Write result.json (with `error`: None, or a traceback) and quit Blender."""
    RESULT["error"] = error
    RESULT["seconds"] = round(time.monotonic() - _T0, 1)
    (_OUT[0] / "result.json").write_text(json.dumps(RESULT, indent=2))
    bpy.ops.wm.quit_blender()


def guarded(fn):
    """A timer callback that ends Blender with the traceback in result.json if it raises."""

    def wrapper():
        try:
            return fn()
        except Exception:  # noqa: BLE001 - any failure ends Blender with the traceback in result.json
            done(traceback.format_exc())
            return None

    return wrapper


def view3d():
    """(window, the largest 3D view, its drawing region)."""
    win = bpy.context.window_manager.windows[0]
    area = max((a for a in win.screen.areas if a.type == "VIEW_3D"), key=lambda a: a.width * a.height)
    region = next(r for r in area.regions if r.type == "WINDOW")
    return win, area, region
