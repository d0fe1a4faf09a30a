# Two commands: `make run` (set up and serve the demo) and `make test` (set up and run every check).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

CHROMIUM := /usr/bin/chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test lint fmt lock bench clean

# uv installs exactly what uv.lock pins, every file checked against its hash. It is fetched
# from PyPI into .tools/ the first time; after changing dependencies in pyproject.toml, `make lock`.
UV_VERSION := 0.13.9
UV := .tools/bin/uv
export UV_PYTHON := $(PYTHON)
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(VENV)
# Compiled once at install: where the environment sets PYTHONDONTWRITEBYTECODE, every `bob`
# command (and every server a test starts) would otherwise compile its libraries anew.
export UV_COMPILE_BYTECODE := 1

# Straight into .tools/ with the interpreter's pip; one without pip (Debian's python3) gets a
# throwaway virtualenv's.
$(UV):
	PIP_ROOT_USER_ACTION=ignore $(PYTHON) -m pip install --quiet --target .tools uv==$(UV_VERSION) \
	  || { $(PYTHON) -m venv .tools/venv \
	       && .tools/venv/bin/pip install --quiet --target .tools uv==$(UV_VERSION); }

$(VENV)/.installed: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --quiet
	touch $@

$(VENV)/.installed-dev: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --quiet --extra dev
	touch $@ $(VENV)/.installed

lock: | $(UV)
	$(UV) lock

# The browser tests drive Debian's Chromium (Playwright never downloads a browser here); a
# Japanese font lets the screenshots show the pages' Japanese text.
$(CHROMIUM):
	$(SUDO) apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium fonts-ipafont-gothic

run: $(VENV)/.installed
	$(BIN)/bob migrate
	$(BIN)/bob demo
	BOB_ALLOW_SIGNUP=$${BOB_ALLOW_SIGNUP:-true} $(BIN)/bob serve --demo-shop

# On every core (pytest-xdist), a test file per worker at a time: each worker has its own
# databases (SQLite, and PostgreSQL when BOB_TEST_DATABASE_URL is set) and its own browser.
test: lint $(CHROMIUM)
	$(BIN)/pytest -n auto --dist loadfile

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
	rm -rf $(VENV) .tools .mypy_cache .ruff_cache .pytest_cache
