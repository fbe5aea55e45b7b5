# Two entry points for a fresh Linux machine with Python 3.11 (no GPU needed):
#   make demo   create .venv, install, read the example images with the shipped english and names models
#   make test   create .venv, install with dev extras, run ruff, mypy, the docs build and the test suite
#   make model-NAME   rebuild a shipped model or LM from ../shared/data with its whole chain of recipes
#               (scripts/reproduce.py, configs/chains.yaml; hours of CPU for a model, seconds for an LM), into
#               runs/reproduce/NAME/; REPRODUCE="--dry-run" prints the commands, "--install" ships the result
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

MODELS := english english_pen english_pen_b iam_ondb_words names english_lm names_lm
REPRODUCE ?=

.PHONY: install demo test lint examples $(addprefix model-,$(MODELS))
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

$(addprefix model-,$(MODELS)): model-%: $(BIN)/.installed
	$(BIN)/python scripts/reproduce.py $* $(REPRODUCE)
