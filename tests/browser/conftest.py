"""Browser tests: Debian's Chromium through Playwright against the app served by uvicorn in a thread.

The server runs on 127.0.0.1 and a free port with its own migrated, seeded SQLite database (a fresh app
instance, so the unit tests' dependency overrides never touch it). Every request the page makes to any other
origin is recorded and aborted; tests assert that list is empty. Screenshots go to artifacts/screenshots/.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
EDITOR = ("browser-editor", "browser-editor-password-1")
ADMIN = ("browser-admin", "browser-admin-password-1")  # for the admin pages (phone layout, contrast)
# Speed (first draw 1.5 s, slider redraw 300 ms) is measured by bench/bench_pages.py, not asserted in tests.


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    if not Path(CHROMIUM).exists():
        if os.environ.get("REQUIRE_BROWSER") == "1":  # CI: a missing browser is a failure, not a skip
            pytest.fail("REQUIRE_BROWSER=1 but Debian's Chromium is not installed (apt-get install chromium)")
        pytest.skip("Debian's Chromium is not installed (apt-get install chromium)")
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict[str, Any]) -> dict[str, Any]:
    return {**browser_context_args, "viewport": {"width": 1366, "height": 900}}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    import uvicorn
    from sqlalchemy.orm import Session, sessionmaker

    from app.main import create_app
    from app.web.deps import get_session
    from tests.conftest import migrate_and_seed

    engine = migrate_and_seed(f"sqlite:///{tmp_path_factory.mktemp('browser') / 'app.sqlite3'}")
    factory = sessionmaker(bind=engine, expire_on_commit=False)
    with factory() as session:
        _add_editor(session)
        session.commit()

    def session_override() -> Iterator[Session]:
        session = factory()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    app = create_app()
    app.dependency_overrides[get_session] = session_override
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("the test server did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)
    engine.dispose()


def _add_editor(session: Any) -> None:
    """An editor who signs in through the login form (writes from pages need the editor role)."""
    try:
        from app.db.access import User
        from app.services.passwords import hash_password
    except ImportError:  # no accounts in this build: writes are open
        return
    session.add(
        User(username=EDITOR[0], role="editor", is_active=True, password_hash=hash_password(EDITOR[1]))
    )
    session.add(User(username=ADMIN[0], role="admin", is_active=True, password_hash=hash_password(ADMIN[1])))


@dataclass
class Watch:
    """What a page did that it should not: console errors, uncaught exceptions, requests leaving the box."""

    base_url: str
    console_errors: list[str] = field(default_factory=list)
    external_requests: list[str] = field(default_factory=list)

    def assert_clean(self) -> None:
        assert self.external_requests == [], self.external_requests
        assert self.console_errors == [], self.console_errors


@pytest.fixture
def watch(page: Any, live_server: str) -> Watch:
    watched = Watch(live_server)

    def route(route: Any) -> None:
        url = route.request.url
        if url.startswith(live_server) or url.startswith("data:") or url.startswith("blob:"):
            route.continue_()
        else:
            watched.external_requests.append(url)
            route.abort()

    page.route("**/*", route)
    page.on("console", lambda m: watched.console_errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: watched.console_errors.append(str(e)))
    return watched


def screenshot(page: Any, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def sign_in(page: Any, base_url: str, user: tuple[str, str] = EDITOR) -> None:
    page.goto(f"{base_url}/login")
    if page.locator("input[name='username']").count() == 0:
        return
    page.fill("input[name='username']", user[0])
    page.fill("input[name='password']", user[1])
    page.click("form[action='/login'] button[type='submit']")
    page.wait_for_load_state("load")
