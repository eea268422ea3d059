"""schemathesis over the whole OpenAPI schema, in-process, against a migrated and seeded PostgreSQL database
(writes allowed): no 5xx, every status code, content type, header and body as documented.

Bounded and reproducible for CI: a fixed number of examples per operation, derandomized, no deadline.
PostgreSQL, because it is the stricter backend (NUL bytes in text, integer ranges, JSON escapes).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from app.main import app
from tests.faults.conftest import auth_headers, database_url

pytestmark = [pytest.mark.postgres]

schema = schemathesis.openapi.from_asgi("/openapi.json", app)

MAX_EXAMPLES = 30
# Schema-valid input may still break a rule the schema cannot express (an unknown sort field, an end date
# before the start, a name that already exists, a non-empty database for /import): a clear 4xx is right.
EXCLUDED_CHECKS = [schemathesis.checks.positive_data_acceptance]


@pytest.fixture(scope="module")
def fuzzed_database() -> Iterator[str]:
    from tests.conftest import create_postgres_database, migrate_and_seed

    url, drop = create_postgres_database()
    try:
        migrate_and_seed(url).dispose()
        with database_url(url):
            yield url
    finally:
        drop()


@pytest.fixture(scope="module")
def editor_headers(fuzzed_database: str) -> dict[str, str]:
    """An editor may write every resource; admin-only routes answer 403 (documented)."""
    return auth_headers(fuzzed_database, role="editor")


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_api_conforms_to_its_schema(case: schemathesis.Case, editor_headers: dict[str, str]) -> None:
    case.call_and_validate(headers=editor_headers, excluded_checks=EXCLUDED_CHECKS)
