# Every target sets up .venv itself, so a fresh machine needs only python3 and make.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: run test soak lint bench format clean schema lock

# Every dependency comes from requirements-dev.lock, pinned with hashes; the project itself is
# installed on top without resolving anything again.
$(STAMP): pyproject.toml requirements-dev.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --require-hashes -r requirements-dev.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $(STAMP)

# After a change to pyproject.toml's dependencies: pin them again (the image installs
# requirements.lock, `make` requirements-dev.lock). tests/deploy/test_lock.py checks they agree.
LOCK_FLAGS := --universal --python-version 3.11 --generate-hashes --quiet --custom-compile-command 'make lock'
lock: $(STAMP)
	$(BIN)/uv pip compile pyproject.toml $(LOCK_FLAGS) -o requirements.lock
	$(BIN)/uv pip compile pyproject.toml --extra dev $(LOCK_FLAGS) -o requirements-dev.lock

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
