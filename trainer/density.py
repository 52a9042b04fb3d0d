"""Image -> a continuous, piecewise-constant probability density on the plane.

Each pixel's weight is its alpha (when the picture has a non-opaque alpha channel: a logo on a
transparent background) or else its darkness ``1 - luminance`` (black ink on white paper).
``invert`` flips that weight (light ink on a dark background), ``threshold`` binarizes it.

World coordinates: x right, y up (row 0 of the picture is the TOP, so it gets the largest y),
centred on the origin, aspect ratio kept, the longer side spanning [-BOX, BOX] = [-4, 4] (FFJORD's
box). Within a pixel the density is uniform, so sampling is "pick a pixel by weight, jitter
uniformly inside it" and the differential entropy is exact.

Large pictures are shrunk to ``max_side`` while decoding (JPEG draft mode, then integer ``reduce``)
so a 20-megapixel photo never becomes gigabytes of floats; anything over MAX_PIXELS after that is
refused before its pixels are decoded.
"""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from flowreel.addon.core.atomic import atomic_write
from flowreel.addon.core.errors import FlowreelError

BOX = 4.0  # the longer side of the picture spans [-BOX, BOX] world units
MAX_PIXELS = 50_000_000  # refuse to decode more than this (after JPEG draft); ~200 MB as RGBA
MIN_SIDE = 4  # smaller pictures are not pictures
_LUMA = np.array([0.299, 0.587, 0.114])  # ITU-R 601, the same weights as Pillow's "L" conversion


class DensityError(FlowreelError, ValueError):
    """The image cannot become a density; the message is one line naming the file and the problem."""


def _fail(path: str | os.PathLike, why: str) -> DensityError:
    return DensityError(f"{os.path.basename(os.fspath(path)) or path}: {why}")


