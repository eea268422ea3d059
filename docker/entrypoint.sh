#!/bin/sh
# Container entry (also run by CI against PostgreSQL, tests/test_entrypoint.py):
# wait for the database, migrate, load the reference data if missing, serve.
set -eu
pricewar wait-db --timeout-s "${PRICEWAR_DB_WAIT_S:-60}"
pricewar migrate
pricewar seed
exec pricewar serve --no-setup --host "${PRICEWAR_HOST:-0.0.0.0}" --port "${PRICEWAR_PORT:-8000}" \
  --workers "${PRICEWAR_WORKERS:-2}"
