# Two entry points for people: `make demo` and `make test`. Everything else serves them.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
BASE_STAMP := $(VENV)/.base-stamp
STAMP := $(VENV)/.installed-stamp
APT_PACKAGES := wrk nginx-light haproxy prometheus chromium

.PHONY: demo test lint typecheck unit bench sysdeps venv clean

venv: $(STAMP)

# What Tether itself needs (the demo); the test and benchmark tools come on top.
$(BASE_STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c constraints.txt -e .
	touch $(BASE_STAMP)

$(STAMP): $(BASE_STAMP)
	$(PY) -m pip install -q -c constraints.txt -e '.[test,bench]'
	touch $(STAMP)

demo: $(BASE_STAMP)
	$(VENV)/bin/tether demo

# As root (CI) the system tools the tests use are installed from Debian.
sysdeps:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null; then \
	    echo "installing:$$missing"; apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else echo "not root: tests needing$$missing will skip (or fail under CI=true)"; fi; \
	fi

lint: venv
	$(VENV)/bin/ruff check src tests benchmarks

typecheck: venv
	$(VENV)/bin/mypy

unit: venv
	$(VENV)/bin/pytest -q -m "not e2e"

test: venv sysdeps lint typecheck
	$(VENV)/bin/pytest -q

bench: venv sysdeps
	$(PY) benchmarks/proxy.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
