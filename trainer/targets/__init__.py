"""What a fit aims at, one module per kind: pictures (PNG/JPEG/..., SVG, text), the picture slab, meshes and point
clouds; registry.py picks the kind.
"""
