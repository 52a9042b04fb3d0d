"""The splat engine (`--engine splat`, the final quality's engine for glowing looks on flat films) draws
what Cycles draws: the same frame rendered by both, Cycles with many samples, matches in structure
(SSIM), brightness and colour, mid-flight with motion blur and at rest; films it cannot draw fall
back to Cycles and say so; a transparent film gets its alpha from the points."""

from __future__ import annotations

import json

import numpy as np
import pytest
from test_addon_render_util import read_png

from flowreel.addon.core import trajformat
from flowreel.addon.render import __main__ as render

N_FRAMES = 9  # samples of the flow; the film below has holds of a quarter second at either end
FILM = ["--fps", "8", "--seconds", "1.5", "--hold-start", "0.25", "--hold-end", "0.25", "--easing", "linear",
        "--resolution", "160x90", "--motion-blur", "--no-video"]
MID, LAST = 7, 13  # a mid-flight frame and the last one (the film's scene frames are 1-13)


def _ring_traj(path, colours: bool) -> str:
    """Noise (t = 0) swirling into a ring with a bar (t = 1): 3000 points; two colours (left / right) or one."""
    rng = np.random.default_rng(3)
    n = 3000
    ang = rng.uniform(0, 2 * np.pi, n)
    rad = np.where(rng.random(n) < 0.75, 1.6 + 0.25 * rng.random(n), 0.0)
    end = np.c_[rad * np.cos(ang), rad * np.sin(ang)]
    bar = rad == 0
    end[bar] = np.c_[rng.uniform(-1.0, 1.0, bar.sum()), rng.uniform(-0.15, 0.15, bar.sum())]
    start = rng.normal(size=(n, 2))
    t = np.linspace(0, 1, N_FRAMES, dtype=np.float32)
    pos = np.empty((N_FRAMES, n, 2), np.float32)
    for k, tk in enumerate(t):
        a = 1.2 * np.sin(np.pi * tk)
        p = start * (1 - tk) + end * tk
        pos[k] = np.c_[p[:, 0] * np.cos(a) - p[:, 1] * np.sin(a), p[:, 0] * np.sin(a) + p[:, 1] * np.cos(a)]
    rgba = np.zeros((n, 4), np.uint8)
    rgba[:, 3] = 255
    if colours:
        rgba[:, :3] = np.where((start[:, 0] < 0)[:, None], [255, 60, 40], [40, 120, 255])
    trajformat.write(path, trajformat.Trajectory(pos, t, {"extent": [-2.2, 2.2, -2.2, 2.2]}, rgba))
    return str(path)


def _ssim(a: np.ndarray, b: np.ndarray) -> float:
    """Mean SSIM of the luminance, 7x7 box windows (Wang et al. 2004 constants)."""
    def lum(x):
        return x[..., :3].astype(np.float64) @ [0.2126, 0.7152, 0.0722]

    def box(x, k=7):
        c = np.cumsum(np.cumsum(np.pad(x, ((1, 0), (1, 0))), 0), 1)
        return (c[k:, k:] - c[:-k, k:] - c[k:, :-k] + c[:-k, :-k]) / (k * k)

    x, y = lum(a), lum(b)
    mx, my = box(x), box(y)
    vx, vy, cxy = box(x * x) - mx**2, box(y * y) - my**2, box(x * y) - mx * my
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    return float((((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx**2 + my**2 + c1) * (vx + vy + c2))).mean())


def _frames(traj: str, folder, *flags: str) -> dict[int, np.ndarray]:
    assert render.main([traj, "--frames-dir", str(folder), "--frames", f"{MID}-{LAST}", *FILM, *flags]) == 0
    return {f: read_png(folder / f"frame_{f:04d}.png") for f in (MID, LAST)}


@pytest.mark.parametrize("look", ["glow", "neon"])
def test_splat_draws_what_cycles_converges_to(bpy, tmp_path, look):
    traj = _ring_traj(tmp_path / "ring.npz", colours=look == "neon")
    splat = _frames(traj, tmp_path / "splat", "--look", look, "--engine", "splat")
    assert bpy.context.scene.render.engine == "FLOWREEL_SPLAT"
    cycles = _frames(traj, tmp_path / "cycles", "--look", look, "--engine", "cycles", "--samples", "256",
                     "--denoise", "off")
    for f in (MID, LAST):
        s, c = splat[f].astype(np.float64), cycles[f].astype(np.float64)
        assert _ssim(s, c) > 0.95, f
        lit = c.mean(axis=2) > 40  # the points and their glow
        assert lit.mean() > 0.05
        # Brightness and colour where the points are: within a few per cent of Cycles'.
        assert np.allclose(s[lit].mean(axis=0), c[lit].mean(axis=0), rtol=0.05, atol=3), f
        assert abs((s.mean(axis=2) > 40).mean() - lit.mean()) < 0.1 * lit.mean()  # the same area lit


