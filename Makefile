# Flowreel: `make demo` (image in, film out) and `make test` (the whole suite) on a fresh machine.
# Choose another torch (e.g. a CUDA build) with: make TORCH='torch==2.13.0 --index-url <your index>'
PYTHON ?= python3
VENV   ?= .venv
TORCH  ?= torch==2.13.0
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.flowreel-installed

.PHONY: demo test setup system-deps lint bench addon-zip templates clean

demo: setup system-deps
	$(BIN)/trainer movie examples/logo.png -o out/demo.mp4 --quality draft --gif

test: setup system-deps
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q

setup: $(STAMP)

# torch first and pinned: a bare `torch` requirement would pull a multi-GB CUDA build here.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q $(TORCH)
	$(BIN)/pip install -q -e ".[dev,blender]"
	touch $@

# Debian's blender (3.4, for `blender -b` tests) and ffmpeg; installed when missing and we are root.
system-deps:
	@if command -v blender >/dev/null && command -v ffprobe >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq blender python3-numpy ffmpeg >/dev/null; \
	else echo "note: install blender and ffmpeg (apt-get install blender python3-numpy ffmpeg) for the full suite"; fi

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
