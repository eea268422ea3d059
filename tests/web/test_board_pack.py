"""Issue 13, the board pack: GET /runs/{id}/report.html is one self-contained document (inline CSS and SVG,
no script, no outside reference) with the headline, the charts, the tornado, what flips the answer, the
assumptions with sources, every input, the date and the versions; /report.pdf is the same as a PDF whose
pages are rendered to PNG for people to look at (artifacts/board-pack/)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "board-pack"


@pytest.fixture(autouse=True)
def _small_sensitivity(monkeypatch) -> None:
    """Fewer paths for the pack's tornado and flips: the test checks the document, not the statistics."""
    from app.services import reports

    monkeypatch.setattr(reports, "TORNADO_PATHS", 40)
    monkeypatch.setattr(reports, "FLIP_PATHS", 30)
    monkeypatch.setattr(reports, "FLIP_STEPS", 2)


def _stored_run(client) -> int:
    html = client.get("/explorer").text
    scenario = re.search(r'name="scenario" value="(\d+)"', html).group(1)
    response = client.post(
        "/explorer/run",
        data={"scenario": scenario, "query": f"scenario={scenario}", "name": "board pack test"},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text[:400]
    return int(re.search(r"/runs/(\d+)", response.headers["location"]).group(1))


def test_the_html_pack_is_self_contained_and_complete(client) -> None:
    run_id = _stored_run(client)
    page = client.get(f"/runs/{run_id}")
    assert f"/runs/{run_id}/report.html" in page.text and f"/runs/{run_id}/report.pdf" in page.text
    response = client.get(f"/runs/{run_id}/report.html")
    assert response.status_code == 200
    html = response.text
    assert "<script" not in html and "<link" not in html and "@import" not in html
    assert not re.search(r'(src|href)="(https?:)?//', html)
    assert not re.search(r"url\((?!#)", html)  # no fetched resource in CSS or SVG (only #fragment refs)
    assert html.count("<svg") >= 4  # price timeline, cash fan, survival, tornado
    for heading in (
        "Headline",
        "Prices: ours",
        "Cash",
        "Survival",
        "What moves the answer",
        "What flips the answer",
        "Assumptions and their sources",
        "Inputs",
    ):
        assert f"<h2>{heading}" in html, heading
    assert re.search(r"Price War Room [\w.]+, market engine \S+", html)
    assert "pack generated 20" in html and "seed" in html
    assert "starting cash usd" in html  # every input is listed


def test_the_pdf_pack_renders_to_pages(client) -> None:
    run_id = _stored_run(client)
    response = client.get(f"/runs/{run_id}/report.pdf")
    assert response.status_code == 200 and response.headers["content-type"] == "application/pdf"
    pdf = response.content
    assert pdf.startswith(b"%PDF-") and len(pdf) > 20_000
    if shutil.which("pdftoppm") is None:
        pytest.skip("pdftoppm (poppler-utils) is not installed: the pages are not rendered to PNG")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "board-pack.pdf").write_bytes(pdf)
    for old in ARTIFACTS.glob("page-*.png"):
        old.unlink()
    subprocess.run(
        ["pdftoppm", "-png", "-r", "60", str(ARTIFACTS / "board-pack.pdf"), str(ARTIFACTS / "page")],
        check=True,
    )
    pages = sorted(ARTIFACTS.glob("page-*.png"))
    assert len(pages) >= 3
    assert all(p.stat().st_size > 5_000 for p in pages)  # not blank pages


def test_unknown_currency_is_a_clear_error(client) -> None:
    run_id = _stored_run(client)
    response = client.get(f"/runs/{run_id}/report.html", params={"currency": "XYZ"})
    assert response.status_code == 422 and "currency" in response.text
