# make run: serve on http://127.0.0.1:8080 from a fresh clone.  make test: the whole suite.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test fuzz messages clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.installed: $(BIN)/python setup.cfg pyproject.toml
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed tests/browser/node_modules/.installed
	$(BIN)/pip install -q -e '.[test]'
	touch $@

# axe-core, injected into pages by the browser tests (accessibility checks); needs npm.
tests/browser/node_modules/.installed: tests/browser/package.json tests/browser/package-lock.json
	cd tests/browser && npm ci --no-audit --no-fund --silent
	touch $@

run: $(VENV)/.installed
	$(BIN)/fync serve

test: $(VENV)/.installed-test
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

# make fuzz: the long run of the fuzzers CI runs briefly (schemathesis against the OpenAPI
# document, hypothesis on the parsers), with a random seed. FUZZ_EXAMPLES=N per operation/property.
FUZZ_EXAMPLES ?= 1000
fuzz: $(VENV)/.installed-test
	FYNC_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(BIN)/python -m pytest -q -s -p no:cacheprovider \
		tests/test_fuzz.py tests/test_properties.py $(PYTEST_ARGS)

# make messages: extract the translatable strings (code and templates) into locale/fync.pot,
# merge them into each language's .po, compile the .mo. Translate what is new, then run it again.
messages: $(VENV)/.installed-test
	$(BIN)/python tools/i18n.py extract update compile

clean:
	rm -rf $(VENV) build *.egg-info
