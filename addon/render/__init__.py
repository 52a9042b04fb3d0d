"""The headless render: the entry point (`python -m flowreel.addon.render`, or `blender -b --python
addon/render/__main__.py`), its flags, engines, the frame loop, transparent frames, encoding from any Python.
"""
