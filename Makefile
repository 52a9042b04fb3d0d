# Flowreel: `make demo` (image in, film out) and `make test` (the whole suite) on a fresh machine.
# `make test-blender`: the add-on's bpy tests on Blender 4.2 LTS, 4.5 LTS and 5.0 (about 1.3 GB per extra version).
# Choose another torch (e.g. a CUDA build) with: make TORCH='torch==2.13.0 --index-url <your index>'
PYTHON ?= python3
VENV   ?= .venv
TORCH  ?= torch==2.13.0
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.flowreel-installed

.PHONY: demo test test-blender setup system-deps lint bench addon-zip templates clean

demo: setup system-deps
	$(BIN)/trainer movie examples/logo.png -o out/demo.mp4 --quality draft --gif

test: setup system-deps
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q

# The add-on's bpy test subset on each Blender line people use. 5.0 runs from the main venv (as in
# `make test`); the others get one venv each under .venv-blender/<version>, without torch (those tests skip).
BPY_VERSIONS   ?= 4.2 4.5
BLENDER_TESTS  ?= tests/test_addon_*.py tests/test_format.py tests/test_encode.py tests/test_structure.py
BPY_VENV_DEPS  := "numpy<2" pytest pillow scipy ffmpeg-python imageio-ffmpeg tqdm "trimesh>=4.4,<6"

test-blender: setup system-deps $(foreach v,$(BPY_VERSIONS),.venv-blender/$(v)/.installed)
	@status=0; for v in $(BPY_VERSIONS) 5.0; do \
		py=.venv-blender/$$v/bin/python; [ "$$v" = 5.0 ] && py=$(BIN)/python; \
		echo "== bpy $$v: $$($$py -c 'import bpy; print(bpy.app.version_string)' 2>/dev/null | tail -n 1)"; \
		start=$$(date +%s); \
		$$py -m pytest -q -rfs -p no:cacheprovider $(BLENDER_TESTS) || status=1; \
		echo "== bpy $$v done in $$(( $$(date +%s) - start )) s"; \
	done; exit $$status

.venv-blender/%/.installed: pyproject.toml
	test -x .venv-blender/$*/bin/python || $(PYTHON) -m venv .venv-blender/$*
	.venv-blender/$*/bin/pip install -q "bpy==$*.*" $(BPY_VENV_DEPS)
	.venv-blender/$*/bin/pip install -q --no-deps -e .
	touch $@

setup: $(STAMP)

# torch first and pinned: a bare `torch` requirement would pull a multi-GB CUDA build here.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q $(TORCH)
	$(BIN)/pip install -q -e ".[dev,blender]"
	touch $@

# Debian's blender (3.4, for `blender -b` tests and, under xvfb-run, the real-UI test) and ffmpeg; installed
# when missing and we are root.
system-deps:
	@if command -v blender >/dev/null && command -v ffprobe >/dev/null && command -v xvfb-run >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq blender python3-numpy ffmpeg xvfb xauth >/dev/null; \
	else echo "note: install blender, ffmpeg and xvfb (apt-get install blender python3-numpy ffmpeg xvfb xauth) for the full suite"; fi

lint: setup
	$(BIN)/ruff check .

bench: setup
	$(BIN)/python bench/bench_fit.py
	$(BIN)/python bench/bench_export.py
	$(BIN)/python bench/bench_import.py
	$(BIN)/python bench/bench_render.py

addon-zip: setup
	$(BIN)/python scripts/build_addon.py

templates:
	blender -b --factory-startup --python blend_templates/build_looks.py

clean:
	rm -rf out runs dist build
