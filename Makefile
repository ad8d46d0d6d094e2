# Every target builds .venv on a fresh clone first; ENV picks the params file.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
ENV    ?= local
STAMP  := $(VENV)/.installed-stamp
STACKGEN := $(BIN)/stackgen

.PHONY: install render lint plan deploy delete status outputs test golden schema docs bench \
        local-up local-down local-status check clean security postgres

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# compat mode: a plain .pth path, which imports faster than the finder hook
	$(BIN)/python -m pip install --quiet -e '.[dev]' --config-settings editable_mode=compat
	touch $(STAMP)

install: $(STAMP)

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

delete: $(STAMP)
	@$(WITH_AWS) $(STACKGEN) delete --env $(ENV) $(AUTO_YES)

status: $(STAMP)
	@$(WITH_AWS) $(STACKGEN) status --env $(ENV)

outputs: $(STAMP)
	@$(WITH_AWS) $(STACKGEN) outputs --env $(ENV)

check: $(STAMP)
	$(BIN)/ruff check generator tests bench
	$(BIN)/mypy

# CI's gate: static checks, every shipped env linted (zero errors), checkov's second
# opinion, then the suite.
# Workers: each starts its own local endpoint; more than the cores, since most of a test
# is waiting on one. `make test PYTEST_WORKERS=0` runs in one process.
PYTEST_WORKERS ?= 3
test: $(STAMP) check lint security
	$(BIN)/pytest -n $(PYTEST_WORKERS)

# checkov in a venv of its own: its pins (boto3 1.35, packaging 23) conflict with ours.
CHECKOV_VERSION := 3.3.30
SECURITY_VENV := .venv-security
SECURITY_STAMP := $(SECURITY_VENV)/.installed-$(CHECKOV_VERSION)

$(SECURITY_STAMP):
	$(PYTHON) -m venv $(SECURITY_VENV)
	$(SECURITY_VENV)/bin/python -m pip install --quiet 'checkov==$(CHECKOV_VERSION)'
	touch $(SECURITY_STAMP)

# Every env's rendered templates through checkov: a failed check, a skip without a
# reason, or a skip missing from README's table of deliberate choices fails.
security: $(STAMP) $(SECURITY_STAMP)
	$(BIN)/python -m generator.security --checkov $(SECURITY_VENV)/bin/checkov

# Rewrite tests/golden/ from the current templates; review the diff before committing.
golden: $(STAMP)
	STACKGEN_UPDATE_GOLDEN=1 $(BIN)/pytest tests/test_golden.py tests/test_review.py -q

# Regenerate params/schema.json and the params reference in README.md.
schema docs: $(STAMP)
	$(STACKGEN) schema --out params/schema.json
	$(BIN)/python -m generator.schema README.md

bench: $(STAMP)
	$(BIN)/python bench/render_bench.py
	$(BIN)/python bench/lint_bench.py
	$(BIN)/python bench/deploy_bench.py
	$(BIN)/python bench/forecast_bench.py
	$(BIN)/python bench/multi_env.py
	$(BIN)/python bench/makespan.py

clean:
	rm -rf build .stackgen
