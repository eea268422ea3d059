"""The database stops and comes back while the app keeps running (PostgreSQL behind a TCP proxy).

The machine's PostgreSQL server is shared with other tests, so the "outage" is a proxy between the app and
the server: stopping it refuses new connections and cuts the pooled ones, as a server restart does.
"""

from __future__ import annotations

import time

import pytest
from sqlalchemy.engine import make_url

from tests.faults.conftest import TcpProxy, app_on_database

pytestmark = [pytest.mark.faults, pytest.mark.postgres]

HTML = {"Accept": "text/html,application/xhtml+xml"}


def _through_proxy(url: str, proxy: TcpProxy) -> str:
    return make_url(url).set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)


def _assert_unavailable(client) -> None:  # type: ignore[no-untyped-def]
    api = client.get("/api/v1/accelerators/1")
    assert api.status_code == 503, api.text
    assert api.headers["retry-after"].isdigit()
    assert api.headers["content-type"].startswith("application/json")
    assert "unavailable" in api.json()["detail"]

    listing = client.get("/api/v1/price-quotes?limit=5")
    assert listing.status_code == 503 and "retry-after" in listing.headers

    write = client.patch("/api/v1/accelerators/1", json={"notes": "while down", "version": 1})
    assert write.status_code == 503 and "retry-after" in write.headers

    page = client.get("/", headers=HTML)
    assert page.status_code == 503
    assert page.headers["content-type"].startswith("text/html")
    assert "retry-after" in page.headers
    assert "unavailable" in page.text
    for leak in ("Traceback", "psycopg", "OperationalError", "127.0.0.1"):
        assert leak not in page.text

    ready = client.get("/readyz")
    assert ready.status_code == 503 and "retry-after" in ready.headers
    assert client.get("/healthz").status_code == 200


def test_database_stop_gives_503_and_the_app_recovers_without_restart(postgres_url: str) -> None:
    target = make_url(postgres_url)
    proxy = TcpProxy(target.host or "127.0.0.1", target.port or 5432)
    proxy.start()
    try:
        with app_on_database(_through_proxy(postgres_url, proxy)) as client:
            assert client.get("/readyz").status_code == 200
            first = client.get("/api/v1/accelerators/1")
            assert first.status_code == 200
            assert client.get("/", headers=HTML).status_code == 200
            assert proxy.open_connections >= 1  # the pool holds a live connection through the proxy

            # Stop: pooled connections are cut, new ones refused.
            proxy.stop()
            started = time.monotonic()
            _assert_unavailable(client)
            assert time.monotonic() - started < 10, "an outage must fail fast, not hang"
            # A second round: the pool has no good connection left, still 503 (never a 500).
            _assert_unavailable(client)

            # Restart: the same app (same engine and pool) serves again.
            proxy.start()
            assert client.get("/readyz").status_code == 200
            again = client.get("/api/v1/accelerators/1")
            assert again.status_code == 200 and again.json() == first.json()
            assert client.get("/", headers=HTML).status_code == 200
            changed = client.patch("/api/v1/accelerators/1", json={"notes": "after restart", "version": 1})
            assert changed.status_code == 200, changed.text
            assert client.get("/api/v1/accelerators/1").json()["notes"] == "after restart"
    finally:
        proxy.stop()


def test_connection_cut_mid_session_is_a_503_then_recovers(postgres_url: str) -> None:
    """Connections cut while the server stays reachable (e.g. a failover): pre-ping replaces them."""
    target = make_url(postgres_url)
    proxy = TcpProxy(target.host or "127.0.0.1", target.port or 5432)
    proxy.start()
    try:
        with app_on_database(_through_proxy(postgres_url, proxy)) as client:
            for _ in range(3):
                assert client.get("/api/v1/price-quotes?limit=5").status_code == 200
            proxy.stop()
            proxy.start()  # back at once: the stale pooled connection must not surface as an error
            for _ in range(3):
                response = client.get("/api/v1/price-quotes?limit=5")
                assert response.status_code == 200, response.text
            assert client.get("/readyz").status_code == 200
    finally:
        proxy.stop()
