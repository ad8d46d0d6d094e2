# Every target builds .venv on a fresh clone first; ENV picks the params file.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
ENV    ?= local
STAMP  := $(VENV)/.installed-stamp
STACKGEN := $(BIN)/stackgen
# Hash-pinned locks (made by `make lock`): installs take exactly these versions, so a
# release upstream cannot turn a fresh clone red. pyproject.toml keeps the honest ranges.
LOCK          := requirements/dev.txt
SECURITY_LOCK := requirements/security.txt
PIP_LOCKED    := python -m pip install --quiet --require-hashes --no-deps
# checkov in a venv of its own, from its own lock: its pins (boto3 1.35, packaging 23)
# conflict with ours.
SECURITY_VENV  := .venv-security
SECURITY_STAMP := $(SECURITY_VENV)/.lock-stamp

.PHONY: install lock render lint plan deploy delete status outputs test test-fast golden schema docs docs-check bench \
        local-up local-down local-status check clean security postgres

# A new lock makes a new venv, so the venv holds the lock and nothing else.
$(VENV)/.lock-stamp: $(LOCK)
	rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/$(PIP_LOCKED) -r $(LOCK)
	touch $@

# The project itself, without its dependencies (the lock has them) and without build
# isolation (setuptools comes from the lock too). compat mode: a plain .pth path, which
# imports faster than the finder hook.
# The generator's bytecode is written here too: pip compiles only what it copies, and a
# shell with PYTHONDONTWRITEBYTECODE set would compile ~30 modules from source in every
# run (~60 ms of a render's 0.2 s).
$(STAMP): $(VENV)/.lock-stamp pyproject.toml
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation \
		--config-settings editable_mode=compat -e .
	$(BIN)/python -m compileall -q generator
	touch $(STAMP)

# Said once, after the first install or deploy: make's commands are not on PATH.
TOLD := $(VENV)/.told-where
TELL_WHERE = test -f $(TOLD) || { echo "stackgen is installed at $(STACKGEN): run it by that path, or '. $(BIN)/activate' to have 'stackgen' on PATH in this shell"; touch $(TOLD); }

install: $(STAMP)
	@$(TELL_WHERE)

# Refresh every lock to the newest versions pyproject.toml's ranges allow; review the
# diff like code (the scheduled lock-refresh workflow opens it as a pull request).
UV_COMPILE = $(BIN)/uv pip compile --quiet --upgrade --universal --python-version 3.11 \
	--generate-hashes --custom-compile-command 'make lock'
lock: $(STAMP)
	$(UV_COMPILE) pyproject.toml requirements/tools.in --extra dev -o $(LOCK)
	$(UV_COMPILE) pyproject.toml -c $(LOCK) -o requirements/runtime.txt
	$(UV_COMPILE) requirements/security.in -o $(SECURITY_LOCK)

render: $(STAMP)
	$(STACKGEN) render --env $(ENV)

lint: $(STAMP)
	$(STACKGEN) lint --all-envs --strict

# The local endpoint's RDS instances are real PostgreSQL servers (docs/local-endpoint.md):
# Debian's server binaries, installed here when missing and root may apt-get.
postgres:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || [ -n "$$STACKGEN_PG_BINDIR" ] || \
	  { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
	    echo "installing PostgreSQL (the local endpoint's RDS)" && \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; } || \
	  { echo "the local endpoint needs PostgreSQL's server: apt-get install postgresql" >&2; exit 2; }

# The local env deploys to the local endpoint, started here when not running.
local-up: $(STAMP) postgres
	$(STACKGEN) local up

local-down: $(STAMP)
	$(STACKGEN) local down

local-status: $(STAMP)
	$(STACKGEN) local status

# ENV=local starts the local endpoint here when not running and needs no
# confirmation; the env's `target: local` makes stackgen find the endpoint and use
# throw-away credentials itself (it never falls through to a real account).
ifeq ($(ENV),local)
WITH_AWS = $(MAKE) -s postgres && $(STACKGEN) local up --print-url >/dev/null || exit 1;
AUTO_YES = --yes
endif

plan: $(STAMP)
	@$(WITH_AWS) $(STACKGEN) plan --env $(ENV)

deploy: $(STAMP)
	@$(WITH_AWS) $(STACKGEN) deploy --env $(ENV) $(AUTO_YES)
	@$(TELL_WHERE)

delete: $(STAMP)
	@$(WITH_AWS) $(STACKGEN) delete --env $(ENV) $(AUTO_YES)

status: $(STAMP)
	@$(WITH_AWS) $(STACKGEN) status --env $(ENV)

outputs: $(STAMP)
	@$(WITH_AWS) $(STACKGEN) outputs --env $(ENV)

check: $(STAMP)
	$(BIN)/ruff check generator tests bench
	$(BIN)/mypy

# CI's gate: the suite, with static checks, the docs check, every shipped env linted (zero
# errors) and checkov's second opinion among its tests (tests/e2e/test_gates.py runs each
# of those targets beside the others instead of before them).
# Workers: each starts its own local endpoint; more than the cores, since most of a test
# is waiting on one. `make test PYTEST_WORKERS=0` runs in one process.
# The two venvs install side by side on a fresh clone (each ~55 s, mostly pip's CPU: 78 s
# together on 2 cores against 108 s one after the other).
PYTEST_WORKERS ?= 3
test:
	@$(MAKE) -s --no-print-directory -j2 $(STAMP) $(SECURITY_STAMP)
	$(BIN)/pytest -n $(PYTEST_WORKERS)

# The in-process tiers, tests/unit/ and tests/cli/, in one process (no workers: starting
# them costs more than they save here): no endpoint, no socket, no subprocess (tests/tiers.py
# refuses them). tests/local/ and tests/e2e/ are only collected by `make test`.
test-fast: $(STAMP)
	$(BIN)/pytest -p no:xdist tests/unit tests/cli

# checkov's venv (SECURITY_VENV above), from its own lock.
$(SECURITY_STAMP): $(SECURITY_LOCK)
	rm -rf $(SECURITY_VENV)
	$(PYTHON) -m venv $(SECURITY_VENV)
	$(SECURITY_VENV)/bin/$(PIP_LOCKED) -r $(SECURITY_LOCK)
	touch $(SECURITY_STAMP)

# Every env's rendered templates through checkov: a failed check, a skip without a
# reason, or a skip missing from README's table of deliberate choices fails.
security: $(STAMP) $(SECURITY_STAMP)
	$(BIN)/python -m generator.security --checkov $(SECURITY_VENV)/bin/checkov

# Rewrite tests/golden/ from the current templates; review the diff before committing.
golden: $(STAMP)
	STACKGEN_UPDATE_GOLDEN=1 $(BIN)/pytest tests/cli/test_golden.py tests/cli/test_review_snapshots.py -q

# Regenerate params/schema.json and the params reference in docs/params.md.
schema docs: $(STAMP)
	$(STACKGEN) schema --out params/schema.json
	$(BIN)/python -m generator.schema docs/params.md

# CI: one line per generated file that `make docs` would change (the schema by meaning,
# docs/params.md's params reference by text), and a failure; nothing is rewritten.
docs-check: $(STAMP)
	@$(BIN)/python -m generator.schema --check docs/params.md params/schema.json

# The headline figures in one table beside the previous commit's (bench/last.json);
# bench/*.py each run alone for the detail (BENCH_SCEPTRE: Sceptre's columns).
bench: $(STAMP)
	$(BIN)/python bench/figures.py

clean:
	rm -rf build .stackgen
