# LeptoGuide: `make run` and `make test` do all set-up on a fresh machine.
# The interpreter: Python 3.12 or 3.13 where one runs (on 3.12+ coverage measures through
# sys.monitoring, which costs the tests next to nothing; on 3.11 its tracer makes in-process tests
# cost about 1.5 times their plain time), else pyenv's 3.12, else python3 (3.11 is supported too).
# PYTHON=... on the command line chooses another; the venv is rebuilt when its Python differs.
PYENV_VERSIONS := $(or $(PYENV_ROOT),$(HOME)/.pyenv)/versions
PYTHON_CANDIDATES := python3.12 python3.13 $(wildcard $(PYENV_VERSIONS)/3.12*/bin/python3) python3
ifeq ($(origin PYTHON),undefined)
PYTHON := $(firstword $(foreach p,$(PYTHON_CANDIDATES),$(shell $(p) -c 'import sys; print(sys.executable if sys.version_info >= (3, 11) else "")' 2>/dev/null)) python3)
endif
PY_VERSION := $(shell $(PYTHON) -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(PY_VERSION)

# coverage's sys.monitoring core (Python 3.12+); 3.11 keeps the default tracer.
ifeq ($(shell $(PYTHON) -c 'import sys; print(int(sys.version_info >= (3, 12)))' 2>/dev/null),1)
export COVERAGE_CORE ?= sysmon
endif

.PHONY: setup axe knowledge run test lint typecheck unit unit-workers unit-schemathesis coverage-report demo clean schema

$(STAMP): pyproject.toml
	@if [ -x $(BIN)/python ] && [ "$$($(BIN)/python -c 'import sys; print("%d.%d" % sys.version_info[:2])')" != "$(PY_VERSION)" ]; then \
		echo "$(VENV) is not Python $(PY_VERSION): rebuilding it"; rm -rf $(VENV); fi
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip setuptools wheel
	$(BIN)/pip install --quiet -e '.[test,batch,spark]'
	@touch $(STAMP)

AXE := .cache/axe/node_modules/axe-core/axe.min.js

setup: axe knowledge

# axe-core for the browser tests' accessibility checks (installed once, when npm is there)
axe: $(STAMP)
	@if [ ! -f $(AXE) ] && command -v npm >/dev/null 2>&1; then \
		npm install --silent --no-audit --no-fund --prefix .cache/axe axe-core@4; fi

# the knowledge base checked, compiled into its snapshot, and its statement index built
knowledge: $(STAMP)
	$(BIN)/leptoguide kb validate
	$(BIN)/leptoguide kb snapshot
	@if $(BIN)/leptoguide --help | grep -q ' index '; then $(BIN)/leptoguide index build --quiet; fi

run: setup
	@if $(BIN)/leptoguide --help | grep -q ' serve '; then \
		$(BIN)/leptoguide serve --host 127.0.0.1 --port 8000; \
	else \
		$(BIN)/leptoguide kb stats; \
	fi

lint: $(STAMP)
	$(BIN)/ruff check --no-cache src tests benchmarks
	$(BIN)/ruff format --no-cache --check src tests benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy

# Two workers (pytest-xdist), whole modules per worker so module and session set-ups (servers,
# browser, Spark, PostgreSQL) start once per worker; TEST_WORKERS=0 runs in one process.
# The schemathesis tests run in a process of their own: they give every API operation the same test
# id, and xdist hands tests to workers by id (all but one operation would be dropped); the
# workers' run does not load the schemathesis plugin at all.
# `make test` runs ruff (a second), then the knowledge check (validate, snapshot, index: the
# `make setup` steps after the install, about 3 s that used to come before everything), mypy, the
# workers' run and the schemathesis run side by side (make -j4: one process each; a run's output
# is printed whole when it ends), then one coverage report over both test runs. Side by side, the
# knowledge check, mypy and the single-process schemathesis run use the CPU the workers leave idle
# while they start, collect, and wait for servers, browsers and Spark. (The tests do not wait for
# the snapshot or index: each session builds its own, and a process that finds the snapshot
# missing builds it; snapshots are written whole, by rename.)
# Bytecode is cached even where PYTHONDONTWRITEBYTECODE is set: the tests start many Python
# processes, and each would compile the package (and pytest rewrite the test modules) again.
unexport PYTHONDONTWRITEBYTECODE
TEST_WORKERS ?= 2
SCHEMA_TESTS := tests/test_schemathesis.py
SCHEMA_COVERAGE := .cache/coverage/schemathesis
SIDE_BY_SIDE := $(MAKE) --no-print-directory -j4 --output-sync=target

unit-workers: $(STAMP)
	$(BIN)/pytest -q -n $(TEST_WORKERS) --dist loadscope -p no:schemathesis --ignore $(SCHEMA_TESTS) \
		--cov --cov-report=

unit-schemathesis: $(STAMP)
	@mkdir -p $(dir $(SCHEMA_COVERAGE))
	COVERAGE_FILE=$(SCHEMA_COVERAGE) $(BIN)/pytest -q $(SCHEMA_TESTS) --cov --cov-report=

coverage-report:
	$(BIN)/coverage combine --append --keep -q $(SCHEMA_COVERAGE)
	$(BIN)/coverage report

unit: $(STAMP)
	@$(SIDE_BY_SIDE) unit-workers unit-schemathesis
	@$(MAKE) --no-print-directory coverage-report

test: axe lint
	@$(SIDE_BY_SIDE) unit-workers unit-schemathesis typecheck knowledge
	@$(MAKE) --no-print-directory coverage-report

schema: $(STAMP)
	$(BIN)/python -c 'from leptoguide.assessment import schema_text; print(schema_text(), end="")' > docs/assessment.schema.json

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
