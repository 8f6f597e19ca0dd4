# Two commands: `make run` and `make test`. Everything else they need, they do themselves.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.install-stamp
RUN_STAMP := $(VENV)/.run-stamp

.PHONY: run test lint typecheck unit bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# `make run` needs only the service's own dependencies; `make test` adds the dev tools.
$(RUN_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e .
	touch $(RUN_STAMP)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(STAMP) $(RUN_STAMP)

install: $(STAMP)

# Runs the whole service in the foreground. Without SYNDICATE_API_TOKENS a token is made and printed.
run: $(RUN_STAMP)
	@if [ -z "$$SYNDICATE_API_TOKENS" ]; then \
	  mkdir -p var; \
	  [ -s var/api-token ] || $(BIN)/python -c "import secrets; print(secrets.token_urlsafe(24))" > var/api-token; \
	  echo "API token (write endpoints): $$(cat var/api-token)"; \
	  SYNDICATE_API_TOKENS=$$(cat var/api-token) exec $(BIN)/syndicate up; \
	else exec $(BIN)/syndicate up; fi

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

test: lint typecheck
	$(BIN)/pytest

unit: $(STAMP)
	$(BIN)/pytest tests/unit

bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) var .mypy_cache .ruff_cache .pytest_cache
