# OneThing — the two commands people need are `make demo` and `make test`.
# Each installs what it needs into .venv on a fresh machine.

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat setup.cfg pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: install demo test test-fast bench clean

$(STAMP): setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

install: $(STAMP)

demo: install
	$(VENV)/bin/onething db upgrade
	$(VENV)/bin/onething deploy
	$(VENV)/bin/onething demo
	$(VENV)/bin/onething serve --host 127.0.0.1 --port 5000

test: install
	$(PY) -m pytest -q -p no:cacheprovider $(PYTEST_ARGS)

bench: install
	$(PY) bench/engine_bench.py

clean:
	rm -rf $(VENV) instance *.egg-info
