# Every target builds .venv on a fresh clone first; ENV picks the params file.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
ENV    ?= local
STAMP  := $(VENV)/.installed-stamp
STACKGEN := $(BIN)/stackgen

.PHONY: install render lint plan deploy delete status test golden schema docs bench \
        local-up local-down local-status check clean

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
	$(STACKGEN) lint --all-envs

# The local env deploys to the local endpoint, started here when not running.
local-up: $(STAMP)
	$(STACKGEN) local up

local-down: $(STAMP)
	$(STACKGEN) local down

local-status: $(STAMP)
	$(STACKGEN) local status

LOCAL_ENDPOINT = $(if $(filter local,$(ENV)),$$($(STACKGEN) local up --print-url),)
AUTO_YES = $(if $(filter local,$(ENV)),--yes,)

plan: $(STAMP)
	AWS_ENDPOINT_URL=$(LOCAL_ENDPOINT) $(STACKGEN) plan --env $(ENV)

deploy: $(STAMP)
	AWS_ENDPOINT_URL=$(LOCAL_ENDPOINT) $(STACKGEN) deploy --env $(ENV) $(AUTO_YES)

delete: $(STAMP)
	AWS_ENDPOINT_URL=$(LOCAL_ENDPOINT) $(STACKGEN) delete --env $(ENV) $(AUTO_YES)

status: $(STAMP)
	AWS_ENDPOINT_URL=$(LOCAL_ENDPOINT) $(STACKGEN) status --env $(ENV)

check: $(STAMP)
	$(BIN)/ruff check generator tests bench
	$(BIN)/mypy

test: $(STAMP) check
	$(BIN)/pytest

# Rewrite tests/golden/ from the current templates; review the diff before committing.
golden: $(STAMP)
	STACKGEN_UPDATE_GOLDEN=1 $(BIN)/pytest tests/test_golden.py -q

# Regenerate params/schema.json and the params reference in README.md.
schema docs: $(STAMP)
	$(STACKGEN) schema --out params/schema.json
	$(BIN)/python -m generator.schema README.md

bench: $(STAMP)
	$(BIN)/python bench/render_bench.py

clean:
	rm -rf build .stackgen
