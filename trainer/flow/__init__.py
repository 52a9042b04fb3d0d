"""The flow itself: the vector field, integration, export of trajectories, exact landing, motion layers
(turbulence), the trajectory file's metadata.
"""
