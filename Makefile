# Two entry points for a fresh machine (Python 3.11 and make present):
#   make run   - the main job on the bundled paper scenario
#   make test  - the whole test suite
# and the live view: make viz (SCENARIO=..., PORT=...).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
OUT    ?= out/paper-4dn
SEED   ?= 0
SCENARIO ?= paper-4dn
PORT   ?= 8765
CHROMIUM := /usr/bin/chromium

.PHONY: run test bench install clean viz assets browser

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/storagemarket run paper-4dn --seed $(SEED) --out $(OUT)

test: $(STAMP) assets browser
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
	rm -rf $(VENV) out .pytest_cache .hypothesis
