# Two commands on a fresh machine: `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: demo test serve serve-prod worker lint typecheck pytest bench clean install install-dev

$(VENV)/.created:
	@command -v $(PYTHON) >/dev/null || { echo "Python 3.11 is required ($(PYTHON) not found)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	touch $@

$(VENV)/.installed: $(VENV)/.created pyproject.toml
	$(PIP) install -q -e .
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed pyproject.toml
	$(PIP) install -q -e '.[dev]'
	touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

## Set up, migrate SQLite, generate the synthetic CDW and run one release end to end.
demo: install
	$(PY) manage.py migrate --noinput -v 0
	$(PY) manage.py demo

## Every quality gate: ruff, mypy (strict on deid/), Django checks, migrations, pytest.
test: install-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy deid
	$(VENV)/bin/mypy governance audit config
	$(PY) manage.py check
	$(PY) manage.py makemigrations --check --dry-run
	$(VENV)/bin/pytest $(PYTEST_ARGS)

## Start the web server on the demo data (run `make demo` first).
serve: install
	$(PY) manage.py migrate --noinput -v 0
	$(PY) manage.py runserver 127.0.0.1:8000

## The production server: gunicorn (static files by whitenoise), PostgreSQL, the build worker
## (and Redis when REDIS_URL is set). Needs DATABASE_URL, DJANGO_SECRET_KEY, DJANGO_ALLOWED_HOSTS,
## DEID_MASTER_KEY_FILE and AUDIT_SIGNING_KEY_FILE; DEID_TRUSTED_PROXIES names the reverse proxies.
serve-prod: install
	@test -n "$$DATABASE_URL" || { echo "serve-prod needs DATABASE_URL (PostgreSQL), DJANGO_SECRET_KEY, DJANGO_ALLOWED_HOSTS, DEID_MASTER_KEY_FILE and AUDIT_SIGNING_KEY_FILE"; exit 2; }
	DJANGO_ENV=production $(PY) manage.py migrate --noinput -v 0
	DJANGO_ENV=production $(PY) manage.py collectstatic --noinput -v 0
	DJANGO_ENV=production $(PY) manage.py check --deploy --fail-level WARNING
	mkdir -p var
	DJANGO_ENV=production $(PY) manage.py qcluster & echo $$! > var/qcluster.pid; \
	trap 'kill $$(cat var/qcluster.pid) 2>/dev/null' EXIT INT TERM; \
	DJANGO_ENV=production $(VENV)/bin/gunicorn config.wsgi:application -c config/gunicorn.conf.py

## Start the background worker that runs release builds.
worker: install
	$(PY) manage.py qcluster

bench: install-dev
	$(PY) -m bench

clean:
	rm -rf var
