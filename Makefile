# FieldApp: `make run` sets up and starts the app; `make check` sets up and runs every check.
# Both are idempotent: the virtual environment is rebuilt only when pyproject.toml changes.

PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run demo check setup system-deps lint typecheck contracts test app app-check bench mutation mutation-constants samples shortcuts-doc screenshots clean

run: setup
	@bash scripts/system-deps.sh run
	$(BIN)/fieldapp $(ARGS)

demo: setup
	@bash scripts/system-deps.sh run
	$(BIN)/fieldapp --demo $(ARGS)

# The app's build and self-test come last: about 20 s on a 2-core machine (README, "Installing
# on laptops").
check: setup lint typecheck contracts test app-check

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

# The desktop app as IT installs it: dist/FieldApp/, a one-folder app for this machine's system
# (build.spec). The xcb libraries must be here for PyInstaller to put them in the bundle.
app: setup
	@bash scripts/system-deps.sh run
	$(BIN)/pyinstaller build.spec --noconfirm --log-level WARN
	@echo "dist/FieldApp: $$(du -sh dist/FieldApp | cut -f1), $$(find dist/FieldApp -type f | wc -l) files"

# Build it, then run the built app's own check (offscreen, on a temporary profile).
app-check: app
	dist/FieldApp/FieldApp --self-test

# Every bench/ script, then one table of the figures (bench/suite.py, a few minutes). To keep
# that table in docs/performance.md too: `make bench WRITE=docs/performance.md`.
bench: setup
	$(BIN)/python bench/suite.py $(if $(WRITE),--write $(WRITE))

# Mutation testing of the rules, each module against its own tests (docs/testing.md; minutes,
# so not part of `check`): `make mutation`, or one module, optionally with the tests to use:
# `make mutation MODULE=fieldapp/domain/consent.py TESTS="tests/domain/test_consent.py"`.
mutation: setup
	$(BIN)/python scripts/mutation.py $(MODULE) $(if $(TESTS),--tests $(TESTS))

# What mutmut leaves alone (module constants, dataclass defaults, properties), in one module:
# `make mutation-constants MODULE=fieldapp/domain/mileage.py` (optionally TESTS="...").
mutation-constants: setup
	$(BIN)/python scripts/mutate_constants.py $(MODULE) $(if $(TESTS),--tests $(TESTS))

# The sample exports of the demo data and their page images, in docs/samples/.
samples: setup
	QT_QPA_PLATFORM=offscreen $(BIN)/python scripts/sample_exports.py

# README.md's Keyboard section, from the shortcut declaration (fieldapp/ui/shortcuts.py).
shortcuts-doc: setup
	$(BIN)/python scripts/shortcuts_doc.py

# Every screen of the real app under Xvfb (needs xvfb; `apt-get install xvfb`).
screenshots: setup
	xvfb-run -a -s "-screen 0 1366x768x24" $(BIN)/python scripts/screenshot_tour.py
	xvfb-run -a -s "-screen 0 1366x768x24" $(BIN)/python scripts/screenshot_tour.py --dark
	xvfb-run -a -s "-screen 0 2732x1536x24" $(BIN)/python scripts/screenshot_tour.py --scale 2

clean:
	rm -rf $(VENV) build dist *.egg-info .mypy_cache .pytest_cache .ruff_cache
