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
    """4.4 introduced slotted (layered) actions; 5.0 removed `Action.fcurves` altogether.

    Detected by the RNA, not by `anim_utils.action_ensure_channelbag_for_slot`: that helper only
    arrived in 5.0, and 4.4-4.5 must take the slotted path too. Their legacy `Action.fcurves.new`
    proxy puts the curve in a new, unassigned "Legacy Slot", so the object never evaluates it and
    every frame shows the first one.
    """
    return "layers" in bpy.types.Action.bl_rna.properties


def _ensure_channelbag(action: bpy.types.Action, slot):
    """The channel bag holding `slot`'s F-curves in the action's first keyframe strip, made if missing."""
    from bpy_extras import anim_utils

    ensure = getattr(anim_utils, "action_ensure_channelbag_for_slot", None)  # 5.0+
    if ensure is not None:
        return ensure(action, slot)
    # 4.4-4.5: one layer with one keyframe strip, the layout 5.0's helper builds as well.
    layer = action.layers[0] if len(action.layers) else action.layers.new("Layer")
    strip = layer.strips[0] if len(layer.strips) else layer.strips.new(type="KEYFRAME")
    return strip.channelbag(slot, ensure=True)


def ensure_fcurve(id_data: bpy.types.ID, data_path: str, index: int = 0, action_name: str = "") -> bpy.types.FCurve:
    """Return the F-curve animating `id_data.<data_path>[index]`, creating the action/slot/curve as needed."""
    ad = id_data.animation_data or id_data.animation_data_create()
    action = ad.action
    if action is None:
        action = bpy.data.actions.new(action_name or f"{id_data.name}Action")
        ad.action = action
    if _layered_actions():
        slot = ad.action_slot
        if slot is None:
            slot = action.slots.new(id_type=id_data.id_type, name=id_data.name)
            ad.action_slot = slot
        curves = _ensure_channelbag(action, slot).fcurves
    else:
        curves = action.fcurves
    fc = curves.find(data_path, index=index)
    return fc if fc is not None else curves.new(data_path, index=index)


def fcurves_of(id_data: bpy.types.ID) -> list:
    """The F-curves `id_data` evaluates: those of its action's assigned slot (or the whole legacy action)."""
    ad = id_data.animation_data
    if ad is None or ad.action is None:
        return []
    if _layered_actions():
        return [] if ad.action_slot is None else list(_ensure_channelbag(ad.action, ad.action_slot).fcurves)
    return list(ad.action.fcurves)


# --- render engines and features ------------------------------------------------------------------
def eevee_engine_id() -> str:
    """EEVEE's engine id: 'BLENDER_EEVEE_NEXT' in 4.2-4.4, 'BLENDER_EEVEE' before and from 5.0 on."""
    return "BLENDER_EEVEE_NEXT" if (4, 2, 0) <= VERSION < (5, 0, 0) else "BLENDER_EEVEE"


def engine_id(name: str) -> str:
    """Map SceneOptions engine names (CYCLES, EEVEE, WORKBENCH, SPLAT) to this Blender's engine ids."""
    return {"CYCLES": "CYCLES", "EEVEE": eevee_engine_id(), "WORKBENCH": "BLENDER_WORKBENCH",
            "SPLAT": "FLOWREEL_SPLAT"}[name.upper()]


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


# --- process exit ---------------------------------------------------------------------------------
def is_bpy_module() -> bool:
    """True in the `bpy` module from the package index, False inside a Blender executable."""
    return not bpy.app.binary_path


def unregister_before_exit() -> bool:
    """Whether the add-on must unregister itself before the interpreter exits.

    The bpy module shuts Blender down from an `atexit` hook. With Python classes and menu entries
    still registered, 4.5 then hangs on a futex after its "Not freed memory blocks" report; 5.0 copes.
    Inside the Blender executable, Blender unregisters add-ons itself while Python is still alive.
    """
    return is_bpy_module()


