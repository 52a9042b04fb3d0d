"""Every Blender-version difference the add-on meets, in one place (3.4, 4.2 LTS - 5.0, bpy 5.0.1).

The rest of the add-on calls these helpers and never tests `bpy.app.version` itself, so supporting
a new Blender release means reading (and fixing) this file only.
"""

from __future__ import annotations

import bpy

VERSION: tuple[int, int, int] = tuple(bpy.app.version)  # type: ignore[assignment]


# --- node groups ----------------------------------------------------------------------------------
def new_group_socket(group: bpy.types.NodeTree, name: str, in_out: str, socket_type: str):
    """Add an input ('INPUT') or output ('OUTPUT') socket to a node group; returns the interface socket.

    4.0 replaced `group.inputs/outputs.new(type, name)` by `group.interface.new_socket(...)`.
    Both returned objects carry `.identifier`, the key of the matching modifier input.
    """
    if hasattr(group, "interface"):
        return group.interface.new_socket(name=name, in_out=in_out, socket_type=socket_type)
    sockets = group.inputs if in_out == "INPUT" else group.outputs
    return sockets.new(socket_type, name)


def set_socket_range(socket, default: float, min_value: float, max_value: float) -> None:
    """Default and limits of a float group input (same attribute names in 3.x and 4.x)."""
    socket.default_value = default
    socket.min_value = min_value
    socket.max_value = max_value


# --- animation ------------------------------------------------------------------------------------
def _layered_actions() -> bool:
    """4.4 introduced slotted (layered) actions; 5.0 removed `Action.fcurves` altogether."""
    from bpy_extras import anim_utils

    return hasattr(anim_utils, "action_ensure_channelbag_for_slot") and "layers" in bpy.types.Action.bl_rna.properties


def ensure_fcurve(id_data: bpy.types.ID, data_path: str, index: int = 0, action_name: str = "") -> bpy.types.FCurve:
    """Return the F-curve animating `id_data.<data_path>[index]`, creating the action/slot/curve as needed."""
    ad = id_data.animation_data or id_data.animation_data_create()
    action = ad.action
    if action is None:
        action = bpy.data.actions.new(action_name or f"{id_data.name}Action")
        ad.action = action
    if _layered_actions():
        from bpy_extras import anim_utils

        slot = ad.action_slot
        if slot is None:
            slot = action.slots.new(id_type=id_data.id_type, name=id_data.name)
            ad.action_slot = slot
        bag = anim_utils.action_ensure_channelbag_for_slot(action, slot)
        curves = bag.fcurves
    else:
        curves = action.fcurves
    fc = curves.find(data_path, index=index)
    return fc if fc is not None else curves.new(data_path, index=index)


def fcurves_of(id_data: bpy.types.ID) -> list:
    """All F-curves of the action assigned to `id_data` (empty list if none)."""
    ad = id_data.animation_data
    if ad is None or ad.action is None:
        return []
    if _layered_actions():
        from bpy_extras import anim_utils

        bag = anim_utils.action_get_channelbag_for_slot(ad.action, ad.action_slot)
        return list(bag.fcurves) if bag is not None else []
    return list(ad.action.fcurves)


# --- render engines and features ------------------------------------------------------------------
def eevee_engine_id() -> str:
    """EEVEE's engine id: 'BLENDER_EEVEE_NEXT' in 4.2-4.4, 'BLENDER_EEVEE' before and from 5.0 on."""
    return "BLENDER_EEVEE_NEXT" if (4, 2, 0) <= VERSION < (5, 0, 0) else "BLENDER_EEVEE"


def engine_id(name: str) -> str:
    """Map SceneOptions engine names (CYCLES, EEVEE, WORKBENCH) to this Blender's engine ids."""
    return {"CYCLES": "CYCLES", "EEVEE": eevee_engine_id(), "WORKBENCH": "BLENDER_WORKBENCH"}[name.upper()]


def oidn_available() -> bool:
    """True when Cycles was built with OpenImageDenoise (Debian's 3.4 package is not)."""
    try:
        import _cycles  # Blender's compiled Cycles module; present in every build that has Cycles
    except ImportError:
        return False
    return bool(getattr(_cycles, "with_openimagedenoise", False))


