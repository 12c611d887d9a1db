# The two commands: `make run` and `make test`. Everything else is what they stand on.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint typecheck pytest pytest-any-hour install lock bench clean

run: $(STAMP)
	$(BIN)/tequio migrate
	$(BIN)/tequio demo --if-empty
	$(BIN)/tequio serve

test: $(STAMP) lint typecheck pytest pytest-any-hour

install: $(STAMP)

# A virtualenv with the exact versions in constraints.txt; redone when either file changes.
$(STAMP): pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "Tequio needs Python 3.11 or later (set PYTHON=python3.x)"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev]'
	touch $(STAMP)

# ruff, and the import contracts in pyproject.toml ([tool.importlinter]): the layers, the order
# of the domains, and each domain's tables its own.
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-logo

typecheck: $(STAMP)
	$(BIN)/mypy

# The whole suite on SQLite and PostgreSQL, one worker per core; the slowest tests are listed
# at the end, where CI's time goes.
pytest: $(STAMP)
	$(BIN)/pytest -n auto --durations=20

# The suite again (on SQLite) at the hours that once broke it, the in-process tests only (the
# slow ones, browsers, servers started as processes and fuzzing, run once in `pytest`):
# - 23:30 in Mexico City on New Year's Eve, already the next day, month and year in UTC: all of
#   them, since dates turn over everywhere (dues, standing, votes, the surplus year);
# - the two nights the border cities change their clocks in 2026 (Tijuana: 8 March, spring
#   forward; 1 November, fall back): the tests of what hangs on the hour of the day (schedules,
#   slots, consults and their records, calendars, closing times, times in sentences).
NEW_YEARS_EVE := 2026-12-31T23:30:00-06:00
CLOCK_CHANGES := 2026-03-08T01:30:00-08:00 2026-11-01T01:30:00-07:00
HOUR_TESTS := tests/telehealth tests/cooperative/test_governance_dates.py tests/test_wording.py \
	$(wildcard tests/app/test_*appointment*.py tests/app/test_*slot*.py \
	tests/app/test_*availability*.py tests/app/test_*booking*.py tests/app/test_*calendar*.py \
	tests/app/test_consult*.py tests/app/test_encounter.py tests/app/test_records.py \
	tests/app/test_prescription*.py tests/app/test_referral*.py tests/app/test_proposal*.py \
	tests/app/test_elections_api.py tests/app/test_wire_times.py tests/app/test_i18n.py)
pytest-any-hour: $(STAMP)
	@echo "== the suite at $(NEW_YEARS_EVE)"
	TEQUIO_TEST_NOW=$(NEW_YEARS_EVE) TEQUIO_TEST_BACKENDS=sqlite $(BIN)/pytest -q -n auto -m 'not slow'
	@for now in $(CLOCK_CHANGES); do \
		echo "== the hour-of-day tests at $$now"; \
		TEQUIO_TEST_NOW=$$now TEQUIO_TEST_BACKENDS=sqlite \
			$(BIN)/pytest -q -n auto -m 'not slow' $(HOUR_TESTS) || exit 1; \
	done

bench: $(STAMP)
	$(BIN)/python -m bench

# Re-resolve the newest versions pyproject.toml allows into constraints.txt.
lock:
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv
	.lock-venv/bin/python -m pip install --quiet --upgrade pip
	.lock-venv/bin/python -m pip install --quiet -e '.[dev]'
	{ sed -n '1,2p' constraints.txt; .lock-venv/bin/python -m pip freeze --exclude-editable | grep -vi '^pip=='; } > constraints.new
	mv constraints.new constraints.txt && rm -rf .lock-venv

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
