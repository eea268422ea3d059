"""No default password: the first admin comes from a one-time setup token (or the CLI); password rules."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from sqlalchemy import select

from app.config import get_settings
from app.db.access import SetupToken, User
from app.services import accounts


def _form_token(browser) -> str:  # type: ignore[no-untyped-def]
    """The anonymous form token (a MAC of the CSRF cookie, not the cookie itself), read off a form."""
    import re

    page = browser.get("/login", follow_redirects=True).text
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def test_first_admin_through_the_setup_token(anon_client, db_session) -> None:
    assert accounts.user_count(db_session) == 0
    login = anon_client.get("/login", follow_redirects=False)
    assert login.status_code == 303 and login.headers["location"] == "/setup"
    page = anon_client.get("/setup")
    assert page.status_code == 200 and 'name="csrf_token"' in page.text and "<script>" not in page.text
    raw = accounts.issue_setup_token(db_session, get_settings())
    db_session.commit()
    stored = db_session.scalars(select(SetupToken)).one()
    assert stored.token_hash == accounts.digest(raw) and raw not in stored.token_hash

    form = {
        "username": "root-admin",
        "password": "saffron-glacier-piano",
        "password_again": "saffron-glacier-piano",
        "csrf_token": _form_token(anon_client),
    }
    wrong = anon_client.post("/setup", data={**form, "token": "guess"})
    assert wrong.status_code == 422 and "setup token is wrong" in wrong.text
    weak = anon_client.post(
        "/setup", data={**form, "token": raw, "password": "password1", "password_again": "password1"}
    )
    assert weak.status_code == 422 and "most common" in weak.text
    done = anon_client.post("/setup", data={**form, "token": raw}, follow_redirects=False)
    assert done.status_code == 303
    assert anon_client.get("/api/v1/me").json() == {
        "username": "root-admin",
        "role": "admin",
        "via": "session",
    }
    assert db_session.scalars(select(User)).one().role == "admin"
    assert not db_session.scalars(select(SetupToken)).all()  # spent, and every other one with it
    assert anon_client.get("/setup", follow_redirects=False).headers["location"] == "/login"
    again = anon_client.post("/setup", data={**form, "token": raw, "username": "second"})
    assert again.status_code in (403, 422)  # signed in now: the anonymous form token no longer counts
    assert db_session.scalars(select(User)).one().username == "root-admin"


def test_no_setup_token_once_users_exist(db_session) -> None:
    accounts.create_user(db_session, "exists", "maple-copper-window", "viewer")
    assert accounts.issue_setup_token(db_session, get_settings()) is None


def test_create_admin_cli() -> None:
    db = Path(tempfile.mkdtemp()) / "cli.sqlite3"
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{db}"}

    def run(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "app.cli", *args],
            input=stdin,
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
        )

    assert run("migrate").returncode == 0
    weak = run("create-admin", "boss", "--password-stdin", stdin="qwerty123\n")
    assert weak.returncode == 2 and "common" in weak.stderr
    short = run("create-admin", "boss", "--password-stdin", stdin="abc\n")
    assert short.returncode == 2 and "at least 8" in short.stderr
    ok = run("create-admin", "boss", "--password-stdin", stdin="amber-falcon-terrace\n")
    assert ok.returncode == 0 and "created admin 'boss'" in ok.stdout
    assert run("create-admin", "boss", "--password-stdin", stdin="amber-falcon-terrace\n").returncode == 2
    assert "usage: pricewar create-admin" in run("create-admin", "--help").stdout


def test_first_start_logs_a_setup_token(db_session, monkeypatch, caplog) -> None:
    from contextlib import contextmanager

    import app.db.session
    from app.web.auth import announce_setup_token

    @contextmanager
    def on_test_session():  # type: ignore[no-untyped-def]
        yield db_session

    monkeypatch.setattr(app.db.session, "session_scope", on_test_session)
    monkeypatch.setattr(get_settings(), "environment", "development")
    with caplog.at_level("WARNING", logger="uvicorn.error"):
        announce_setup_token()
    [message] = [r.getMessage() for r in caplog.records if "setup?token=" in r.getMessage()]
    raw = message.split("setup?token=")[1].split()[0]
    assert accounts.setup_token_valid(db_session, raw) and "create-admin" in message
    accounts.create_user(db_session, "someone", "walnut-harbor-signal", "viewer")
    caplog.clear()
    with caplog.at_level("WARNING", logger="uvicorn.error"):
        announce_setup_token()
    assert not [r for r in caplog.records if "setup?token=" in r.getMessage()]
