"""Flowreel's shared core: what the trainer and the Blender add-on both need, and nothing else.

numpy and the standard library only: never bpy, never torch (tests/test_structure.py holds both
directions). The add-on zip carries it; the trainer imports this package and no other part of
the add-on.

    trajformat  the trajectory file `flowreel.traj/2` (write, read, validate; reads /1)
    frames      the frames folder: frame names, the record file, finished-PNG checks
    atomic      write-then-rename for every output (unique temporary names, stale ones removed)
    lock        one owner at a time of a run folder or a frames folder (an OS file lock)
    child       child processes that die with their parent (render, ffmpeg, the add-on's jobs)
    encode      ffmpeg: frames -> MP4 / GIF
    options     scene options shared by the CLI, the render script and the add-on UI
    timing      easing and the scene frame -> flow time map
    pointcache  PC2 point caches streamed from a trajectory file
    errors      FlowreelError, the base of every user-facing error
"""
