# LeptoGuide: `make run` and `make test` do all set-up on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup run test lint typecheck unit demo clean schema

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip setuptools wheel
	$(BIN)/pip install --quiet -e '.[test,batch,spark]'
	@touch $(STAMP)

AXE := .cache/axe/node_modules/axe-core/axe.min.js

setup: $(STAMP)
	@if [ ! -f $(AXE) ] && command -v npm >/dev/null 2>&1; then \
		npm install --silent --no-audit --no-fund --prefix .cache/axe axe-core@4; fi
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
TEST_WORKERS ?= 2

unit: $(STAMP)
	$(BIN)/pytest -q -n $(TEST_WORKERS) --dist loadscope --cov --cov-report=term

test: setup lint typecheck unit

schema: $(STAMP)
	$(BIN)/python -c 'from leptoguide.assessment import schema_text; print(schema_text(), end="")' > docs/assessment.schema.json

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
