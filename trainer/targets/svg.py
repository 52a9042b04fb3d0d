"""An SVG file -> an RGBA picture for trainer.targets.picture: checked for hostile content, then rasterised by resvg.

The picture is drawn with its longer side at the working size (``max_side``), straight from the vectors, so a
thin stroke is anti-aliased at the size the density uses instead of lost in a downscale. Colours and
transparency are kept: a logo on a transparent canvas gives its ink by alpha, like a PNG with alpha.

resvg renders what the file says and nothing else, but before it sees a byte the file is read here with
expat and refused, in one line, when it is:
- malformed XML, or not an <svg> document;
- an entity bomb: a DOCTYPE with external or parameter entities, or entities that refer to entities (the
  "billion laughs"); plain text entities, as Illustrator writes them, are fine;
- a reference to anything outside the file: an ``href`` that is not ``#id`` or an embedded raster image
  (``data:image/png`` ...), a CSS ``url()`` or ``@import`` that leaves the file, an ``xml-stylesheet``;
- a canvas over MAX_CANVAS user units on a side, a file over MAX_BYTES (also once a .svgz is unpacked).
"""

from __future__ import annotations

import gzip
import io
import os
import re
import tempfile
import zlib
from xml.parsers import expat

from PIL import Image

from flowreel.addon.core.contract.svg_head import HEAD_BYTES, is_svg_suffix, looks_like_svg
from flowreel.trainer.targets.picture import DensityError

MAX_BYTES = 32_000_000  # an SVG this big is a data dump, not a logo
MAX_CANVAS = 100_000.0  # user units (px) on a side: beyond this a canvas is an attack or a mistake
MAX_ENTITIES = 256
MAX_SIDE = 4096  # pixels of the drawing's longer side: the working size's limit (--max-side)
_FALLBACK_FAMILY = "DejaVu Sans"  # the family of trainer/fonts/DejaVuSans-Bold.ttf
_SVG_NS = "http://www.w3.org/2000/svg"
_XLINK_NS = "http://www.w3.org/1999/xlink"
_DATA_IMAGE = re.compile(r"data:image/(png|jpeg|jpg|gif|webp)[;,]", re.IGNORECASE)
_URL = re.compile(r"url\(\s*['\"]?\s*([^'\")\s]*)", re.IGNORECASE)
_UNITS = {"": 1.0, "px": 1.0, "pt": 4 / 3, "pc": 16.0, "mm": 96 / 25.4, "cm": 96 / 2.54, "in": 96.0,
          "em": 16.0, "ex": 8.0}  # fmt: skip  # CSS pixels per unit, as resvg (usvg) converts them
_LENGTH = re.compile(r"^\s*([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)\s*([a-zA-Z%]*)\s*$")


class SvgError(DensityError):
    """An SVG that cannot or must not become a picture; one line naming the file and the reason."""


def is_svg(path: str | os.PathLike) -> bool:
    """An SVG by its suffix (then a broken one gets an SVG's error) or its first bytes (core.contract.svg_head)."""
    try:
        with open(path, "rb") as f:
            head = f.read(HEAD_BYTES)
    except OSError:
        head = b""  # the reader says what is wrong with it
    return is_svg_suffix(path) or looks_like_svg(head, path)


def _fail(path: str | os.PathLike, why: str) -> SvgError:
    return SvgError(f"{os.path.basename(os.fspath(path))}: {why}")


def read_svg_text(path: str | os.PathLike) -> str:
    """The SVG's text (a .svgz unpacked), size-limited; SvgError otherwise."""
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_BYTES + 1)
    except OSError as e:
        raise _fail(path, f"cannot read ({e.strerror or e})") from None
    if data.startswith(b"\x1f\x8b"):
        try:
            with gzip.GzipFile(fileobj=io.BytesIO(data)) as z:
                data = z.read(MAX_BYTES + 1)  # read at most this much: a gzip bomb stops here
        except (OSError, EOFError, zlib.error):
            raise _fail(path, "not a valid .svgz (corrupt gzip data)") from None
    if len(data) > MAX_BYTES:
        raise _fail(path, f"SVG is over {MAX_BYTES // 1_000_000} MB; simplify it or save it as a PNG")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise _fail(path, "SVG is not UTF-8 text; save it as UTF-8") from None


def _length(value: str | None) -> float | None:
    """An absolute SVG length in px, or None (missing, a percentage, unparseable: resvg decides)."""
    m = _LENGTH.match(value or "")
    if not m or m.group(2).lower() not in _UNITS:
        return None
    return float(m.group(1)) * _UNITS[m.group(2).lower()]


