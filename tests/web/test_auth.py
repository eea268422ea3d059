"""Access control over HTTP: the role matrix, API tokens, sessions, rate limits, CSRF and security headers."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from app.config import get_settings
from app.db.access import ApiToken, AuthAttempt, UserSession
from tests.conftest import add_user, bearer_token

PASSWORD = "violet-kettle-harbour-93"
ACCELERATOR = {"name": "Auth-GPU", "vendor": "Acme", "memory_gb": 96, "memory_bandwidth_tb_s": 4.0}


@pytest.fixture
def anonymous_read_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(get_settings(), "anonymous_read", False)


def _as(anon_client, db_session, role: str):  # type: ignore[no-untyped-def]
    """Headers of a caller with `role` (None: anonymous)."""
    if role == "anonymous":
        return {}
    user = add_user(db_session, f"user-{role}", role)
    token = bearer_token(db_session, user)
    db_session.commit()
    return {"Authorization": f"Bearer {token}"}


def _accelerator_id(client) -> int:  # type: ignore[no-untyped-def]
    return client.get("/api/v1/accelerators", params={"name": "H100-SXM"}).json()["items"][0]["id"]


# ---- role matrix -------------------------------------------------------------------------------------------

READS = [("GET", "/api/v1/accelerators"), ("GET", "/api/v1/price-quotes"), ("GET", "/hardware")]
WRITES = [
    ("POST", "/api/v1/accelerators"),
    ("PATCH", "/api/v1/accelerators/{id}"),
    ("DELETE", "/api/v1/accelerators/{id}"),
]
ADMIN = [("GET", "/api/v1/users"), ("GET", "/api/v1/tokens"), ("POST", "/api/v1/tokens")]
EDITOR_READS = [("GET", "/api/v1/audit"), ("GET", "/audit")]

EXPECTED = {  # role -> (read, write, editor read, admin)
    "anonymous": (True, False, False, False),
    "viewer": (True, False, False, False),
    "editor": (True, True, True, False),
    "admin": (True, True, True, True),
}


def _call(anon_client, method: str, path: str, headers: dict[str, str], row_id: int):  # type: ignore[no-untyped-def]
    path = path.replace("{id}", str(row_id))
    bodies = {
        ("POST", "/api/v1/accelerators"): {**ACCELERATOR, "name": f"Auth-GPU-{method}-{len(headers)}"},
        ("POST", "/api/v1/tokens"): {"name": "matrix", "role": "viewer"},
    }
    body = bodies.get((method, path))
    if method == "PATCH":
        body = {"notes": "matrix", "version": 1}
    return anon_client.request(method, path, json=body, headers={**headers, "Accept": "application/json"})


@pytest.mark.parametrize("role", list(EXPECTED))
def test_role_matrix(anon_client, client, db_session, role: str) -> None:
    row_id = client.post("/api/v1/accelerators", json=ACCELERATOR).json()["id"]
    headers = _as(anon_client, db_session, role)
    read_ok, write_ok, editor_ok, admin_ok = EXPECTED[role]
    for (method, path), allowed in (
        *((r, read_ok) for r in READS),
        *((w, write_ok) for w in WRITES),
        *((e, editor_ok) for e in EDITOR_READS),
        *((a, admin_ok) for a in ADMIN),
    ):
        response = _call(anon_client, method, path, headers, row_id)
        if allowed:
            assert response.status_code < 400, (role, method, path, response.status_code, response.text)
        else:
            assert response.status_code in (401, 403, 303), (role, method, path, response.status_code)
            if role == "anonymous":
                assert response.status_code in (401, 303)
            else:
                assert response.status_code == 403


def test_anonymous_read_setting(anon_client, anonymous_read_off) -> None:
    api = anon_client.get("/api/v1/accelerators")
    assert api.status_code == 401 and api.headers["www-authenticate"] == "Bearer"
    page = anon_client.get("/hardware", headers={"Accept": "text/html"}, follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"] == "/login?next=/hardware"
    for public in ("/healthz", "/login"):
        assert anon_client.get(public, headers={"Accept": "text/html"}).status_code == 200, public
    # the API description follows the setting too (it was public with anonymous read off)
    assert anon_client.get("/openapi.json").status_code == 401
    docs = anon_client.get("/docs", headers={"Accept": "text/html"}, follow_redirects=False)
    assert docs.status_code == 303 and docs.headers["location"] == "/login?next=/docs"


def test_writes_never_anonymous_even_with_anonymous_read(anon_client) -> None:
    assert get_settings().anonymous_read
    assert anon_client.post("/api/v1/accelerators", json=ACCELERATOR).status_code == 401
    assert anon_client.post("/api/v1/import", json={}).status_code == 401


def test_every_route_is_guarded(anon_client, anonymous_read_off) -> None:
    """With anonymous reading off, no API route answers an anonymous caller."""
    from app.main import app

    paths = app.openapi()["paths"]
    assert len(paths) > 10
    for template, operations in paths.items():
        path = re.sub(r"\{[^}]+\}", "1", template)
        for method in operations:
            response = anon_client.request(method.upper(), path, json={})
            assert response.status_code == 401, (method, template, response.status_code)


def test_explicit_viewer_route_accepts_viewers_on_post(anon_client, db_session) -> None:
    """A POST route whose router declares require_role("viewer") is not caught by the editor default."""
    add_user(db_session, "self-service", "viewer", PASSWORD)
    db_session.commit()
    assert _login(anon_client, "self-service").status_code == 303  # a session: tokens may not (403)
    csrf = db_session.scalars(select(UserSession)).one().csrf_token
    response = anon_client.post(
        "/api/v1/me/password",
        headers={"x-csrf-token": csrf},
        json={"current_password": PASSWORD, "new_password": "fresh-orchid-lamp-5"},
    )
    assert response.status_code == 204, response.text


# ---- API tokens --------------------------------------------------------------------------------------------


def test_token_lifecycle(client, anon_client, db_session) -> None:
    created = client.post("/api/v1/tokens", json={"name": "ci", "role": "editor", "expires_in_days": 30})
    assert created.status_code == 201, created.text
    body = created.json()
    secret = body["token"]
    assert secret.startswith("pwr_") and len(secret) >= 40  # 256 random bits, url-safe
    assert body["last_used_at"] is None
    # Shown once: never in a listing or a read; at rest only its SHA-256.
    assert secret not in client.get("/api/v1/tokens").text
    assert "token" not in client.get(f"/api/v1/tokens/{body['id']}").json()
    row = db_session.get(ApiToken, body["id"])
    assert row.token_hash == hashlib.sha256(secret.encode()).hexdigest() and secret not in row.token_hash

    bearer = {"Authorization": f"Bearer {secret}"}
    assert anon_client.post("/api/v1/accelerators", json=ACCELERATOR, headers=bearer).status_code == 201
    assert anon_client.get("/api/v1/users", headers=bearer).status_code == 403  # scoped to editor
    assert client.get(f"/api/v1/tokens/{body['id']}").json()["last_used_at"] is not None

    assert client.delete(f"/api/v1/tokens/{body['id']}").status_code == 204
    assert client.get(f"/api/v1/tokens/{body['id']}").json()["revoked_at"] is not None
    assert anon_client.get("/api/v1/accelerators", headers=bearer).status_code == 401


def test_expired_token_and_bad_tokens_are_refused(anon_client, db_session) -> None:
    user = add_user(db_session, "expiring", "editor")
    secret = bearer_token(db_session, user)
    row = db_session.scalars(select(ApiToken).where(ApiToken.user_id == user.id)).one()
    row.expires_at = datetime.now(UTC) - timedelta(seconds=1)
    db_session.commit()
    assert (
        anon_client.get("/api/v1/accelerators", headers={"Authorization": f"Bearer {secret}"}).status_code
        == 401
    )
    assert (
        anon_client.get("/api/v1/accelerators", headers={"Authorization": "Bearer pwr_nope"}).status_code
        == 401
    )
    # Only the Authorization header: a token in the URL does nothing.
    assert (
        anon_client.post("/api/v1/accelerators", params={"token": secret}, json=ACCELERATOR).status_code
        == 401
    )


def test_token_role_cannot_exceed_creator(anon_client, db_session) -> None:
    admin = add_user(db_session, "scoped-admin", "admin")
    viewer_scoped = bearer_token(db_session, admin, role="viewer")
    db_session.commit()
    response = anon_client.post(
        "/api/v1/tokens",
        json={"name": "x", "role": "admin"},
        headers={"Authorization": f"Bearer {viewer_scoped}"},
    )
    assert response.status_code == 403  # a viewer-scoped token is no admin
    admin_token = bearer_token(db_session, admin)
    db_session.commit()
    bad = anon_client.post(
        "/api/v1/tokens",
        json={"name": "x", "role": "owner"},
        headers={"Authorization": f"Bearer {admin_token}"},
    )
    assert bad.status_code == 422


def test_disabled_user_tokens_stop_working(client, anon_client, db_session) -> None:
    user = add_user(db_session, "leaver", "editor")
    secret = bearer_token(db_session, user)
    db_session.commit()
    headers = {"Authorization": f"Bearer {secret}"}
    assert anon_client.get("/api/v1/me", headers=headers).json()["username"] == "leaver"
    assert (
        client.patch(f"/api/v1/users/{user.id}", json={"is_active": False, "version": 1}).status_code == 200
    )
    assert anon_client.get("/api/v1/me", headers=headers).status_code == 401


# ---- sessions ----------------------------------------------------------------------------------------------


def _login(anon_client, username: str, password: str = PASSWORD, **extra: str):  # type: ignore[no-untyped-def]
    page = anon_client.get("/login").text  # sets the anonymous CSRF cookie; the form carries its token
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    token = found.group(1) if found else ""
    return anon_client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": token, **extra},
        follow_redirects=False,
    )


def test_login_sets_a_fresh_hardened_cookie(anon_client, db_session) -> None:
    add_user(db_session, "alice", "editor", PASSWORD)
    db_session.commit()
    anon_client.cookies.set("pricewar_session", "attacker-chosen-id", domain="testserver.local")
    response = _login(anon_client, "alice", next="/hardware")
    assert response.status_code == 303 and response.headers["location"] == "/hardware"
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Secure" not in cookie
    session_id = anon_client.cookies.get("pricewar_session")
    assert session_id and session_id != "attacker-chosen-id"  # no fixation: always a new id
    stored = db_session.scalars(select(UserSession)).all()
    assert [s.id_hash for s in stored] == [hashlib.sha256(session_id.encode()).hexdigest()]
    assert anon_client.get("/api/v1/me").json() == {"username": "alice", "role": "editor", "via": "session"}


def test_cookie_secure_setting(anon_client, db_session, monkeypatch) -> None:
    monkeypatch.setattr(get_settings(), "cookie_secure", True)
    anon_client.base_url = "https://testserver"  # Secure cookies only travel over TLS
    add_user(db_session, "tls", "viewer", PASSWORD)
    db_session.commit()
    response = _login(anon_client, "tls")
    assert "Secure" in response.headers["set-cookie"]
    assert "max-age" in anon_client.get("/healthz").headers["strict-transport-security"]


def test_two_logins_get_two_ids(app_on_session, db_session) -> None:
    from fastapi.testclient import TestClient

    add_user(db_session, "bob", "viewer", PASSWORD)
    db_session.commit()
    ids = []
    for _ in range(2):
        with TestClient(app_on_session) as browser:
            assert _login(browser, "bob").status_code == 303
            ids.append(browser.cookies.get("pricewar_session"))
    assert ids[0] != ids[1]


def test_wrong_password_is_401_and_audited(anon_client, db_session) -> None:
    add_user(db_session, "carol", "viewer", PASSWORD)
    db_session.commit()
    response = _login(anon_client, "carol", "wrong-password-123")
    assert response.status_code == 401 and "Wrong username or password" in response.text
    assert "pricewar_session" not in anon_client.cookies
    assert _login(anon_client, "nobody-here", "whatever-123").status_code == 401


def test_logout_ends_the_session(anon_client, db_session) -> None:
    add_user(db_session, "dave", "editor", PASSWORD)
    db_session.commit()
    _login(anon_client, "dave")
    raw = anon_client.cookies.get("pricewar_session")
    csrf = _page_csrf(anon_client)
    response = anon_client.post("/logout", data={"csrf_token": csrf}, follow_redirects=False)
    assert response.status_code == 303
    assert not db_session.scalars(select(UserSession)).all()
    anon_client.cookies.set(
        "pricewar_session", raw, domain="testserver.local"
    )  # replaying the old cookie does nothing
    assert anon_client.get("/api/v1/me").status_code == 401


def test_password_change_and_disable_end_sessions(client, anon_client, db_session) -> None:
    user = add_user(db_session, "erin", "editor", PASSWORD)
    db_session.commit()
    _login(anon_client, "erin")
    assert anon_client.get("/api/v1/me").status_code == 200
    new = client.patch(f"/api/v1/users/{user.id}", json={"password": "another-long-phrase-7", "version": 1})
    assert new.status_code == 200, new.text
    assert anon_client.get("/api/v1/me").status_code == 401
    _login(anon_client, "erin", "another-long-phrase-7")
    assert anon_client.get("/api/v1/me").status_code == 200
    assert (
        client.patch(f"/api/v1/users/{user.id}", json={"is_active": False, "version": 2}).status_code == 200
    )
    assert anon_client.get("/api/v1/me").status_code == 401
    assert _login(anon_client, "erin", "another-long-phrase-7").status_code == 401


def test_idle_and_absolute_timeouts(anon_client, db_session) -> None:
    add_user(db_session, "frank", "viewer", PASSWORD)
    db_session.commit()
    settings = get_settings()
    for column, age in (
        ("last_seen_at", timedelta(minutes=settings.session_idle_timeout_minutes + 1)),
        ("expires_at", timedelta(seconds=settings.session_absolute_timeout_hours * 3600 + 1)),
    ):
        _login(anon_client, "frank")
        assert anon_client.get("/api/v1/me").status_code == 200
        row = db_session.scalars(select(UserSession)).one()
        if column == "last_seen_at":
            row.last_seen_at = datetime.now(UTC) - age
        else:
            row.expires_at = datetime.now(UTC) - timedelta(seconds=1)
        db_session.commit()
        assert anon_client.get("/api/v1/me").status_code == 401, column
    # The next sign-in purged the dead sessions: only the live one is left.
    assert len(db_session.scalars(select(UserSession)).all()) == 1


# ---- rate limits -------------------------------------------------------------------------------------------


def test_login_rate_limit_per_user(anon_client, db_session) -> None:
    add_user(db_session, "gina", "viewer", PASSWORD)
    db_session.commit()
    limit = get_settings().login_failures_per_user
    for _ in range(limit):
        assert _login(anon_client, "gina", "not-the-password").status_code == 401
    blocked = _login(anon_client, "gina")  # even the right password waits
    assert blocked.status_code == 429
    assert 1 <= int(blocked.headers["retry-after"]) <= get_settings().rate_limit_window_seconds
    # Another user from the same address is not blocked yet (the per-address limit is higher).
    add_user(db_session, "hank", "viewer", PASSWORD)
    db_session.commit()
    assert _login(anon_client, "hank").status_code == 303


def test_login_rate_limit_per_address(anon_client, db_session, monkeypatch) -> None:
    monkeypatch.setattr(get_settings(), "login_failures_per_address", 3)
    for name in ("u1", "u2", "u3"):
        assert _login(anon_client, name, "whatever-pass").status_code == 401
    assert _login(anon_client, "u4", "whatever-pass").status_code == 429
    assert db_session.scalars(select(AuthAttempt).where(AuthAttempt.subject == "addr:testclient")).all()


def test_token_creation_rate_limit(client, monkeypatch) -> None:
    monkeypatch.setattr(get_settings(), "token_creations_per_window", 2)
    for _ in range(2):
        assert client.post("/api/v1/tokens", json={"name": "t"}).status_code == 201
    blocked = client.post("/api/v1/tokens", json={"name": "t"})
    assert blocked.status_code == 429 and int(blocked.headers["retry-after"]) >= 1


# ---- CSRF and headers --------------------------------------------------------------------------------------


def _page_csrf(browser) -> str:  # type: ignore[no-untyped-def]
    import re

    html = browser.get("/account").text
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, html[:500]
    return match.group(1)


def test_csrf_on_forms(anon_client, db_session) -> None:
    add_user(db_session, "ivy", "editor", PASSWORD)
    db_session.commit()
    anon_client.get("/login")
    # Anonymous form without / with a wrong token.
    assert anon_client.post("/login", data={"username": "ivy", "password": PASSWORD}).status_code == 403
    wrong = anon_client.post("/login", data={"username": "ivy", "password": PASSWORD, "csrf_token": "forged"})
    assert wrong.status_code == 403
    assert _login(anon_client, "ivy").status_code == 303
    token = _page_csrf(anon_client)
    # Signed in: the session's own token is needed, for forms and for cookie-authenticated JSON alike.
    assert anon_client.post("/logout", data={}).status_code == 403
    assert anon_client.post("/logout", data={"csrf_token": token + "x"}).status_code == 403
    assert anon_client.post("/api/v1/accelerators", json=ACCELERATOR).status_code == 403
    ok = anon_client.post("/api/v1/accelerators", json=ACCELERATOR, headers={"X-CSRF-Token": token})
    assert ok.status_code == 201
    # Cross-site, even with the right token.
    cross = anon_client.post("/logout", data={"csrf_token": token}, headers={"Sec-Fetch-Site": "cross-site"})
    assert cross.status_code == 403
    evil = anon_client.post("/logout", data={"csrf_token": token}, headers={"Origin": "https://evil.example"})
    assert evil.status_code == 403
    same = anon_client.post(
        "/logout",
        data={"csrf_token": token},
        headers={"Sec-Fetch-Site": "same-origin"},
        follow_redirects=False,
    )
    assert same.status_code == 303


def test_signed_in_answers_are_not_cached(client, anon_client) -> None:
    assert client.get("/api/v1/accelerators").headers["cache-control"] == "no-store"
    assert "cache-control" not in anon_client.get("/api/v1/accelerators").headers


def test_bearer_requests_are_exempt_from_csrf(client) -> None:
    response = client.post("/api/v1/accelerators", json=ACCELERATOR, headers={"Sec-Fetch-Site": "cross-site"})
    assert response.status_code == 201


def test_security_headers(anon_client) -> None:
    for path in ("/hardware", "/api/v1/accelerators", "/login", "/healthz", "/api/v1/nope"):
        headers = anon_client.get(path).headers
        csp = headers["content-security-policy"]
        assert "default-src 'self'" in csp and "script-src 'self';" in csp and "frame-ancestors 'none'" in csp
        assert "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["referrer-policy"] == "same-origin"
        assert headers["x-frame-options"] == "DENY"


def test_csrf_input_is_a_jinja_global() -> None:
    from app.main import app  # noqa: F401 - installs the globals
    from app.web.pages.render import templates

    assert "csrf_input" in templates.env.globals and "current_user" in templates.env.globals
