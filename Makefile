# Two commands: `make run` (set up and serve the demo) and `make test` (set up and run every check).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

CHROMIUM := /usr/bin/chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test lint fmt bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml requirements.lock | $(BIN)/python
	$(BIN)/pip install --quiet -c requirements.lock -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml requirements.lock | $(BIN)/python
	$(BIN)/pip install --quiet -c requirements.lock -e '.[dev]'
	touch $@ $(VENV)/.installed

# The browser tests drive Debian's Chromium (Playwright never downloads a browser here); a
# Japanese font lets the screenshots show the pages' Japanese text.
$(CHROMIUM):
	$(SUDO) apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium fonts-ipafont-gothic

run: $(VENV)/.installed
	$(BIN)/bob migrate
	$(BIN)/bob demo
	BOB_ALLOW_SIGNUP=$${BOB_ALLOW_SIGNUP:-true} $(BIN)/bob serve --demo-shop

test: lint $(CHROMIUM)
	$(BIN)/pytest

# The static checks alone (also run by `make test`, and by pre-commit when installed).
lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache

# Rewrite the code the way `make lint` wants it: imports sorted, fixable findings fixed, formatted.
fmt: $(VENV)/.installed-dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: $(VENV)/.installed-dev
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