def drop_methods_at_exit() -> bool:
    """Whether the add-on's classes must also lose their Python methods before the interpreter exits.

    The 4.2 bpy module frees its space types in a C++ static destructor, after Python is finalized;
    if Python functions are still reachable from classes it registered (a method on a PropertyGroup
    or Operator, a function appended to a menu), that destructor calls into the dead interpreter and
    the process dies with SIGSEGV (exit 139), even after a clean unregister(). Dropping the methods
    avoids it. 4.5 and 5.0 do not need it; 4.3-4.4 are untested and included: at exit it is harmless.
    """
    return is_bpy_module() and VERSION < (4, 5, 0)


# --- UI -------------------------------------------------------------------------------------------
def import_menu() -> type:
    """File > Import menu class (same name since 2.8)."""
    return bpy.types.TOPBAR_MT_file_import


def export_menu() -> type:
    """File > Export menu class (same name since 2.8)."""
    return bpy.types.TOPBAR_MT_file_export


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


# --- materials and compositor ---------------------------------------------------------------------
def ensure_node_tree(idb: bpy.types.ID) -> None:
    """Give a new material/world its node tree: 3.x-4.x need `use_nodes = True`; 5.0 always has one
    (and deprecates the flag, so it is not touched there)."""
    if idb.node_tree is None:
        idb.use_nodes = True


def compositor_output(scene: bpy.types.Scene, name: str, enabled: bool):
    """The empty compositor of `scene`'s output socket to link into, or None (compositing off).

    5.0+: a node group asset `name` in `scene.compositing_node_group` (the previous one of that name
    is removed when unused); 3.x-4.x: the scene's embedded node tree, cleared."""
    if hasattr(scene, "compositing_node_group"):
        old = scene.compositing_node_group
        target = None
        if not enabled:
            scene.compositing_node_group = None
        else:
            tree = bpy.data.node_groups.new(name, "CompositorNodeTree")
            tree.interface.new_socket(name="Image", in_out="OUTPUT", socket_type="NodeSocketColor")
            target = tree.nodes.new("NodeGroupOutput").inputs[0]
            scene.compositing_node_group = tree
        if old is not None and old.name.startswith(name) and old.users == 0:
            bpy.data.node_groups.remove(old)
        return target
    scene.use_nodes = enabled
    if not enabled:
        return None
    tree = scene.node_tree
    tree.nodes.clear()
    return tree.nodes.new("CompositorNodeComposite").inputs["Image"]


def _set_node(node, prop: str, socket: str, value) -> None:
    """Set a node option that is a property in 3.x/4.x and an input socket in 5.0."""
    if hasattr(node, prop):
        setattr(node, prop, value)
    elif socket in node.inputs:
        node.inputs[socket].default_value = value


# The glow is a wide, smooth blur: computed at half resolution it differs from full resolution by at
# most 8/255 a pixel at 720p and costs about a tenth less CPU a draft frame (bench/RESULTS.md).
GLARE_QUALITY = "Medium"


def configure_glare(node, glare) -> None:
    """Set a Glare node from a looks.Glare: Bloom where the node has it (4.2+), else Fog Glow."""
    if hasattr(node, "glare_type"):  # 3.x - 4.4: properties
        kinds = node.bl_rna.properties["glare_type"].enum_items.keys()
        if "BLOOM" in kinds:
            node.glare_type = "BLOOM"
            node.size = max(1, min(9, round(9 * glare.size)))
        else:
            node.glare_type = "FOG_GLOW"
            node.size = glare.size_legacy
        node.quality = GLARE_QUALITY.upper()
        node.threshold = glare.threshold
        node.mix = max(-1.0, min(1.0, glare.strength - 1.0))
    else:  # 4.5+/5.0: sockets
        node.inputs["Type"].default_value = "Bloom"
        node.inputs["Quality"].default_value = GLARE_QUALITY
        _set_node(node, "threshold", "Threshold", glare.threshold)
        _set_node(node, "size", "Size", glare.size)
        _set_node(node, "strength", "Strength", glare.strength)
        _set_node(node, "saturation", "Saturation", glare.saturation)