class ImageDensity:
    """A picture as a probability density: weights per pixel (row 0 = top), uniform inside each pixel."""

    dim = 2  # the target protocol of trainer/targets.py

    def __init__(
        self,
        weights: np.ndarray,
        rgba: np.ndarray,
        *,
        name: str = "image",
        sha256: str = "",
        options: dict | None = None,
        source_size: tuple[int, int] | None = None,
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
        """For each pixel, the flat index of a nearby pixel with weight > 0 (itself if inked).

        Grown by repeated 8-neighbour dilation (chessboard distance), numpy only; computed once.
        """
        if self._nearest_ink is not None:
            return self._nearest_ink
        h, w = self.shape
        near = np.where(self.weights > 0, np.arange(h * w).reshape(h, w), -1)
        while (near < 0).any():
            grown = near.copy()
            for dr, dc in ((-1, 0), (1, 0), (0, -1), (0, 1), (-1, -1), (-1, 1), (1, -1), (1, 1)):
                src = near[max(0, dr) : h + min(0, dr), max(0, dc) : w + min(0, dc)]
                dst = grown[max(0, -dr) : h + min(0, -dr), max(0, -dc) : w + min(0, -dc)]
                fill = (dst < 0) & (src >= 0)
                dst[fill] = src[fill]
            near = grown
        self._nearest_ink = near
        return near

    # ---- persistence (run directory copy) ----------------------------------------------------
    def meta(self) -> dict:
        """What the trajectory file and run directory record about the image."""
        return {
            "name": self.name,
            "sha256": self.sha256,
            "working_size": [self.shape[1], self.shape[0]],
            "source_size": list(self.source_size),
            "extent": [float(v) for v in self.extent],
            **{k: self.options.get(k) for k in ("invert", "threshold", "max_side")},
        }

    def save(self, path: str | os.PathLike) -> None:
        """Write weights, colours and provenance to an .npz (atomically), so a run needs no original image."""
        path = os.fspath(path)
        info = {"name": self.name, "sha256": self.sha256, "options": self.options, "source_size": self.source_size}
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
    """Image.open, or for an SVG its drawing (trainer/svg_picture.py) at twice `long_side` (capped), so that a
    crop to the ink still has the pixels of the working size."""
    from flowreel.trainer import svg_picture  # here, not at the top: svg_picture imports this module

    if svg_picture.is_svg(path):
        return svg_picture.open_svg(path, max(long_side, min(2 * long_side, svg_picture.MAX_SIDE)))
    return Image.open(path)


def _open_small(path: str, max_side: int) -> tuple[Image.Image, tuple[int, int]]:
    """Open and decode, shrinking during decode where the format allows; returns (image, original size)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # we apply our own limit below
            im = _open_picture(path, max_side)
    except Image.DecompressionBombError:
        limit = 2 * (Image.MAX_IMAGE_PIXELS or 0) / 1e6
        why = f"image is over {limit:.0f} megapixels, too large to decode safely; shrink it first"
        raise _fail(path, why) from None
    except UnidentifiedImageError:
        raise _fail(path, "not an image (unrecognised or corrupt file)") from None
    except OSError as e:
        raise _fail(path, f"cannot read ({e.strerror or e})") from None
    size = im.size
    w, h = size
    if min(w, h) < MIN_SIDE:
        raise _fail(path, f"image is only {w}x{h} pixels; it needs at least {MIN_SIDE} on each side")
    # JPEG (and a few others) can decode at 1/2, 1/4, 1/8 scale: big savings before any pixel exists.
    scale = max_side / max(w, h)
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
    except (OSError, SyntaxError, ValueError, EOFError) as e:
        msg = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise _fail(path, f"cannot decode image, truncated or corrupt ({msg})") from None
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
    # Integer reduce first (cheap box average), the exact box resize happens on the weights later.
    factor = int(max(im.size) / max_side) if max(im.size) > max_side else 1
    if factor >= 2:
        im = im.reduce(factor)
    return im, size


def _working_size(w: int, h: int, max_side: int) -> tuple[int, int]:
    if max(w, h) <= max_side:
        return w, h
    s = max_side / max(w, h)
    return max(1, round(w * s)), max(1, round(h * s))


def check_readable(path: str, fail: Callable[[str, str], Exception], what: str) -> None:
    """Raise `fail(path, why)` unless `path` is a readable file (`what` names the kind in the message)."""
    if os.path.isdir(path):
        raise fail(path, f"is a directory, not {what}")
    if not os.path.exists(path):
        raise fail(path, "no such file")
    if not os.access(path, os.R_OK):
        raise fail(path, "permission denied")


def load_density(
    path: str | os.PathLike, *, invert: bool = False, threshold: float | None = None, max_side: int = 512
) -> ImageDensity:
    """Read an image file into an ImageDensity (see the module docstring for the rules)."""
    path = os.fspath(path)
    if threshold is not None and not 0.0 < float(threshold) < 1.0:
        raise DensityError(f"threshold must be between 0 and 1 (exclusive), got {threshold}")
    if int(max_side) < MIN_SIDE:
        raise DensityError(f"max_side must be at least {MIN_SIDE}, got {max_side}")
    check_readable(path, _fail, "an image file")
    im, source_size = _open_small(path, int(max_side))
    rgba_full = np.asarray(im.convert("RGBA"))
    alpha = rgba_full[..., 3]
    use_alpha = im.mode == "RGBA" and int(alpha.min()) < 255
    if use_alpha:
        weight = alpha.astype(np.float32) / 255.0
    else:
        weight = 1.0 - (rgba_full[..., :3].astype(np.float32) @ _LUMA.astype(np.float32)) / 255.0
    if invert:
        weight = 1.0 - weight
    ww, wh = _working_size(im.size[0], im.size[1], int(max_side))
    if (ww, wh) != im.size:
        weight = np.asarray(Image.fromarray(weight.astype(np.float32)).resize((ww, wh), Image.BOX))
        rgba_full = np.asarray(Image.fromarray(np.ascontiguousarray(rgba_full)).resize((ww, wh), Image.BOX))
    weight = np.clip(weight.astype(np.float64), 0.0, 1.0)
    weight[weight < 1e-6] = 0.0  # float dust from resampling is not ink
    if threshold is not None:
        weight = (weight >= float(threshold)).astype(np.float64)
    if not weight.any():
        if threshold is not None:
            why = f"no ink: no pixel reaches --threshold {threshold:g}"
        elif use_alpha and not invert:
            why = "no ink: every pixel is fully transparent"
        elif invert:
            why = "no ink: every pixel is black, and --invert makes dark pixels empty"
        else:
            why = "no ink: every pixel is white (for light ink on a dark background use --invert)"
        raise _fail(path, why)
    options = {
        "invert": bool(invert),
        "threshold": None if threshold is None else float(threshold),
        "max_side": int(max_side),
    }
    return ImageDensity(
        weight,
        np.ascontiguousarray(rgba_full, dtype=np.uint8),
        name=Path(path).name,
        sha256=file_sha256(path),
        options=options,
        source_size=source_size,
    )
