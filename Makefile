# Flowreel: `make demo` (image in, film out) and `make test` (the whole suite, then the add-on's tests on
# Blender 4.2 LTS and 4.5 LTS) on a fresh machine. `make test-blender`: the LTS runs alone.
# Choose another torch (e.g. a CUDA build) with: make TORCH='torch==2.13.0 --index-url <your index>'
PYTHON ?= python3
VENV   ?= .venv
TORCH  ?= torch==2.13.0
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.flowreel-installed
# The add-on's bpy tests also run on these Blender LTS lines (see test-blender below).
BPY_VERSIONS   ?= 4.2 4.5
BLENDER_TESTS  ?= tests/test_addon_*.py tests/test_format.py tests/test_encode.py tests/test_structure.py
BPY_VENV_DEPS  := "numpy<2" pytest pillow scipy ffmpeg-python imageio-ffmpeg tqdm "trimesh>=4.4,<6"
LTS_VENVS      := $(foreach v,$(BPY_VERSIONS),.venv-blender/$(v)/.installed)

.PHONY: demo test test-blender setup system-deps lint bench addon-zip dist dist-cache templates clean

demo: setup system-deps
	$(BIN)/trainer movie examples/logo.png -o out/demo.mp4 --quality draft --gif

# The whole suite (bpy 5.0 from .venv, Debian's blender 3.4), then the add-on's bpy tests on each Blender LTS
# line, then one line per Blender with its passed/failed counts (.ci/test-matrix); any failure fails `make test`.
test: setup system-deps $(LTS_VENVS) dist-cache
	$(BIN)/ruff check .
	.ci/test-matrix $(BIN)/python "$(BPY_VERSIONS)" "$(BLENDER_TESTS)"

# The add-on's bpy test subset on each Blender LTS line people use, each from its own venv under
# .venv-blender/<version>: bpy and the add-on's dependencies, no torch (conftest: FLOWREEL_BPY_MATRIX).
# The venvs are kept between runs (CI: cache .venv-blender and pip's cache keyed on pyproject.toml and this
# Makefile) and rebuilt only when pyproject.toml changes; pip's download cache serves a rebuild.
test-blender: setup system-deps $(LTS_VENVS)
	.ci/test-matrix $(BIN)/python "$(BPY_VERSIONS)" "$(BLENDER_TESTS)" --lts-only

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
	$(BIN)/pip install -q -e ".[dev,blender,cluster]"
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

# Release artefacts into dist/ (scripts/build_dist.py): the wheel and sdist (twine check), the light add-on zip,
# and one full extension zip per platform carrying the trainer and every dependency wheel, all checked by
# Blender's blender_ext.py validate. The wheels are fetched once into $(DIST_CACHE)/<platform>/.
# torch is the CPU build: PyPI's for Windows and macOS; for Linux `torch==2.13.0+cpu`, which pip must find
# on PyTorch's CPU index or a local folder, e.g.
#   make dist DIST_PIP_ARGS=--extra-index-url=https://download.pytorch.org/whl/cpu
#   make dist DIST_PLATFORMS=linux-x64 DIST_TORCH=linux-x64=torch==2.13.0+cpu
DIST_PLATFORMS ?= linux-x64 windows-x64 macos-arm64
DIST_TORCH     ?=
DIST_PIP_ARGS  ?=
DIST_CACHE     ?= .dist-cache
DIST_FLAGS      = --cache $(DIST_CACHE) $(foreach t,$(DIST_TORCH),--torch $(t)) $(foreach a,$(DIST_PIP_ARGS),--pip-arg=$(a))
DIST_VENV      := .venv-dist/bpy-5.0

dist: setup
	$(BIN)/python scripts/stamp_version.py
	$(BIN)/python scripts/build_dist.py $(DIST_FLAGS) $(foreach p,$(DIST_PLATFORMS),--platform $(p))

# What tests/test_dist_build.py installs: the linux-x64 wheel set (refetched when pyproject.toml changes) and a
# venv with the bpy module and no torch, both kept between runs (CI: cache .dist-cache and .venv-dist).
dist-cache: $(DIST_CACHE)/linux-x64/resolved.txt $(DIST_VENV)/.installed

$(DIST_CACHE)/linux-x64/resolved.txt: pyproject.toml | setup
	$(BIN)/python scripts/build_dist.py --cache-only $(DIST_FLAGS) --platform linux-x64

$(DIST_VENV)/.installed:
	test -x $(DIST_VENV)/bin/python || $(PYTHON) -m venv $(DIST_VENV)
	$(DIST_VENV)/bin/pip install -q "bpy==5.0.1" "numpy<2"
	touch $@

templates:
	blender -b --factory-startup --python blend_templates/build_looks.py

clean:
	rm -rf out runs dist build
