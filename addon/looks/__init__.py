"""Looks: recipes (no bpy), their datablocks and .blend templates, the compositor's glow, denoising, the 3-D
lights.
"""
