"""SVG in: an SVG logo is drawn (colours, holes, transparency kept), fitted and formed; a hostile or broken SVG is
one line and writes nothing."""

from __future__ import annotations

import gzip

import numpy as np
import pytest
from conftest import require_module
from PIL import Image, ImageDraw

from flowreel.addon.core.errors import FlowreelError
from flowreel.trainer.cli import main

require_module("resvg_py")

SVG = 'xmlns="http://www.w3.org/2000/svg"'
# A logo without fonts: a red square ring (even-odd hole), a blue disc at half opacity, a thin diagonal stroke,
# on a transparent 300 x 150 canvas.
LOGO = (f'<svg {SVG} width="300" height="150" viewBox="0 0 300 150">'
        '<path d="M10 10 H140 V140 H10 Z M45 45 V105 H105 V45 Z" fill="#e03020" fill-rule="evenodd"/>'
        '<circle cx="220" cy="75" r="60" fill="#2060ff" fill-opacity="0.5"/>'
        '<path d="M150 5 L295 145" stroke="#000" stroke-width="1.5" fill="none"/></svg>')  # fmt: skip


def _write(path, text: str):
    path.write_text(text, encoding="utf-8")
    return path


def test_svg_is_drawn_with_colours_holes_and_alpha(tmp_path):
    """The drawing against the same shapes drawn by Pillow at the same scale: ink, hole, colour, opacity."""
    from flowreel.trainer.targets.svg import open_svg

    im = open_svg(_write(tmp_path / "logo.svg", LOGO), 600)
    assert im.size == (600, 300) and im.mode == "RGBA"  # the longer side at the size asked, aspect kept
    a = np.asarray(im)
    ref = Image.new("L", (600, 300), 0)  # the same geometry at 2 px per user unit
    d = ImageDraw.Draw(ref)
    d.rectangle([20, 20, 279, 279], fill=255)
    d.rectangle([90, 90, 209, 209], fill=0)
    d.ellipse([320, 30, 559, 269], fill=128)
    r = np.asarray(ref)
    ring, got_ring = r == 255, (a[..., 3] > 200) & (a[..., 0] > 150)
    assert (ring & got_ring).sum() / (ring | got_ring).sum() > 0.97
    assert a[150, 150, 3] == 0  # the hole is empty
    assert tuple(a[50, 50, :3]) == (0xE0, 0x30, 0x20)  # the fill colour, exactly
    disc = (r == 128) & (a[..., 3] > 0)
    assert abs(np.median(a[disc, 3]) - 128) <= 2 and np.median(a[disc, 2]) > 200  # blue at half opacity
    assert a[5, 5, 3] == 0 and a[290, 10, 3] == 0  # transparent canvas
    # the 1.5-unit stroke survives as ink along the diagonal (3 px wide here)
    xs = np.arange(320, 580, 20)
    ys = np.round(10 + (xs / 2 - 150) * 140 / 145 * 2).astype(int)
    assert all(a[y - 2 : y + 3, x, 3].max() > 100 for x, y in zip(xs, ys, strict=True) if not 30 <= y <= 270)


