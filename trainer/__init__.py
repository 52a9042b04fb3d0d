"""Flowreel trainer: fit a continuous normalizing flow to an image and export trajectories.

Never imports bpy; of the add-on it imports only the shared core (`flowreel.addon.core`: the
trajectory file, the frames folder, options, errors ...).
"""

# the one version number (addon/core/version.py), shared with the add-on and the wheel
from flowreel.addon.core.version import VERSION as __version__  # noqa: E402,F401
