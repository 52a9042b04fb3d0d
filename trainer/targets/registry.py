"""Fit targets: what a flow carries N(0, I) into, chosen by the file's suffix and the flags.

A picture (PNG, JPEG, ...) is trainer.targets.picture.ImageDensity (2-D), or with ``depth`` a trainer.targets.slab
PictureSlab (3-D); a mesh or a point cloud is a trainer.targets.mesh target (3-D). Every target offers:

  dim                     2 or 3
  extent                  [xmin, xmax, ymin, ymax] (2-D) or [..., zmin, zmax] (3-D), world units
  name, sha256, options   provenance; a resumed fit must match sha256 and options
  sample(n, rng)          float32 [n, dim] exact samples
  sample_with_colors(n, rng)  (samples, RGBA uint8 [n, 4])
  colors_at(points)       RGBA uint8 [n, 4] at (near) arbitrary points
  meta()                  what the trajectory file records about it
  save(path)              a copy in the run directory (load_saved_target reads it back)
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from flowreel.trainer.targets.mesh import FILLS, MESH_SUFFIXES, POINT_SUFFIXES
from flowreel.trainer.targets.picture import (
    ImageDensity,
    UnrecognisedImageError,
    check_readable,
    load_density,
)
from flowreel.trainer.targets.target3d import RUN_FILE, TargetError, fail

PICTURE_FILE = "density.npz"


class Target(Protocol):
    dim: int
    extent: tuple[float, ...]
    name: str
    sha256: str
    options: dict

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray: ...
    def sample_with_colors(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]: ...
    def colors_at(self, points: np.ndarray) -> np.ndarray: ...
    def meta(self) -> dict: ...
    def save(self, path: str | os.PathLike) -> None: ...


def is_3d_file(path: str | os.PathLike) -> bool:
    return Path(path).suffix.lower() in MESH_SUFFIXES + POINT_SUFFIXES


def load_target(
    path: str | os.PathLike,
    *,
    invert: bool = False,
    threshold: float | None = None,
    max_side: int = 512,
    depth: float | None = None,
    fill: str | None = None,
    up: str | None = None,
    forward: str | None = None,
    crop: str | None = None,
    frame: int | None = None,
) -> Any:
    """The target of `path` with these options (see the module docstring); TargetError/DensityError on bad input.
    `up` / `forward` override a 3-D file's axis convention (addon/core/contract/shapes3d.py). `crop` (default "ink") and
    `frame` say what of a picture file is read (trainer/targets/picture.py)."""
    path = os.fspath(path)
    if depth is not None and not (np.isfinite(depth) and depth > 0):
        raise TargetError(f"--depth must be a positive number of world units, got {depth}")
    if fill is not None and fill not in FILLS:
        raise TargetError(f"--fill must be one of {', '.join(FILLS)}, got {fill!r}")
    if not is_3d_file(path):
        if fill is not None:
            raise fail(path, "--fill applies to meshes; a picture takes --depth for a body")
        if up or forward:
            raise fail(path, "--up and --forward apply to 3-D files (meshes, point clouds), not pictures")
        try:
            density = load_density(path, invert=invert, threshold=threshold, max_side=max_side, crop=crop or "ink",
                                   frame=frame)  # fmt: skip
        except UnrecognisedImageError:
            # A file with no picture suffix that is no picture either: say what else would have been read.
            if Path(path).suffix.lower() in _picture_suffixes():
                raise
            raise fail(path, "not a picture, mesh or point cloud (unrecognised file; meshes: "
                       f"{' '.join(MESH_SUFFIXES)}, point clouds: {' '.join(POINT_SUFFIXES)})") from None
        if depth is None:
            return density
        from flowreel.trainer.targets.slab import PictureSlab

        return PictureSlab(density, depth)
    if depth is not None:
        raise fail(path, "--depth applies to pictures; a mesh has its own depth")
    if invert or threshold is not None:
        raise fail(path, "--invert and --threshold apply to pictures, not meshes or point clouds")
    if crop is not None or frame is not None:
        raise fail(path, "--crop and --frame apply to pictures, not meshes or point clouds")
    check_readable(path, fail, "a file")
    from flowreel.trainer.targets import mesh_files

    if Path(path).suffix.lower() in POINT_SUFFIXES:
        if fill == "volume":
            raise fail(path, "--fill volume needs a closed mesh, not a point cloud")
        return mesh_files.load_points_file(path, up, forward)
    return mesh_files.load_mesh_file(path, fill=fill or "surface", up=up, forward=forward)


def load_text_target(text: str, font: str | os.PathLike | None = None, *, depth: float | None = None,
                     **options: Any) -> Any:
    """`--text`: the drawn words as a picture (trainer/targets/text.py); with `depth` a slab like a picture's.
    `options`: a picture's (invert, threshold, max_side); the 3-D file flags are refused."""
    from flowreel.trainer.targets.text import load_text_density

    files_only = [k for k in ("fill", "up", "forward") if options.pop(k, None) is not None]
    if [k for k in ("crop", "frame") if options.pop(k, None) is not None]:
        raise TargetError("--crop and --frame apply to picture files; --text is drawn on its own box")
    if files_only:
        raise TargetError(f"--{files_only[0]} applies to 3-D files, not --text")
    if depth is not None and not (np.isfinite(depth) and depth > 0):
        raise TargetError(f"--depth must be a positive number of world units, got {depth}")
    density = load_text_density(text, font, **options)
    if depth is None:
        return density
    from flowreel.trainer.targets.slab import PictureSlab

    return PictureSlab(density, depth)