class _Checker:
    """Walks the document with expat and records the first reason to refuse it."""

    def __init__(self) -> None:
        self.why: str | None = None
        self.root: str | None = None
        self.canvas: tuple[float | None, float | None] = (None, None)
        self.has_text = False
        self.entities = 0
        self._in_style = 0

    def refuse(self, why: str) -> None:
        if self.why is None:
            self.why = why

    def entity(self, name, is_parameter, value, base, system_id, public_id, notation) -> None:
        self.entities += 1
        if is_parameter:
            self.refuse(f"SVG declares a parameter entity (%{name};): refused (entity expansion)")
        elif value is None:
            self.refuse(f"SVG declares an external entity &{name}; ({system_id}): external references are refused")
        elif "&" in value or "%" in value:
            self.refuse(f"SVG entity &{name}; refers to other entities: refused (entity expansion)")
        elif self.entities > MAX_ENTITIES:
            self.refuse(f"SVG declares over {MAX_ENTITIES} entities: refused (entity expansion)")

    def start(self, tag: str, attrs: dict) -> None:
        ns, _, local = tag.rpartition("}")
        if self.root is None:
            self.root = local
            if local != "svg" or ns not in ("", _SVG_NS):
                self.refuse(f"not an SVG (the document is <{local}>, not <svg>)")
            box = (attrs.get("viewBox") or "").replace(",", " ").split()
            vb = [_length(v) for v in box] if len(box) == 4 else [None] * 4
            w, h = _length(attrs.get("width")), _length(attrs.get("height"))
            self.canvas = (w if w is not None else vb[2], h if h is not None else vb[3])
        if local in ("text", "textPath", "tspan"):
            self.has_text = True
        if local == "style":
            self._in_style += 1
        for name, value in attrs.items():
            attr = name.rpartition("}")[2]
            if attr == "href" and local != "a":  # a link is not drawn; every other href is part of the picture
                self._href(local, value)
            elif "url(" in value.lower():
                self._css(value, f"<{local} {attr}>")

    def end(self, tag: str) -> None:
        if tag.rpartition("}")[2] == "style":
            self._in_style -= 1

    def chars(self, data: str) -> None:
        if self._in_style:
            self._css(data, "<style>")

    def instruction(self, target: str, data: str) -> None:
        if target.lower() == "xml-stylesheet":
            self.refuse("SVG links an external stylesheet (<?xml-stylesheet?>): external references are refused")

    def _href(self, element: str, value: str) -> None:
        v = value.strip()
        if v.startswith("#") or _DATA_IMAGE.match(v):
            return
        shown = v if len(v) <= 60 else v[:57] + "..."
        if v.lower().startswith("data:"):
            self.refuse(f"SVG embeds <{element} href=\"{shown}\">: only PNG, JPEG, GIF and WebP images may be "
                        "embedded (a nested SVG could refer outside the file)")
            return
        self.refuse(f"SVG refers to something outside the file (<{element} href=\"{shown}\">): external references "
                    "are refused; embed the image (a data: URL) or remove the reference")

    def _css(self, text: str, where: str) -> None:
        if "@import" in text.lower():
            self.refuse(f"SVG imports a stylesheet ({where} @import): external references are refused")
        for target in _URL.findall(text):
            if not (target.startswith("#") or _DATA_IMAGE.match(target)):
                self.refuse(f"SVG refers to something outside the file ({where} url({target})): "
                            "external references are refused")  # fmt: skip


def check_svg(path: str | os.PathLike, text: str) -> _Checker:
    """The document checked (see the module docstring); SvgError with the first reason to refuse it."""
    checker = _Checker()
    parser = expat.ParserCreate(namespace_separator="}")
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.EntityDeclHandler = checker.entity
    parser.StartElementHandler = checker.start
    parser.EndElementHandler = checker.end
    parser.CharacterDataHandler = checker.chars
    parser.ProcessingInstructionHandler = checker.instruction
    parser.ExternalEntityRefHandler = lambda *a: 0  # never fetched: expat stops with an error instead
    try:
        parser.Parse(text, True)
    except expat.ExpatError as e:
        if checker.why is None:
            raise _fail(path, f"not a valid SVG (malformed XML: {expat.errors.messages.get(e.code, e)} "
                              f"at line {e.lineno})") from None  # fmt: skip
    if checker.why is not None:
        raise _fail(path, checker.why)
    if checker.root is None:
        raise _fail(path, "not a valid SVG (no elements)")
    for side in checker.canvas:
        if side is not None and not 0 < side <= MAX_CANVAS:
            w, h = ("?" if s is None else f"{s:g}" for s in checker.canvas)
            raise _fail(path, f"SVG canvas is {w} x {h}: each side must be above 0 and at most {MAX_CANVAS:g} "
                              "user units")  # fmt: skip
    return checker


def open_svg(path: str | os.PathLike, max_side: int) -> Image.Image:
    """The SVG drawn as an RGBA image whose longer side is `max_side` (aspect kept); SvgError otherwise."""
    import resvg_py

    from flowreel.trainer.targets.text import DEFAULT_FONT

    text = read_svg_text(path)
    checker = check_svg(path, text)
    # An empty folder for relative references (there are none after the check: belt and braces). System fonts
    # only when the drawing has text (scanning them costs time); every generic family (sans-serif, serif, ...,
    # and a missing named font) falls back to the bundled DejaVu Sans, so text renders on any machine.
    generic = {f"{g}_family": _FALLBACK_FAMILY for g in ("font", "sans_serif", "serif", "monospace", "cursive",
                                                         "fantasy")}  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="flowreel-svg-") as empty:
        try:
            png = resvg_py.svg_to_bytes(
                svg_string=text, width=int(max_side), height=int(max_side), resources_dir=empty,
                skip_system_fonts=not checker.has_text, font_files=[str(DEFAULT_FONT)], **generic,
            )  # fmt: skip
        except (ValueError, RuntimeError, OSError) as e:
            msg = (str(e).splitlines() or [type(e).__name__])[0]
            raise _fail(path, f"cannot render the SVG ({msg})") from None
    im = Image.open(io.BytesIO(bytes(png)))
    im.load()
    return im
