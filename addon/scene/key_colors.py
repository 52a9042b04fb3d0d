"""Colours of a sequence: each particle takes its pixel's colour at every key and blends between keys.

Memory stays flat in the film's length: one colour attribute per key (`flowreel_display_<k>`, K x N),
and the points' Geometry Nodes group mixes them by a keyed scalar, the film's key position s (s = k on
key k, keyed with the same eased timing as the Mesh Cache's `eval_frame`, so the colour reaches key
k's exactly when the positions do). The mix, sum_k max(0, 1 - |s - k|) * colour_k, is stored as
`flowreel_display`, the attribute every look's material reads, so the looks need not know about keys.

A single flow, or a film whose keys all show the same display colours (GRADIENT and SINGLE colour
modes, monochrome pictures) gets none of this: its import is what it was before sequences.
"""

from __future__ import annotations

from collections.abc import Sequence

import bpy
import numpy as np

from .. import compat
from ..core import timing
from ..core.options import SceneOptions

KEY_INPUT = "Key Position"
ATTRIBUTE = "flowreel_display_{}"
DISPLAY = "flowreel_display"


def per_key_colors(opts: SceneOptions, key_colors: np.ndarray | None, start: np.ndarray, display) -> list | None:
    """float32 [n, 4] display colours at each key (`display`: scene.display_colors), or None when
    every key shows the same colours and nothing needs blending."""
    if key_colors is None or len(key_colors) < 2:
        return None
    per_key = [display(opts, np.asarray(c), start) for c in key_colors]
    if all(np.array_equal(per_key[0], c) for c in per_key[1:]):
        return None
    return per_key


def typed_socket(sockets, kind: str):
    """The socket of type `kind` in use: 3.x nodes carry one hidden socket per data type."""
    return next(s for s in sockets if s.type == kind and getattr(s, "enabled", True))


def install(obj: bpy.types.Object, modifier, colors: Sequence[np.ndarray], opts: SceneOptions,
            action_name: str) -> str:
    """Add the per-key attributes to `obj`'s mesh and the blend to the points group of the Geometry Nodes
    `modifier`; key its Key Position input like the film's timing. Returns the input's identifier."""
    mesh = obj.data
    for k, c in enumerate(colors):
        attr = mesh.attributes.new(ATTRIBUTE.format(k), "FLOAT_COLOR", "POINT")
        attr.data.foreach_set("color", np.ascontiguousarray(c, dtype=np.float32).ravel())
    ng = modifier.node_group
    s_out, identifier = key_position(obj, modifier, opts, action_name)
    to_points = next(n for n in ng.nodes if n.bl_idname == "GeometryNodeMeshToPoints")

    total = None
    for k in range(len(colors)):
        read = ng.nodes.new("GeometryNodeInputNamedAttribute")
        read.data_type = "FLOAT_COLOR"
        read.inputs["Name"].default_value = ATTRIBUTE.format(k)
        # weight = clamp(1 - |s - k|): 1 on key k, 0 from the neighbouring keys on
        diff = math_node(ng, "SUBTRACT", s_out, float(k))
        dist = math_node(ng, "ABSOLUTE", diff.outputs[0])
        weight = math_node(ng, "SUBTRACT", 1.0, dist.outputs[0], clamp=True)
        scaled = ng.nodes.new("ShaderNodeVectorMath")
        scaled.operation = "SCALE"
        ng.links.new(typed_socket(read.outputs, "RGBA"), scaled.inputs[0])
        ng.links.new(weight.outputs[0], scaled.inputs["Scale"])
        for i, node in enumerate((read, diff, dist, weight, scaled)):
            node.location = (-1400 + 180 * i, -250 - 220 * k)
        if total is None:
            total = scaled.outputs[0]
        else:
            add = ng.nodes.new("ShaderNodeVectorMath")
            add.operation = "ADD"
            add.location = (-450, -250 - 220 * k)
            ng.links.new(total, add.inputs[0])
            ng.links.new(scaled.outputs[0], add.inputs[1])
            total = add.outputs[0]

    store = ng.nodes.new("GeometryNodeStoreNamedAttribute")
    store.data_type = "FLOAT_COLOR"
    store.domain = "POINT"
    store.inputs["Name"].default_value = DISPLAY
    store.location = (-300, 0)
    mesh_link = next(link for link in ng.links if link.to_node == to_points and link.to_socket.name == "Mesh")
    ng.links.new(mesh_link.from_socket, store.inputs["Geometry"])
    ng.links.new(total, typed_socket(store.inputs, "RGBA"))
    ng.links.new(store.outputs["Geometry"], to_points.inputs["Mesh"])
    return identifier


def key_position(obj: bpy.types.Object, modifier, opts: SceneOptions, action_name: str, identifier: str = ""):
    """(group input socket, identifier) of the points group's Key Position input: the film's key position s
    (s = k on key k, keyed like `eval_frame`). Made and keyed unless `identifier` names it already."""
    ng = modifier.node_group
    gin = next(n for n in ng.nodes if n.bl_idname == "NodeGroupInput")
    if identifier:
        return next(o for o in gin.outputs if o.identifier == identifier), identifier
    sock = compat.new_group_socket(ng, KEY_INPUT, "INPUT", "NodeSocketFloat")
    compat.set_socket_range(sock, 0.0, 0.0, float(max(1, timing.n_keys(opts) - 1)))
    modifier[sock.identifier] = 0.0
    key_fcurve(obj, modifier, sock.identifier, opts, action_name)
    return next(o for o in gin.outputs if o.name == KEY_INPUT), sock.identifier


def key_fcurve(obj: bpy.types.Object, modifier, identifier: str, opts: SceneOptions, action_name: str,
               frame_start: int = timing.FRAME_START) -> None:
    """Key the Key Position input: s = k on key k, eased like `eval_frame` (core.timing)."""
    fc = compat.ensure_fcurve(obj, f'modifiers["{modifier.name}"]["{identifier}"]', 0, action_name)
    timing.key_fcurve(fc, opts, frame_start=frame_start, samples=range(timing.n_keys(opts)))


def math_node(ng, operation: str, a, b=None, clamp: bool = False):
    node = ng.nodes.new("ShaderNodeMath")
    node.operation = operation
    node.use_clamp = clamp
    for i, v in enumerate((a, b)):
        if v is None:
            continue
        if isinstance(v, float):
            node.inputs[i].default_value = v
        else:
            ng.links.new(v, node.inputs[i])
    return node
