"""The outgoing price-floor webhook: new alerts, POSTed once as HMAC-signed JSON.

`deliver_new_alerts` computes the alerts now, leaves out the (scenario, market price) pairs a receiver has
already accepted, POSTs the rest in one request and records them once the receiver answers 2xx. A failure
raises `DeliveryFailed` and records nothing, so the caller's retry (the job queue's task, with its retries)
sends the same alerts again. The body is signed the way Stripe and GitHub sign theirs:

    X-Pricewar-Timestamp: <unix seconds>
    X-Pricewar-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<body>" with the shared secret>

A receiver recomputes the HMAC over the raw body and refuses a stale timestamp (replays).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.orm import Session, sessionmaker

from app.config import Settings, get_settings
from app.db.models import AlertDelivery, MarketPrice, Scenario
from app.services import alerts

log = logging.getLogger("pricewar.alerts")

TIMEOUT_S = 10.0
# (url, body, headers) → HTTP status; urllib by default (no extra dependency), a stub in tests.
Poster = Callable[[str, bytes, dict[str, str]], int]


class DeliveryFailed(Exception):
    """The receiver did not accept the alerts (network error or a non-2xx answer): retry later."""


def signature(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def _urllib_post(url: str, body: bytes, headers: dict[str, str]) -> int:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:  # noqa: S310 - operator's URL
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)
    except (urllib.error.URLError, TimeoutError, OSError) as error:
        raise DeliveryFailed(f"webhook unreachable: {error}") from error


def deliver_new_alerts(
    session: Session, url: str, secret: str, post: Poster = _urllib_post, now: float | None = None
) -> int:
    """Send the alerts not sent yet; return how many were sent (0: nothing new, no request made)."""
    items, _problems = alerts.alerts(session)
    sent = {(d.scenario_id, d.market_price_id) for d in session.scalars(select(AlertDelivery))}
    new = [item for item in items if (item.scenario_id, item.market_price_id) not in sent]
    if not new:
        return 0
    moment = time.time() if now is None else now
    payload = {
        "event": "price_floor_alerts",
        "sent_at": datetime.fromtimestamp(moment, UTC).isoformat(),
        "items": [{**asdict(item), "since": item.since.isoformat()} for item in new],
    }
    body = json.dumps(payload, sort_keys=True).encode()
    timestamp = str(int(moment))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "pricewar-alerts",
        "X-Pricewar-Timestamp": timestamp,
        "X-Pricewar-Signature": signature(secret, timestamp, body),
    }
    status = post(url, body, headers)
    if not 200 <= status < 300:
        raise DeliveryFailed(f"webhook answered {status}")
    delivered_at = datetime.fromtimestamp(moment, UTC)
    for item in new:
        session.add(
            AlertDelivery(
                scenario_id=item.scenario_id, market_price_id=item.market_price_id, delivered_at=delivered_at
            )
        )
    session.flush()
    return len(new)


# --- wiring: a queue task with retries, enqueued after a commit that changed what alerts read ---------------

RETRIES = 5
RETRY_DELAY_S = 60
_WATCHED = (MarketPrice, Scenario)


def register(huey: Any, write: sessionmaker[Session], settings: Settings) -> Callable[[], Any]:
    """Add the `deliver_alerts` task to a job runtime's queue (retried 5 times, a minute apart, when the
    receiver fails) and return its enqueuer. Every worker and web process registers it with the runtime."""

    def deliver_alerts() -> int:
        if not settings.alert_webhook_url or not settings.alert_webhook_secret:
            return 0
        with write() as session, session.begin():
            return deliver_new_alerts(session, settings.alert_webhook_url, settings.alert_webhook_secret)

    task: Callable[[], Any] = huey.task(name="deliver_alerts", retries=RETRIES, retry_delay=RETRY_DELAY_S)(
        deliver_alerts
    )
    return task


def _note_changes(session: Session, _context: Any, _instances: Any) -> None:
    if any(isinstance(row, _WATCHED) for row in (*session.new, *session.dirty, *session.deleted)):
        session.info["alerts_changed"] = True


def _after_commit(session: Session) -> None:
    if not session.info.pop("alerts_changed", False) or not get_settings().alert_webhook_url:
        return
    try:
        from app.services.jobs import get_runtime

        get_runtime().enqueue_alert_delivery()
    except Exception:  # noqa: BLE001 - a webhook must never fail the write it follows
        log.exception("could not queue the price-floor webhook")


def install() -> None:
    """Queue a delivery after every commit that added, changed or removed a market price or a scenario
    (idempotent; only when a webhook URL is configured)."""
    if not event.contains(Session, "before_flush", _note_changes):
        event.listen(Session, "before_flush", _note_changes)
        event.listen(Session, "after_commit", _after_commit)
        event.listen(Session, "after_rollback", lambda session: session.info.pop("alerts_changed", None))
