"""Two writers on the same row: exactly one wins, the other gets 409 (PostgreSQL, real commits); SQLite with
concurrent writers in two app processes: no "database is locked", every write lands."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, func, inspect, select, text

from app.db.models import Accelerator, PriceQuote
from app.services import crud
from tests.faults.conftest import app_on_database, auth_headers

PROJECT_ROOT = Path(__file__).resolve().parents[2]  # the source tree

pytestmark = pytest.mark.faults


def _race(client, requests: list[tuple[str, dict]]) -> list:  # type: ignore[no-untyped-def]
    """Send the PATCHes at the same moment from separate threads."""
    barrier = threading.Barrier(len(requests))

    def send(path_body: tuple[str, dict]):  # type: ignore[no-untyped-def]
        barrier.wait()
        return client.patch(path_body[0], json=path_body[1])

    with ThreadPoolExecutor(len(requests)) as pool:
        return list(pool.map(send, requests))


@pytest.fixture
def overlapping_flushes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Both writers pass the in-Python version check before either writes: the database must decide."""
    original = crud._flush
    arrived = threading.Barrier(2, timeout=10)
    local = threading.local()

    def flush_together(session, model):  # type: ignore[no-untyped-def]
        if not getattr(local, "waited", False):  # only each writer's first write meets the other
            local.waited = True
            try:
                arrived.wait()
            except threading.BrokenBarrierError:
                pass
        original(session, model)

    monkeypatch.setattr(crud, "_flush", flush_together)


def _audit_table(engine) -> str | None:  # type: ignore[no-untyped-def]
    names = [n for n in inspect(engine).get_table_names() if "audit" in n]
    return names[0] if names else None


def _audit_count(engine, table: str | None) -> int:  # type: ignore[no-untyped-def]
    if table is None:
        return 0
    with engine.connect() as connection:
        return int(connection.execute(text(f'SELECT COUNT(*) FROM "{table}"')).scalar_one())  # noqa: S608


@pytest.mark.postgres
@pytest.mark.parametrize("overlap", [False, True], ids=["racing", "overlapping-flushes"])
def test_two_writers_on_one_row_exactly_one_wins(postgres_url: str, overlap: bool, request) -> None:  # type: ignore[no-untyped-def]
    if overlap:
        request.getfixturevalue("overlapping_flushes")
    engine = create_engine(postgres_url)
    audit = _audit_table(engine)
    try:
        with app_on_database(postgres_url) as client:
            before = client.get("/api/v1/accelerators/1").json()
            audit_before = _audit_count(engine, audit)
            responses = _race(
                client,
                [
                    ("/api/v1/accelerators/1", {"notes": "writer A", "version": before["version"]}),
                    ("/api/v1/accelerators/1", {"notes": "writer B", "version": before["version"]}),
                ],
            )
            statuses = sorted(r.status_code for r in responses)
            assert statuses == [200, 409], [r.text for r in responses]
            winner = next(r for r in responses if r.status_code == 200).json()
            loser = next(r for r in responses if r.status_code == 409).json()
            assert "changed by someone else" in str(loser["detail"])
            after = client.get("/api/v1/accelerators/1").json()
            assert after["notes"] == winner["notes"] and after["version"] == before["version"] + 1
            if audit is not None:
                assert _audit_count(engine, audit) - audit_before == 1
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_two_price_changes_on_one_quote_add_one_successor(
    postgres_url: str, overlapping_flushes: None
) -> None:
    """A price change closes the row and adds a dated successor: two at once must not leave two successors."""
    engine = create_engine(postgres_url)
    try:
        with app_on_database(postgres_url) as client:
            quote = client.get("/api/v1/price-quotes?limit=1").json()["items"][0]
            audit = _audit_table(engine)
            audit_before = _audit_count(engine, audit)
            with engine.connect() as connection:
                rows_before = connection.scalar(select(func.count()).select_from(PriceQuote))
            body = {"version": quote["version"], "effective_from": "2099-01-01"}
            responses = _race(
                client,
                [
                    (
                        f"/api/v1/price-quotes/{quote['id']}",
                        {**body, "usd_per_hour": quote["usd_per_hour"] * 0.9},
                    ),
                    (
                        f"/api/v1/price-quotes/{quote['id']}",
                        {**body, "usd_per_hour": quote["usd_per_hour"] * 0.8},
                    ),
                ],
            )
            assert sorted(r.status_code for r in responses) == [200, 409], [r.text for r in responses]
            with engine.connect() as connection:
                assert connection.scalar(select(func.count()).select_from(PriceQuote)) == rows_before + 1
                successors = connection.execute(
                    select(PriceQuote.usd_per_hour).where(
                        PriceQuote.provider == quote["provider"],
                        PriceQuote.instance_type == quote["instance_type"],
                        PriceQuote.region == quote["region"],
                        PriceQuote.pricing_model == quote["pricing_model"],
                        PriceQuote.effective_to.is_(None),
                    )
                ).all()
            assert len(successors) == 1
            if audit is not None:  # one entry for the winner's close-and-add pair, none for the loser
                assert _audit_count(engine, audit) - audit_before == 1
    finally:
        engine.dispose()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _serve(url: str, port: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "DATABASE_URL": url, "PRICEWAR_ENVIRONMENT": "test"}
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "app.main:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def _wait_ready(port: int, process: subprocess.Popen[bytes]) -> None:
    # Generous: on the 2-core CI machine a busy moment can stretch the app's start past 30 s.
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"app exited: {process.stderr.read().decode()[-2000:]}")  # type: ignore[union-attr]
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError("app did not become ready")


