"""Flowreel trainer: fit a continuous normalizing flow to an image and export trajectories.

Never imports bpy; of the add-on it imports only the shared core (`flowreel.addon.core`: the
trajectory file, the frames folder, options, errors ...).
"""

__version__ = "0.1.0"
