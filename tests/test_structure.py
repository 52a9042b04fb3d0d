"""The three parts keep their borders: the core needs neither Blender nor torch, and the trainer uses
nothing of the add-on but its core. Checked in fresh interpreters, by what actually gets imported."""

import json
import subprocess
import sys
from pathlib import Path

from conftest import require_module

REPO = Path(__file__).resolve().parent.parent


def _modules(folder: str, package: str) -> list[str]:
    """Every module and package under `folder` (subpackages included), by its import name."""
    out = []
    for p in sorted((REPO / folder).rglob("*.py")):
        parts = p.relative_to(REPO / folder).with_suffix("").parts
        if "__pycache__" in parts or parts[-1] == "__main__":
            continue
        out.append(".".join([package, *(parts[:-1] if parts[-1] == "__init__" else parts)]))
    return out


def _imported_after(modules: list[str]) -> set[str]:
    code = ("import importlib, json, sys\n"
            f"for m in {modules!r}: importlib.import_module(m)\n"
            "print(json.dumps(sorted(sys.modules)))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, cwd=REPO)
    assert r.returncode == 0, r.stderr[-2000:]
    return set(json.loads(r.stdout.splitlines()[-1]))


def test_core_imports_neither_bpy_nor_torch():
    core = _modules("addon/core", "flowreel.addon.core")
    assert "flowreel.addon.core.trajformat" in core and len(core) >= 8
    loaded = _imported_after(core)
    assert not {m for m in loaded if m.split(".")[0] in ("bpy", "torch", "mathutils", "bpy_extras")}


def test_trainer_uses_only_the_core_of_the_addon():
    require_module("torch")  # the trainer imports it; the bpy-only venvs of `make test-blender` have none
    trainer = _modules("trainer", "flowreel.trainer")
    assert "flowreel.trainer.cli" in trainer and "flowreel.trainer.film.movie" in trainer
    loaded = _imported_after(trainer)
    addon = {m for m in loaded if m.startswith("flowreel.addon")}
    outside = {m for m in addon if m != "flowreel.addon" and not m.startswith("flowreel.addon.core")}
    assert addon and not outside, outside
    assert "bpy" not in loaded
