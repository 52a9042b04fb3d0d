"""Timing maths (pure Python): frame counts, holds, easing, reverse and ping-pong."""

import pytest

from flowreel.addon.core import timing
from flowreel.addon.core.options import SceneOptions


def opts(**kw):
    base = dict(fps=10, seconds=2.0, hold_start=0.5, hold_end=1.0)
    base.update(kw)
    return SceneOptions(**base)


def test_frame_count_includes_holds():
    o = opts()
    assert timing.scene_frame_count(o) == 5 + 20 + 10 + 1
    lay = timing.layout(o)
    assert (lay.start, lay.flow_start, lay.flow_end, lay.end) == (1, 6, 26, 36)


def test_ping_pong_loops_without_repeating_first_frame():
    o = opts(ping_pong=True)
    lay = timing.layout(o)
    assert timing.scene_frame_count(o) == 5 + 20 + 10 + 20 + 5
    # the frame after the last one is where the loop restarts: same flow time as the first frame
    assert timing.flow_time(lay.end + 1, o) == timing.flow_time(lay.start, o) == 0.0
    assert timing.flow_time(lay.end, o) == 0.0
    assert timing.flow_time(lay.back_start, o) == 1.0
    assert 0 < timing.flow_time((lay.back_start + lay.back_end) / 2, o) < 1


@pytest.mark.parametrize("easing", ["LINEAR", "EASE_IN_OUT", "EASE_IN", "EASE_OUT"])
def test_holds_and_monotone_flow(easing):
    o = opts(easing=easing)
    lay = timing.layout(o)
    ts = [timing.flow_time(f, o) for f in range(lay.start, lay.end + 1)]
    assert all(t == 0.0 for t in ts[: lay.flow_start - lay.start + 1])  # noise at rest
    assert all(t == 1.0 for t in ts[lay.flow_end - lay.start :])  # image at rest
    flow = ts[lay.flow_start - 1 : lay.flow_end]
    assert all(b > a for a, b in zip(flow[:-1], flow[1:], strict=True))


def test_easing_shapes():
    mid = timing.layout(opts()).flow_start + 5  # a quarter of the way through the flow
    lin = timing.flow_time(mid, opts(easing="LINEAR"))
    assert lin == pytest.approx(0.25)
    assert timing.flow_time(mid, opts(easing="EASE_IN")) == pytest.approx(0.25**3)
    assert timing.flow_time(mid, opts(easing="EASE_OUT")) == pytest.approx(1 - 0.75**3)
    assert timing.flow_time(mid, opts(easing="EASE_IN_OUT")) == pytest.approx(4 * 0.25**3)
    half = timing.layout(opts()).flow_start + 10
    assert timing.flow_time(half, opts(easing="EASE_IN_OUT")) == pytest.approx(0.5)


def test_reverse_mirrors_time():
    o, r = opts(), opts(reverse=True)
    for f in range(1, timing.scene_frame_count(o) + 1):
        assert timing.flow_time(f, r) == pytest.approx(1.0 - timing.flow_time(f, o))


def test_keys_reproduce_flow_time_at_key_frames():
    for kw in ({}, {"reverse": True}, {"ping_pong": True}, {"hold_start": 0, "hold_end": 0, "ping_pong": True}):
        o = opts(**kw)
        for frame, t, _, _ in timing.keys(o):
            assert timing.flow_time(frame, o) == pytest.approx(t)
