# Two set-up commands for a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP_RUN := $(VENV)/.installed-run
STAMP_TEST := $(VENV)/.installed-test
export MOTO_IAM_LOAD_MANAGED_POLICIES := true

.PHONY: demo test install bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP_RUN): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(STAMP_TEST): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@ $(STAMP_RUN)

install: $(STAMP_RUN)

DEMO_STATE := .labwiz-demo

## make demo: install into .venv and run the whole lab in the offline sandbox
## (its own state directory, reset first, so every demo runs all nine steps)
demo: $(STAMP_RUN)
	@if [ -f $(DEMO_STATE)/state.json ]; then $(BIN)/labwiz --state-dir $(DEMO_STATE) reset --yes; fi
	$(BIN)/labwiz --state-dir $(DEMO_STATE) run --sandbox --yes
	@echo "The sandbox is still up: $(BIN)/labwiz --state-dir $(DEMO_STATE) sandbox status (or sandbox down)."

## make test: install with the test extra and run the suite
test: $(STAMP_TEST)
	$(BIN)/python -m pytest -q -n 2 --dist loadfile

## make bench: run every benchmark and write bench/RESULTS.md
bench: $(STAMP_TEST)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) build *.egg-info
