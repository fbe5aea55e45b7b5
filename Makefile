# Two entry points for a fresh Linux machine with Python 3.11 (no GPU needed):
#   make demo   create .venv, install, read the example images with the shipped english and names models
#   make test   create .venv, install with dev extras, run ruff, mypy and the test suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	# torch first and pinned: a CPU build; an unpinned torch would pull the CUDA build (several GB).
	$(BIN)/python -m pip install -q torch==2.13.0
	$(BIN)/python -m pip install -q -e ".[dev]"
	touch $@

.PHONY: install demo test lint examples
install: $(BIN)/.installed

demo: $(BIN)/.installed
	$(BIN)/scriba read examples/*.png
	$(BIN)/scriba read --model names examples/names/*.png

test: $(BIN)/.installed
	$(BIN)/ruff check src tests scripts tools benchmarks
	$(BIN)/ruff format --check src tests scripts tools benchmarks
	$(BIN)/mypy
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet   # the documentation site, warnings as errors
	$(BIN)/python -m pytest -q

lint: $(BIN)/.installed
	$(BIN)/ruff check src tests scripts tools benchmarks
	$(BIN)/ruff format --check src tests scripts tools benchmarks
	$(BIN)/mypy

examples: $(BIN)/.installed
	$(BIN)/python scripts/make_examples.py
