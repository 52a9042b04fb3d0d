"""Flowreel Blender add-on: import flow trajectories as an animated point cloud and render films.

This file stays importable without bpy (the trainer imports the shared core, `flowreel.addon.core`,
which loads this package first); everything that needs Blender is imported inside register().
"""

bl_info = {
    "name": "Flowreel",
    "author": "Flowreel",
    "version": (0, 1, 0),
    "blender": (3, 4, 0),
    "location": "File > Import > Flowreel trajectories (.npz); View3D > Sidebar > Flowreel",
    "description": "Animated point clouds from continuous-normalizing-flow trajectories",
    "category": "Import-Export",
}


def register() -> None:
    from . import registration

    registration.register()


def unregister() -> None:
    from . import registration

    registration.unregister()
