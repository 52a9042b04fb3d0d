"""The Keys panel: a film's keys (its pictures) with the seconds it rests on each and moves between them.

No `from __future__ import annotations` here: Blender reads the property annotations as objects.
The rows live on the imported points object (`Object.flowreel_keys`), so every film keeps its own
timing in the .blend; editing one re-keys that film (film_timing.retime).
"""

import bpy
from bpy.props import FloatProperty, StringProperty

from ..scene import film_timing


class FlowreelKey(bpy.types.PropertyGroup):
    """One key of a film: what it shows, how long the film rests on it, how long it moves to the next."""

    kind: StringProperty(name="Kind", description="noise, picture, mesh or points")
    hold: FloatProperty(name="Hold", description="Seconds at rest on this key", default=1.0, min=0.0,
                        soft_max=10.0, update=film_timing.on_row_edit)
    seconds: FloatProperty(name="Move", description="Seconds of the move from this key to the next", default=5.0,
                           min=0.05, soft_max=60.0, update=film_timing.on_row_edit)


def films(context) -> list:
    """The film whose keys the panel shows: the active object if it is one, else every film in the scene."""
    active = context.active_object
    if active is not None and film_timing.film(active) is not None:
        return [active]
    return [ob for ob in context.scene.objects if film_timing.film(ob) is not None]


class VIEW3D_PT_flowreel_keys(bpy.types.Panel):
    bl_label = "Keys"
    bl_space_type = "VIEW_3D"
    bl_region_type = "UI"
    bl_category = "Flowreel"
    bl_parent_id = "VIEW3D_PT_flowreel"

    @classmethod
    def poll(cls, context):
        return bool(films(context))

    def draw(self, context):
        layout = self.layout
        obj = films(context)[0]
        f = film_timing.film(obj)
        layout.label(text=f"{obj.name}: {len(obj.flowreel_keys)} keys, frames {f['start']}-{f['end']}")
        rows = obj.flowreel_keys
        for k, row in enumerate(rows):
            box = layout.box()
            box.label(text=f"{k}: {row.name} ({row.kind})", icon="IMAGE_DATA" if row.kind == "picture" else "DOT")
            line = box.row(align=True)
            line.prop(row, "hold")
            if k + 1 < len(rows):
                line.prop(row, "seconds", text=f"Move to {k + 1}")


CLASSES = (FlowreelKey, VIEW3D_PT_flowreel_keys)


def register_properties() -> None:
    bpy.types.Object.flowreel_keys = bpy.props.CollectionProperty(type=FlowreelKey)


def unregister_properties() -> None:
    if hasattr(bpy.types.Object, "flowreel_keys"):
        del bpy.types.Object.flowreel_keys
