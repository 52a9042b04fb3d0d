"""Depth of field of a 3-D film, measured in a real Cycles render: the camera the add-on builds blurs a point
at the nearest side of the framed box to a disk DOF_EDGE_BLUR of the frame wide, and keeps a point at the
box's centre sharp. camera.dof_fstop assumes Cycles' thin lens (aperture radius = focal length / (2 f-stop),
blender_camera.cpp); this checks that assumption and the geometry, not a copy of the formula."""

from __future__ import annotations

import math

import numpy as np

# A shape at the trainer's scale (a picture's longer side spans [-4, 4]): it needs about f/0.2.
EXTENT = (-4.0, 4.0, -3.0, 3.0, -2.0, 2.0)
WIDTH = 3840  # rendered only in small crops around each point: 0.3 % of 3840 is 11.5 pixels
HALF = 24  # crop half-size in pixels


def _emitter(bpy):
    mat = bpy.data.materials.new("dof emitter")
    if mat.node_tree is None:
        mat.use_nodes = True
    nt = mat.node_tree
    nt.nodes.clear()
    em = nt.nodes.new("ShaderNodeEmission")
    em.inputs["Strength"].default_value = 100.0
    out = nt.nodes.new("ShaderNodeOutputMaterial")
    nt.links.new(em.outputs["Emission"], out.inputs["Surface"])
    return mat


def _sphere(bpy, name, location, radius, mat):
    import bmesh
    from mathutils import Vector

    me = bpy.data.meshes.new(name)
    bm = bmesh.new()
    bmesh.ops.create_uvsphere(bm, u_segments=16, v_segments=8, radius=radius)
    bm.to_mesh(me)
    bm.free()
    me.materials.append(mat)
    ob = bpy.data.objects.new(name, me)
    ob.location = Vector(map(float, location))
    bpy.context.scene.collection.objects.link(ob)
    return ob


def _blur_diameter(bpy, tmp_path, point, name) -> float:
    """Render a crop around `point`'s projection; the diameter of the uniform disk with the same spread
    (a disk of radius R has variance R^2 / 4 along each axis; a pixel's own width adds 1/12)."""
    from bpy_extras.object_utils import world_to_camera_view
    from mathutils import Vector

    scene = bpy.context.scene
    w, h = scene.render.resolution_x, scene.render.resolution_y
    c = world_to_camera_view(scene, scene.camera, Vector(map(float, point)))
    cx, cy = c.x * w, c.y * h
    r = scene.render
    r.use_border = r.use_crop_to_border = True
    r.border_min_x, r.border_max_x = (cx - HALF) / w, (cx + HALF) / w
    r.border_min_y, r.border_max_y = (cy - HALF) / h, (cy + HALF) / h
    r.filepath = str(tmp_path / f"{name}.exr")
    bpy.ops.render.render(write_still=True)
    img = bpy.data.images.load(r.filepath)
    iw, ih = img.size
    px = np.empty(iw * ih * 4, np.float32)
    img.pixels.foreach_get(px)
    lum = px.reshape(ih, iw, 4)[..., :3].mean(-1).astype(np.float64)
    assert lum.max() > 0, f"{name}: nothing rendered around the point"
    # Nothing reaches the crop's edge: the whole disk was measured.
    assert max(lum[0].max(), lum[-1].max(), lum[:, 0].max(), lum[:, -1].max()) < 1e-3 * lum.max(), name
    yy, xx = np.mgrid[0:ih, 0:iw] + 0.5
    tot = lum.sum()
    mx, my = (lum * xx).sum() / tot, (lum * yy).sum() / tot
    var = ((lum * (xx - mx) ** 2).sum() + (lum * (yy - my) ** 2).sum()) / (2 * tot) - 1 / 12
    return 4.0 * math.sqrt(max(var, 0.0))


def test_cycles_blurs_the_near_side_by_the_design_fraction_and_keeps_the_centre_sharp(bpy, tmp_path):
    from flowreel.addon.camera import rig as camera
    from flowreel.addon.core.options import SceneOptions

    scene = bpy.context.scene
    opts = SceneOptions(resolution=(WIDTH, WIDTH * 9 // 16), depth_of_field=True)
    cam = camera.setup_camera(scene, scene.collection, EXTENT, 0.0, opts, extent=list(EXTENT), dim=3)
    scene.render.resolution_x, scene.render.resolution_y = opts.resolution
    scene.render.resolution_percentage = 100
    scene.render.engine = "CYCLES"
    # Enough samples that the measured spread of a sub-pixel emitter blurred over a dozen pixels is not itself
    # noise: at 128, bpy 4.2 measured the front view's near corner outside the tolerance while 5.0 did not.
    scene.cycles.samples = 512
    scene.cycles.use_denoising = False
    scene.render.filter_size = 0.01  # no pixel filter widening the disk
    scene.render.image_settings.file_format = "OPEN_EXR"
    scene.world = None  # black background
    bpy.context.view_layer.update()

    eye = np.array(cam.matrix_world.translation)
    fwd = -np.array(cam.matrix_world.to_3x3().col[2])
    corners = camera.box_corners(EXTENT, 0.0)
    near = corners[np.argmin((corners - eye) @ fwd)]
    centre = np.array(cam.parent.matrix_world.translation)
    # Spheres about 0.6 pixels across where they are: small against the blur.
    tan = camera.SENSOR_MM / 2 / cam.data.lens
    mat = _emitter(bpy)
    for name, p in (("near", near), ("centre", centre)):
        depth = float((p - eye) @ fwd)
        _sphere(bpy, name, p, 0.3 * 2 * depth * tan / WIDTH, mat)

    bpy.data.objects["centre"].hide_render = True
    near_blur = _blur_diameter(bpy, tmp_path, near, "near")
    bpy.data.objects["centre"].hide_render = False
    bpy.data.objects["near"].hide_render = True
    centre_blur = _blur_diameter(bpy, tmp_path, centre, "centre")

    design = camera.DOF_EDGE_BLUR * WIDTH
    assert abs(near_blur - design) < 0.12 * design, (near_blur, design)
    assert centre_blur < 2.5, centre_blur  # in focus: the sphere's own size and sampling only
