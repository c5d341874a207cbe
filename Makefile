# parboard: two commands. `make run` serves the demo; `make test` runs every test, lint and type check.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PYTEST_WORKERS ?= 2  # pytest-xdist processes (each with its own database in the embedded PostgreSQL)
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: run test install lint typecheck pytest mutate bench bench-national bench-national-shape bench-published bench-board bench-upload bench-package bench-rls lock clean-var

# A second copy beside the first: `make run PARBOARD_PORT=8100` (its provider on 8101, its URL on 8100, its
# data under var/copy-8100: each copy's demo provinces sign in through its own provider).
PARBOARD_PORT ?= 8000
PARBOARD_DEV_IDP_PORT ?= $(shell expr $(PARBOARD_PORT) + 1)
PARBOARD_PUBLIC_URL ?= http://127.0.0.1:$(PARBOARD_PORT)
PARBOARD_VAR_DIR ?= $(if $(filter 8000,$(PARBOARD_PORT)),var,var/copy-$(PARBOARD_PORT))

run: $(STAMP)
	PARBOARD_ENV=development PARBOARD_PORT=$(PARBOARD_PORT) PARBOARD_PUBLIC_URL=$(PARBOARD_PUBLIC_URL) \
	  PARBOARD_VAR_DIR=$(PARBOARD_VAR_DIR) \
	  PARBOARD_DEV_IDP_URL=http://127.0.0.1:$(PARBOARD_DEV_IDP_PORT) $(BIN)/parboard demo

test: $(STAMP) lint typecheck pytest

install: $(STAMP)

$(STAMP): requirements.lock requirements-dev.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet -r requirements.lock -r requirements-dev.lock
	$(BIN)/pip install --quiet --no-deps -e .
	touch $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check backend tests migrations
	$(BIN)/ruff format --check backend tests migrations
	$(BIN)/djlint templates --check
	$(BIN)/djlint templates --lint

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	$(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadfile

# Mutation testing of the core's pure scoring (pyproject's [tool.mutmut]); slow, not part of `make test`.
# Every survivor it lists is explained in docs/mutation.md or killed by a new test.
mutate: $(STAMP)
	rm -rf mutants
	$(BIN)/mutmut run
	$(BIN)/mutmut export-cicd-stats && cat mutants/mutmut-cicd-stats.json && echo
	$(BIN)/mutmut results

bench: $(STAMP)
	$(BIN)/python -m tests.benchmarks.tenant_home

bench-national: $(STAMP)
	$(BIN)/python -m tests.benchmarks.national

bench-national-shape: $(STAMP)
	$(BIN)/python -m tests.benchmarks.national_shape

bench-published: $(STAMP)
	$(BIN)/python -m tests.benchmarks.published

bench-board: $(STAMP)
	$(BIN)/python -m tests.benchmarks.board

bench-upload: $(STAMP)
	$(BIN)/python -m tests.benchmarks.upload

bench-package: $(STAMP)
	$(BIN)/python -m tests.benchmarks.package

bench-rls: $(STAMP)
	$(BIN)/python -m tests.benchmarks.rls_session

# Production pins (what the image installs) and the development tools' pins beside them, from one resolution:
# the packages `pip install .` needs go to requirements.lock, the ones `.[dev]` adds to requirements-dev.lock.
lock:
	rm -rf var/lockvenv && $(PYTHON) -m venv var/lockvenv
	var/lockvenv/bin/pip install --quiet -e .
	var/lockvenv/bin/pip freeze --exclude-editable | cut -d= -f1 > var/lockvenv/production-names.txt
	var/lockvenv/bin/pip install --quiet -e ".[dev]"
	var/lockvenv/bin/pip freeze --exclude-editable > var/lockvenv/all.txt
	{ echo "# Pinned dependencies of parboard in production (pip freeze of 'pip install .'): the image installs these only."; \
	  echo "# Development tools are pinned in requirements-dev.lock. Refresh both: make lock"; \
	  grep -E "^($$(paste -sd'|' var/lockvenv/production-names.txt))==" var/lockvenv/all.txt; } > requirements.lock
	{ echo "# Pinned development tools of parboard (tests, lint, types, mutation testing, the browser driver): what"; \
	  echo "# 'pip install -e .[dev]' adds to requirements.lock. \`make install\` installs both. Refresh both: make lock"; \
	  grep -vE "^($$(paste -sd'|' var/lockvenv/production-names.txt))==" var/lockvenv/all.txt; } > requirements-dev.lock
	rm -rf var/lockvenv

clean-var:
	rm -rf var/test var/bench mutants
