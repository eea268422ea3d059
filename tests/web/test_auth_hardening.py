"""Passwords, tokens and sign-in limits after the attack (issue: "Hardening after an attack").

Found: a viewer-scoped token could change its owner's password (POST /api/v1/me/password) and wrong
current-password guesses there and on /account/password were not rate-limited; anyone could lock any
account out (5 wrong passwords per username, case and space variants counting) and keep it locked; tokens
outlived a password change or a disable/enable of their owner; a failed login's audit actor was whatever
name the visitor typed. Both backends.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from app.config import get_settings
from app.db.access import AuditEntry, AuthAttempt
from app.services import accounts
from tests.conftest import add_user, bearer_token
from tests.web.test_auth import PASSWORD, _login

NEW_PASSWORD = "granite-lantern-orbit-42"


@pytest.fixture
def other_address(app_on_session: object) -> Iterator[TestClient]:
    """A second browser, from another address."""
    with TestClient(app_on_session, client=("203.0.113.7", 50000)) as browser:  # type: ignore[arg-type]
        yield browser


def _change(browser: TestClient, current: str, new: str = NEW_PASSWORD):  # type: ignore[no-untyped-def]
    browser.get("/account")
    csrf = _csrf_of(browser.get("/account").text)
    return browser.post(
        "/account/password",
        data={
            "current_password": current,
            "new_password": new,
            "new_password_again": new,
            "csrf_token": csrf,
        },
        follow_redirects=False,
    )


def _csrf_of(html: str) -> str:
    import re

    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "no CSRF field on the page"
    return found.group(1)


def test_a_bearer_token_cannot_change_a_password(anon_client, db_session) -> None:
    user = add_user(db_session, "tokenowner", "admin", PASSWORD)
    token = bearer_token(db_session, user, role="viewer")
    db_session.commit()
    headers = {"Authorization": f"Bearer {token}"}
    body = {"current_password": PASSWORD, "new_password": NEW_PASSWORD}
    assert anon_client.post("/api/v1/me/password", json=body, headers=headers).status_code == 403
    assert anon_client.post("/account/password", data=body, headers=headers).status_code == 403
    assert _login(anon_client, "tokenowner").status_code == 303  # the password did not change


def test_wrong_current_passwords_are_limited_like_sign_ins(anon_client, db_session) -> None:
    add_user(db_session, "guessed", "viewer", PASSWORD)
    db_session.commit()
    assert _login(anon_client, "guessed").status_code == 303
    for _ in range(get_settings().login_failures_per_user):
        assert _change(anon_client, "not-the-password").status_code == 422
    blocked = _change(anon_client, PASSWORD)
    assert blocked.status_code == 429 and int(blocked.headers["retry-after"]) >= 1
    # the API counts into the same limit
    api = anon_client.post(
        "/api/v1/me/password",
        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
        headers={"x-csrf-token": _csrf_of(anon_client.get("/account").text)},
    )
    assert api.status_code == 429
    failed = db_session.scalars(select(AuditEntry).where(AuditEntry.action == "password_change_failed")).all()
    assert len(failed) == get_settings().login_failures_per_user


def test_password_change_ends_other_sessions_and_revokes_tokens(
    anon_client, other_address, db_session
) -> None:
    user = add_user(db_session, "rotator", "editor", PASSWORD)
    token = bearer_token(db_session, user)
    db_session.commit()
    headers = {"Authorization": f"Bearer {token}"}
    assert anon_client.get("/api/v1/me", headers=headers).status_code == 200
    assert _login(anon_client, "rotator").status_code == 303
    assert _login(other_address, "rotator").status_code == 303
    assert other_address.get("/api/v1/me").status_code == 200
    answer = _change(anon_client, PASSWORD)
    assert answer.status_code == 303, answer.text[:300]
    assert other_address.get("/api/v1/me").status_code == 401  # the other browser is signed out
    assert anon_client.get("/api/v1/me", headers=headers).status_code == 401  # the token is revoked
    revoked = db_session.scalars(select(AuditEntry).where(AuditEntry.action == "token_revoke")).all()
    assert any("password changed" in e.summary for e in revoked)
    assert _login(anon_client, "rotator", NEW_PASSWORD).status_code == 303
    assert "revokes every API token" in anon_client.get("/account").text  # the page says so


def test_disable_then_enable_does_not_bring_tokens_back(client, anon_client, db_session) -> None:
    user = add_user(db_session, "paused", "viewer")
    token = bearer_token(db_session, user)
    db_session.commit()
    headers = {"Authorization": f"Bearer {token}"}
    assert anon_client.get("/api/v1/me", headers=headers).status_code == 200
    version = client.get(f"/api/v1/users/{user.id}").json()["version"]
    off = client.patch(f"/api/v1/users/{user.id}", json={"is_active": False, "version": version})
    assert off.status_code == 200, off.text
    on = client.patch(f"/api/v1/users/{user.id}", json={"is_active": True, "version": off.json()["version"]})
    assert on.status_code == 200, on.text
    assert anon_client.get("/api/v1/me", headers=headers).status_code == 401


def test_an_outsider_cannot_keep_a_user_out(anon_client, other_address, db_session) -> None:
    """Failures from one address slow that (user, address) pair only; case and space variants count as the
    same name; the user signs in from elsewhere."""
    add_user(db_session, "Victim", "viewer", PASSWORD)
    db_session.commit()
    limit = get_settings().login_failures_per_user
    variants = ["victim", " VICTIM ", "Victim", "vIcTiM", "victim  "]
    for i in range(limit):
        assert _login(anon_client, variants[i % len(variants)], "wrong-guess-123").status_code == 401
    assert _login(anon_client, "victim").status_code == 429  # the attacker's address waits
    assert _login(other_address, "victim").status_code == 303  # the user, elsewhere, does not


def test_the_back_off_grows_and_an_admin_can_clear_it(client, anon_client, db_session) -> None:
    user = add_user(db_session, "slowed", "viewer", PASSWORD)
    db_session.commit()
    limit = get_settings().login_failures_per_user
    for _ in range(limit):
        assert _login(anon_client, "slowed", "wrong-guess-123").status_code == 401
    first = int(_login(anon_client, "slowed").headers["retry-after"])
    assert 1 <= first <= accounts.BACKOFF_BASE_SECONDS

    # time passes: the wait is over, one more failure doubles the next wait
    for row in db_session.scalars(select(AuthAttempt).where(AuthAttempt.kind == "login")):
        row.at = row.at - timedelta(seconds=accounts.BACKOFF_BASE_SECONDS + 1)
    db_session.commit()
    assert _login(anon_client, "slowed", "wrong-guess-123").status_code == 401
    second = int(_login(anon_client, "slowed").headers["retry-after"])
    assert accounts.BACKOFF_BASE_SECONDS < second <= 2 * accounts.BACKOFF_BASE_SECONDS

    cleared = client.delete(f"/api/v1/users/{user.id}/sign-in-limits")
    assert cleared.status_code == 204
    assert _login(anon_client, "slowed").status_code == 303
    entry = db_session.scalars(select(AuditEntry).where(AuditEntry.action == "login_limits_clear")).one()
    assert entry.entity_id == user.id


def test_failed_login_records_the_typed_name_as_data_not_actor(anon_client, db_session) -> None:
    assert _login(anon_client, "admin", "wrong-guess-123").status_code == 401
    entry = db_session.scalars(
        select(AuditEntry).where(AuditEntry.action == "login_failed").order_by(AuditEntry.id.desc())
    ).first()
    assert entry is not None
    assert entry.actor == "anonymous" and entry.actor_id is None
    assert entry.after is not None and entry.after["attempted_username"] == "admin"


def test_explorer_run_audits_its_derived_write(client) -> None:
    """/explorer/run changed the stored run after its create entry (the link to the scenario and the view's
    query) with no entry of its own."""
    from tests.web.test_pages_explorer import _store_run

    run_id = int(_store_run(client).rsplit("/", 1)[1])
    log = client.get("/api/v1/audit", params={"entity": "simulation_runs", "entity_id": run_id}).json()
    actions = sorted(e["action"] for e in log["items"])
    assert actions == ["create", "update"], log
    update = next(e for e in log["items"] if e["action"] == "update")
    assert "explorer_query" in update["after"]["inputs"]


def test_anonymous_form_token_is_bound_to_its_cookie(anon_client, app_on_session, db_session) -> None:
    """The anonymous CSRF cookie is a signed random value; the form token is a MAC of it: the cookie value
    itself is not a token, and a token made for one cookie fails with another."""
    add_user(db_session, "bound", "viewer", PASSWORD)
    db_session.commit()
    page = anon_client.get("/login").text
    token = _csrf_of(page)
    cookie = anon_client.cookies.get("pricewar_csrf")
    assert cookie and token != cookie
    form = {"username": "bound", "password": PASSWORD}
    assert anon_client.post("/login", data={**form, "csrf_token": cookie}).status_code == 403
    with TestClient(app_on_session) as other:  # type: ignore[arg-type]
        other.get("/login")  # another cookie
        assert other.post("/login", data={**form, "csrf_token": token}).status_code == 403
    answer = anon_client.post("/login", data={**form, "csrf_token": token}, follow_redirects=False)
    assert answer.status_code == 303


def test_sessions_per_user_are_capped_oldest_first(app_on_session, db_session, monkeypatch) -> None:
    from app.db.access import UserSession

    monkeypatch.setattr(get_settings(), "sessions_per_user_max", 2)
    add_user(db_session, "many", "viewer", PASSWORD)
    db_session.commit()
    browsers = [TestClient(app_on_session) for _ in range(3)]  # type: ignore[arg-type]
    for browser in browsers:
        assert _login(browser, "many").status_code == 303
    assert len(db_session.scalars(select(UserSession)).all()) == 2
    assert browsers[0].get("/api/v1/me").status_code == 401  # the oldest ended
    assert [b.get("/api/v1/me").status_code for b in browsers[1:]] == [200, 200]
    for browser in browsers:
        browser.close()


def test_admin_page_clears_a_back_off(app_on_session, anon_client, db_session) -> None:
    from tests.web.test_auth_admin import _admin_browser

    user = add_user(db_session, "cleared", "viewer", PASSWORD)
    db_session.commit()
    for _ in range(get_settings().login_failures_per_user):
        _login(anon_client, "cleared", "wrong-guess-123")
    assert _login(anon_client, "cleared").status_code == 429
    admin = _admin_browser(app_on_session, db_session)
    page = admin.get("/admin").text
    assert f'action="/admin/users/{user.id}/sign-in-limits"' in page
    answer = admin.post(
        f"/admin/users/{user.id}/sign-in-limits", data={"csrf_token": _csrf_of(page)}, follow_redirects=False
    )
    assert answer.status_code == 303
    assert _login(anon_client, "cleared").status_code == 303
