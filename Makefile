.PHONY: run test lint install

# Serve the demo on http://127.0.0.1:8000 (SQLite under var/, tasks in-process unless
# DATABASE_URL / CELERY_BROKER_URL say otherwise).
run:
	@bash scripts/run.sh

# The whole suite. PostgreSQL and Redis are used when reachable; the first line says which.
test:
	@bash scripts/test.sh $(ARGS)

lint: install
	@.venv/bin/ruff check .
	@.venv/bin/ruff format --check .

install:
	@bash scripts/venv.sh