def compositor_math_node() -> str:
    """The Math node of a compositor tree: its own in 3.x-4.x, the shared shader one in 5.0."""
    return "CompositorNodeMath" if hasattr(bpy.types, "CompositorNodeMath") else "ShaderNodeMath"


def set_alpha_replace(node) -> None:
    """A Set Alpha node in Replace Alpha mode: a property in 3.x-4.x, the `Type` socket in 5.0."""
    if hasattr(node, "mode"):
        node.mode = "REPLACE_ALPHA"
    else:
        node.inputs["Type"].default_value = "Replace Alpha"


# --- 3-D films: depth shading per engine ----------------------------------------------------------
def eevee_depth_shading(scene: bpy.types.Scene, ao_distance: float) -> None:
    """Ambient occlusion and soft shadows in EEVEE. 3.x (Legacy) has switches for both (`use_gtao`,
    `use_soft_shadows`); EEVEE Next (4.2+) always traces horizon-scan AO and soft shadows from each
    light's size, and adds `use_shadows` and the AO distance `fast_gi_distance`. Legacy names linger
    in the RNA (4.2.23: all three; 4.5.15: `use_gtao`, `gtao_distance`; 5.0: none), where setting them
    is harmless. Each name is set where this Blender has it."""
    eevee = getattr(scene, "eevee", None)
    if eevee is None:
        return
    for name, value in (("use_gtao", True), ("gtao_distance", ao_distance), ("use_soft_shadows", True),
                        ("use_shadows", True), ("fast_gi_distance", ao_distance)):
        if hasattr(eevee, name):
            try:
                setattr(eevee, name, value)
            except (AttributeError, TypeError, ValueError):
                pass


def light_soft_shadow(light: bpy.types.Light) -> None:
    """Shadows on, contact shadows where the light has them (EEVEE Legacy 3.x) so that touching points
    shade each other."""
    light.use_shadow = True
    if hasattr(light, "use_contact_shadow"):
        light.use_contact_shadow = True


# --- exporting a target mesh ----------------------------------------------------------------------
def evaluated_mesh(obj: bpy.types.Object, depsgraph):
    """(evaluated object, its mesh with modifiers applied): a Text or Curve object is converted too.
    Free the mesh with `evaluated.to_mesh_clear()`. `Object.to_mesh()` of the evaluated object is the
    same call from 2.9 to 5.0 (the `depsgraph` argument is only for non-evaluated objects)."""
    ob_eval = obj.evaluated_get(depsgraph)
    return ob_eval, ob_eval.to_mesh()


def mesh_triangles(mesh: bpy.types.Mesh):
    """int32 [F, 3] vertex indices of the mesh's triangulation (`loop_triangles`; 3.4 - 5.0 alike, but
    only filled after `calc_loop_triangles()`, which 4.x+ do lazily and 3.x do not)."""
    import numpy as np

    mesh.calc_loop_triangles()
    tris = np.empty(len(mesh.loop_triangles) * 3, dtype=np.int32)
    mesh.loop_triangles.foreach_get("vertices", tris)
    return tris.reshape(-1, 3)


def mesh_color_attribute(mesh: bpy.types.Mesh):
    """The mesh's colour attribute (the active one, else the first), or None. `color_attributes` exist
    from 3.2 (3.4 - 5.0 here); older meshes only had `vertex_colors`, face-corner byte colours, which
    3.2+ expose as colour attributes too."""
    attrs = getattr(mesh, "color_attributes", None)
    if attrs is None or len(attrs) == 0:
        return None
    active = getattr(attrs, "active_color", None)
    return active if active is not None else attrs[0]