def test_sqlite_two_processes_writing_at_once_lose_nothing() -> None:
    from tests.conftest import migrate_and_seed

    path = Path(tempfile.mkdtemp(prefix="pricewar-sqlite-writers-")) / "shared.sqlite3"
    url = f"sqlite:///{path}"
    engine = migrate_and_seed(url)
    ports = [_free_port(), _free_port()]
    processes = [_serve(url, port) for port in ports]
    writers, per_writer = 6, 15
    try:
        for port, process in zip(ports, processes, strict=True):
            _wait_ready(port, process)
        headers = auth_headers(url)

        def write(writer: int) -> list[tuple[int, str]]:
            outcomes = []
            port = ports[writer % 2]
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=headers, timeout=60) as http:
                for i in range(per_writer):
                    created = http.post(
                        "/api/v1/accelerators",
                        json={
                            "name": f"writer-{writer}-{i}",
                            "vendor": "Test",
                            "memory_gb": 80,
                            "memory_bandwidth_tb_s": 3.35,
                        },
                    )
                    outcomes.append((created.status_code, created.text))
                    if created.status_code == 201:
                        row = created.json()
                        changed = http.patch(
                            f"/api/v1/accelerators/{row['id']}",
                            json={"notes": "edited", "version": row["version"]},
                        )
                        outcomes.append((changed.status_code, changed.text))
                    read = http.get("/api/v1/accelerators?limit=5&sort=-id")
                    outcomes.append((read.status_code, read.text[:200]))
            return outcomes

        with ThreadPoolExecutor(writers) as pool:
            results = [o for batch in pool.map(write, range(writers)) for o in batch]
        failures = [(status, body[:300]) for status, body in results if status >= 300]
        assert not failures, failures[:5]
        assert not any("locked" in body for _, body in results)
        with engine.connect() as connection:
            created = connection.scalar(
                select(func.count()).select_from(Accelerator).where(Accelerator.name.like("writer-%"))
            )
            edited = connection.scalar(
                select(func.count()).select_from(Accelerator).where(Accelerator.notes == "edited")
            )
        assert created == edited == writers * per_writer
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                _, stderr = process.communicate(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                _, stderr = process.communicate()
            assert b"database is locked" not in stderr
        engine.dispose()