def _picture_suffixes() -> set[str]:
    from PIL import Image

    return set(Image.registered_extensions())


def target_dim(target: Any) -> int:
    return int(getattr(target, "dim", 2))


def run_file(target: Any) -> str:
    """The target's file in a run directory: density.npz for a picture, target.npz for a 3-D target."""
    return getattr(target, "run_file", PICTURE_FILE)


def saved_target_path(run_dir: Path) -> Path | None:
    """The saved target of a run directory, or None."""
    for name in (RUN_FILE, PICTURE_FILE):
        if (Path(run_dir) / name).exists():
            return Path(run_dir) / name
    return None


def load_saved_target(run_dir: Path) -> Any:
    """The target saved in a run directory (ImageDensity, PictureSlab, MeshTarget or PointCloudTarget)."""
    from flowreel.trainer.fit.checkpoints import MissingRunFileError, RunFileError  # torch: only when a run is read

    p = saved_target_path(run_dir)
    if p is None:
        raise MissingRunFileError(f"{run_dir}: not a fitted run (missing {PICTURE_FILE} or {RUN_FILE})")
    if p.name == PICTURE_FILE:
        return ImageDensity.load_saved(p)
    try:
        with np.load(p, allow_pickle=False) as z:
            info = json.loads(str(z["info"]))
            if info.get("kind") == "picture":
                from flowreel.trainer.targets.slab import PictureSlab

                return PictureSlab.from_saved(z, info)
            from flowreel.trainer.targets.mesh import load_saved

            return load_saved(z, info)
    except (OSError, ValueError, KeyError, EOFError) as e:
        raise RunFileError(f"{p}: not a saved target ({type(e).__name__})") from None


def describe(target: Any) -> str:
    """A few words for progress lines: the picture's size, or the mesh's faces, or the cloud's points."""
    if hasattr(target, "describe"):
        return target.describe()
    h, w = target.shape
    return f"{w}x{h}"


def file_meta(target: Any) -> dict:
    """Keys a 3-D target adds to (or replaces in) a trajectory file's meta; {} for a 2-D picture."""
    if target_dim(target) != 3:
        return {}
    return {
        "image": target.density.meta() if getattr(target, "kind", "") == "picture" else None,
        "target": target.meta(),
        "extent": [float(v) for v in target.extent],
        "coordinates": "world units; x right, y away from the viewer, z up (Blender); centred, the longest side "
        "of the target's bounding box spans [-4, 4]",
    }
