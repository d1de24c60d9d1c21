# The README's two commands: `make run` and `make test`. Both bootstrap .venv themselves.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
# Integration tests run on real PostgreSQL as well as SQLite (trust auth on localhost).
ZHIDA_TEST_DATABASE_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test
export ZHIDA_TEST_DATABASE_URL

.PHONY: run test lint bench clean

$(STAMP): pyproject.toml constraints.txt src/zhida/web/assets.json
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check --upgrade "pip>=24"
	$(BIN)/python -m pip install -q --disable-pip-version-check -c constraints.txt -e ".[dev,bench]"
	$(BIN)/python -m zhida.web.assets
	touch $(STAMP)

## Set everything up, run the main job on embedded defaults (demo city × policy pack), then serve
## the web app on http://127.0.0.1:8000 (the demo accounts are printed by `zhida run`).
run: $(STAMP)
	$(BIN)/zhida run
	$(BIN)/zhida serve

## Static checks, then the whole test suite (unit, integration incl. PostgreSQL, e2e, policy cases).
test: $(STAMP) lint
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/zhida policy lint policies/

bench: $(STAMP)
	$(BIN)/python bench/rules.py --enterprises 230000 --clauses 4314

clean:
	rm -rf $(VENV) .zhida .pytest_cache .mypy_cache .ruff_cache
