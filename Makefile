# Duress: the two commands a newcomer needs are `make demo` and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# The location engine's hot modules compiled with mypyc (setup.py, docs/decisions/0016): built by
# every install, rebuilt when these sources change, before the tests, the demo and the benchmarks.
# Without a C compiler the pure-Python modules run; so do they when a source changed since the
# build and nothing rebuilt it (duress._native checks), so stale compiled code never runs.
NATIVE := $(VENV)/.native
ENGINE_SOURCES := setup.py src/duress/_native.py src/duress/domain/location.py src/duress/domain/area_index.py src/duress/domain/ble_grid.py src/duress/domain/ir_supervision.py
ENGINE_STATUS := $(PY) -c "from duress import _native; s = _native.status(); print('location engine:', s['engine'], '-', s['reason'])"

.PHONY: demo test lint typecheck contracts unit bench native system-packages clean

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@$(ENGINE_STATUS)
	touch $(STAMP) $(NATIVE)

$(NATIVE): $(STAMP) $(ENGINE_SOURCES)
	$(PY) -m pip install --quiet --no-deps -e .
	@$(ENGINE_STATUS)
	touch $(NATIVE)

# Rebuild the compiled location engine now if its sources changed (`make -B native`: in any case).
native: $(NATIVE)

# System packages some features need (Graphviz for routing diagrams, Chromium for browser tests).
# Installed only when missing and only where we may (root with apt-get).
system-packages:
	@missing=""; \
	command -v dot >/dev/null 2>&1 || missing="$$missing graphviz"; \
	[ -x /usr/bin/chromium ] || missing="$$missing chromium"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing system packages:$$missing"; \
	    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else \
	    echo "note: please install$$missing with your package manager"; \
	  fi; \
	fi

demo: $(NATIVE)
	$(VENV)/bin/duress demo

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests benchmarks setup.py
	$(VENV)/bin/ruff format --check src tests benchmarks setup.py

typecheck: $(STAMP)
	$(VENV)/bin/mypy

contracts: $(STAMP)
	$(VENV)/bin/lint-imports

unit: $(NATIVE)
	$(VENV)/bin/pytest -q

test: $(STAMP) system-packages lint typecheck contracts unit

# The latency benchmark runs Prometheus Alertmanager side by side (Debian package
# prometheus-alertmanager); installed only when missing and only where we may (root with apt-get).
bench: $(NATIVE)
	@command -v prometheus-alertmanager >/dev/null 2>&1 || command -v alertmanager >/dev/null 2>&1 || \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "installing system packages: prometheus-alertmanager"; \
	  apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus-alertmanager >/dev/null \
	    || echo "note: could not install prometheus-alertmanager; the latency benchmark will run without it"; \
	else \
	  echo "note: please install prometheus-alertmanager with your package manager (the latency benchmark compares against it)"; \
	fi
	$(PY) -m benchmarks

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache build src/duress/_native_build.json
	find src -name '*.so' -delete
