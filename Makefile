# Emberwatch: `make run` starts the service, `make test` runs lint, types and tests.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8000
# The console's slippy map, from the npm registry at build time (skipped without npm).
LEAFLET := api/static/vendor/leaflet/leaflet.js

.PHONY: run test lint typecheck pytest system-deps train train-temporal train-change refit judge bench-clips clean

$(BIN)/python:
	@$(PYTHON) -m venv $(VENV) 2>/dev/null || { scripts/system-deps.sh run && $(PYTHON) -m venv $(VENV); }
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.run-deps: pyproject.toml | $(BIN)/python $(LEAFLET)
	$(BIN)/pip install -q -e .
	@touch $@

$(LEAFLET): scripts/vendor-leaflet.sh
	scripts/vendor-leaflet.sh

$(VENV)/.test-deps: pyproject.toml $(VENV)/.run-deps
	$(BIN)/pip install -q -e '.[test]'
	@touch $@

$(VENV)/.train-deps: pyproject.toml $(VENV)/.run-deps
	$(BIN)/pip install -q -e '.[train]'
	@touch $@

run: $(VENV)/.run-deps
	$(BIN)/emberwatch serve --host $(HOST) --port $(PORT) $(if $(CONFIG),--config $(CONFIG),)

system-deps:
	scripts/system-deps.sh test

lint: $(VENV)/.test-deps
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

typecheck: $(VENV)/.test-deps
	$(BIN)/mypy

pytest: system-deps $(VENV)/.test-deps
	$(BIN)/pytest $(PYTEST_ARGS)

test: lint typecheck pytest

train: $(VENV)/.train-deps
	$(BIN)/python -m models.training.train $(TRAIN_ARGS)

# The temporal model (tile + the same tile minutes earlier), trained on composited sequences.
train-temporal: $(VENV)/.train-deps
	$(BIN)/python -m models.training.train_temporal $(TEMPORAL_ARGS)

# A temporal last layer on the default network (tile features and their change), composited pairs.
train-change: $(VENV)/.train-deps
	$(BIN)/python -m models.training.change_head $(CHANGE_ARGS)

# A network's last layer learnt again with frames of another camera network, judged leave one
# camera out: make refit REFIT_ARGS="--name ember-tiles-v4 --out models/ember-tiles-v4"
refit: $(VENV)/.train-deps
	$(BIN)/python -m models.training.refit $(or $(MODEL),models/ember-tiles-v3) $(REFIT_ARGS)

# One protocol for any model directory: MODEL=models/ember-tiles-v3 make judge
judge: $(VENV)/.train-deps
	$(BIN)/python -m models.training.judge $(or $(MODEL),models/ember-tiles-v4) $(JUDGE_ARGS)

bench-clips: $(VENV)/.run-deps
	$(BIN)/emberwatch bench clips ../shared/data/clips/dev/clips.csv --out bench-out/clips

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache api/static/vendor
