# Two entry points for a fresh machine (see README):
#   make demo   set up .venv and run the bundled SMT line for an 8-hour shift
#   make test   set up .venv and run the whole test suite
# `setup` is a no-op once done (stamp file .venv/.setup-done, refreshed when pyproject.toml changes).

PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.setup-done
DEB_PKGS := libusb-1.0-0 libgomp1 libegl1 libegl-mesa0 libgl1-mesa-dri
# the web viewer's tests open the page in Debian's headless Chromium
TEST_DEB_PKGS := chromium

.PHONY: setup demo test bench

setup: $(STAMP)

$(STAMP): pyproject.toml Makefile
	@./scripts/install-system-deps.sh $(DEB_PKGS)
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

demo: setup
	$(BIN)/twin run scenes/smt_line.yaml --until 8h --seed 7 --out results/smt_line

test: setup
	@./scripts/install-system-deps.sh $(TEST_DEB_PKGS)
	$(BIN)/python -m pytest -q

bench: setup
	for b in benchmarks/*.py; do $(BIN)/python $$b --quick || exit 1; done
