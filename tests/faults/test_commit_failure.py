"""A commit that fails must never be answered with a 2xx: the client would believe data was stored."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from tests.faults.conftest import app_on_database

pytestmark = pytest.mark.faults


@pytest.fixture
def sqlite_url(tmp_path) -> str:  # type: ignore[no-untyped-def]
    from tests.conftest import migrate_and_seed

    url = f"sqlite:///{tmp_path / 'commit.sqlite3'}"
    migrate_and_seed(url).dispose()
    return url


def test_failed_commit_is_an_error_answer_not_a_success(sqlite_url: str, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    original = Session.commit

    def commit_fails(self: Session) -> None:
        raise OperationalError("COMMIT", {}, Exception("disk I/O error (injected)"))

    with app_on_database(sqlite_url) as client:
        monkeypatch.setattr(Session, "commit", commit_fails)
        created = client.post(
            "/api/v1/accelerators",
            json={"name": "never stored", "vendor": "Test", "memory_gb": 80, "memory_bandwidth_tb_s": 3.35},
        )
        changed = client.patch("/api/v1/accelerators/1", json={"notes": "never stored", "version": 1})
        monkeypatch.setattr(Session, "commit", original)
        assert created.status_code == 503, created.text
        assert changed.status_code == 503, changed.text
        assert client.get("/api/v1/accelerators?name=never%20stored").json()["total"] == 0
        assert client.get("/api/v1/accelerators/1").json()["notes"] != "never stored"
        # The connection is still usable afterwards.
        assert client.get("/readyz").status_code == 200
