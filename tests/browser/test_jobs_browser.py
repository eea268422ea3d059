"""Background jobs in Chromium: the explorer's "Run in the background" shows a progress bar that moves, its
Cancel stops the job, a finished job links to its stored run, and /runs lists the jobs with their state.

The server here has its own database and an embedded worker on it (as `make run` has); each chunk of paths
is slowed a little so the bar can be watched moving and cancelled mid-way.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser.conftest import EDITOR, _add_editor, _free_port, screenshot, sign_in

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def jobs_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    import uvicorn
    from sqlalchemy.orm import Session, sessionmaker

    from app.config import get_settings
    from app.main import create_app
    from app.services import jobs as job_service
    from app.services.jobs import JobRuntime, serve_embedded
    from app.web.deps import get_session
    from tests.conftest import migrate_and_seed

    url = f"sqlite:///{tmp_path_factory.mktemp('jobs-browser') / 'app.sqlite3'}"
    engine = migrate_and_seed(url)
    factory = sessionmaker(bind=engine, expire_on_commit=False)
    with factory() as session:
        _add_editor(session)
        session.commit()
    settings = get_settings().model_copy(update={"jobs_chunk_paths": 1_000, "jobs_heartbeat_seconds": 0.2})
    runtime = JobRuntime(url, factory, settings=settings)
    runtime.huey.flush()
    compute = runtime._compute_chunk

    def slowed(*args: Any) -> None:  # 4 s a chunk (the explorer's 2,000 paths are 2 chunks here): the bar
        time.sleep(4)  # stops half-way long enough for a person, and this test, to see it and cancel
        compute(*args)

    runtime._compute_chunk = slowed  # type: ignore[method-assign]

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
    job_service.set_runtime(runtime)
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    with serve_embedded(runtime):
        thread.start()
        deadline = time.monotonic() + 20
        while not server.started:
            if time.monotonic() > deadline or not thread.is_alive():
                pytest.fail("the test server did not start")
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
        server.should_exit = True
        thread.join(timeout=10)
    job_service.set_runtime(None)
    runtime.huey.flush()
    engine.dispose()


def _progress_values(page: Any, box: Any, until: str, timeout_s: float = 60) -> list[float]:
    seen: list[float] = []
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        seen.append(float(box.locator("progress").get_attribute("data-progress") or 0))
        if box.get_attribute("data-status") == until:
            return seen
        page.wait_for_timeout(100)
    pytest.fail(f"the job did not reach {until}: {box.inner_text()}")


def test_progress_bar_moves_cancel_stops_and_a_finished_job_links_its_run(
    page: Any, jobs_server: str
) -> None:
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    sign_in(page, jobs_server, EDITOR)
    page.set_viewport_size({"width": 1440, "height": 1000})
    page.goto(f"{jobs_server}/explorer")
    page.click("button[data-job-start='/explorer/job']")
    box = page.locator("[data-job-panel] .job").first
    box.wait_for()
    seen = _progress_values(page, box, until="running")
    page.wait_for_function(
        "() => { const p = document.querySelector('[data-job-panel] .job progress');"
        " return p && Number(p.dataset.progress) > 0; }",
        timeout=60_000,
    )
    moving = float(box.locator("progress").get_attribute("data-progress") or 0)
    assert 0 < moving < 1, (seen, moving)
    box.locator("button[data-job-cancel]").click()  # at once: the second chunk takes a few seconds
    page.wait_for_function(
        "() => document.querySelector('[data-job-panel] .job').dataset.status === 'cancelled'", timeout=10_000
    )
    assert "Cancelled" in box.locator(".job-status").inner_text()
    screenshot(page, "jobs-explorer-cancelled-1440")
    assert box.locator("button[data-job-cancel]").is_hidden()
    stopped_at = box.locator("progress").get_attribute("data-progress")
    page.wait_for_timeout(1500)
    assert box.locator("progress").get_attribute("data-progress") == stopped_at  # it does not move any more

    page.click("button[data-job-start='/explorer/job']")  # again, and let it finish
    done = page.locator("[data-job-panel] .job").first
    page.wait_for_function(
        "() => document.querySelector('[data-job-panel] .job').dataset.status === 'succeeded'",
        timeout=120_000,
    )
    link = done.locator(".job-result a")
    assert link.inner_text().startswith("Open the stored run #")
    screenshot(page, "jobs-explorer-done-1440")
    link.click()
    page.wait_for_load_state("load")
    assert "/runs/" in page.url

    page.goto(f"{jobs_server}/runs")
    listed = page.locator("[data-jobs-list] .job")
    listed.first.wait_for()
    statuses = [listed.nth(i).get_attribute("data-status") for i in range(listed.count())]
    assert sorted(statuses) == ["cancelled", "succeeded"]
    screenshot(page, "jobs-runs-1440")
    page.set_viewport_size({"width": 390, "height": 900})
    page.emulate_media(color_scheme="dark")
    page.goto(f"{jobs_server}/runs")
    page.locator("[data-jobs-list] .job").first.wait_for()
    box_width = page.locator("[data-jobs-list] .job").first.bounding_box()["width"]
    assert box_width <= 390
    screenshot(page, "jobs-runs-390-dark")
    assert errors == []


def test_strategy_lab_starts_its_price_war_in_the_background(page: Any, jobs_server: str) -> None:
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    sign_in(page, jobs_server, EDITOR)
    page.set_viewport_size({"width": 390, "height": 900})
    page.goto(f"{jobs_server}/strategy")
    page.click("button[data-job-start='/strategy/job']")
    box = page.locator("#strategy-jobs .job").first
    box.wait_for()
    assert "Strategy lab" in box.locator(".job-title").inner_text()
    assert box.bounding_box()["width"] <= 390
    screenshot(page, "jobs-strategy-390")
    box.locator("button[data-job-cancel]").click()
    page.wait_for_function(
        "() => document.querySelector('#strategy-jobs .job').dataset.status === 'cancelled'", timeout=15_000
    )
    assert errors == []
