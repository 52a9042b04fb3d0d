"""The add-on's Blender UI: operators, the sidebar panel, properties generated from the scene options, preferences,
the Keys rows.
"""
