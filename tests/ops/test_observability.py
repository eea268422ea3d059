"""Structured logs with a request id; /metrics in the Prometheus text format behind a role or a setting."""

from __future__ import annotations

import io
import json
import logging
import logging.config
import re
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy.orm import Session

from app.observability.logs import ACCESS_LOGGER, REQUEST_ID, logging_config
from tests.conftest import add_user, bearer_token


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    """The app's JSON log configuration, writing into a buffer (restored afterwards)."""
    stream = io.StringIO()
    config = logging_config("json", "info")
    config["handlers"]["console"]["stream"] = stream
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    access = logging.getLogger(ACCESS_LOGGER)
    logging.config.dictConfig(config)
    yield stream
    root.handlers[:] = saved[0]
    root.setLevel(saved[1])
    access.propagate = True


def _lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


def test_every_response_has_a_request_id_and_a_json_access_line(client: Any, json_log: io.StringIO) -> None:
    given = client.get("/api/v1/accelerators?limit=1", headers={"X-Request-ID": "lb-7f3a.42"})
    assert given.status_code == 200 and given.headers["x-request-id"] == "lb-7f3a.42"  # a proxy's id is kept
    fresh = client.get("/healthz")
    assert len(fresh.headers["x-request-id"]) == 32
    forged = client.get("/healthz", headers={"X-Request-ID": 'x"\n{"level": "CRITICAL"}'})
    assert forged.headers["x-request-id"] != 'x"\n{"level": "CRITICAL"}'  # never echoed into a log line
    lines = [line for line in _lines(json_log) if line["logger"] == ACCESS_LOGGER]
    first = next(line for line in lines if line["request_id"] == "lb-7f3a.42")
    assert first["route"] == "/api/v1/accelerators" and first["status"] == 200 and first["method"] == "GET"
    assert first["duration_ms"] >= 0 and first["level"] == "INFO" and "time" in first
    assert {line["request_id"] for line in lines} >= {fresh.headers["x-request-id"]}


def test_a_log_line_inside_a_request_carries_its_id(json_log: io.StringIO) -> None:
    token = REQUEST_ID.set("abc123")
    try:
        logging.getLogger("app.services.anything").warning("inside")
    finally:
        REQUEST_ID.reset(token)
    logging.getLogger("app.services.anything").warning("outside")
    inside, outside = _lines(json_log)[-2:]
    assert inside["request_id"] == "abc123" and inside["message"] == "inside"
    assert outside["request_id"] is None


def test_metrics_need_an_admin_by_default(client: Any, anon_client: Any, db_session: Session) -> None:
    client.get("/api/v1/accelerators/1")
    scraped = client.get("/metrics")  # the admin-token client
    assert scraped.status_code == 200 and scraped.headers["content-type"].startswith(
        "text/plain; version=0.0.4"
    )
    text = scraped.text
    # Labelled by the route's template, never the raw path (an attacker cannot grow the series).
    series = r'pricewar_http_requests_total\{method="GET",route="/api/v1/accelerators/\{[^"]+\}",'
    assert re.search(series + r'status="200"\} [1-9]', text)
    assert "/api/v1/accelerators/1" not in text
    for name in (
        "pricewar_http_request_duration_seconds_bucket",
        "pricewar_db_pool_connections_in_use",
        "pricewar_db_pool_capacity",
        "# TYPE pricewar_job_queue_depth gauge",
    ):
        assert name in text, name
    assert anon_client.get("/metrics", follow_redirects=False).status_code in (303, 401)
    viewer = add_user(db_session, "metrics-viewer", "viewer")
    token = bearer_token(db_session, viewer)
    db_session.commit()
    assert anon_client.get("/metrics", headers={"Authorization": f"Bearer {token}"}).status_code == 403


def _app_with(monkeypatch: pytest.MonkeyPatch, db_session: Session, mode: str) -> Any:
    import app.config
    from app.main import create_app
    from app.web.deps import get_session

    real = app.config.get_settings()
    monkeypatch.setattr(app.config, "get_settings", lambda: real.model_copy(update={"metrics": mode}))
    application = create_app()

    def session_override() -> Iterator[Session]:
        yield db_session

    application.dependency_overrides[get_session] = session_override
    return application


def test_metrics_public_or_off_by_setting(monkeypatch: pytest.MonkeyPatch, db_session: Session) -> None:
    from fastapi.testclient import TestClient

    from app.observability import metrics

    metrics.set_job_queue_depth_source(lambda: {"queued": 3, "running": 1})
    try:
        with TestClient(_app_with(monkeypatch, db_session, "public")) as public:
            text = public.get("/metrics").text
        assert 'pricewar_job_queue_depth{state="queued"} 3.0' in text
        assert 'pricewar_job_queue_depth{state="running"} 1.0' in text
    finally:
        metrics.set_job_queue_depth_source(None)
    with TestClient(_app_with(monkeypatch, db_session, "off")) as off:
        assert off.get("/metrics").status_code == 404


def test_the_default_queue_depth_counts_queued_and_running_jobs(
    db_engine: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sqlalchemy import delete

    from app.db.jobs import Job
    from app.web.request_context import _job_counts

    monkeypatch.setattr("app.db.session.get_engine", lambda: db_engine)
    with Session(db_engine) as session:
        jobs = [
            Job(kind="simulation", status=s, params={}) for s in ("queued", "queued", "running", "failed")
        ]
        session.add_all(jobs)
        session.commit()
        ids = [job.id for job in jobs]
    try:
        assert _job_counts() == {"queued": 2.0, "running": 1.0}
    finally:
        with Session(db_engine) as session:
            session.execute(delete(Job).where(Job.id.in_(ids)))
            session.commit()