def test_fit_svg_forms_its_picture(tmp_path):
    """`trainer fit logo.svg --export`: the exported film's last frame lies on the SVG's ink (IoU on a grid)."""
    from flowreel.addon.core import trajformat
    from flowreel.trainer.targets.picture import load_density

    svg = _write(tmp_path / "logo.svg", LOGO)
    out = tmp_path / "logo.npz"
    code = main(["fit", str(svg), "--out", str(tmp_path / "run"), "--steps", "30", "--export", str(out),
                 "--particles", "8000", "--frames", "3", "--max-side", "240", "--eval-samples", "1000",
                 "--tol", "1e-2", "-q"])  # fmt: skip  (a loose solver: the ends land exactly anyway)
    assert code == 0
    traj = trajformat.read(out)
    assert traj.meta["image"]["name"] == "logo.svg"
    d = load_density(svg, max_side=240)  # what the fit aimed at: the drawn SVG, in the trajectory's extent
    assert np.allclose(traj.meta["extent"], d.extent, atol=1e-6)
    end = traj.positions[-1]
    cell = 10  # pixels per grid cell: about 50 particles per fully inked cell (IoU of exact samples >= 0.9)
    h, w = d.shape
    gh, gw = h // cell, w // cell
    xmin, _, _, ymax = d.extent
    col = np.clip(((end[:, 0] - xmin) / (d.pixel * cell)).astype(int), 0, gw - 1)
    row = np.clip(((ymax - end[:, 1]) / (d.pixel * cell)).astype(int), 0, gh - 1)
    counts = np.bincount(row * gw + col, minlength=gh * gw).reshape(gh, gw)
    ink = d.weights[: gh * cell, : gw * cell].reshape(gh, cell, gw, cell).sum(axis=(1, 3))
    inked, filled = ink > 0.25 * ink.max(), counts >= 0.25 * counts.max()
    iou = (inked & filled).sum() / (inked | filled).sum()
    assert iou > 0.8, iou
    # colours come from the SVG: red particles on the ring, none in its hole
    ring = traj.colors[(end[:, 0] < xmin + 0.4 * (w * d.pixel)) & (traj.colors[:, 3] > 200)]
    assert len(ring) > 500 and np.median(ring[:, 0]) > 200 and np.median(ring[:, 2]) < 80


def test_svgz_is_read(tmp_path):
    from flowreel.trainer.targets.picture import load_density

    p = tmp_path / "logo.svgz"
    p.write_bytes(gzip.compress(LOGO.encode()))
    d = load_density(p, max_side=128)
    assert d.weights.sum() > 0 and d.shape[1] == 128


USE_BOMB = (f'<svg {SVG} width="99" height="99"><defs><g id="g0"><rect width="1" height="1"/></g>'  # 10^8 rects
            + "".join(f'<g id="g{i}">' + f'<use href="#g{i - 1}"/>' * 10 + "</g>" for i in range(1, 9))
            + '</defs><use href="#g8"/></svg>')  # fmt: skip
