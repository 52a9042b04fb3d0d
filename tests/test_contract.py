"""The core's contract (addon/core/contract/): what one side writes, the other reads, declared once."""

from __future__ import annotations

import json

import pytest

from flowreel.addon.core.contract import kinds, progress
from flowreel.addon.core.contract.render_command import blender_command, render_script


def test_progress_events_and_render_lines_read_back_as_written():
    line = progress.event_line("progress", stage="fit", step=3, steps=10, loss=0.5, elapsed=1.0, eta=2.0)
    assert progress.read_event(line) == json.loads(line) and json.loads(line)["event"] == "progress"
    assert progress.read_event("step 3 of 10") is None and progress.read_event('{"event": "other"}') is None
    with pytest.raises(ValueError):
        progress.event_line("finished")
    text = progress.render_line("flowreel-render", 42, 3, 12, "0.50 s", 75.0, 3725.0)
    assert text == "flowreel-render: frame 42 (3/12) 0.50 s, elapsed 1:15, ETA 1:02:05"
    assert progress.read_render_line(text) == (3, 12, 75.0, 3725.0)
    assert progress.read_render_line("Fra:42 Mem:12M") is None


def test_target_kinds_by_suffix_and_first_bytes():
    assert [kinds.kind_of(n) for n in ("a.PNG", "b.svgz", "c.obj", "d.xyz", "e.txt")] == \
        ["picture", "svg", "mesh", "points", None]
    assert kinds.is_raster(b"\x89PNG\r\n\x1a\n....") and kinds.is_raster(b"RIFF\0\0\0\0WEBPVP8 ")
    assert not kinds.is_raster(b"RIFF\0\0\0\0WAVEfmt ") and not kinds.is_raster(b"<svg")
    assert kinds.file_filter("svg") == "*.svg;*.svgz" and "*.ply" in kinds.file_filter()


def test_the_render_command_line_exits_non_zero_on_a_python_error(tmp_path):
    argv = blender_command("blender", render_script(tmp_path), ["t.npz", "-o", "f.mp4"])
    assert argv[:4] == ["blender", "-b", "--factory-startup", "--python-exit-code"]
    assert argv[argv.index("--python") + 1] == str(tmp_path / "render" / "__main__.py") and argv[-3:] == \
        ["t.npz", "-o", "f.mp4"]
