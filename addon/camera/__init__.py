"""The camera: framing maths (numpy, testable without bpy) and the rig with its moves."""
