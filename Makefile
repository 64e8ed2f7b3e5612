# Every target bootstraps .venv itself; a second run with nothing changed installs nothing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
LAB_STAMP := $(VENV)/.installed-lab
SCALE ?= S M

.PHONY: run lab test lint bench scores clean-venv

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "healthdash needs Python 3.11 or newer")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -qq --upgrade pip
	$(BIN)/python -m pip install -qq -e '.[test]'
	@touch $(STAMP)

# the `lab` extra too: JupyterLab, matplotlib for the analysis notebooks' charts, pyarrow for Parquet
$(LAB_STAMP): $(STAMP)
	$(BIN)/python -m pip install -qq -e '.[test,lab]'
	@touch $(LAB_STAMP)

run: $(STAMP)
	$(BIN)/python -m healthdash serve

# JupyterLab on notebooks/, the kernels reading HEALTHDASH_API_URL's server, else DATABASE_URL, else `make run`'s database
lab: $(LAB_STAMP)
	$(BIN)/python -m healthdash lab

scores: $(STAMP)
	$(BIN)/python -m healthdash scores

lint: $(STAMP)
	$(BIN)/ruff check healthdash benchmarks tests notebooks
	$(BIN)/ruff format --check healthdash benchmarks tests notebooks
	$(BIN)/mypy
	$(BIN)/lint-imports --no-logo --no-cache  # the layers of ARCHITECTURE.md

test: lint $(LAB_STAMP)
	$(BIN)/python -m pytest --cov --cov-report=term-missing $(PYTEST_ARGS)
	# every notebook, top to bottom, against a test server (their logic lives in healthdash.widgets, measured above)
	$(BIN)/python -m pytest --nbval-lax notebooks/ -p no:cov

bench: $(STAMP)
	$(BIN)/python -m benchmarks --scales "$(SCALE)"

clean-venv:
	rm -rf $(VENV)
