"""Films and fits on a Ray cluster (`--cluster ADDRESS`; optional extra `flowreel[cluster]`).

    connect.py   the address (`local`, `auto`, `host:port`, `ray://host:port`), reaching it, one-line errors
    plan.py      what a render's command line asks for: the film's frames, the frames folder, the chunks
    worker.py    one chunk on a worker: the trajectory file from the object store, a fresh render process
    render.py    the driver: tasks, frames written as they arrive, retries, progress, the summary
    fits.py      a sequence's flows fitted as parallel tasks, their run folders sent back

Nothing here imports Ray at module level: without `--cluster` Ray is never imported
(tests/test_cluster_structure.py).
"""
