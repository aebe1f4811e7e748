# Every target sets up .venv itself, so a fresh machine needs only python3 and make.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: run test soak lint bench format clean schema

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	STACKCHAIN_CONFIG=$${STACKCHAIN_CONFIG:-config/stacks.yaml} $(BIN)/stackchain serve

test: $(STAMP)
	$(BIN)/pytest

# The fault simulation (tests/simulation) with fresh seeds for SOAK_MINUTES; failures print
# the seed and the command that replays it.
SOAK_MINUTES ?= 60
soak: $(STAMP)
	STACKCHAIN_SIM_MINUTES=$(SOAK_MINUTES) $(BIN)/pytest tests/simulation -k soak

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/mypy tests bench

bench: $(STAMP)
	$(BIN)/python -m bench

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache .stackchain

# The JSON Schema of config/stacks.yaml, generated from the models (a test fails when it is stale).
schema: $(STAMP)
	$(BIN)/python -m app.stackfile.schema > config/stacks.schema.json
