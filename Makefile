# Two set-up commands for a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP_RUN := $(VENV)/.installed-run
STAMP_TEST := $(VENV)/.installed-test
export MOTO_IAM_LOAD_MANAGED_POLICIES := true
## Python caches the bytecode of what it imports (an empty value is "not set"). Build machines
## often set PYTHONDONTWRITEBYTECODE=1; then every process of the suite and of the demo (hundreds:
## CLI runs, sandbox daemons, pipeline tasks) compiled boto3, moto, kfp and labwiz again. Letting
## the first import cache them is cheaper than pip's byte-compiling all 700 MB of the venv up
## front (about 35 s of the install), most of which nothing here imports.
export PYTHONDONTWRITEBYTECODE :=

.PHONY: demo test tools build-ack install bench bench-suite bench-profile clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

## install labwiz with the extra $(1), editable: with uv (put into the venv by pip, 3 s; it
## resolves and unpacks in parallel: 15 s against pip's 40 s from an empty cache), or with pip
## where uv cannot be had or fails. Neither byte-compiles: see PYTHONDONTWRITEBYTECODE above.
define install_labwiz
	@if $(BIN)/python -m pip install --quiet --disable-pip-version-check 'uv>=0.4,<1' >/dev/null 2>&1 \
	    && $(BIN)/uv pip install --quiet --python $(BIN)/python -e '.[$(1)]'; then \
	    echo "installed labwiz[$(1)] into $(VENV) (uv)"; \
	else \
	    echo "uv not available here; installing with pip"; \
	    $(BIN)/python -m pip install --quiet --upgrade pip \
	    && $(BIN)/python -m pip install --quiet --no-compile -e '.[$(1)]'; \
	fi
endef

# the demo runs the offline sandbox, so it installs the sandbox's engines (labwiz[sandbox]);
# `pip install labwiz` alone is the lean install for real AWS
$(STAMP_RUN): pyproject.toml | $(BIN)/python
	$(call install_labwiz,sandbox)
	touch $@

# the test extra includes the sandbox's
$(STAMP_TEST): pyproject.toml | $(BIN)/python
	$(call install_labwiz,test)
	touch $@ $(STAMP_RUN)

install: $(STAMP_RUN)

## make tools: kubectl, tmux and the aws CLI on PATH (installed when root can), or fail naming them
tools: $(STAMP_TEST)
	bash .ci/tools $(abspath $(BIN))

## make build-ack: the real ACK SageMaker controller, by `go install` of its module into labwiz's
## cache (reused when present); says what is missing when Go or the module is not to be had
build-ack: $(STAMP_RUN)
	$(BIN)/labwiz sandbox build-ack

DEMO_STATE := .labwiz-demo

## make demo: install into .venv and run the whole lab in the offline sandbox
## (its own state directory, reset first, so every demo runs all nine steps)
demo: $(STAMP_RUN)
	@if [ -f $(DEMO_STATE)/state.json ]; then $(BIN)/labwiz --state-dir $(DEMO_STATE) reset --yes; fi
	$(BIN)/labwiz --state-dir $(DEMO_STATE) run --sandbox --yes
	@echo "The sandbox is still up: $(BIN)/labwiz --state-dir $(DEMO_STATE) sandbox status (or sandbox down)."

## make test: install with the test extra, find or install the tools, and run the suite
## (the venv's bin first on PATH: the suite runs labwiz, kfp and, when pip put it there, aws)
## (whole modules to three workers on two cores, longest first: many tests wait on a sandbox's
## pace, a controller's requeue or a process, and a third worker fills those waits (bench/SUITE.md);
## tests/conftest.py orders the modules by tests/module_seconds.json, and
## --no-loadscope-reorder keeps that order)
PYTEST_ARGS ?= -q -n 3 --dist loadfile --no-loadscope-reorder --durations=25
## the real-controller tests (tests/realack) run where a controller is built or cached; where Go
## or the module is missing they skip and say why, so a failed build-ack does not stop the suite
test: tools
	-@command -v go >/dev/null && $(BIN)/labwiz sandbox build-ack || echo "make test: no real ACK controller (tests/realack will say why they skip)"
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/python -m pytest $(PYTEST_ARGS)

## make bench: run every benchmark and write bench/RESULTS.md
bench: $(STAMP_TEST)
	$(BIN)/python -m bench

## make bench-suite: time the suite as make test runs it, with its 15 slowest tests
bench-suite: tools
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/python -m bench.bench_suite

## make bench-profile: where the whole sandbox lab's time goes (3 labs), into bench/PROFILE.md
bench-profile: $(STAMP_TEST)
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/python -m bench.bench_profile

clean:
	rm -rf $(VENV) build *.egg-info
