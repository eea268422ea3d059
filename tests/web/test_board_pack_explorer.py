"""Issue 13 follow-up: the board pack of the explorer's current view (not only of stored runs). A button on
/explorer gives the same self-contained document for the current inputs — a preview with the explorer's own
paths, marked "not stored" — as HTML and PDF, in the display currency; nothing is stored."""

from __future__ import annotations

import re
import shutil
import subprocess
from html import unescape
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.db.models import SimulationRun

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "board-pack-explorer"


@pytest.fixture(autouse=True)
def _small_sensitivity(monkeypatch) -> None:
    """Fewer paths for the pack's tornado and flips: the test checks the document, not the statistics."""
    from app.services import reports

    monkeypatch.setattr(reports, "TORNADO_PATHS", 40)
    monkeypatch.setattr(reports, "FLIP_PATHS", 30)
    monkeypatch.setattr(reports, "FLIP_STEPS", 2)


def _explorer_query(client, extra: str = "") -> tuple[str, str]:
    html = client.get("/explorer" + extra).text
    form = html.split('action="/explorer/report.html"')[1].split("</form>")[0]
    query = unescape(re.search(r'name="query" value="([^"]*)"', form).group(1))
    assert "Board pack of this view" in form and 'formaction="/explorer/report.pdf"' in form
    return html, query


def test_the_explorer_offers_a_pack_of_its_current_view(client, db_session) -> None:
    runs_before = db_session.scalar(select(func.count()).select_from(SimulationRun))
    _html, query = _explorer_query(client, "?rival_cut=0.8&cash=12000000")
    assert "rival_cut=0.8" in query
    response = client.get("/explorer/report.html", params={"query": query})
    assert response.status_code == 200, response.text[:500]
    html = response.text
    assert "Board pack of the explorer&#39;s current view" in html or "explorer's current view" in html
    assert "not stored" in html and "run #" not in html
    assert "<script" not in html and "<link" not in html and not re.search(r"url\((?!#)", html)
    assert html.count("<svg") >= 4
    for heading in ("Headline", "What moves the answer", "What flips the answer", "Inputs"):
        assert f"<h2>{heading}" in html, heading
    # The view's own inputs are in the pack, not the stored scenario's defaults.
    assert re.search(r"starting cash usd</td><td class=\"num\">\$12.0M<", html)
    assert db_session.scalar(select(func.count()).select_from(SimulationRun)) == runs_before  # nothing stored


def test_the_pack_matches_the_screen_and_follows_the_currency(client) -> None:
    page, query = _explorer_query(client)
    survival = re.search(r'id="kpi-survival"[^>]*>([^<]+)<', page).group(1).strip()
    usd = client.get("/explorer/report.html", params={"query": query}).text
    assert survival in usd  # the same preview as the screen (its paths and seed)
    eur = client.get("/explorer/report.html", params={"query": query, "currency": "EUR"}).text
    assert "Amounts converted from USD" in eur and "€" in eur
    direct = client.get("/explorer/report.html?" + query)  # the explorer's parameters as they are
    assert direct.status_code == 200


def test_bad_explorer_inputs_are_a_422_naming_the_field(client) -> None:
    response = client.get("/explorer/report.html", params={"query": "rival_cut=7"})
    assert response.status_code == 422 and "rival_cut" in response.text


def test_the_pdf_of_the_view_renders(client) -> None:
    _page, query = _explorer_query(client)
    response = client.get("/explorer/report.pdf", params={"query": query})
    assert response.status_code == 200 and response.headers["content-type"] == "application/pdf"
    assert response.content.startswith(b"%PDF-") and len(response.content) > 20_000
    if shutil.which("pdftoppm") is None:
        pytest.skip("pdftoppm (poppler-utils) is not installed: the pages are not rendered to PNG")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "explorer-board-pack.pdf").write_bytes(response.content)
    for old in ARTIFACTS.glob("page-*.png"):
        old.unlink()
    subprocess.run(
        [
            "pdftoppm",
            "-png",
            "-r",
            "60",
            "-f",
            "1",
            "-l",
            "1",
            str(ARTIFACTS / "explorer-board-pack.pdf"),
            str(ARTIFACTS / "page"),
        ],
        check=True,
        timeout=120,
    )
    assert list(ARTIFACTS.glob("page-*.png"))
