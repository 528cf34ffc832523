# 件件有着落 — build, run and test. `make run` and `make test` are all a fresh machine needs.
SHELL := /bin/bash
.DEFAULT_GOAL := run

# Python 3.11 for the app, 3.10 for Rasa 3.6; pyenv versions are found, not hard-coded.
PY311 ?= $(shell ls -d $$HOME/.pyenv/versions/3.11.*/bin/python3.11 2>/dev/null | sort -V | tail -1 || true)
PY311 := $(or $(PY311),$(shell command -v python3.11))
PY310 ?= $(shell ls -d $$HOME/.pyenv/versions/3.10.*/bin/python3.10 2>/dev/null | sort -V | tail -1 || true)
PY310 := $(or $(PY310),$(shell command -v python3.10))

APP := .venv/app
RASA := .venv/rasa
APP_STAMP := $(APP)/.installed
RASA_STAMP := $(RASA)/.installed
MODEL := models/current.tar.gz
RASA_INPUTS := config.yml domain.yml rasa_tools/components.py data/services.yml $(shell find data/nlu data/jieba data/rules.yml data/stories.yml -type f 2>/dev/null)

.PHONY: run test bench deps app-env rasa-env model db clean ci-services lint

deps: $(APP_STAMP) $(RASA_STAMP)

$(APP_STAMP): requirements/app.txt requirements/dev.txt requirements/app.lock pyproject.toml
	@test -n "$(PY311)" || { echo "Python 3.11 not found (looked in ~/.pyenv/versions and PATH)"; exit 1; }
	@test -x $(APP)/bin/python || $(PY311) -m venv $(APP)
	$(APP)/bin/pip install -q --disable-pip-version-check -r requirements/dev.txt -c requirements/app.lock
	$(APP)/bin/pip install -q --disable-pip-version-check --no-deps -e .
	@touch $@

$(RASA_STAMP): requirements/rasa.txt requirements/rasa.lock
	@test -n "$(PY310)" || { echo "Python 3.10 not found: Rasa 3.6 needs it (pyenv install 3.10)"; exit 1; }
	@test -x $(RASA)/bin/python || $(PY310) -m venv $(RASA)
	$(RASA)/bin/pip install -q --disable-pip-version-check -r requirements/rasa.txt -c requirements/rasa.lock
	@touch $@

app-env: $(APP_STAMP)
rasa-env: $(RASA_STAMP)

db: $(APP_STAMP)
	$(APP)/bin/bot db upgrade

model: $(MODEL)
$(MODEL): $(RASA_STAMP) $(RASA_INPUTS)
	@mkdir -p models
	scripts/train.sh $(MODEL)

run: deps model
	$(APP)/bin/bot run

test: deps model
	scripts/test.sh

bench: deps db model
	$(APP)/bin/python -m bench.cases
	$(APP)/bin/python -m bench.console
	$(APP)/bin/python -m bench.console_http
	$(APP)/bin/python -m bench.nlu
	$(APP)/bin/python -m bench.case_type
	$(APP)/bin/python -m bench.train_history
	$(APP)/bin/python -m bench.intake
	$(APP)/bin/python -m bench.telegram_webhook
	$(APP)/bin/python -m bench.push_latency
	$(APP)/bin/python -m bench.hotspots
	$(APP)/bin/python -m bench.supervision
	$(APP)/bin/python -m bench.reply_latency
	$(APP)/bin/python -m bench.open311

# Closed-loop residents through the web chat at 1/10/50/200 concurrent, then a stock Rasa 3.6
# project for comparison (bench/load.py; a few minutes). LOAD_ARGS="--levels 1,50 --no-stock".
.PHONY: bench-load
bench-load: deps model
	$(APP)/bin/python -m bench.load $(LOAD_ARGS)

clean:
	rm -rf .venv models var .pytest_cache .hypothesis

# Longer API fuzzing (schemathesis against the app's OpenAPI schema, random seeds): `make test`
# runs the same suite with 15 examples per operation; FUZZ_EXAMPLES=N to change this one.
.PHONY: fuzz
fuzz: deps
	FUZZ_EXAMPLES=$${FUZZ_EXAMPLES:-1000} FUZZ_RANDOM=1 $(APP)/bin/python -m pytest tests/test_web_fuzz.py tests/test_web_hostile.py tests/test_readers_properties.py -q -s -p no:cacheprovider
