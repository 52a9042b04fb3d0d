"""Is a file an SVG? One answer for both sides: the trainer rasterises it (trainer/targets/svg.py), the add-on
lets it through its file filter and its first-bytes check before a child starts (jobs.runner.check_picture).

By suffix (.svg, .svgz) or by content: an XML text whose first element is <svg>.
"""

from __future__ import annotations

import os
from pathlib import Path

SVG_SUFFIXES = (".svg", ".svgz")
HEAD_BYTES = 4096  # enough for an XML declaration, a doctype with a few entities and comments before <svg
_GZIP = b"\x1f\x8b"


def is_svg_suffix(path: str | os.PathLike) -> bool:
    return Path(path).suffix.lower() in SVG_SUFFIXES


def looks_like_svg(head: bytes, path: str | os.PathLike = "") -> bool:
    """True when the first bytes of a file are those of an SVG: gzip for a .svgz; XML for a .svg; XML with an
    <svg element in its head for any other name."""
    suffix = Path(path).suffix.lower()
    if suffix == ".svgz":
        return head.startswith(_GZIP)
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")  # a UTF-8 byte-order mark and blank lines may come first
    return text.startswith(b"<") and (suffix == ".svg" or b"<svg" in text[:HEAD_BYTES])
