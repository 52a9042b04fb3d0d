"""The compositor of a look: Render Layers -> (Glare) -> (alpha) -> output, rebuilt in code for every
Blender (where the tree lives and how the Glare node is set differ by version: compat.py).

A glowing look's light reaches past its points, where the render's alpha is 0, so a transparent film
needs the glow's alpha made in the compositor (`alpha`, below); the frames the render script writes
get theirs in display space instead (core/background.py says why).
"""

from __future__ import annotations

import bpy

from .. import compat
from .recipes import Look

COMPOSITOR_NAME = "Flowreel Compositor"
# alpha: "none" (the render's own: opaque, or coverage with a transparent film), "opaque" (the glow over
# black with alpha 1: the render script unmultiplies it after the view transform) or "glow" (alpha =
# the brightest channel where it exceeds the coverage: premultiplied light, for Blender's own renders).
ALPHA_MODES = ("none", "opaque", "glow")


def setup_compositor(scene: bpy.types.Scene, look: Look, alpha: str = "none") -> None:
    """Render Layers -> (Glare) -> (alpha) -> output, or no compositing for looks without glare."""
    target = compat.compositor_output(scene, COMPOSITOR_NAME, enabled=look.glare is not None)
    if target is None:
        return
    tree = target.id_data
    rl = tree.nodes.new("CompositorNodeRLayers")
    node = tree.nodes.new("CompositorNodeGlare")
    compat.configure_glare(node, look.glare)
    tree.links.new(rl.outputs["Image"], node.inputs["Image"])
    image = node.outputs["Image"]
    if alpha != "none":
        image = _set_alpha(tree, image, 1.0 if alpha == "opaque" else _brightest(tree, image))
    tree.links.new(image, target)
    rl.location, node.location, target.node.location = (-400, 0), (-100, 0), (600, 0)


def _brightest(tree, image):
    """max(R, G, B, A) clamped to 1: the alpha of premultiplied light (0 where nothing shines)."""
    sep = tree.nodes.new("CompositorNodeSeparateColor")
    tree.links.new(image, sep.inputs[0])
    sep.location = (100, -200)

    def biggest(a, b, clamp=False):
        node = tree.nodes.new(compat.compositor_math_node())
        node.operation = "MAXIMUM"
        node.use_clamp = clamp
        tree.links.new(a, node.inputs[0])
        tree.links.new(b, node.inputs[1])
        return node.outputs[0]

    o = sep.outputs
    return biggest(biggest(o[0], o[1]), biggest(o[2], o[3]), clamp=True)


def _set_alpha(tree, image, alpha):
    """Set Alpha in Replace mode: the colour stays as it is (premultiplied), only the alpha changes."""
    node = tree.nodes.new("CompositorNodeSetAlpha")
    compat.set_alpha_replace(node)
    tree.links.new(image, node.inputs["Image"])
    if isinstance(alpha, float):
        node.inputs["Alpha"].default_value = alpha
    else:
        tree.links.new(alpha, node.inputs["Alpha"])
    node.location = (350, 0)
    return node.outputs["Image"]
