"""3-D files keep the orientation their program gave them (each format's axis convention, --up / --forward),
and every shape has a front (the largest face of its box, near-ties to -y then +z), recorded in its metadata."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import require_module

from flowreel.addon.core.contract import shapes3d

# A 2 x 1 x 4 block (Blender's axes: x right, y away from the viewer, z up) with a small bump on its
# front-right-top corner: any turn or mirror of it moves the bump.


def _world_mesh():
    trimesh = require_module("trimesh")
    block = trimesh.creation.box(extents=(2, 1, 4))
    bump = trimesh.creation.box(extents=(0.3, 0.3, 0.3)).apply_translation((0.85, -0.65, 1.85))
    return trimesh.util.concatenate([block, bump])


def _normalised(points: np.ndarray) -> np.ndarray:
    lo, hi = points.min(0), points.max(0)
    return (points - (lo + hi) / 2) * (8.0 / (hi - lo).max())


def _same_points(a: np.ndarray, b: np.ndarray, tol: float = 1e-4) -> bool:
    d = np.linalg.norm(a[:, None, :] - b[None, :, :], axis=2)
    return bool(d.min(axis=1).max() < tol and d.min(axis=0).max() < tol)


# Each format's own convention, written out by hand (not through shapes3d): what the file holds for a
# scene point (x, y, z). Y up, forward -z (Blender's OBJ and glTF exporters): (x, z, -y).
WRITTEN = {".obj": lambda p: np.c_[p[:, 0], p[:, 2], -p[:, 1]], ".glb": lambda p: np.c_[p[:, 0], p[:, 2], -p[:, 1]],
           ".gltf": lambda p: np.c_[p[:, 0], p[:, 2], -p[:, 1]], ".ply": lambda p: p, ".stl": lambda p: p}


@pytest.mark.parametrize("suffix", sorted(WRITTEN))
def test_a_mesh_in_each_formats_convention_lands_in_the_same_world_orientation(tmp_path, suffix):
    from flowreel.trainer.targets.registry import load_target

    mesh = _world_mesh()
    world = np.asarray(mesh.vertices).copy()
    mesh.vertices = WRITTEN[suffix](world)
    path = tmp_path / f"block{suffix}"
    mesh.export(path)
    t = load_target(path)
    assert _same_points(np.unique(t.vertices, axis=0), np.unique(_normalised(world), axis=0))
    meta = t.meta()
    assert (meta["up"], meta["forward"]) == shapes3d.CONVENTIONS[suffix]
    assert meta["front"] == "-y"  # standing: its largest face (x by z) looks at Blender's front


def test_up_and_forward_override_the_formats_convention(tmp_path):
    """A z-up OBJ (as the add-on wrote them before) read with --up z --forward y; a PLY read y up."""
    from flowreel.trainer.targets.registry import load_target
    from flowreel.trainer.targets.target3d import TargetError

    mesh = _world_mesh()
    world = np.asarray(mesh.vertices).copy()
    path = tmp_path / "zup.obj"
    mesh.export(path)
    assert not _same_points(load_target(path).vertices, _normalised(world))  # read y up by default: turned
    t = load_target(path, up="z", forward="y")
    assert _same_points(t.vertices, _normalised(world))
    assert (t.meta()["up"], t.meta()["forward"], t.meta()["axes"]) == ("z", "y", "--up/--forward")
    assert t.options == {"fill": "surface", "up": "z", "forward": "y"}  # part of what a fit is keyed by

    ply = tmp_path / "block.ply"
    mesh.export(ply)
    t = load_target(ply, up="y")  # forward: the PLY's y is taken, so the next of Blender's axes: -z
    assert _same_points(t.vertices, _normalised(np.c_[world[:, 0], -world[:, 2], world[:, 1]]))
    assert (t.meta()["up"], t.meta()["forward"]) == ("y", "-z")
    with pytest.raises(TargetError, match=r"^block.ply: --up y and --forward -y must be different axes$"):
        load_target(ply, up="y", forward="-y")
    with pytest.raises(TargetError, match="apply to 3-D files"):
        load_target(tmp_path / "picture.png", up="y")


def test_axis_flags_parse_like_blenders_names():
    from flowreel.trainer.cli.args import _axis

    assert [shapes3d.parse_axis(a) for a in ("Y", "+z", "-X", "NEGATIVE_Z")] == ["y", "z", "-x", "-z"]
    assert [shapes3d.parse_front(a) for a in ("-Y", "z", "+x")] == ["-y", "+z", "+x"]
    assert _axis("-Z") == "-z"
    with pytest.raises(Exception, match="one of x, y, z, -x, -y, -z"):
        _axis("up")


@pytest.mark.parametrize(("extent", "front"), [
    ([-4, 4, -1.5, 1.5, -0.2, 0.2], "+z"),  # a word lying flat, as Blender's Text makes it: read from above
    ([-4, 4, -0.2, 0.2, -1.5, 1.5], "-y"),  # the same word standing: from the front
    ([-1, 1, -1, 1, -4, 4], "-y"),  # a tall column: x and y faces tie, the front wins
    ([-1, 1, -1, 1, -1, 1], "-y"),  # a cube: all tie
    ([-4, 4, -4, 4, -3.8, 3.8], "-y"),  # the top is only 5 % larger than the front: a near-tie
    ([-4, 4, -4, 4, -3.0, 3.0], "+z"),  # a third larger: the top
    ([-0.3, 0.3, -4, 4, -3, 3], "+x"),  # a wall along y: seen from the right
])
def test_the_front_is_the_largest_face_with_near_ties_to_the_front_then_the_top(extent, front):
    assert shapes3d.choose_front(extent) == front


def test_front_views_are_right_handed_screens():
    """Each front's screen right x screen up points at the camera, and +z reads with +y up (Blender's Top)."""
    for f in shapes3d.FRONTS:
        b = shapes3d.front_basis(f)
        np.testing.assert_allclose(np.cross(b[:, 0], b[:, 1]), b[:, 2])
        np.testing.assert_allclose(b[:, 2], shapes3d.axis_vector(f))
    np.testing.assert_allclose(shapes3d.front_basis("+z"), np.eye(3))


def test_front_and_axis_flags_take_values_that_start_with_a_minus():
    """`--front -y` and `--up -z` as typed (argparse alone would take "-y" for an option)."""
    from flowreel.addon.render.args import build_parser as render_parser
    from flowreel.trainer.cli import build_parser

    argv = ["movie", "w.obj", "-o", "w.mp4", "--front", "-y", "--up", "-z", "--forward", "x"]
    args = build_parser().parse_args(shapes3d.join_axis_values(argv))
    assert (args.front, args.up, args.forward) == ("-Y", "-z", "x")
    args = render_parser().parse_args(shapes3d.join_axis_values(["t.npz", "-o", "f.mp4", "--front", "-x"]))
    assert args.front == "-X"
    from flowreel.addon.core.errors import UsageError

    with pytest.raises(UsageError, match=r"^argument --front: unknown front 'sideways': choose auto, -y"):
        build_parser().parse_args(["movie", "w.obj", "-o", "w.mp4", "--front=sideways"])


@pytest.mark.parametrize("endian", ["<", ">"])
def test_a_binary_ply_of_mixed_polygons_is_read_with_its_colours(tmp_path, endian):
    """Blender's PLY exporter writes quads and n-gons (trimesh refuses mixed lists): fanned into triangles."""
    from flowreel.trainer.targets.ply_polygons import PlyError, read_polygon_ply

    verts = np.array([(0, 0, 0), (1, 0, 0), (1, 1, 0), (0, 1, 0), (2, 0, 0), (2, 1, 1)], dtype=endian + "f4")
    rgba = np.array([(255, 0, 0, 255)] * 3 + [(0, 0, 255, 255)] * 3, dtype=np.uint8)
    polys = [(0, 1, 2, 3), (1, 4, 5), (1, 4, 5, 2, 3)]  # a quad, a triangle, a pentagon
    name = {"<": "binary_little_endian", ">": "binary_big_endian"}[endian]
    head = (f"ply\nformat {name} 1.0\ncomment made by hand\nelement vertex 6\nproperty float x\nproperty float y\n"
            "property float z\nproperty uchar red\nproperty uchar green\nproperty uchar blue\nproperty uchar alpha\n"
            "element face 3\nproperty list uchar uint vertex_indices\nend_header\n").encode()
    vrows = b"".join(v.tobytes() + c.tobytes() for v, c in zip(verts, rgba, strict=True))
    frows = b"".join(bytes([len(p)]) + np.array(p, dtype=endian + "u4").tobytes() for p in polys)
    path = tmp_path / "mixed.ply"
    path.write_bytes(head + vrows + frows)
    v, f, c = read_polygon_ply(str(path))
    np.testing.assert_allclose(v, verts.astype(np.float64))
    assert f.tolist() == [[0, 1, 2], [0, 2, 3], [1, 4, 5], [1, 4, 5], [1, 5, 2], [1, 2, 3]]
    assert np.array_equal(c, rgba)
    path.write_bytes(head + vrows + frows[:-3])
    with pytest.raises(PlyError, match="ends inside its faces"):
        read_polygon_ply(str(path))
