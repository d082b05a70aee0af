# Two commands: `make run` (the app on the embedded default) and `make test`;
# `make bench` measures it (README «Benchmark»).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test bench worker web clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.runtime: requirements.txt | $(BIN)/python
	$(BIN)/pip install -q -r requirements.txt
	touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install -q -r requirements-dev.txt
	touch $@ $(VENV)/.runtime

## Set up and run web + worker at http://127.0.0.1:8000 (SQLite + embedded Redis unless configured).
run: $(VENV)/.runtime
	$(BIN)/python -m notifier.runtime.launcher

## Set up and run the whole test suite.
test: $(VENV)/.dev
	$(BIN)/python -m pytest $(PYTEST_ARGS)

## Benchmark: prints a table, writes bench-results.json. BENCH_ARGS="--db postgres", "--db both", "--quick".
bench: $(VENV)/.dev
	@command -v wrk >/dev/null || echo "* wrk is not installed: intake will be measured with a slower Python load generator (Debian: apt-get install -y wrk)"
	$(BIN)/python -m bench.run $(BENCH_ARGS)

web: $(VENV)/.runtime
	$(BIN)/flask --app app run --port 8000

worker: $(VENV)/.runtime
	$(BIN)/python worker.py

clean:
	rm -rf $(VENV) .pytest_cache test-output
