"""Colour and size over the film's time, in the points' Geometry Nodes group (core/over_time.py says what).

Both read the group's Key Position input s (key_colors.key_position: 0 on the noise, k on key k,
keyed with the film's eased timing like the Mesh Cache's `eval_frame`, and re-keyed with it when a
key row is edited), so nothing runs per frame in Python and a saved .blend renders without the add-on:

- colour: flowreel_display = start + (display - start) * clamp(s, 0, 1), with the start colours in the
  point attribute `flowreel_start_color` (after the sequence's own key blend, which writes display);
- size: Mesh to Points' radius = Radius * (size_start + (size_end - size_start) * s / (K - 1)).
"""

from __future__ import annotations

import dataclasses

import bpy
import numpy as np

from ..core import over_time, timing
from ..core.options import SceneOptions
from . import key_colors

START_COLOR = "flowreel_start_color"


def start_colors(opts: SceneOptions, start: np.ndarray, display) -> np.ndarray | None:
    """float32 [n, 4] linear RGBA the particles start in (`display`: scene.display_colors), or None."""
    spec = over_time.parse_color_start(opts.color_start)
    if spec is None:
        return None
    if spec == over_time.NOISE:  # the noise's own palette: hues by start position, as the gradient colour mode
        return display(dataclasses.replace(opts, color_mode="GRADIENT"), None, start)
    return display(dataclasses.replace(opts, color_mode="SINGLE", color=(*_linear(spec), 1.0)), None, start)


def _linear(srgb) -> tuple[float, ...]:
    return tuple(float(c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4) for c in srgb)


def install(obj: bpy.types.Object, modifier, opts: SceneOptions, colors: np.ndarray | None, key_input: str,
            action_name: str) -> str:
    """Add the start colour blend and the size curve the options ask for; returns the Key Position input's
    identifier (made here when the key colours did not make it; "" when nothing needed it)."""
    sized = opts.size_start != 1.0 or opts.size_end != 1.0
    if colors is None and not sized:
        return key_input
    ng = modifier.node_group
    s_out, key_input = key_colors.key_position(obj, modifier, opts, action_name, key_input)
    to_points = next(n for n in ng.nodes if n.bl_idname == "GeometryNodeMeshToPoints")
    if colors is not None:
        attr = obj.data.attributes.new(START_COLOR, "FLOAT_COLOR", "POINT")
        attr.data.foreach_set("color", np.ascontiguousarray(colors, dtype=np.float32).ravel())
        _blend_start_color(ng, to_points, s_out)
    if sized:
        radius_link = next(link for link in ng.links if link.to_node == to_points and link.to_socket.name == "Radius")
        progress = key_colors.math_node(ng, "DIVIDE", s_out, float(max(1, timing.n_keys(opts) - 1)))
        span = key_colors.math_node(ng, "MULTIPLY", progress.outputs[0], float(opts.size_end - opts.size_start))
        factor = key_colors.math_node(ng, "ADD", span.outputs[0], float(opts.size_start))
        radius = key_colors.math_node(ng, "MULTIPLY", radius_link.from_socket, factor.outputs[0])
        ng.links.new(radius.outputs[0], to_points.inputs["Radius"])
        for i, node in enumerate((progress, span, factor, radius)):
            node.location = (-700 + 150 * i, 300)
    return key_input


def _blend_start_color(ng, to_points, s_out) -> None:
    """display <- start + (display - start) * clamp(s): stored before Mesh to Points reads the mesh."""
    reads = []
    for name in (START_COLOR, key_colors.DISPLAY):
        read = ng.nodes.new("GeometryNodeInputNamedAttribute")
        read.data_type = "FLOAT_COLOR"
        read.inputs["Name"].default_value = name
        reads.append(key_colors.typed_socket(read.outputs, "RGBA"))
    weight = key_colors.math_node(ng, "MULTIPLY", s_out, 1.0, clamp=True)
    diff = _vector(ng, "SUBTRACT", reads[1], reads[0])
    scaled = _vector(ng, "SCALE", diff.outputs[0], None)
    ng.links.new(weight.outputs[0], scaled.inputs["Scale"])
    total = _vector(ng, "ADD", reads[0], scaled.outputs[0])
    store = ng.nodes.new("GeometryNodeStoreNamedAttribute")
    store.data_type = "FLOAT_COLOR"
    store.domain = "POINT"
    store.inputs["Name"].default_value = key_colors.DISPLAY
    mesh_link = next(link for link in ng.links if link.to_node == to_points and link.to_socket.name == "Mesh")
    ng.links.new(mesh_link.from_socket, store.inputs["Geometry"])
    ng.links.new(total.outputs[0], key_colors.typed_socket(store.inputs, "RGBA"))
    ng.links.new(store.outputs["Geometry"], to_points.inputs["Mesh"])
    for i, node in enumerate((weight, diff, scaled, total, store)):
        node.location = (-900 + 160 * i, -120)


def _vector(ng, operation: str, a, b):
    node = ng.nodes.new("ShaderNodeVectorMath")
    node.operation = operation
    ng.links.new(a, node.inputs[0])
    if b is not None:
        ng.links.new(b, node.inputs[1])
    return node
