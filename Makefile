# Two commands do all the set-up on a fresh machine:
#   make bench  runs the main job: the paper's experiments on the sim, quick budget (creates .venv on first use)
#   make test   runs ruff, mypy and the test suite (creates .venv on first use)
# and: make demo (a few scenes, zero vs oracle adjustment), make bench-full, make bench-speed
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
export MUJOCO_GL ?= egl

.PHONY: bench bench-full demo test bench-speed clean

$(STAMP): setup.cfg setup.py pyproject.toml
	@# pyrealsense2 (the real cell's camera) needs the system library libusb-1.0.
	@if ! ldconfig -p | grep -q 'libusb-1.0.so.0'; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && apt-get install -y -qq libusb-1.0-0 >/dev/null; \
	  else \
	    echo "note: libusb-1.0 is missing; install the Debian package libusb-1.0-0 to use the real camera"; \
	  fi; \
	fi
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# The CPU build of torch: unpinned torch would pull gigabytes of CUDA packages.
	$(BIN)/python -m pip install --quiet "torch==2.13.0"
	$(BIN)/python -m pip install --quiet -e ".[test,real]"
	@touch $(STAMP)

bench: $(STAMP)
	$(BIN)/rmrl bench paper --quick --out runs/bench-paper-quick

# The full run behind the README's results (benchmark v2: 10 seeds x 2 cells x 200 trials; see the README).
bench-full: $(STAMP)
	$(BIN)/rmrl bench paper --out docs/bench --readme README.md

demo: $(STAMP)
	$(BIN)/python -m rmrl_env.demo

# Lint, format check and type check first (configuration in pyproject.toml), then the whole suite.
test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/python -m pytest -q tests

bench-speed: $(STAMP)
	$(BIN)/python benchmarks/sim_speed.py

clean:
	rm -rf $(VENV) build *.egg-info
