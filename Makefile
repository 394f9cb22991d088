# OneThing — the two commands people need are `make demo` and `make test`.
# Each installs what it needs into .venv on a fresh machine.

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat setup.cfg pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: install assets demo lint test test-any-date test-fast bench clean

# Browser assets (bpmn-js) come from npm at set-up into a git-ignored static folder —
# never committed, never from a CDN. Re-copied whenever package.json or the lock changes.
NPM ?= npm
VENDOR := web/static/vendor
ASSETS_STAMP := $(VENDOR)/.installed-$(shell cat package.json package-lock.json 2>/dev/null | cksum | cut -d' ' -f1)
BPMN_JS := node_modules/bpmn-js
# The studio's modeler (bpmn-js + Camunda 7 properties panel) ships as ES modules: esbuild
# (an npm devDependency) bundles web/static/js/studio-modeler.js into the vendor folder.
ESBUILD := node_modules/.bin/esbuild

$(STAMP): setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

install: $(STAMP) assets
	$(VENV)/bin/pybabel -q compile -d web/translations

assets: $(ASSETS_STAMP)

$(ASSETS_STAMP): package.json $(wildcard package-lock.json) web/static/js/studio-modeler.js web/static/js/studio-zh.js
	@command -v $(NPM) >/dev/null || { echo "npm is needed for the diagram viewer (apt-get install nodejs npm)"; exit 1; }
	if [ -f package-lock.json ]; then $(NPM) ci --no-audit --no-fund; else $(NPM) install --no-audit --no-fund; fi
	rm -rf $(VENDOR)/bpmn-js
	mkdir -p $(VENDOR)/bpmn-js
	cp $(BPMN_JS)/dist/bpmn-navigated-viewer.production.min.js $(BPMN_JS)/LICENSE $(VENDOR)/bpmn-js/
	cp -R $(BPMN_JS)/dist/assets $(VENDOR)/bpmn-js/assets
	rm -rf $(VENDOR)/studio
	mkdir -p $(VENDOR)/studio
	$(ESBUILD) web/static/js/studio-modeler.js --bundle --minify --format=iife --target=es2019 \
		--log-level=warning --outfile=$(VENDOR)/studio/studio-modeler.js
	cp node_modules/@bpmn-io/properties-panel/dist/assets/properties-panel.css $(VENDOR)/studio/
	rm -f $(VENDOR)/.installed-*
	touch $(ASSETS_STAMP)

demo: install
	$(VENV)/bin/onething db upgrade
	$(VENV)/bin/onething deploy
	$(VENV)/bin/onething demo
	$(VENV)/bin/onething serve --host 127.0.0.1 --port 5000

# The gates CI runs before the tests: style and likely bugs (ruff, pyproject.toml), the
# import contracts (.importlinter: layers, no cycles, web above the store) and types (mypy
# on engine/ and forms/).
lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports --no-cache
	$(VENV)/bin/mypy

test: install
	$(PY) -m pytest -q -p no:cacheprovider $(PYTEST_ARGS)

# Green on any date: the date-sensitive suites again with the system clock moved years
# ahead (Debian's faketime). Tests freeze the engine's clock, so nothing may read the wall.
FAKE_DATE ?= +1600d
test-any-date: install
	@command -v faketime >/dev/null || { echo "faketime is needed (apt-get install faketime)"; exit 1; }
	TEST_DATABASE_URL= faketime -f '$(FAKE_DATE)' $(PY) -m pytest -q -p no:cacheprovider \
		tests/engine tests/scenarios tests/forms

bench: install
	$(PY) bench/engine_bench.py

clean:
	rm -rf $(VENV) instance *.egg-info node_modules $(VENDOR)
