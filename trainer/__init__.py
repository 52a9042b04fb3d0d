"""Flowreel trainer: fit a continuous normalizing flow to an image and export trajectories.

Never imports bpy; meets the Blender add-on only at the trajectory file (`addon.trajformat`).
"""

__version__ = "0.1.0"
