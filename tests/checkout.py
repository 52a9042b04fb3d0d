"""Scripts that tests run in Blender's own Python (`blender -b --python`) import this first: it makes the
checkout's add-on importable as `flowreel.addon`, as a pip install would."""

import importlib.util
from pathlib import Path

ADDON = Path(__file__).resolve().parent.parent / "addon"
_spec = importlib.util.spec_from_file_location("_flowreel_bootstrap", ADDON / "bootstrap.py")
_boot = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_boot)
_boot.load_package(ADDON)
