"""Heavy work is bounded: a gate sized to the cores, a per-caller limit (anonymous lowest), a bounded queue,
429 + Retry-After when full, and a smaller work budget for anonymous visitors and viewers.

Found in an attack: one anonymous preview of 69,444 paths x 120 months ran 13.7 s, an editor's 64-strategy
explorer run 14.9 s, and nothing limited how many ran at once. Both backends (the `client` fixtures).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from app.services import work_limits
from app.services.work_limits import Busy, WorkGate


@pytest.fixture
def small_gate() -> Iterator[WorkGate]:
    gate = work_limits.reset_gate(workers=1, queue=1, wait_seconds=5)
    yield gate
    work_limits.reset_gate()


def test_gate_bounds_running_queued_and_per_caller() -> None:
    gate = WorkGate(workers=1, queue=1, wait_seconds=5)
    entered = threading.Event()
    release = threading.Event()

    def hold(key: str) -> None:
        with gate.slot(key, 2):
            entered.set()
            release.wait(5)

    first = threading.Thread(target=hold, args=("a",))
    first.start()
    assert entered.wait(5)
    second = threading.Thread(target=hold, args=("b",))  # queued behind the first
    second.start()
    deadline = time.monotonic() + 5
    while gate.waiting < 1 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert gate.running == 1 and gate.waiting == 1
    with pytest.raises(Busy) as full:  # running 1 + queued 1: the third is refused at once
        with gate.slot("c", 2):
            pass
    assert full.value.retry_after_seconds >= 1
    release.set()
    first.join(5)
    second.join(5)
    assert gate.running == 0 and gate.waiting == 0


def test_one_caller_cannot_take_more_than_its_limit() -> None:
    gate = WorkGate(workers=4, queue=4)
    with gate.slot("anonymous", 1):
        with pytest.raises(Busy):
            with gate.slot("anonymous", 1):
                pass
        with gate.slot("user:7", 2):  # others still get in
            pass


def test_a_full_gate_answers_429_with_retry_after(anon_client, small_gate: WorkGate) -> None:
    release = threading.Event()
    held = threading.Event()

    def hold() -> None:
        with small_gate.slot("user:999", 1):
            held.set()
            release.wait(10)

    holders = [threading.Thread(target=hold)]
    holders[0].start()
    assert held.wait(5)
    # the one worker is busy: an anonymous preview queues (the queue holds one)
    try:
        body = {"inputs": _article(anon_client), "paths_count": 100}
        assert small_gate.waiting == 0
        answer_box: list[object] = []
        first = threading.Thread(
            target=lambda: answer_box.append(anon_client.post("/api/v1/simulations/preview", json=body))
        )
        first.start()
        deadline = time.monotonic() + 5
        while small_gate.waiting < 1 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert small_gate.waiting == 1
        # running 1 + queued 1 = full (and anonymous callers share one slot): the next is refused at once
        refused = anon_client.post("/api/v1/simulations/preview", json=body)
        assert refused.status_code == 429, refused.text
        assert int(refused.headers["retry-after"]) >= 1
    finally:
        release.set()
        holders[0].join(5)
    first.join(30)
    assert answer_box and answer_box[0].status_code == 200  # type: ignore[attr-defined]


def _article(client) -> dict[str, object]:  # type: ignore[no-untyped-def]
    presets = client.get("/api/v1/simulations/presets").json()
    return next(p for p in presets if p["slug"] == "article-strategies")["inputs"]


def test_anonymous_previews_get_a_smaller_budget_than_editors(anon_client, client) -> None:
    inputs = _article(anon_client)
    per_path = 36 * 16 * 3  # months x strategies x firms of the article preset
    paths = work_limits.VIEWER_WORK_UNITS // per_path + 1  # just over the anonymous budget
    body = {"inputs": inputs, "paths_count": paths, "horizon_months": 36}
    anonymous = anon_client.post("/api/v1/simulations/preview", json=body)
    assert anonymous.status_code == 422
    assert "editor's budget is larger" in anonymous.text
    editor = client.post(
        "/api/v1/simulations/preview", json=body
    )  # the same request within an editor's budget
    assert editor.status_code == 200, editor.text[:300]
