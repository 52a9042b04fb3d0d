"""Image -> a continuous, piecewise-constant probability density on the plane.

Each pixel's weight is its alpha (when the picture has a non-opaque alpha channel: a logo on a
transparent background) or else its darkness ``1 - luminance`` (black ink on white paper).
``invert`` flips that weight (light ink on a dark background), ``threshold`` binarizes it.

World coordinates: x right, y up (row 0 of the picture is the TOP, so it gets the largest y),
centred on the origin, aspect ratio kept, the longer side spanning [-BOX, BOX] = [-4, 4] (FFJORD's
box). Within a pixel the density is uniform, so sampling is "pick a pixel by weight, jitter
uniformly inside it" and the differential entropy is exact.

The picture is read as a viewer shows it: EXIF orientation applied; an animated picture gives one
frame (``frame``, default the first; the density says which, of how many). ``crop="ink"`` (the default)
keeps the box of the ink plus a small margin (trainer/targets/picture_crop.py), so padding costs neither
framing nor resolution; ``crop="none"`` keeps the whole canvas. The source size and the crop box (in
source pixels) are recorded, so the placement on the canvas can be recovered.

Working size: a picture (its crop) larger than ``max_side`` is shrunk to it while decoding (JPEG draft
mode, then integer ``reduce``, then an exact box filter), so a 20-megapixel photo never becomes
gigabytes of floats, and anything over MAX_PIXELS after the draft is refused before its pixels are
decoded. A small one is resampled up smoothly (trainer/targets/picture_resample.py) by the whole factor that
brings it nearest SMOOTH_SIDE (or max_side), so a 48 px logo lands with smooth curves and blended colours
rather than a staircase of pixel squares; ``max_side`` at or under the picture's own size keeps its
pixels as they are, and so does a picture too large for a factor of 2.
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from flowreel.addon.core.atomic import atomic_write
from flowreel.addon.core.errors import FlowreelError
from flowreel.trainer.targets import picture_crop
from flowreel.trainer.targets.picture_crop import PROBE_SIDE
from flowreel.trainer.targets.picture_resample import upsample

BOX = 4.0  # the longer side of the picture spans [-BOX, BOX] world units
MAX_PIXELS = 50_000_000  # refuse to decode more than this (after JPEG draft); ~200 MB as RGBA
MIN_SIDE = 4  # smaller pictures are not pictures
SMOOTH_SIDE = 512  # a small picture (or its crop) is resampled smoothly up by a whole factor to about this
_ORIENTATION = 0x0112  # the EXIF tag a camera turns its picture with
_LUMA = np.array([0.299, 0.587, 0.114])  # ITU-R 601, the same weights as Pillow's "L" conversion


class DensityError(FlowreelError, ValueError):
    """The image cannot become a density; the message is one line naming the file and the problem."""


class UnrecognisedImageError(DensityError):
    """No image format Pillow reads (load_target then says what else the file could have been)."""


def _fail(path: str | os.PathLike, why: str, error: type[DensityError] = DensityError) -> DensityError:
    return error(f"{os.path.basename(os.fspath(path)) or path}: {why}")


class ImageDensity:
    """A picture as a probability density: weights per pixel (row 0 = top), uniform inside each pixel."""

    dim = 2  # the target protocol of trainer/targets/registry.py

    def __init__(
        self,
        weights: np.ndarray,
        rgba: np.ndarray,
        *,
        name: str = "image",
        sha256: str = "",
        options: dict | None = None,
        source_size: tuple[int, int] | None = None,
        crop_box: tuple[int, int, int, int] | None = None,
        frame_info: tuple[int, int] | None = None,
    ) -> None:
        weights = np.asarray(weights, dtype=np.float64)
        if weights.ndim != 2 or min(weights.shape) < 1:
            raise DensityError(f"{name}: weights must be a non-empty [H, W] array, got shape {list(weights.shape)}")
        if not np.all(np.isfinite(weights)) or np.any(weights < 0):
            raise DensityError(f"{name}: weights must be finite and non-negative")
        total = float(weights.sum())
        if total <= 0:
            raise DensityError(f"{name}: no ink (every pixel has zero weight)")
        self.weights = weights if abs(total - 1.0) < 1e-12 else weights / total  # saved copies round-trip exactly
        rgba = np.asarray(rgba, dtype=np.uint8)
        if rgba.shape != weights.shape + (4,):
            raise DensityError(f"{name}: rgba must be uint8 [H, W, 4] matching weights, got {list(rgba.shape)}")
        self.rgba = rgba
        self.name = name
        self.sha256 = sha256
        self.options = dict(options or {})
        h, w = weights.shape
        self.source_size = tuple(source_size) if source_size else (w, h)  # (width, height) of the original
        # The part of the source (its pixels, x0 y0 x1 y1; past the canvas where the crop's margin is) that
        # `extent` spans, and (frame used, frames in the file) of an animated picture.
        self.crop_box = tuple(int(v) for v in crop_box) if crop_box else (0, 0, *self.source_size)
        self.frame_info = tuple(int(v) for v in frame_info) if frame_info else (0, 1)
        self.pixel = 2.0 * BOX / max(h, w)  # side of one (square) pixel in world units
        hx, hy = w * self.pixel / 2, h * self.pixel / 2
        self.extent: tuple[float, float, float, float] = (-hx, hx, -hy, hy)
        flat = self.weights.ravel()
        self._cdf = np.cumsum(flat)
        self._last = int(np.flatnonzero(flat)[-1])  # guards the cdf's float round-off at the top end
        self._nearest_ink: np.ndarray | None = None

    # ---- geometry ----------------------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, int]:
        return self.weights.shape  # (H, W)

    def _pixel_index(self, xy: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(row, col, inside) of each point; row/col clamped into the picture."""
        xy = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
        xmin, xmax, ymin, ymax = self.extent
        x, y = xy[:, 0], xy[:, 1]
        inside = (x >= xmin) & (x <= xmax) & (y >= ymin) & (y <= ymax)
        h, w = self.shape
        with np.errstate(invalid="ignore"):
            col = np.floor((x - xmin) / self.pixel)
            row = np.floor((ymax - y) / self.pixel)
        col = np.clip(np.nan_to_num(col, nan=0.0), 0, w - 1).astype(np.int64)
        row = np.clip(np.nan_to_num(row, nan=0.0), 0, h - 1).astype(np.int64)
        return row, col, inside

    # ---- the density -------------------------------------------------------------------------
    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """n exact samples, float32 [n, 2]: a pixel by weight, then uniform jitter inside it."""
        return self.sample_with_pixels(n, rng)[0]

    def sample_with_pixels(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """(n exact samples float32 [n, 2], the flat index of each one's pixel): colour by pixel, not by position."""
        n = int(n)
        idx = np.searchsorted(self._cdf, rng.random(n) * self._cdf[-1], side="right")
        idx = np.minimum(idx, self._last)
        h, w = self.shape
        row, col = np.divmod(idx, w)
        jitter = rng.random((n, 2))
        xmin, _, _, ymax = self.extent
        x = xmin + (col + jitter[:, 0]) * self.pixel
        y = ymax - (row + jitter[:, 1]) * self.pixel
        return np.stack([x, y], axis=1).astype(np.float32), idx

    def sample_with_colors(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """(n exact samples float32 [n, 2], their pixels' RGBA uint8 [n, 4]): the target protocol's form."""
        xy, flat = self.sample_with_pixels(n, rng)
        return xy, self.rgba.reshape(-1, 4)[flat]

    def log_density(self, xy: np.ndarray) -> np.ndarray:
        """log p(x, y), float64 [n]; -inf outside the picture or on zero-weight pixels."""
        row, col, inside = self._pixel_index(xy)
        w = self.weights[row, col]
        with np.errstate(divide="ignore"):
            out = np.log(w) - 2.0 * np.log(self.pixel)
        out[~inside] = -np.inf
        return out

    def entropy(self) -> float:
        """Exact differential entropy (nats): -sum_k w_k log(w_k / pixel_area)."""
        w = self.weights[self.weights > 0]
        return float(-(w * np.log(w)).sum() + 2.0 * np.log(self.pixel))

    def colors_at(self, xy: np.ndarray) -> np.ndarray:
        """RGBA uint8 [n, 4] of the nearest inked pixel: a particle just off a stroke keeps the stroke's colour."""
        row, col, _ = self._pixel_index(xy)
        nearest = self._nearest_ink_map()
        flat = nearest[row, col]
        return self.rgba.reshape(-1, 4)[flat]

    def _nearest_ink_map(self) -> np.ndarray:
        """For each pixel, the flat index of the nearest pixel with weight > 0 (itself if inked); computed once.

        scipy's exact Euclidean distance transform: a 512 px working picture with sparse ink takes
        milliseconds, where growing the ink pixel by pixel took a pass per pixel of distance.
        """
        if self._nearest_ink is None:
            from scipy import ndimage

            h, w = self.shape
            rows, cols = ndimage.distance_transform_edt(self.weights <= 0, return_distances=False, return_indices=True)
            self._nearest_ink = rows * w + cols
        return self._nearest_ink

    # ---- persistence (run directory copy) ----------------------------------------------------
    def meta(self) -> dict:
        """What the trajectory file and run directory record about the image."""
        return {
            "name": self.name,
            "sha256": self.sha256,
            "working_size": [self.shape[1], self.shape[0]],
            "source_size": list(self.source_size),
            "crop_box": list(self.crop_box),
            "frame": self.frame_info[0],
            "frames": self.frame_info[1],
            "extent": [float(v) for v in self.extent],
            **{k: self.options.get(k) for k in ("invert", "threshold", "max_side", "crop")},
        }

    def describe(self) -> str:
        """A few words for progress lines: the working size, the crop and the frame of an animation."""
        h, w = self.shape
        sw, sh = self.source_size
        x0, y0, x1, y1 = self.crop_box
        words = f"{w}x{h}"
        if (sw, sh) != (w, h) or (x0, y0, x1, y1) != (0, 0, sw, sh):
            words += f" from {sw}x{sh}"
            if (x0, y0, x1, y1) != (0, 0, sw, sh):
                words += f", cropped to the ink ({x1 - x0}x{y1 - y0} at {x0},{y0})"
        used, frames = self.frame_info
        if frames > 1:
            words += f", frame {used} of {frames} (0 to {frames - 1}; --frame N picks another)"
        return words

    def save(self, path: str | os.PathLike) -> None:
        """Write weights, colours and provenance to an .npz (atomically), so a run needs no original image."""
        path = os.fspath(path)
        info = {"name": self.name, "sha256": self.sha256, "options": self.options, "source_size": self.source_size,
                "crop_box": self.crop_box, "frame_info": self.frame_info}  # fmt: skip
        with atomic_write(path) as f:
            np.savez_compressed(f, weights=self.weights, rgba=self.rgba, info=np.array(json.dumps(info)))

    @classmethod
    def load_saved(cls, path: str | os.PathLike) -> ImageDensity:
        try:
            with np.load(os.fspath(path), allow_pickle=False) as z:
                weights, rgba, info = z["weights"], z["rgba"], json.loads(str(z["info"]))
        except (OSError, ValueError, KeyError, EOFError) as e:
            raise _fail(path, f"not a saved density ({type(e).__name__})") from None
        return cls(
            weights,
            rgba,
            name=info["name"],
            sha256=info["sha256"],
            options=info.get("options"),
            source_size=info.get("source_size"),
            crop_box=info.get("crop_box"),
            frame_info=info.get("frame_info"),
        )

    def __repr__(self) -> str:
        h, w = self.shape
        return f"ImageDensity({self.name!r}, {w}x{h}, extent={tuple(round(v, 3) for v in self.extent)})"


# ---- loading ---------------------------------------------------------------------------------
def file_sha256(path: str) -> str:
    """sha256 of a file's bytes (the content key of targets and their fits)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _open_picture(path: str, long_side: int) -> Image.Image:
    """Image.open, or for an SVG its drawing (trainer/targets/svg.py) at twice `long_side` (capped), so that a
    crop to the ink still has the pixels of the working size."""
    from flowreel.trainer.targets import svg as svg_picture  # here, not at the top: svg_picture imports this module

    if svg_picture.is_svg(path):
        return svg_picture.open_svg(path, max(long_side, min(2 * long_side, svg_picture.MAX_SIDE)))
    return Image.open(path)


def _open_image(path: str, long_side: int) -> Image.Image:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # we apply our own limit below
            return _open_picture(path, long_side)
    except Image.DecompressionBombError:
        limit = 2 * (Image.MAX_IMAGE_PIXELS or 0) / 1e6
        why = f"image is over {limit:.0f} megapixels, too large to decode safely; shrink it first"
        raise _fail(path, why) from None
    except UnidentifiedImageError:
        raise _fail(path, "not an image (unrecognised or corrupt file)", UnrecognisedImageError) from None
    except OSError as e:
        raise _fail(path, f"cannot read ({e.strerror or e})") from None


_BROKEN = (OSError, SyntaxError, ValueError, EOFError, TypeError, KeyError, IndexError, struct.error, ZeroDivisionError)


def _corrupt(path: str, e: BaseException) -> DensityError:
    msg = str(e).splitlines()[0] if str(e) else type(e).__name__
    return _fail(path, f"cannot decode image, truncated or corrupt ({msg})")


def _decode(path: str, long_side: int, frame: int | None) -> tuple[Image.Image, tuple[int, int], tuple[int, int]]:
    """Open and decode as a viewer shows the picture (EXIF orientation applied, the chosen frame of an
    animation), shrunk during decode where the format allows (JPEG draft: a longer side of at least `long_side`).

    Returns (image in RGB or RGBA, the source size as shown (w, h), (frame used, frames in the file)).
    """
    im = _open_image(path, long_side)
    with warnings.catch_warnings():  # Pillow warns about damaged EXIF and the like: the reading decides, quietly
        warnings.simplefilter("ignore", UserWarning)
        return _decode_open(path, im, long_side, frame)


def _decode_open(path: str, im: Image.Image, long_side: int, frame: int | None
                 ) -> tuple[Image.Image, tuple[int, int], tuple[int, int]]:
    try:
        frames = int(getattr(im, "n_frames", 1) or 1)
        if frame is not None and not 0 <= frame < frames:
            last = f"0 to {frames - 1}" if frames > 1 else "only frame 0"
            raise _fail(path, f"--frame {frame}: the picture has {frames} frame{'s' * (frames > 1)} ({last})")
        if frame:
            im.seek(frame)
        orientation = im.getexif().get(_ORIENTATION, 1) if hasattr(im, "getexif") else 1
    except DensityError:
        raise
    except _BROKEN as e:
        raise _corrupt(path, e) from None
    w, h = im.size
    turned = orientation in (5, 6, 7, 8)  # a quarter turn: the viewer shows it h x w
    size = (h, w) if turned else (w, h)
    if min(w, h) < MIN_SIDE:
        raise _fail(path, f"image is only {size[0]}x{size[1]} pixels; it needs at least {MIN_SIDE} on each side")
    # JPEG (and a few others) can decode at 1/2, 1/4, 1/8 scale: big savings before any pixel exists.
    scale = long_side / max(w, h)
    if scale < 1:
        im.draft(im.mode if im.mode in ("RGB", "L") else None, (max(1, int(w * scale)), max(1, int(h * scale))))
    dw, dh = im.size
    if dw * dh > MAX_PIXELS:
        raise _fail(
            path,
            f"image is {w}x{h} ({w * h / 1e6:.0f} megapixels), more than the {MAX_PIXELS / 1e6:.0f}-megapixel "
            "limit; shrink it first",
        )
    try:
        im.load()
        if orientation != 1:
            im = ImageOps.exif_transpose(im)
    except _BROKEN as e:
        raise _corrupt(path, e) from None
    except MemoryError:
        raise _fail(path, "not enough memory to decode this image; shrink it first") from None
    if im.mode.startswith("I") or im.mode == "F":  # 16/32-bit grey or float: convert() would clip, so scale
        a = np.asarray(im, dtype=np.float64)
        top = float(a.max()) if a.size else 0.0
        full = 65535.0 if im.mode.startswith("I;16") or top > 255 else (1.0 if im.mode == "F" and top <= 1 else 255.0)
        im = Image.fromarray(np.clip(a * (255.0 / full) + 0.5, 0, 255).astype(np.uint8))
    # Normalise mode: keep alpha if present (incl. palette/greyscale transparency), else RGB.
    has_alpha = im.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in im.info
    try:
        im = im.convert("RGBA" if has_alpha else "RGB")
    except (OSError, ValueError) as e:
        raise _fail(path, f"unsupported image mode {im.mode!r} ({e})") from None
    return im, size, (int(frame or 0), frames)


def _working_size(w: int, h: int, max_side: int) -> tuple[int, int]:
    """Larger than max_side: shrunk to it. Small: resampled up by the whole factor that comes nearest the
    smooth size (SMOOTH_SIDE, or max_side when smaller), so that each source pixel is k x k working pixels
    and the extent and crop box stay exact. Else (no factor of 2 or more fits) as it is."""
    long = max(w, h)
    if long > max_side:
        s = max_side / long
        return max(1, round(w * s)), max(1, round(h * s))
    k = round(min(max_side, SMOOTH_SIDE) / long)
    return (w * k, h * k) if k >= 2 else (w, h)


def check_readable(path: str, fail: Callable[[str, str], Exception], what: str) -> None:
    """Raise `fail(path, why)` unless `path` is a readable file (`what` names the kind in the message)."""
    if os.path.isdir(path):
        raise fail(path, f"is a directory, not {what}")
    if not os.path.exists(path):
        raise fail(path, "no such file")
    if not os.access(path, os.R_OK):
        raise fail(path, "permission denied")


def _ink(rgba: np.ndarray, use_alpha: bool, invert: bool) -> np.ndarray:
    """The weight of each pixel: alpha, or darkness 1 - luminance; flipped by --invert."""
    if use_alpha:
        weight = rgba[..., 3].astype(np.float32) / 255.0
    else:
        weight = 1.0 - (rgba[..., :3].astype(np.float32) @ _LUMA.astype(np.float32)) / 255.0
    return 1.0 - weight if invert else weight


def _no_ink(path: str, threshold: float | None, use_alpha: bool, invert: bool) -> DensityError:
    if threshold is not None:
        why = f"no ink: no pixel reaches --threshold {threshold:g}"
    elif use_alpha and not invert:
        why = "no ink: every pixel is fully transparent"
    elif invert:
        why = "no ink: every pixel is black, and --invert makes dark pixels empty"
    else:
        why = "no ink: every pixel is white (for light ink on a dark background use --invert)"
    return _fail(path, why)


def _find_ink_box(im: Image.Image, use_alpha: bool, invert: bool, threshold: float | None):
    """The ink's box (trainer.targets.picture_crop) in `im`'s pixels, found on a copy of at most PROBE_SIDE pixels."""
    factor = -(-max(im.size) // PROBE_SIDE)
    probe = im.reduce(factor) if factor > 1 else im
    weight = _ink(np.asarray(probe.convert("RGBA")), use_alpha, invert)
    if threshold is not None:
        weight = (weight >= float(threshold)).astype(np.float32)
    box = picture_crop.ink_box(weight)
    return None if box is None else picture_crop.scale_box(box, factor, im.size)


def _pad(rgba: np.ndarray, pads: tuple[int, int, int, int], use_alpha: bool, invert: bool) -> np.ndarray:
    """Empty canvas (zero weight) added around `rgba`: (left, top, right, bottom) pixels."""
    left, top, right, bottom = pads
    if not any(pads):
        return rgba
    widths = ((top, bottom), (left, right), (0, 0))
    if use_alpha:  # transparent, with the edge's colour so that averages near it keep their hue
        out = np.pad(rgba, widths, mode="edge")
        inner = np.zeros(out.shape[:2], bool)
        inner[top : top + rgba.shape[0], left : left + rgba.shape[1]] = True
        out[~inner, 3] = 0
        return out
    return np.pad(rgba, widths, constant_values=0 if invert else 255)  # paper: white, or black with --invert


def _scaled_box(box, from_size, to_size) -> tuple[int, int, int, int]:
    """A box in the pixels of an image of `from_size` mapped onto the same picture at `to_size` (outward)."""
    fx, fy = to_size[0] / from_size[0], to_size[1] / from_size[1]
    x0, y0, x1, y1 = box
    return (int(np.floor(x0 * fx)), int(np.floor(y0 * fy)), int(np.ceil(x1 * fx)), int(np.ceil(y1 * fy)))


def load_density(
    path: str | os.PathLike,
    *,
    invert: bool = False,
    threshold: float | None = None,
    max_side: int = 512,
    crop: str = "ink",
    frame: int | None = None,
) -> ImageDensity:
    """Read an image file into an ImageDensity (see the module docstring for the rules)."""
    path = os.fspath(path)
    if threshold is not None and not 0.0 < float(threshold) < 1.0:
        raise DensityError(f"threshold must be between 0 and 1 (exclusive), got {threshold}")
    if int(max_side) < MIN_SIDE:
        raise DensityError(f"max_side must be at least {MIN_SIDE}, got {max_side}")
    if crop not in picture_crop.CROPS:
        raise DensityError(f"--crop must be one of {', '.join(picture_crop.CROPS)}, got {crop!r}")
    if frame is not None and (isinstance(frame, bool) or not isinstance(frame, (int, np.integer)) or frame < 0):
        raise DensityError(f"--frame must be a frame number >= 0, got {frame}")
    max_side = int(max_side)
    check_readable(path, _fail, "an image file")
    im, source_size, frame_info = _decode(path, max_side, frame)
    use_alpha = im.mode == "RGBA" and im.getextrema()[3][0] < 255
    box = (0, 0, im.size[0], im.size[1])  # in im's pixels; may reach past the canvas with --crop ink's margin
    if crop == "ink":
        tight = _find_ink_box(im, use_alpha, invert, threshold)
        if tight is None:
            raise _no_ink(path, threshold, use_alpha, invert)
        box = picture_crop.with_margin(tight)
        if im.size != source_size:  # decoded at a draft scale: decode again if the crop deserves more pixels
            box_src = _scaled_box(box, im.size, source_size)
            need = max_side * max(source_size) / max(box_src[2] - box_src[0], box_src[3] - box_src[1])
            if need > 1.01 * max(im.size):
                im, _, _ = _decode(path, int(np.ceil(need)), frame)
                box = _scaled_box(box_src, source_size, im.size)
    crop_box = _scaled_box(box, im.size, source_size)
    x0, y0, x1, y1 = box
    pads = (max(0, -x0), max(0, -y0), max(0, x1 - im.size[0]), max(0, y1 - im.size[1]))
    if box != (0, 0, im.size[0], im.size[1]):
        im = im.crop((max(0, x0), max(0, y0), min(x1, im.size[0]), min(y1, im.size[1])))
    # Integer reduce first (cheap box average), the exact box resize happens on the weights later.
    long = max(x1 - x0, y1 - y0)
    factor = int(long / max_side) if long > max_side else 1
    if factor >= 2:
        im = im.reduce(factor)
        pads = tuple(round(p / factor) for p in pads)
    rgba_full = _pad(np.asarray(im.convert("RGBA")), pads, use_alpha, invert)
    h, w = rgba_full.shape[:2]
    ww, wh = _working_size(w, h, max_side)
    if (ww, wh) == (w, h):
        weight = _ink(rgba_full, use_alpha, invert)
    elif ww > w:  # small: smooth, so that curves land as curves (trainer.targets.picture_resample)
        rgba_full, weight = upsample(rgba_full, _ink(rgba_full, use_alpha, invert), (ww, wh))
    else:
        weight = np.asarray(Image.fromarray(_ink(rgba_full, use_alpha, invert)).resize((ww, wh), Image.BOX))
        rgba_full = np.asarray(Image.fromarray(np.ascontiguousarray(rgba_full)).resize((ww, wh), Image.BOX))
    weight = np.clip(weight.astype(np.float64), 0.0, 1.0)
    weight[weight < 1e-6] = 0.0  # float dust from resampling is not ink
    if threshold is not None:
        weight = (weight >= float(threshold)).astype(np.float64)
    if not weight.any():
        raise _no_ink(path, threshold, use_alpha, invert)
    options = {
        "invert": bool(invert),
        "threshold": None if threshold is None else float(threshold),
        "max_side": max_side,
        "crop": crop,
        "frame": None if frame is None else int(frame),
    }
    return ImageDensity(
        weight,
        np.ascontiguousarray(rgba_full, dtype=np.uint8),
        name=Path(path).name,
        sha256=file_sha256(path),
        options=options,
        source_size=source_size,
        crop_box=crop_box,
        frame_info=frame_info,
    )
