"""Contact sheets pick the frames that show the asked flow times (trainer/film/sheet.py)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from flowreel.addon.core.options import SceneOptions
from flowreel.addon.core.timing import flow_time, layout
from flowreel.trainer.film.sheet import SheetError, contact_sheet, frames_at_times


@pytest.mark.parametrize("easing", ["LINEAR", "EASE_IN_OUT", "EASE_IN"])
def test_frames_at_times_follow_the_easing(easing):
    opts = SceneOptions(seconds=2, fps=24, hold_start=0.5, hold_end=1, easing=easing)
    lay = layout(opts)
    frames = frames_at_times(opts, [0, 0.25, 0.5, 0.75, 1])
    assert frames[0] == lay.start and frames[-1] == lay.flow_end  # first frame of each rest
    assert frames == sorted(frames)
    for t, f in zip([0.25, 0.5, 0.75], frames[1:4], strict=True):
        assert abs(flow_time(f, opts) - t) < 0.1


def test_sheet_tiles_the_right_frames(tmp_path):
    opts = {"seconds": 1, "fps": 8, "hold_start": 0.25, "hold_end": 0.5, "easing": "LINEAR", "reverse": False,
            "ping_pong": False}  # fmt: skip
    (tmp_path / "flowreel_render.json").write_text(json.dumps(opts))
    n = layout(SceneOptions(**opts)).end
    for f in range(1, n + 1):  # each frame's grey level is its number, so tiles can be told apart
        Image.new("RGB", (40, 20), (f * 10, f * 10, f * 10)).save(tmp_path / f"frame_{f:04d}.png")
    out = contact_sheet(tmp_path, tmp_path / "sheet.png", times=[0, 1], tile_width=40)
    sheet = np.asarray(Image.open(out).convert("L"))
    assert sheet.shape[1] == 80
    expected = frames_at_times(SceneOptions(**opts), [0, 1])
    assert [int(sheet[-5, 20]), int(sheet[-5, 60])] == [f * 10 for f in expected]


def test_sheet_errors_name_the_problem(tmp_path):
    with pytest.raises(SheetError, match="not a frames folder"):
        contact_sheet(tmp_path, tmp_path / "s.png")
    (tmp_path / "flowreel_render.json").write_text(json.dumps(
        {"seconds": 1, "fps": 8, "hold_start": 0, "hold_end": 0, "easing": "LINEAR", "reverse": False,
         "ping_pong": False}))  # fmt: skip
    with pytest.raises(SheetError, match="not rendered yet"):
        contact_sheet(tmp_path, tmp_path / "s.png")
    assert not (tmp_path / "s.png").exists()
