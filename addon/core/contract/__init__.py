"""What crosses between the trainer and the add-on, declared once: quality, render quality and presets, camera
moves, target kinds (suffixes, first bytes), SVG sniffing, 3-D axes and fronts, run-folder names, progress
events, the render command line.
"""
