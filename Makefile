# The two commands of the README: `make demo` and `make test`.
# Both create the virtualenv in .venv on first use and install the project into it, with
# every dependency at the version pinned in constraints.txt (what CI installs too).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint golden constraints clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/digest demo

test: lint
	$(BIN)/pytest

golden: $(STAMP)
	$(BIN)/python tests/publish/test_render_golden.py --regenerate

lint: $(STAMP)
	$(BIN)/ruff check digest tests benchmarks
	$(BIN)/ruff format --check digest tests benchmarks
	$(BIN)/mypy
	$(BIN)/lint-imports

# Re-pin every dependency to its newest release allowed by pyproject.toml, in a throwaway
# virtualenv; review the diff of constraints.txt, run `make test`, regenerate golden files
# only if the test shows a change you have looked at, then commit.
constraints:
	rm -rf .venv-constraints
	$(PYTHON) -m venv .venv-constraints
	.venv-constraints/bin/python -m pip install --quiet --upgrade pip
	.venv-constraints/bin/python -m pip install --quiet '.[test,bench]'
	{ echo "# Pinned versions of every dependency (make constraints regenerates this file)."; \
	  .venv-constraints/bin/python -m pip freeze --exclude alliance-digest; } > constraints.txt
	rm -rf .venv-constraints

clean:
	rm -rf $(VENV) demo site .digest tests/artifacts