BILLION_LAUGHS = ('<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY a "lol">'
                  + "".join(f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">' for i in range(9))
                  + f']><svg {SVG} width="10" height="10"><text>&j;</text></svg>')  # fmt: skip


@pytest.mark.parametrize(
    "name, text, says",
    [
        ("broken.svg", f'<svg {SVG} width="10" height="10"><rect', "malformed XML"),
        ("empty.svg", "", "malformed XML"),
        ("page.svg", "<html><body>hi</body></html>", "not an SVG"),
        ("laughs.svg", BILLION_LAUGHS, "entity expansion"),
        ("uses.svg", USE_BOMB, "cannot render the SVG"),  # resvg's node limit, in one line
        ("xxe.svg", '<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
                    f'<svg {SVG} width="10" height="10"><text>&x;</text></svg>', "external entity"),
        ("param.svg", '<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY % p SYSTEM "http://example.com/x.dtd"> %p;]>'
                      f'<svg {SVG} width="10" height="10"/>', "parameter entity"),
        ("file.svg", f'<svg {SVG} width="10" height="10"><image href="file:///etc/hostname" width="9" height="9"/>'
                     "</svg>", "outside the file"),
        ("web.svg", f'<svg {SVG} xmlns:xlink="http://www.w3.org/1999/xlink" width="10" height="10">'
                    '<image xlink:href="https://example.com/a.png" width="9" height="9"/></svg>', "outside the file"),
        ("rel.svg", f'<svg {SVG} width="10" height="10"><use href="other.svg#shape"/></svg>', "outside the file"),
        ("nested.svg", f'<svg {SVG} width="10" height="10"><image href="data:image/svg+xml;base64,PHN2Zy8+" '
                       'width="9" height="9"/></svg>', "only PNG, JPEG, GIF and WebP images may be embedded"),
        ("css.svg", f'<svg {SVG} width="10" height="10"><style>@import url(https://example.com/a.css);</style>'
                    '<rect width="5" height="5"/></svg>', "@import"),
        ("fill.svg", f'<svg {SVG} width="10" height="10"><rect width="5" height="5" fill="url(https://e.com/g#g)"/>'
                     "</svg>", "outside the file"),
        ("huge.svg", f'<svg {SVG} width="1e9" height="1e9"><rect width="9" height="9"/></svg>', "canvas"),
        ("vb.svg", f'<svg {SVG} viewBox="0 0 9000000 10"><rect width="9" height="9"/></svg>', "canvas"),
        ("nothing.svg", f'<svg {SVG} width="10" height="10"></svg>', "no ink"),
        ("bomb.svgz", None, "over 32 MB"),
    ],
)
def test_bad_svg_is_one_line_and_writes_nothing(tmp_path, capsys, name, text, says):
    path = tmp_path / name
    if text is None:  # a gzip bomb: 40 MB of blanks in a few kilobytes
        path.write_bytes(gzip.compress(f"<svg {SVG}>".encode() + b" " * 40_000_000 + b"</svg>"))
    else:
        _write(path, text)
    run, out = tmp_path / "run", tmp_path / "t.npz"
    assert main(["fit", str(path), "--out", str(run), "--export", str(out), "--steps", "5"]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and name in err and says in err, err
    assert "Traceback" not in err
    assert not run.exists() and not out.exists()


def test_refused_before_rendering(tmp_path):
    """The checks run before resvg: a reference to a real local picture is refused, not drawn."""
    from flowreel.trainer.targets.svg import SvgError, open_svg

    png = tmp_path / "secret.png"
    Image.new("RGB", (8, 8), (255, 0, 0)).save(png)
    svg = _write(tmp_path / "a.svg", f'<svg {SVG} width="8" height="8"><image href="{png.name}" width="8" '
                 'height="8"/></svg>')  # fmt: skip
    with pytest.raises(SvgError, match="external references are refused"):
        open_svg(svg, 64)
    assert issubclass(SvgError, FlowreelError)


def test_a_sequence_takes_svgs(tmp_path):
    """A sequence's pictures may be SVGs (each read like any picture); a hostile one is named before any fit."""
    from flowreel.trainer.sequence.plan import load_pictures

    logo = _write(tmp_path / "logo.svg", LOGO)
    png = tmp_path / "dot.png"
    im = Image.new("L", (64, 64), 255)
    ImageDraw.Draw(im).ellipse([8, 8, 56, 56], fill=0)
    im.save(png)
    a, b = load_pictures([logo, png], {"max_side": 128})
    assert a.name == "logo.svg" and max(a.shape) == 128 and b.name == "dot.png"
    bad = _write(tmp_path / "bad.svg", f'<svg {SVG} width="9" height="9"><image href="/etc/x.png"/></svg>')
    with pytest.raises(FlowreelError, match="^bad.svg: SVG refers to something outside the file"):
        load_pictures([png, bad], {"max_side": 128})


def test_embedded_png_and_internal_references_are_drawn(tmp_path):
    """What stays inside the file is fine: a data:image/png, <use href="#id">, url(#gradient), text entities."""
    import base64
    import io

    from flowreel.trainer.targets.svg import open_svg

    buf = io.BytesIO()
    Image.new("RGB", (4, 4), (0, 255, 0)).save(buf, "PNG")
    png = base64.b64encode(buf.getvalue()).decode()
    svg = _write(tmp_path / "inside.svg", (
        '<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY brand "Flowreel">]>'
        f'<svg {SVG} xmlns:xlink="http://www.w3.org/1999/xlink" width="40" height="20"><title>&brand;</title>'
        '<defs><linearGradient id="g"><stop offset="0" stop-color="#00f"/><stop offset="1" stop-color="#00f"/>'
        '</linearGradient><rect id="r" width="10" height="10"/></defs>'
        f'<image xlink:href="data:image/png;base64,{png}" x="0" y="0" width="10" height="10"/>'
        '<use href="#r" x="20" y="0" fill="url(#g)"/></svg>'))  # fmt: skip
    a = np.asarray(open_svg(svg, 80))
    assert tuple(a[10, 10]) == (0, 255, 0, 255)  # the embedded picture
    assert tuple(a[10, 50]) == (0, 0, 255, 255)  # the reused rect with its gradient
    assert a[30, 30, 3] == 0
