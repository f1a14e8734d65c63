# FieldApp: `make run` sets up and starts the app; `make check` sets up and runs every check.
# Both are idempotent: the virtual environment is rebuilt only when pyproject.toml changes.

PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run demo check setup system-deps lint typecheck contracts test bench samples screenshots clean

run: setup
	@bash scripts/system-deps.sh run
	$(BIN)/fieldapp $(ARGS)

demo: setup
	@bash scripts/system-deps.sh run
	$(BIN)/fieldapp --demo $(ARGS)

check: setup lint typecheck contracts test

setup: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@

system-deps:
	@bash scripts/system-deps.sh test

lint: setup
	$(BIN)/ruff check .

typecheck: setup
	$(BIN)/mypy

contracts: setup
	$(BIN)/lint-imports

test: setup system-deps
	QT_QPA_PLATFORM=offscreen $(BIN)/pytest

bench: setup
	@for script in bench/*.py; do $(BIN)/python $$script || exit 1; done

# The sample exports of the demo data and their page images, in docs/samples/.
samples: setup
	QT_QPA_PLATFORM=offscreen $(BIN)/python scripts/sample_exports.py

# Every screen of the real app under Xvfb (needs xvfb; `apt-get install xvfb`).
screenshots: setup
	xvfb-run -a -s "-screen 0 1280x900x24" $(BIN)/python scripts/screenshot_tour.py
	xvfb-run -a -s "-screen 0 1280x900x24" $(BIN)/python scripts/screenshot_tour.py --dark
	xvfb-run -a -s "-screen 0 2400x1800x24" $(BIN)/python scripts/screenshot_tour.py --scale 2

clean:
	rm -rf $(VENV) build dist *.egg-info .mypy_cache .pytest_cache .ruff_cache
