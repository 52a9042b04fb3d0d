"""What `--quality draft|final` fits and exports: the one declaration, read by the add-on's fits (addon/jobs) and
`trainer movie` (trainer/film/movie.py), so a film made from Blender matches one made from the command line and
both share the run (core/contract/runs.py). What each quality renders is render_quality.py.

Draft's shorter fit is fine because exports land exactly (bench/RESULTS.md).
"""

from __future__ import annotations

# per quality: flow-matching and FFJORD steps, particles and frames of the export, samples of the closing check
QUALITY: dict[str, dict[str, int]] = {
    "draft": {"fm": 2000, "ffjord": 100, "particles": 60_000, "frames": 241, "eval_samples": 10_000},
    "final": {"fm": 5000, "ffjord": 300, "particles": 200_000, "frames": 241, "eval_samples": 100_000},
}
