"""Two web replicas behind a load balancer: two `pricewar serve` processes on one PostgreSQL database.

Everything that must be shared lives in the database — sessions, CSRF tokens of sessions, rate-limit
counters, the change stamps the page caches are keyed by — so: a session made on one replica works on the
other, an edit made on one is seen on the other at once (API and a cached page), and failed sign-ins count
across both.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import create_postgres_database, migrate_and_seed

pytestmark = pytest.mark.postgres

ADMIN, PASSWORD = "replica-admin", "replica-passphrase-42"
FAILURES_ALLOWED = 3


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def replicas() -> Iterator[tuple[str, str]]:
    url, drop = create_postgres_database()
    migrate_and_seed(url).dispose()
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "PRICEWAR_ENVIRONMENT": "production",
        "PRICEWAR_SECRET_KEY": "r" * 64,  # replicas share the secret (it signs the anonymous CSRF cookie)
        "PRICEWAR_EMBEDDED_WORKER": "false",
        "PRICEWAR_LOGIN_FAILURES_PER_USER": str(FAILURES_ALLOWED),
        "PRICEWAR_LOG_FORMAT": "json",
    }
    created = subprocess.run(
        [sys.executable, "-m", "app.cli", "create-admin", ADMIN, "--password-stdin"],
        input=PASSWORD + "\n",
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert created.returncode == 0, created.stderr
    logs = Path(tempfile.mkdtemp(prefix="pricewar-replicas-"))
    processes, bases = [], []
    for name in ("a", "b"):
        port = _free_port()
        log = (logs / f"{name}.log").open("w")
        processes.append(
            subprocess.Popen(
                [sys.executable, "-m", "app.cli", "serve", "--no-setup", "--port", str(port)],
                env={**env, "PRICEWAR_HOST": "127.0.0.1"},
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        )
        bases.append(f"http://127.0.0.1:{port}")
    try:
        deadline = time.monotonic() + 120
        for base, process in zip(bases, processes, strict=True):
            while True:
                try:
                    if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("replica did not start:\n" + "".join(p.read_text() for p in logs.iterdir()))
                time.sleep(0.3)
        yield bases[0], bases[1]
    finally:
        for process in processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
        drop()


def _csrf(page: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found, "no CSRF field"
    return found.group(1)


def _login(client: httpx.Client, base: str, password: str) -> httpx.Response:
    token = _csrf(client.get(f"{base}/login").text)
    return client.post(
        f"{base}/login",
        data={"username": ADMIN, "password": password, "csrf_token": token, "next": "/account"},
        follow_redirects=False,
    )


def test_a_session_made_on_one_replica_works_on_the_other_and_edits_show_at_once(
    replicas: tuple[str, str],
) -> None:
    a, b = replicas
    with httpx.Client(timeout=30) as client:
        assert _login(client, a, PASSWORD).status_code == 303  # signed in on A
        account = client.get(f"{b}/account")  # ... and known on B
        assert account.status_code == 200 and ADMIN in account.text
        csrf = _csrf(account.text)  # the session's CSRF token, read on B, accepted on A

        accelerator = client.get(f"{b}/api/v1/accelerators", params={"limit": 1, "sort": "id"}).json()[
            "items"
        ][0]
        old_name = accelerator["name"]
        before = client.get(f"{b}/hardware")  # B renders (and caches) the hardware page
        assert before.status_code == 200 and old_name in before.text

        new_name = f"{old_name} replica-edit"
        changed = client.patch(
            f"{a}/api/v1/accelerators/{accelerator['id']}",
            json={"name": new_name, "version": accelerator["version"]},
            headers={"x-csrf-token": csrf},
        )
        assert changed.status_code == 200, changed.text

        seen = client.get(f"{b}/api/v1/accelerators/{accelerator['id']}").json()
        assert seen["name"] == new_name and seen["version"] == accelerator["version"] + 1
        page = client.get(f"{b}/hardware")
        assert new_name in page.text  # B's cached page knows the edit at once

        stale = client.patch(  # B sees A's version too: a write with the old version is refused
            f"{b}/api/v1/accelerators/{accelerator['id']}",
            json={"name": old_name, "version": accelerator["version"]},
            headers={"x-csrf-token": csrf},
        )
        assert stale.status_code == 409

        out = client.post(f"{b}/logout", data={"csrf_token": csrf}, follow_redirects=False)
        assert out.status_code in (302, 303)
        assert client.get(f"{a}/account", follow_redirects=False).status_code in (302, 303, 401)


def test_failed_sign_ins_count_across_replicas(replicas: tuple[str, str]) -> None:
    a, b = replicas
    with httpx.Client(timeout=30) as client:
        statuses = [
            _login(client, (a, b)[i % 2], "wrong-password").status_code for i in range(FAILURES_ALLOWED)
        ]
        assert statuses == [401] * FAILURES_ALLOWED  # A, B, A: three failures in all
        # The next try is refused on either replica, even with the right password.
        assert _login(client, b, "wrong-password").status_code == 429
        assert _login(client, a, PASSWORD).status_code == 429
