"""Binary PLY files whose faces mix triangles, quads and n-gons: what Blender's PLY exporter writes by default.

trimesh (5.2) reads a binary PLY's faces as one fixed-size block and refuses lists of mixed lengths ("PLY is
unexpected length!"), so a mesh exported from Blender with File > Export > Stanford PLY and its defaults
could not be fitted. This reader is the fallback mesh_files uses for such a file: it walks the face lists
once (numpy for the indices), fans each polygon into triangles and keeps the vertex colours when the
file has them. ASCII files and the other binary files stay with trimesh.
"""

from __future__ import annotations

import numpy as np

TYPES = {"char": "i1", "int8": "i1", "uchar": "u1", "uint8": "u1", "short": "i2", "int16": "i2", "ushort": "u2",
         "uint16": "u2", "int": "i4", "int32": "i4", "uint": "u4", "uint32": "u4", "float": "f4",
         "float32": "f4", "double": "f8", "float64": "f8"}  # fmt: skip


class PlyError(ValueError):
    """The file is not a binary PLY this reader understands (the caller reports its own one line)."""


def _header(raw: bytes) -> tuple[str, list[tuple[str, int, list[tuple]]], int]:
    end = raw.find(b"end_header")
    if not raw.startswith(b"ply") or end < 0:
        raise PlyError("not a PLY file")
    body = raw.index(b"\n", end) + 1
    fmt, elements = "", []
    for line in raw[:end].decode("ascii", "replace").splitlines()[1:]:
        w = line.split()
        if not w or w[0] in ("comment", "obj_info"):
            continue
        if w[0] == "format":
            fmt = w[1]
        elif w[0] == "element":
            elements.append((w[1], int(w[2]), []))
        elif w[0] == "property" and elements:
            try:
                prop = ("list", w[4], TYPES[w[2]], TYPES[w[3]]) if w[1] == "list" else (w[2], TYPES[w[1]])
            except (KeyError, IndexError):
                raise PlyError(f"unknown property {line.strip()!r}") from None
            elements[-1][2].append(prop)
    if fmt not in ("binary_little_endian", "binary_big_endian"):
        raise PlyError(f"format {fmt or 'missing'} (this reader takes binary PLY)")
    return ("<" if fmt == "binary_little_endian" else ">"), elements, body


def _lists(buf: np.ndarray, offset: int, n: int, count_t: str, item_t: str) -> tuple[np.ndarray, np.ndarray, int]:
    """(lengths [n], items [sum of lengths], the offset after them) of n back-to-back lists."""
    csize, isize = np.dtype(count_t).itemsize, np.dtype(item_t).itemsize
    counts = np.empty(n, dtype=np.int64)
    pos = offset
    for i in range(n):  # each list's length says where the next begins: one pass in Python
        c = int(buf[pos:pos + csize].view(count_t)[0]) if csize > 1 else int(buf[pos])
        counts[i] = c
        pos += csize + c * isize
    if pos > len(buf):
        raise PlyError("the file ends inside its faces")
    starts = offset + csize + np.concatenate([[0], np.cumsum(counts[:-1] * isize + csize)]) if n else np.zeros(0, int)
    within = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    at = np.repeat(starts, counts) + within * isize
    items = buf[at[:, None] + np.arange(isize)].copy().view(item_t).ravel()
    return counts, items, pos


def read_polygon_ply(path: str) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """(vertices float64 [V, 3], triangles int64 [F, 3] fanned from the polygons, RGBA uint8 [V, 4] or None)."""
    with open(path, "rb") as f:
        raw = f.read()
    endian, elements, offset = _header(raw)
    buf = np.frombuffer(raw, dtype=np.uint8)
    vertices = colors = faces = None
    for name, n, props in elements:
        if any(p[0] == "list" for p in props):
            if len(props) != 1:
                raise PlyError(f"element {name}: a list among other properties")
            _, _, count_t, item_t = props[0]
            counts, items, offset = _lists(buf, offset, n, endian + count_t, endian + item_t)
            if name == "face":
                faces = _fan(counts, items.astype(np.int64))
            continue
        dtype = np.dtype([(p[0], endian + p[1]) for p in props])
        if offset + n * dtype.itemsize > len(raw):
            raise PlyError(f"the file ends inside its {name} element")
        block = np.frombuffer(raw, dtype=dtype, count=n, offset=offset)
        offset += n * dtype.itemsize
        if name == "vertex":
            if not {"x", "y", "z"} <= set(dtype.names):
                raise PlyError("vertices without x, y, z")
            vertices = np.column_stack([block[a].astype(np.float64) for a in "xyz"])
            colors = _colors(block)
    if vertices is None or faces is None:
        raise PlyError("no vertex or face element")
    if len(faces) and (faces.min() < 0 or faces.max() >= len(vertices)):
        raise PlyError("a face refers to a vertex the file does not have")
    return vertices, faces, colors


def _fan(counts: np.ndarray, items: np.ndarray) -> np.ndarray:
    """Triangles (v0, vk, vk+1) of each polygon with three or more corners."""
    first = np.cumsum(counts) - counts
    tris = np.maximum(counts - 2, 0)
    base = np.repeat(first, tris)
    k = np.arange(tris.sum()) - np.repeat(np.cumsum(tris) - tris, tris) + 1
    return np.column_stack([items[base], items[base + k], items[base + k + 1]])


def _colors(block: np.ndarray) -> np.ndarray | None:
    names = block.dtype.names
    if not {"red", "green", "blue"} <= set(names):
        return None
    c = np.column_stack([block[a].astype(np.float64) for a in ("red", "green", "blue")]
                        + ([block["alpha"].astype(np.float64)] if "alpha" in names else []))
    if block.dtype["red"].kind == "f":
        c = c * 255.0
    if c.shape[1] == 3:
        c = np.column_stack([c, np.full(len(c), 255.0)])
    return np.clip(np.round(c), 0, 255).astype(np.uint8)
