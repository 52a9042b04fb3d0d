"""The compositor of a look: Render Layers -> (Glare) -> output, rebuilt in code for every Blender
(where the tree lives and how the Glare node is set differ by version: compat.py)."""

from __future__ import annotations

import bpy

from . import compat
from .looks import Look

COMPOSITOR_NAME = "Flowreel Compositor"


def setup_compositor(scene: bpy.types.Scene, look: Look) -> None:
    """Render Layers -> (Glare) -> output, or no compositing for looks without glare."""
    target = compat.compositor_output(scene, COMPOSITOR_NAME, enabled=look.glare is not None)
    if target is None:
        return
    tree = target.id_data
    rl = tree.nodes.new("CompositorNodeRLayers")
    node = tree.nodes.new("CompositorNodeGlare")
    compat.configure_glare(node, look.glare)
    tree.links.new(rl.outputs["Image"], node.inputs["Image"])
    tree.links.new(node.outputs["Image"], target)
    rl.location, node.location, target.node.location = (-400, 0), (-100, 0), (200, 0)
