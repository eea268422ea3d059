"""The price-floor webhook against a local receiver: signed JSON, each alert once, nothing recorded on failure."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from datetime import date
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.db.models import AlertDelivery, MarketPrice
from app.services import alert_webhook, crud

SECRET = "test-secret"


class Receiver:
    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.status = 200


@pytest.fixture
def receiver() -> Iterator[tuple[str, Receiver]]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            body = self.rfile.read(int(self.headers["Content-Length"]))
            state.received.append((dict(self.headers), body))
            self.send_response(state.status)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)  # loopback only, a free port
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/hook", state
    finally:
        server.shutdown()
        server.server_close()


def _cheap_price(session: Session, model: str) -> MarketPrice:
    return crud.create_row(
        session,
        MarketPrice,
        {
            "provider": "example-newco",
            "model_name": model,
            "input_usd_per_million": 0.0,
            "output_usd_per_million": 0.0001,
            "effective_date": date(2026, 6, 1),
            "event_type": "cut",
        },
    )


def test_new_alerts_are_signed_sent_once_and_recorded(
    db_session: Session, receiver: tuple[str, Receiver]
) -> None:
    url, state = receiver
    sent = alert_webhook.deliver_new_alerts(db_session, url, SECRET, now=1_780_000_000)
    assert sent > 0  # the seeded market already has prices under the presets' floors
    headers, body = state.received[0]
    timestamp = headers["X-Pricewar-Timestamp"]
    expected = hmac.new(SECRET.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    assert headers["X-Pricewar-Signature"] == f"sha256={expected}"
    payload = json.loads(body)
    assert payload["event"] == "price_floor_alerts" and len(payload["items"]) == sent
    assert {"scenario_id", "market_price_id", "gap_fraction", "since"} <= set(payload["items"][0])
    assert db_session.scalar(select(func.count()).select_from(AlertDelivery)) == sent

    assert alert_webhook.deliver_new_alerts(db_session, url, SECRET) == 0  # nothing new: no request
    assert len(state.received) == 1

    price = _cheap_price(db_session, "newly-cheap")
    again = alert_webhook.deliver_new_alerts(db_session, url, SECRET)
    assert again >= 1
    newest = json.loads(state.received[-1][1])["items"]
    assert {item["market_price_id"] for item in newest} == {price.id}


def test_a_refusing_receiver_records_nothing_and_the_retry_sends_the_same(
    db_session: Session, receiver: tuple[str, Receiver]
) -> None:
    url, state = receiver
    state.status = 500
    with pytest.raises(alert_webhook.DeliveryFailed, match="500"):
        alert_webhook.deliver_new_alerts(db_session, url, SECRET)
    assert db_session.scalar(select(func.count()).select_from(AlertDelivery)) == 0
    state.status = 204
    sent = alert_webhook.deliver_new_alerts(db_session, url, SECRET)
    assert json.loads(state.received[0][1])["items"] == json.loads(state.received[1][1])["items"]
    assert sent == len(json.loads(state.received[1][1])["items"])


def test_an_unreachable_receiver_is_a_delivery_failure(db_session: Session) -> None:
    with pytest.raises(alert_webhook.DeliveryFailed, match="unreachable"):
        alert_webhook.deliver_new_alerts(db_session, "http://127.0.0.1:9/hook", SECRET)


def test_the_queue_task_delivers_and_a_commit_of_a_market_price_queues_it(
    db_session: Session, receiver: tuple[str, Receiver], monkeypatch: pytest.MonkeyPatch
) -> None:
    from huey import MemoryHuey
    from sqlalchemy.orm import sessionmaker

    from app.config import Settings

    url, state = receiver
    settings = Settings(alert_webhook_url=url, alert_webhook_secret=SECRET)
    connection = db_session.connection()
    write = sessionmaker(bind=connection, join_transaction_mode="create_savepoint")
    task = alert_webhook.register(MemoryHuey(immediate=True), write, settings)
    task()  # immediate mode: runs now, as a worker would
    assert len(state.received) == 1 and json.loads(state.received[0][1])["items"]

    queued: list[str] = []

    class Runtime:
        def enqueue_alert_delivery(self) -> None:
            queued.append("deliver_alerts")

    import app.services.jobs as jobs

    monkeypatch.setattr(alert_webhook, "get_settings", lambda: settings)
    monkeypatch.setattr(jobs, "get_runtime", lambda: Runtime())
    alert_webhook.install()
    _cheap_price(db_session, "queued-on-commit")
    db_session.commit()
    assert queued == ["deliver_alerts"]
    db_session.commit()  # nothing changed since: nothing queued
    assert queued == ["deliver_alerts"]


def test_a_webhook_url_needs_a_secret() -> None:
    from pydantic import ValidationError

    from app.config import Settings

    with pytest.raises(ValidationError, match="SECRET"):
        Settings(alert_webhook_url="https://example.invalid/hook")
    with pytest.raises(ValidationError, match="http"):
        Settings(alert_webhook_url="ftp://example.invalid/hook", alert_webhook_secret="s")
