"""Add-on preferences: the trainer command (and which trainer runs: jobs.trainer_source), the runs folder, the
default look and quality, and a Ray cluster to render and fit on (trainer/cluster/).

No `from __future__ import annotations` here: Blender reads the property annotations as objects.
"""

import os
from pathlib import Path

import bpy
from bpy.props import EnumProperty, StringProperty

from ..core.options import LOOKS, SceneOptions
from ..jobs import trainer_source
from ..jobs.runner import QUALITY

# The add-on's package (flowreel.addon from pip or a checkout, bl_ext.<repo>.flowreel as an extension):
# Blender files preferences under it.
PACKAGE = __name__.rsplit(".", 2)[0]  # not .ui
_QUALITY_HELP = {
    "draft": "2000 steps, 60k particles (as `trainer movie --quality draft`)",
    "final": "The trainer's full fit, 200k particles (as `trainer movie --quality final`)",
}
QUALITY_ITEMS = [(name, name.title(), _QUALITY_HELP.get(name, "")) for name in QUALITY]  # one item per quality


def default_runs_dir() -> str:
    return str(Path.home() / "flowreel_runs")


class FlowreelPreferences(bpy.types.AddonPreferences):
    bl_idname = PACKAGE

    trainer: StringProperty(
        name="Trainer Command", default="",
        description="Empty: the trainer bundled with the extension (full zip), else `trainer` on PATH. Or a "
                    "command: a venv's .../bin/trainer, or `/path/to/python -m flowreel.trainer`")  # fmt: skip
    runs_dir: StringProperty(name="Runs Folder", subtype="DIR_PATH", default="",
                             description="Where fits keep their checkpoints and trajectories (empty = ~/flowreel_runs)")
    look: EnumProperty(name="Default Look", items=[(v, v.title(), "") for v in LOOKS], default=SceneOptions().look)
    quality: EnumProperty(name="Default Quality", items=QUALITY_ITEMS, default="draft")
    cluster: StringProperty(
        name="Cluster Address", default="",
        description="Empty: render and fit on this machine. A Ray cluster (HOST:PORT or ray://HOST:PORT of its "
                    "head, or auto): Render Film and sequence fits run there through the trainer "
                    "(`--cluster`; the trainer needs flowreel[cluster])")  # fmt: skip

    def draw(self, context):
        layout = self.layout
        layout.prop(self, "trainer")
        box = layout.box()
        for i, line in enumerate(trainer_lines(self.trainer)):
            box.label(text=line, icon="CONSOLE" if i == 0 else "NONE")
        box.operator(FLOWREEL_OT_check_trainer.bl_idname, icon="FILE_REFRESH")
        layout.prop(self, "runs_dir")
        row = layout.row()
        row.prop(self, "look")
        row.prop(self, "quality")
        layout.prop(self, "cluster")


# The last Check Trainer's lines, by command: drawing must not start a child (nor import torch) on every redraw.
_CHECKED: dict[str, list[str]] = {}


def trainer_lines(command: str) -> list[str]:
    """Which trainer runs (cheap: a PATH and sys.path look-up), or the last check's lines with version and device."""
    if command in _CHECKED:
        return _CHECKED[command]
    try:
        return [f"Trainer: {trainer_source.choose(command).describe()}", "Check Trainer shows its version and device"]
    except trainer_source.TrainerError as e:
        return [str(e)]


class FLOWREEL_OT_check_trainer(bpy.types.Operator):
    """Run the trainer's Python once: its version, the file format it writes and its device (CPU, CUDA, MPS)"""

    bl_idname = "flowreel.check_trainer"
    bl_label = "Check Trainer"
    bl_options = {"INTERNAL"}

    def execute(self, context):
        command = get(context).trainer
        lines = trainer_source.summary(command, device=True)
        _CHECKED[command] = lines
        self.report({"INFO"}, " | ".join(lines))
        return {"FINISHED"}


class _Defaults:
    """Preferences of an add-on registered by `addon.register()` from Python, which Blender does not list."""

    trainer = os.environ.get("FLOWREEL_TRAINER", "")
    runs_dir = ""
    look = SceneOptions().look
    quality = "draft"
    cluster = os.environ.get("FLOWREEL_CLUSTER", "")


def get(context=None):
    """The add-on's preferences, or the defaults where Blender has none (registered from plain Python)."""
    context = context or bpy.context
    addon = context.preferences.addons.get(PACKAGE)
    return addon.preferences if addon is not None and addon.preferences is not None else _Defaults()


def runs_dir(prefs) -> Path:
    return Path(bpy.path.abspath(prefs.runs_dir)) if prefs.runs_dir else Path(default_runs_dir())
