"""Scores: excess TV (pictures), Chamfer and coverage (3-D), path length and curvature, `trainer eval`."""