def test_films_the_splat_engine_cannot_draw_render_with_cycles(bpy, tmp_path, capsys):
    """The lit ink look: one line says why, the frames are Cycles', and the frames folder records CYCLES."""
    traj = _ring_traj(tmp_path / "ring.npz", colours=False)
    folder = tmp_path / "ink"
    assert render.main([traj, "--frames-dir", str(folder), "--frames", f"{LAST}-{LAST}", *FILM, "--look", "ink",
                        "--engine", "splat", "--samples", "4"]) == 0
    out = capsys.readouterr().out
    assert "the splat engine draws glowing looks on flat films, not the ink look (its points are lit" in out
    assert "rendering with Cycles (4 samples)" in out
    assert bpy.context.scene.render.engine == "CYCLES"
    assert json.loads((folder / "flowreel_render.json").read_text())["engine"] == "CYCLES"
    img = read_png(folder / f"frame_{LAST:04d}.png")
    assert img.mean(axis=2).min() < 80 and np.median(img.mean(axis=2)) > 150  # dark ink on paper


def test_a_transparent_splat_film_takes_its_alpha_from_the_points(bpy, tmp_path):
    traj = _ring_traj(tmp_path / "ring.npz", colours=False)
    folder = tmp_path / "alpha"
    assert render.main([traj, "--frames-dir", str(folder), "--frames", f"{LAST}-{LAST}", *FILM, "--engine", "splat",
                        "--background", "transparent"]) == 0
    from PIL import Image

    rgba = np.asarray(Image.open(folder / f"frame_{LAST:04d}.png"))
    assert rgba.shape == (90, 160, 4)
    alpha = rgba[..., 3]
    assert alpha[:5, :5].max() == 0  # the corner: nothing there
    assert alpha[45, 80] > 200  # the bar in the middle
    assert (alpha > 200).mean() > 0.05


def test_the_addon_offers_the_engine_for_blenders_own_render(addon_registered, tmp_path):
    """With the add-on on, Flowreel Splat is a render engine of the scene: an imported film renders with F12's
    operator (Render > Render Image) and shows the points; the add-on's unregister removes it."""
    bpy = addon_registered
    traj = _ring_traj(tmp_path / "ring.npz", colours=False)
    assert bpy.ops.import_scene.flowreel(filepath=traj, resolution_x=160, resolution_y=90, fps=8, seconds=1.5
                                         ) == {"FINISHED"}
    scene = bpy.context.scene
    scene.render.engine = "FLOWREEL_SPLAT"
    assert scene.render.engine == "FLOWREEL_SPLAT"
    scene.frame_set(scene.frame_end)
    scene.render.filepath = str(tmp_path / "f12.png")
    bpy.ops.render.render(write_still=True)
    img = read_png(tmp_path / "f12.png")
    assert img.shape == (90, 160, 3)
    lum = img.mean(axis=2)
    assert lum[:5, :5].max() < 30 and lum[45, 80] > 120 and (lum > 120).mean() > 0.05  # the ring and its bar


def test_unregister_removes_the_engine(bpy):
    from flowreel import addon

    scene = bpy.context.scene
    addon.register()
    scene.render.engine = "FLOWREEL_SPLAT"
    scene.render.engine = "CYCLES"
    addon.unregister()
    with pytest.raises(TypeError):
        scene.render.engine = "FLOWREEL_SPLAT"


def test_blenders_render_with_the_engine_on_a_film_it_cannot_draw_fails_and_says_why(bpy, tmp_path):
    """Picked by hand in Blender for the lit ink look: the render reports the problem (Render Image fails, as
    bpy.ops shows) and writes no image, rather than a wrong one."""
    from flowreel.addon.render.splat.engine import ensure_registered

    traj = _ring_traj(tmp_path / "ring.npz", colours=False)
    assert render.main([traj, "--frames-dir", str(tmp_path / "ink"), "--frames", f"{LAST}-{LAST}", *FILM,
                        "--look", "ink", "--samples", "1"]) == 0
    ensure_registered()
    scene = bpy.context.scene
    scene.render.engine = "FLOWREEL_SPLAT"
    scene.render.filepath = str(tmp_path / "f12.png")
    with pytest.raises(RuntimeError, match="not the ink look .its points are lit.*render with Cycles"):
        bpy.ops.render.render(write_still=True)
    assert not (tmp_path / "f12.png").exists()
