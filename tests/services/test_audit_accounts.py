"""Accounts as services: password rules and hashing, sessions and tokens at rest, and their audit entries."""

from __future__ import annotations

import argon2
import pytest
from sqlalchemy.orm import Session

from app.config import get_settings
from app.services import accounts, audit, passwords
from app.services.errors import ConflictError, ValidationFailed
from app.services.rate_limits import RateLimited


@pytest.mark.parametrize(
    "bad", ["short", "password", "Password1", "qwerty123", "iloveyou", "aaaaaaaaaa", "x" * 300, "letmein123"]
)
def test_weak_passwords_are_refused(bad: str) -> None:
    with pytest.raises(ValidationFailed):
        passwords.check_password_rules(bad, "someone")


def test_password_same_as_username_is_refused() -> None:
    with pytest.raises(ValidationFailed, match="username"):
        passwords.check_password_rules("marguerite", "Marguerite")


def test_common_list_is_shipped_and_large() -> None:
    common = passwords.common_passwords()
    assert len(common) >= 1000 and {"123456", "password", "qwerty", "iloveyou"} <= common


def test_argon2id_hash_and_parameters() -> None:
    digest = passwords.hash_password("tangerine-submarine")
    assert digest.startswith("$argon2id$") and "tangerine" not in digest
    assert passwords.verify_password(digest, "tangerine-submarine")
    assert not passwords.verify_password(digest, "tangerine-submarinE")
    # Memory-hard but not a denial of service on a 2-core box: OWASP's parameters (m=19 MiB, t=2, p=1),
    # not argon2-cffi's heavier defaults (cost per hash: see app/services/passwords.py; tests time nothing).
    parameters = argon2.extract_parameters(digest)
    assert parameters.type is argon2.Type.ID
    assert (parameters.memory_cost, parameters.time_cost, parameters.parallelism) == (19_456, 2, 1)


def test_user_changes_are_audited(db_session: Session) -> None:
    audit.set_actor(db_session, "root", 1)
    user = accounts.create_user(db_session, "newbie", "harvest-moon-ticket", "viewer")
    accounts.update_user(db_session, user, user.version, role="editor")
    accounts.update_user(db_session, user, user.version, password="another-pass-phrase")
    rows, _ = audit.list_entries(db_session, audit.AuditFilter(entity="users", entity_id=user.id), 10, 0)
    summaries = [r.summary for r in reversed(rows)]
    assert summaries[0] == "created user newbie with role viewer"
    assert summaries[1] == "user newbie: role viewer → editor"
    assert summaries[2] == "user newbie: password changed"
    assert all("hash" not in str(r.after) for r in rows)


def test_last_admin_cannot_be_demoted(db_session: Session) -> None:
    admin = accounts.create_user(db_session, "only-admin", "lighthouse-keeper-9", "admin")
    with pytest.raises(ConflictError, match="last active admin"):
        accounts.update_user(db_session, admin, admin.version, role="viewer")
    with pytest.raises(ConflictError, match="last active admin"):
        accounts.update_user(db_session, admin, admin.version, is_active=False)


def test_logins_are_audited_and_rate_limited(db_session: Session) -> None:
    settings = get_settings()
    user = accounts.create_user(db_session, "pat", "velvet-thunder-cactus", "viewer")
    assert accounts.authenticate(db_session, settings, "pat", "nope-nope-nope", "10.0.0.1") is None
    assert (
        accounts.authenticate(db_session, settings, "PAT", "velvet-thunder-cactus", "10.0.0.1").id == user.id
    )
    accounts.start_session(db_session, settings, user, "10.0.0.1", "pytest")
    rows, _ = audit.list_entries(db_session, audit.AuditFilter(entity="users", entity_id=user.id), 10, 0)
    assert {"login_failed", "login"} <= {r.action for r in rows}
    failed = next(r for r in rows if r.action == "login_failed")
    assert failed.summary == "failed sign-in as 'pat' from 10.0.0.1 (wrong password)"
    for _ in range(settings.login_failures_per_user):
        accounts.authenticate(db_session, settings, "pat", "nope-nope-nope", "10.0.0.2")
    with pytest.raises(RateLimited) as blocked:  # the (user, address) pair waits...
        accounts.authenticate(db_session, settings, "pat", "velvet-thunder-cactus", "10.0.0.2")
    assert 0 < blocked.value.retry_after_seconds <= settings.rate_limit_window_seconds
    # ...but the user is not locked out from elsewhere (no denial of service by an outsider)
    assert accounts.authenticate(db_session, settings, "pat", "velvet-thunder-cactus", "10.0.0.3") is not None


def test_seed_writes_one_summary_entry_and_a_second_seed_none(db_engine) -> None:
    """`pricewar seed` once wrote hundreds of rows with no audit entry at all."""
    import uuid

    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from app.db.access import AuditEntry
    from app.services.reference_data import seed_reference_data
    from tests.conftest import migrate_empty

    if db_engine.dialect.name != "sqlite":
        pytest.skip("one backend is enough for the seed's own entry (the seed is backend-neutral)")
    import tempfile

    url = f"sqlite:///{tempfile.mkdtemp()}/seed-{uuid.uuid4().hex[:6]}.sqlite3"
    engine = migrate_empty(url)
    try:
        for expected in (1, 1):
            with Session(engine) as session:
                seed_reference_data(session)
                session.commit()
                entries = session.scalars(select(AuditEntry).where(AuditEntry.action == "seed")).all()
                assert len(entries) == expected
        entry = entries[0]
        assert entry.actor == "system" and entry.after["added"]["accelerators"] >= 18
    finally:
        engine.dispose()
