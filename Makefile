# Two entry points for a fresh machine (Python 3.11+ and make present):
#   make run   - the main job on the bundled paper scenario
#   make test  - the whole test suite (PYTHONS="3.11 3.12 3.13": on each of them, as CI does)
# and the live view: make viz (SCENARIO=..., PORT=...).
PYTHON ?= python3
PYTHONS ?=
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
OUT    ?= out/paper-4dn
SEED   ?= 0
SCENARIO ?= paper-4dn
PORT   ?= 8765
CHROMIUM := /usr/bin/chromium

.PHONY: run test test-one bench install clean viz assets browser

install: $(STAMP)

$(STAMP): pyproject.toml
	@echo "== installing storagemarket and its dependencies into $(VENV) with pip (about a minute the first time; quiet until done)"
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/storagemarket run paper-4dn --seed $(SEED) --out $(OUT)

ifeq ($(strip $(PYTHONS)),)
test: test-one
else
# The support matrix: each entry in its own venv (.venv-3.12, ...) with the newest dependencies
# its Python resolves; `3.11+oldest` also installs under .ci/constraints-oldest.txt. An
# interpreter is pythonX.Y on the PATH, or pyenv's; one this machine lacks is named and skipped.
test:
	@for entry in $(PYTHONS); do \
	  v=$${entry%%+*}; extra=$${entry#$$v}; extra=$${extra#+}; \
	  py=""; for c in python$$v $${PYENV_ROOT:-$$HOME/.pyenv}/versions/$$v*/bin/python$$v; do \
	    if $$c --version >/dev/null 2>&1; then py=$$c; break; fi; done; \
	  if [ -z "$$py" ]; then echo "== skipping Python $$v: not on this machine"; continue; fi; \
	  echo "== tests on $$($$py --version) ($$py)$${extra:+ with .ci/constraints-$$extra.txt}"; \
	  env $${extra:+PIP_CONSTRAINT=$(CURDIR)/.ci/constraints-$$extra.txt} \
	    $(MAKE) --no-print-directory test-one PYTHON=$$py VENV=.venv-$$entry || exit 1; \
	done
endif

test-one: $(STAMP) assets browser
	$(BIN)/python -m pytest -n 2 -q

viz: $(STAMP) assets
	$(BIN)/storagemarket viz $(SCENARIO) --port $(PORT)

# Solara's JavaScript and CSS, from the npm registry into its asset cache (no CDN at run time).
assets: $(STAMP)
	@$(BIN)/python -m model.viz.assets

# Debian's chromium for the browser test (Playwright drives it; no browser is ever downloaded).
browser:
	@test -x $(CHROMIUM) || { echo "installing chromium (apt-get)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

bench: $(STAMP)
	@for f in benchmarks/bench_*.py; do echo "== $$f"; $(BIN)/python $$f || exit 1; done

clean:
	rm -rf .venv .venv-3.* out .pytest_cache .hypothesis
