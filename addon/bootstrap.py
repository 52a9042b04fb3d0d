"""Import the add-on package from its folder in a Python that has not installed it.

Blender's own Python (``blender -b --python addon/render/__main__.py``, blend_templates/build_looks.py) knows
neither the repository nor the pip install. Standard library only; scripts load this file by path:

    spec = importlib.util.spec_from_file_location("_flowreel_bootstrap", ADDON_DIR / "bootstrap.py")
    boot = importlib.util.module_from_spec(spec); spec.loader.exec_module(boot)
    name = boot.load_package(ADDON_DIR)   # "flowreel.addon" for a checkout's addon/, else the folder name
"""

from __future__ import annotations

import importlib.util
import sys
import types
from pathlib import Path


def package_name(folder: Path) -> str:
    """A checkout's `addon/` is the installed `flowreel.addon`; an unpacked add-on zip's folder keeps its name."""
    return "flowreel.addon" if folder.name == "addon" else folder.name


def load_package(folder: str | Path) -> str:
    """Make the package in `folder` importable under its name (as installed if it is); returns the name."""
    folder = Path(folder).resolve()
    name = package_name(folder)
    if name in sys.modules:
        return name
    parent = name.rpartition(".")[0]
    if parent and parent not in sys.modules:
        if importlib.util.find_spec(parent) is None:
            ns = types.ModuleType(parent)
            ns.__path__ = []  # a bare namespace: only this folder's package lives under it
            sys.modules[parent] = ns
        else:
            spec = importlib.util.find_spec(name)
            if spec is not None and spec.origin and Path(spec.origin).resolve().parent == folder:
                importlib.import_module(name)  # the installed package is this very folder
                return name
    spec = importlib.util.spec_from_file_location(name, folder / "__init__.py",
                                                  submodule_search_locations=[str(folder)])
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return name

