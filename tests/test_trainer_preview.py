"""Preview: splatting puts light where the particles are; videos have the right frame count."""

from __future__ import annotations

import subprocess

import numpy as np
import pytest

from flowreel.addon.core.trajformat import Trajectory, write
from flowreel.trainer.film.preview import (
    BACKGROUND,
    Splatter,
    frame_indices,
    frame_size,
    preview,
    render_frames,
    view_box,
)
from flowreel.trainer.targets.picture import load_density


@pytest.fixture(scope="module")
def traj_path(tmp_path_factory):
    """Straight lines from noise to exact logo samples: a stand-in for a perfect flow."""
    d = load_density("examples/logo.png", max_side=128, crop="none")
    rng = np.random.default_rng(0)
    x0 = rng.standard_normal((20_000, 2)).astype(np.float32)
    x1 = d.sample(20_000, rng)
    t = np.linspace(0, 1, 25, dtype=np.float32)
    pos = ((1 - t)[:, None, None] * x0 + t[:, None, None] * x1).astype(np.float32)
    path = tmp_path_factory.mktemp("prev") / "lin.npz"
    write(path, Trajectory(pos, t, {"extent": list(d.extent)}))
    return path


def _frames(ffmpeg: str, video, w: int, h: int) -> int:
    """Decoded frame count of a w x h video (decode to raw grey bytes; no ffprobe needed)."""
    raw = subprocess.run(
        [ffmpeg, "-v", "error", "-i", str(video), "-f", "rawvideo", "-pix_fmt", "gray", "-"],
        capture_output=True, check=True,
    ).stdout  # fmt: skip
    assert len(raw) % (w * h) == 0, "frame size differs from the expected w x h"
    return len(raw) // (w * h)


def test_splat_light_where_particles_are():
    sp = Splatter((-4, 4, -2, 2), size=200, glow=0.0)
    assert (sp.width, sp.height) == frame_size(view_box((-4, 4, -2, 2)), 200)
    assert sp.width % 4 == 0 and sp.height % 4 == 0 and sp.width > sp.height
    xy = np.array([[2.0, 1.5]] * 50, np.float32)  # a bright dot up and to the right
    sp.set_exposure(xy)
    img = sp.render(xy)
    assert img.shape == (sp.height, sp.width, 3) and img.dtype == np.uint8
    r, c = np.unravel_index(img.sum(2).argmax(), img.shape[:2])
    assert c > sp.width / 2 and r < sp.height / 2  # y up: the dot is in the TOP half
    assert img[0, 0].tolist() == np.round(BACKGROUND).astype(int).tolist()
    glow = Splatter((-4, 4, -2, 2), size=200, glow=1.0)
    glow.set_exposure(xy)
    assert glow.render(xy).sum() > img.sum()  # the halo adds light around the dot


def test_frame_indices():
    assert frame_indices(241, None).tolist() == list(range(241))
    idx = frame_indices(241, 61)
    assert len(idx) == 61 and idx[0] == 0 and idx[-1] == 240 and np.all(np.diff(idx) > 0)


def test_final_frame_looks_like_the_image(traj_path):
    from flowreel.addon.core.trajformat import read

    frames = list(render_frames(read(traj_path), size=128, glow=0.0))
    first, last = frames[0].mean(2), frames[-1].mean(2)
    d = load_density("examples/logo.png", max_side=128, crop="none")
    ink = np.asarray(d.weights > 0, float)  # 128x128 ink mask; frame box is wider (|x| <= 4.2)
    assert last.std() > first.std()  # concentrated light, not a blurry cloud
    # brightness of the last frame correlates with the ink mask (resampled to the frame's box)
    sp = Splatter(d.extent, size=128)
    ys, xs = np.mgrid[0 : sp.height, 0 : sp.width]
    wx = sp.box[0] + (xs + 0.5) * (sp.box[1] - sp.box[0]) / sp.width
    wy = sp.box[3] - (ys + 0.5) * (sp.box[3] - sp.box[2]) / sp.height
    on = np.isfinite(d.log_density(np.stack([wx.ravel(), wy.ravel()], 1))).reshape(wx.shape)
    assert ink.any() and last[on].mean() > 3 * last[~on].mean()


@pytest.mark.parametrize("suffix", [".gif", ".mp4"])
def test_preview_video_frame_count(traj_path, tmp_path, ffmpeg_exe, suffix):
    out = tmp_path / f"p{suffix}"
    path, n = preview(traj_path, out, size=128, fps=12, hold=0.5)
    assert n == 25 + 6
    assert _frames(ffmpeg_exe, out, 128, 128) == 31
    assert [p.name for p in tmp_path.iterdir()] == [out.name]  # no partial file left


def test_preview_subsampled(traj_path, tmp_path, ffmpeg_exe):
    out = tmp_path / "s.gif"
    _, n = preview(traj_path, out, size=64, frames=5, hold=0)
    assert n == 5 and _frames(ffmpeg_exe, out, 64, 64) == 5