def set_motion_blur(scene: bpy.types.Scene, enabled: bool) -> None:
    """Motion blur lives on RenderSettings for Cycles (all versions) and EEVEE Next (4.2+);
    3.x EEVEE keeps its own flag, set too so the choice holds whichever engine renders."""
    scene.render.use_motion_blur = enabled
    eevee = getattr(scene, "eevee", None)
    if eevee is not None and hasattr(eevee, "use_motion_blur"):
        eevee.use_motion_blur = enabled


# --- UI -------------------------------------------------------------------------------------------
def import_menu() -> type:
    """File > Import menu class (same name since 2.8)."""
    return bpy.types.TOPBAR_MT_file_import


# --- evaluated geometry ---------------------------------------------------------------------------
def evaluated_point_positions(obj: bpy.types.Object, depsgraph=None):
    """float32 [n, 3] object-space positions of the point cloud the object evaluates to.

    The Geometry Nodes modifier turns the mesh into a point cloud, which the depsgraph exposes as an
    object instance of type POINTCLOUD (the same way in 3.4, 4.x and 5.0).
    """
    import numpy as np

    dg = depsgraph or bpy.context.evaluated_depsgraph_get()
    for inst in dg.object_instances:
        ob = inst.object
        if ob.type == "POINTCLOUD" and ob.original == obj.original:
            attr = ob.data.attributes["position"]
            out = np.empty(len(attr.data) * 3, dtype=np.float32)
            attr.data.foreach_get("vector", out)
            return out.reshape(-1, 3)
    raise LookupError(f"{obj.name} does not evaluate to a point cloud")


def file_handler_base():
    """bpy.types.FileHandler (drag-and-drop import, 4.1+) or None in older Blender."""
    return getattr(bpy.types, "FileHandler", None)


def eevee_draws_point_clouds() -> bool:
    """EEVEE Legacy (Blender < 4.2) draws no point clouds at all; EEVEE Next does."""
    return VERSION >= (4, 2, 0)


def add_legacy_eevee_spheres(obj: bpy.types.Object) -> None:
    """Make points visible to EEVEE Legacy: one more Geometry Nodes modifier puts an ico-sphere of
    the point's radius on every point and realizes them (per-point attributes such as
    `flowreel_display` carry over to the spheres)."""
    material = obj.data.materials[0] if len(obj.data.materials) else None
    n = len(obj.data.vertices)
    ng = bpy.data.node_groups.new("Flowreel EEVEE Legacy Spheres", "GeometryNodeTree")
    new_group_socket(ng, "Geometry", "INPUT", "NodeSocketGeometry")
    new_group_socket(ng, "Geometry", "OUTPUT", "NodeSocketGeometry")
    nodes, link = ng.nodes, ng.links.new
    gin, gout = nodes.new("NodeGroupInput"), nodes.new("NodeGroupOutput")
    ico = nodes.new("GeometryNodeMeshIcoSphere")
    ico.inputs["Radius"].default_value = 1.0
    ico.inputs["Subdivisions"].default_value = 2 if n <= 20_000 else 1  # 162 / 42 vertices a sphere
    radius = nodes.new("GeometryNodeInputRadius")
    inst = nodes.new("GeometryNodeInstanceOnPoints")
    real = nodes.new("GeometryNodeRealizeInstances")
    set_mat = nodes.new("GeometryNodeSetMaterial")
    set_mat.inputs["Material"].default_value = material
    link(gin.outputs[0], inst.inputs["Points"])
    link(ico.outputs["Mesh"], inst.inputs["Instance"])
    link(radius.outputs[0], inst.inputs["Scale"])
    link(inst.outputs["Instances"], real.inputs["Geometry"])
    link(real.outputs["Geometry"], set_mat.inputs["Geometry"])
    link(set_mat.outputs["Geometry"], gout.inputs[0])
    obj.modifiers.new("Flowreel EEVEE Legacy Spheres", "NODES").node_group = ng
