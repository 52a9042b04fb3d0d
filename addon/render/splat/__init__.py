"""The splat engine: Flowreel's glowing points drawn without path tracing (see raster.py for how,
engine.py for the Blender render engine, bench/RESULTS.md "Final quality at a tenth of the cost" for
what it costs and how close it comes to Cycles)."""
