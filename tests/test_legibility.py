"""The last frame of a draft film reads: OCR finds the word of a picture rendered with the draft settings.

The trajectory ends on exact samples of the picture's density (what the exact landing delivers), so
this checks the render side alone: framing, particle count, radius and look at draft quality.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO, require_module

WORD = "NORTH HARBOR"  # an ordinary phrase in an ordinary font, chosen before any OCR run
DEJAVU = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")


def word_picture(path: Path, width: int = 512, height: int = 288, cap_fraction: float = 0.06) -> None:
    """Black word on white paper, cap height `cap_fraction` of the picture's height (>= 5 %)."""
    from PIL import Image, ImageDraw, ImageFont

    size = 64
    font = ImageFont.truetype(str(DEJAVU), size) if DEJAVU.exists() else ImageFont.load_default(size)
    cap = font.getbbox("H")[3] - font.getbbox("H")[1]
    size = round(size * cap_fraction * height / cap)
    font = ImageFont.truetype(str(DEJAVU), size) if DEJAVU.exists() else ImageFont.load_default(size)
    img = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(img)
    box = draw.textbbox((0, 0), WORD, font=font)
    cap = font.getbbox("H")[3] - font.getbbox("H")[1]
    assert cap >= 0.05 * height
    draw.text(((width - (box[2] - box[0])) / 2 - box[0], (height - (box[3] - box[1])) / 2 - box[1]), WORD, 0, font)
    img.save(path)


def exact_trajectory(image: Path, out: Path, n: int, seed: int = 0) -> None:
    """t = 0: N(0, I); t = 1: exact samples of the picture's density with their colours; 5 frames."""
    from flowreel.addon.core import trajformat
    from flowreel.addon.core.trajformat import Trajectory
    from flowreel.trainer.targets.picture import load_density

    d = load_density(image)
    rng = np.random.default_rng(seed)
    end = d.sample(n, rng)
    start = rng.normal(size=(n, 2)).astype(np.float32)
    ts = np.linspace(0, 1, 5, dtype=np.float32)
    pos = ((1 - ts)[:, None, None] * start + ts[:, None, None] * end).astype(np.float32)
    trajformat.write(out, Trajectory(pos, ts, {"extent": list(d.extent)}, d.colors_at(end)))


def render_last_frame(traj: Path, folder: Path, resolution: tuple[int, int]) -> Path:
    """The film's last frame through the headless render script with the draft quality's settings."""
    from flowreel.addon.core import timing
    from flowreel.addon.core.options import SceneOptions
    from flowreel.trainer.film.movie import QUALITY

    q = QUALITY["draft"]
    last = timing.layout(SceneOptions(seconds=1.0, hold_start=0.0, hold_end=0.0)).end
    cmd = [sys.executable, "-m", "flowreel.addon.render", str(traj), "--no-video", "--frames-dir", str(folder),
           "--seconds", "1", "--hold-start", "0", "--hold-end", "0", "--frames", f"{last}-{last}",
           "--resolution", f"{resolution[0]}x{resolution[1]}", "--engine", q["engine"],
           "--samples", str(q["samples"]), "--denoise", q["denoise"]]  # fmt: skip
    r = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    return folder / f"frame_{last:04d}.png"


def read_text(png: Path) -> str:
    ocr = require_module("rapidocr_onnxruntime").RapidOCR()
    found, _ = ocr(str(png))
    return " ".join(t[1] for t in (found or []))


@pytest.mark.parametrize("picture", ["word", "logo"])
def test_last_draft_frame_reads(tmp_path, picture):
    require_module("bpy")
    from flowreel.trainer.film.movie import QUALITY

    if picture == "word":
        image, expect = tmp_path / "word.png", WORD
        word_picture(image)
    else:
        image, expect = REPO / "examples" / "logo.png", "FLOWREEL"
    traj = tmp_path / "traj.npz"
    exact_trajectory(image, traj, QUALITY["draft"]["particles"])
    # Draft's particle count at 960x540: the stroke is thinner in pixels than at 1280x720 (harder), at
    # half the render time.
    png = render_last_frame(traj, tmp_path / "frames", (960, 540))
    text = read_text(png)
    squash = "".join(text.upper().split())
    assert "".join(expect.split()) in squash, f"OCR read {text!r} in {png}"
