"""The admin page: users and tokens through forms (admin only), token shown once."""

from __future__ import annotations

import re

from sqlalchemy import select

from app.db.access import ApiToken, User
from tests.conftest import add_user, bearer_token

PASSWORD = "ochre-lantern-violin-8"


def _admin_browser(app_on_session, db_session):  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    add_user(db_session, "page-admin", "admin", PASSWORD)
    db_session.commit()
    browser = TestClient(app_on_session)
    login_page = browser.get("/login").text
    browser.post(
        "/login",
        data={
            "username": "page-admin",
            "password": PASSWORD,
            "csrf_token": re.search(r'name="csrf_token" value="([^"]+)"', login_page).group(1),
        },
        follow_redirects=False,  # the home page is not what these tests are about
    )
    return browser


def _csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def test_admin_manages_users_and_tokens(app_on_session, db_session) -> None:
    browser = _admin_browser(app_on_session, db_session)
    page = browser.get("/admin")
    assert page.status_code == 200 and "page-admin" in page.text
    token = _csrf(page.text)

    weak = browser.post(
        "/admin/users", data={"username": "x", "password": "123456", "role": "viewer", "csrf_token": token}
    )
    assert weak.status_code == 422 and "password" in weak.text
    made = browser.post(
        "/admin/users",
        data={
            "username": "newcomer",
            "password": "silver-canyon-drum",
            "role": "editor",
            "csrf_token": token,
        },
        follow_redirects=False,
    )
    assert made.status_code == 303
    user = db_session.scalars(select(User).where(User.username == "newcomer")).one()
    disabled = browser.post(
        f"/admin/users/{user.id}",
        data={"version": str(user.version), "role": "editor", "is_active": "false", "csrf_token": token},
        follow_redirects=False,
    )
    assert disabled.status_code == 303
    db_session.refresh(user)
    assert user.is_active is False

    created = browser.post(
        "/admin/tokens",
        data={"name": "ci job", "role": "editor", "expires_in_days": "7", "csrf_token": token},
    )
    assert created.status_code == 201
    secret = re.search(r'value="(pwr_[^"]+)"', created.text).group(1)
    assert secret not in browser.get("/admin").text  # shown once
    row = db_session.scalars(select(ApiToken).where(ApiToken.name == "ci job")).one()
    headers = {"Authorization": f"Bearer {secret}"}
    assert browser.get("/api/v1/me", headers=headers).json()["role"] == "editor"
    revoked = browser.post(
        f"/admin/tokens/{row.id}/revoke", data={"csrf_token": token}, follow_redirects=False
    )
    assert revoked.status_code == 303
    assert browser.get("/api/v1/me", headers=headers).status_code == 401


def test_admin_page_is_admin_only(anon_client, db_session) -> None:
    editor = add_user(db_session, "not-admin", "editor")
    token = bearer_token(db_session, editor)
    db_session.commit()
    assert anon_client.get("/admin", headers={"Authorization": f"Bearer {token}"}).status_code == 403
    page = anon_client.get("/admin", headers={"Accept": "text/html"}, follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"].startswith("/login")
