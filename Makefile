# alphaalgo: set-up, the main job and the tests.  Everything installs into .venv/.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: setup demo test test-all bench catalog clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,notebooks]'
	touch $(STAMP)

# The main job: a small run on the embedded defaults.
demo: setup
	$(BIN)/alphaalgo catalog --shape 2,2,2
	$(BIN)/alphaalgo verify kernels/schemes/*.json

# The default test run (slow cases are marked and left out; `make test-all` runs them).
test: setup
	$(BIN)/python -m pytest -q

test-all: setup
	$(BIN)/python -m pytest -q -m ""

# Regenerate kernels/ from the constructions and ../shared/reference/alphatensor.
catalog: setup
	$(BIN)/python -m alphaalgo.catalog build

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis build *.egg-info
