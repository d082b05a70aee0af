# Two commands: `make run` (the app on the embedded default) and `make test`;
# `make bench` measures it (README «Benchmark»), `make lint` runs ruff,
# `make lock` recompiles the dependency lock (README «Development»).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin

# The lock (requirements.txt, requirements-dev.txt) is compiled from the
# direct dependencies (requirements.in, requirements-dev.in) by pip-tools, kept
# in a venv of its own so that its dependencies never mix with the app's.
PIP_TOOLS := pip-tools==7.6.2
LOCK_BIN := $(VENV)/lock-tools/bin
# Against PyPI alone: a machine's own pip settings (mirrors, find-links,
# constraints) must not leak into the lock or its hashes.
LOCK_ENV := env -u PIP_INDEX_URL -u PIP_EXTRA_INDEX_URL -u PIP_FIND_LINKS -u PIP_CONSTRAINT PIP_CONFIG_FILE=/dev/null
PIP_COMPILE := $(LOCK_ENV) $(LOCK_BIN)/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras \
	--no-emit-index-url --no-emit-find-links $(LOCK_ARGS)

.PHONY: run test lint lock bench worker web clean

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

## Lint and import order (settings in pyproject.toml); `.venv/bin/ruff check --fix .` fixes what it safely can.
lint: $(VENV)/.dev
	$(BIN)/ruff check .

## Recompile the lock after editing requirements*.in (needs PyPI). Pins of packages
## not touched by the edit are kept; LOCK_ARGS=--upgrade moves every package to its newest.
lock:
	test -x $(LOCK_BIN)/python || $(PYTHON) -m venv $(VENV)/lock-tools
	$(LOCK_BIN)/pip install -q $(PIP_TOOLS)
	$(PIP_COMPILE) --output-file requirements.txt requirements.in
	$(PIP_COMPILE) --output-file requirements-dev.txt requirements-dev.in

## Benchmark: prints a table, writes bench-results.json. BENCH_ARGS="--db postgres", "--db both", "--quick".
bench: $(VENV)/.dev
	@command -v wrk >/dev/null || echo "* wrk is not installed: intake will be measured with a slower Python load generator (Debian: apt-get install -y wrk)"
	$(BIN)/python -m bench.run $(BENCH_ARGS)

## The web process alone (development server), on HOST:PORT like `make run`.
web: $(VENV)/.runtime
	$(BIN)/flask --app app run --host "$${HOST:-127.0.0.1}" --port "$${PORT:-8000}"

worker: $(VENV)/.runtime
	$(BIN)/python worker.py

clean:
	rm -rf $(VENV) .pytest_cache test-output
