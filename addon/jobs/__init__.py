"""Background jobs, no bpy: the trainer and render children, what a fit from Blender runs (its plan and run
folder), which trainer runs, status text.
"""
