"""`pricewar serve` (and so Docker's entrypoint, which runs it) passes the proxy-trust setting to uvicorn and
hides the server banner.

Found in an attack: uvicorn's proxy_headers trusted X-Forwarded-For from 127.0.0.1 by default, so a new
header value per try bypassed the per-address sign-in limit and the audit stored the forged address; and
every answer carried `server: uvicorn`.
"""

from __future__ import annotations

from typing import Any

import pytest


def _served_with(monkeypatch: pytest.MonkeyPatch, **env: str) -> dict[str, Any]:
    import uvicorn

    from app import cli
    from app.config import get_settings

    captured: dict[str, Any] = {}
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: captured.update(kwargs))
    monkeypatch.setenv("PRICEWAR_EMBEDDED_WORKER", "false")
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    get_settings.cache_clear()
    try:
        assert cli.main(["serve", "--no-setup"]) == 0
    finally:
        get_settings.cache_clear()
    return captured


def test_default_trusts_no_proxy_and_has_no_banner(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PRICEWAR_FORWARDED_ALLOW_IPS", raising=False)
    served = _served_with(monkeypatch)
    assert served["proxy_headers"] is False
    assert served["server_header"] is False


def test_named_proxies_are_trusted(monkeypatch: pytest.MonkeyPatch) -> None:
    served = _served_with(monkeypatch, PRICEWAR_FORWARDED_ALLOW_IPS="10.0.0.5,192.168.0.0/16")
    assert served["proxy_headers"] is True
    assert served["forwarded_allow_ips"] == "10.0.0.5,192.168.0.0/16"


@pytest.mark.parametrize(("trusted", "expected"), [("", "127.0.0.1"), ("127.0.0.1", "6.6.6.6")])
def test_forged_forwarded_for_is_ignored_without_trust(
    monkeypatch: pytest.MonkeyPatch, trusted: str, expected: str
) -> None:
    """Through uvicorn's own proxy middleware as `pricewar serve` configures it by default: the client
    address stays the TCP peer's, whatever X-Forwarded-For says."""
    import asyncio
    import threading

    from uvicorn.config import Config

    seen: list[Any] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen.append(scope["client"])

    served = _served_with(monkeypatch, PRICEWAR_FORWARDED_ALLOW_IPS=trusted)
    config = Config(
        app, proxy_headers=served["proxy_headers"], forwarded_allow_ips=served["forwarded_allow_ips"]
    )
    config.load()
    scope = {
        "type": "http",
        "client": ("127.0.0.1", 1234),
        "headers": [(b"x-forwarded-for", b"6.6.6.6")],
    }
    # A thread of its own: an earlier test in the same process (Playwright's sync API) may leave an event
    # loop running on this one, and asyncio.run() refuses to start inside a running loop.
    worker = threading.Thread(target=lambda: asyncio.run(config.loaded_app(scope, None, None)))
    worker.start()
    worker.join(30)
    assert seen[0][0] == expected
