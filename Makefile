# The verbs a user types. Every target sets up the virtual environment first, so a fresh
# clone needs only python3 and make.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# two workers per core, as many tests wait on a server, a timeout or a subprocess; a test file
# stays on one worker, so its module-wide fixtures (a built warehouse, a server) are made once
PYTEST_ARGS ?= -n $(shell $(PYTHON) -c "import os; print(2 * (os.cpu_count() or 1))") --dist loadfile

.PHONY: run test sandbox models docs notebook bench bench-quick bench-scale backtest lint format clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev,postgres]"
	@touch $(STAMP)

## run: load the sandbox (or the configured API) into DuckDB and build the models
run: $(STAMP)
	$(BIN)/symetrisk run

## test: the whole test suite, two workers per core (exit code 5, "no tests collected", counts
## as a failure). PYTEST_ARGS replaces the default: make test PYTEST_ARGS="-n 0 -x"
test: $(STAMP)
	$(BIN)/ruff check pipelines tests bench
	$(BIN)/ruff format --check pipelines tests bench
	@$(BIN)/python -m pytest $(PYTEST_ARGS); rc=$$?; \
	  if [ $$rc -eq 5 ]; then echo "pytest collected no tests: failing"; exit 1; fi; exit $$rc

## sandbox: start the local Symetrisk API on http://127.0.0.1:8765
sandbox: $(STAMP)
	$(BIN)/symetrisk sandbox

## models: rebuild the SQL models in the existing warehouse
models: $(STAMP)
	$(BIN)/symetrisk models

## docs: dbt's docs site of the models (lineage, every column with its formula) in data/dbt-docs
docs: $(STAMP)
	@test -f data/symetrisk.duckdb || $(BIN)/symetrisk run
	$(BIN)/symetrisk models --docs data/dbt-docs

## notebook: build the sandbox warehouse if missing, then open the notebook in Jupyter
notebook: $(STAMP)
	$(BIN)/python -m pip install --quiet -e ".[dev,notebook]"
	@test -f data/symetrisk.duckdb || $(BIN)/symetrisk run
	$(BIN)/jupyter lab notebooks/credit_trends.ipynb

## bench: full and incremental loads of 10,000 borrowers x 100 months against the sandbox
bench: $(STAMP)
	$(BIN)/python -m bench.run --borrowers 10000 --months 100 --also-borrowers 1000

## bench-quick: the same at 1,000 borrowers
bench-quick: $(STAMP)
	$(BIN)/python -m bench.run --borrowers 1000 --months 100

## bench-scale: every step at a large portfolio (not in CI; 33 min with SCALE_ARGS=--no-floor, some 20 GB of disk
## at the default 100,000 borrowers x 100 months): make bench-scale BORROWERS=30000 MONTHS=100
BORROWERS ?= 100000
MONTHS ?= 100
bench-scale: $(STAMP)
	$(BIN)/python -m bench.scale --borrowers $(BORROWERS) --months $(MONTHS) $(SCALE_ARGS)

## backtest: `symetrisk backtest` on the sandbox's truth, exported as a bank's defaults file
## (1,000 borrowers x 36, 48 and 100 months on seeds 606, 707, 808, never used for tuning)
backtest: $(STAMP)
	$(BIN)/python -m bench.backtest --borrowers 1000

lint: $(STAMP)
	$(BIN)/ruff check pipelines tests bench
	$(BIN)/ruff format --check pipelines tests bench

format: $(STAMP)
	$(BIN)/ruff check --fix pipelines tests bench
	$(BIN)/ruff format pipelines tests bench

clean:
	rm -rf $(VENV) data .pytest_cache .ruff_cache
