"""What SVG in and text in cost before a fit: reading an SVG (the checks and resvg's drawing) and drawing words,
next to reading the same picture as a PNG.

    .venv/bin/python bench/bench_svg_text.py [--repeat 5]

Prints a Markdown table (median of --repeat runs, seconds) for bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np


def logo_svg(n_shapes: int) -> str:
    """A logo-like SVG: a ring with a hole, discs and `n_shapes` thin strokes (a busy logo has a few hundred)."""
    rng = np.random.default_rng(0)
    parts = ['<path d="M10 10 H140 V140 H10 Z M45 45 V105 H105 V45 Z" fill="#e03020" fill-rule="evenodd"/>',
             '<circle cx="220" cy="75" r="60" fill="#2060ff" fill-opacity="0.5"/>']  # fmt: skip
    for _ in range(n_shapes):
        x0, y0, x1, y1 = rng.uniform(0, [300, 150, 300, 150])
        parts.append(f'<path d="M{x0:.1f} {y0:.1f} L{x1:.1f} {y1:.1f}" stroke="#000" stroke-width="0.8"/>')
    return ('<svg xmlns="http://www.w3.org/2000/svg" width="300" height="150" viewBox="0 0 300 150">'
            + "".join(parts) + "</svg>")  # fmt: skip


def timed(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    from flowreel.trainer.targets.picture import load_density
    from flowreel.trainer.targets.svg import check_svg, open_svg, read_svg_text
    from flowreel.trainer.targets.text import load_text_density

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for shapes in (10, 1000):
            svg = Path(tmp) / f"logo{shapes}.svg"
            svg.write_text(logo_svg(shapes))
            for side in (512, 2048):
                png = Path(tmp) / f"logo{shapes}-{side}.png"
                open_svg(svg, side).save(png)
                check = timed(lambda svg=svg: check_svg(svg, read_svg_text(svg)), args.repeat)
                draw = timed(lambda svg=svg, side=side: open_svg(svg, side), args.repeat)
                whole = timed(lambda svg=svg, side=side: load_density(svg, max_side=side), args.repeat)
                as_png = timed(lambda png=png, side=side: load_density(png, max_side=side), args.repeat)
                rows.append((f"SVG, {shapes + 2} shapes ({svg.stat().st_size // 1000} kB)", side, check, draw, whole,
                             as_png))  # fmt: skip
        for words in ("Hello", "NORTH HARBOR\\nSINCE 1924"):
            for side in (512, 2048):
                whole = timed(lambda w=words, s=side: load_text_density(w, max_side=s), args.repeat)
                rows.append((f"--text {words!r}", side, None, None, whole, None))
    print("| input | max side | checks (s) | resvg draw (s) | load_density (s) | same picture as PNG (s) |")
    print("|---|---|---|---|---|---|")
    fmt = lambda v: "-" if v is None else f"{v:.3f}"  # noqa: E731
    for name, side, *vals in rows:
        print(f"| {name} | {side} | " + " | ".join(fmt(v) for v in vals) + " |")


if __name__ == "__main__":
    main()
