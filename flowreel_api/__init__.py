"""Flowreel: a picture in, a cinematic flow animation out.

    from flowreel import fit, export, movie

The verbs are flowreel.trainer.api's (they need torch); they load on first use, so `import flowreel.addon`
in Blender's Python, which has no torch, stays light. The packages: flowreel.trainer (fitting, films, the
`trainer` command), flowreel.addon (the Blender add-on) and flowreel.addon.core (shared by both).
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__all__ = ["fit", "export", "movie", "FitResult", "Interrupted", "FlowreelError", "__version__"]
_API = {"fit", "export", "movie", "FitResult", "Interrupted"}


def __getattr__(name: str) -> Any:
    if name in _API:
        return getattr(import_module("flowreel.trainer.api"), name)
    if name == "FlowreelError":
        return import_module("flowreel.addon.core.errors").FlowreelError
    if name == "__version__":
        return import_module("flowreel.addon.core.version").VERSION
    raise AttributeError(f"module 'flowreel' has no attribute {name!r}")
