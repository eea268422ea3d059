"""Issue 13 follow-up: charts in the display currency. charts.js converts the money axes it can see (a
`tickprefix` of "$"): so every axis titled in dollars must carry it, and the serving heatmap's colour bar
(log10 of the cost, labelled by decades) is built in the display currency on the server."""

from __future__ import annotations

import json
import re
from datetime import date

import pytest

from app.reports.money import Money
from app.web import currency
from app.web.charts.models import decade_label, serving_heatmap

PAGES = ["/", "/hardware", "/models", "/strategy", "/explorer", "/compare", "/methodology", "/market"]


def _figures(html: str) -> list[dict]:
    blobs = re.findall(r'<script type="application/json" class="chart-figure">(.*?)</script>', html, re.S)
    return [json.loads(b) for b in blobs]


def _money_axes_without_prefix(figure: dict) -> list[str]:
    bad = []
    for key, spec in (figure.get("layout") or {}).items():
        if not re.fullmatch(r"[xy]axis\d*", key) or not isinstance(spec, dict):
            continue
        title = spec.get("title")
        text = title.get("text", "") if isinstance(title, dict) else str(title or "")
        in_dollars = "$" in text or re.search(r"\bUSD\b", text)
        if in_dollars and spec.get("tickprefix") != "$" and "%" not in str(spec.get("tickformat", "")):
            bad.append(f"{key}: {text}")
    return bad


@pytest.mark.parametrize("path", PAGES)
def test_every_axis_in_dollars_is_one_charts_js_converts(client, path: str) -> None:
    html = client.get(path).text
    figures = _figures(html)
    if path == "/explorer":  # the lazy charts: the tornado and what flips the answer
        figures += [c["figure"] for c in client.get("/explorer/tornado").json()["charts"]]
    assert figures or path in ("/market",)
    for figure in figures:
        assert not _money_axes_without_prefix(figure), (path, _money_axes_without_prefix(figure))


@pytest.fixture
def in_euros():
    token = currency._CHOICE.set(currency.Choice("EUR", Money("EUR", 0.5, date(2025, 2, 28), "test")))
    yield
    currency._CHOICE.reset(token)


def test_the_heatmap_colour_bar_reads_in_the_display_currency(in_euros) -> None:
    costs = {("A", "BF16"): 2.0, ("B", "BF16"): 40.0, ("A", "FP8"): 1.0}
    chart = serving_heatmap("M", "per 1M output tokens", ["A", "B"], ["BF16", "FP8"], costs, {})
    trace = chart.figure["data"][0]
    bar = trace["colorbar"]
    assert bar["title"]["text"] == "EUR per 1M output tokens"
    assert all(t.startswith("€") for t in bar["ticktext"])
    # Colours are log10 of euros: €0.5 … €20 spans decades -1 … 2 (in dollars it would be 0 … 2).
    assert trace["zmin"] == -1 and trace["zmax"] == 2 and bar["ticktext"][0] == "€0.1"
    assert trace["z"][0][1] == pytest.approx(-0.30103, abs=1e-4)  # log10(€0.50)
    assert trace["text"][0][1].endswith("€0.500")  # cells and colour bar agree
    assert "€0.500" in chart.summary


def test_the_heatmap_stays_in_dollars_by_default() -> None:
    chart = serving_heatmap("M", "per 1M output tokens", ["A"], ["BF16"], {("A", "BF16"): 2.0}, {})
    bar = chart.figure["data"][0]["colorbar"]
    assert bar["title"]["text"] == "USD per 1M output tokens" and bar["ticktext"][0].startswith("$")
    assert decade_label(3, "£") == "£1k" and decade_label(-2) == "$0.01"


def test_the_models_page_heatmap_follows_the_url_currency(client) -> None:
    html = client.get("/models", params={"currency": "GBP"}).text
    heatmaps = [f for f in _figures(html) if f["data"] and f["data"][0].get("type") == "heatmap"]
    assert heatmaps, "no serving heatmap on /models"
    bar = heatmaps[0]["data"][0]["colorbar"]
    assert bar["title"]["text"].startswith("GBP") and all(t.startswith("£") for t in bar["ticktext"])


@pytest.mark.parametrize("path", ["/explorer", "/methodology", "/hardware", "/models", "/market"])
def test_chart_text_in_euros_shows_no_dollar_amounts(client, path: str) -> None:
    """The summaries and data tables beside the charts (server-formatted) are in the display currency too."""
    html = client.get(path, params={"currency": "EUR"}).text
    found = []
    for chunk in re.findall(r'<figure class="chart.*?</figure>', html, re.S):
        text = re.sub(
            r'<script type="application/json" class="chart-figure">.*?</script>', "", chunk, flags=re.S
        )
        found += re.findall(r"[−-]?\$\d[\d.,]*\w?", text)
    assert not found, (path, found[:5])


def test_money_labels_name_the_display_currency(client) -> None:
    explorer = client.get("/explorer", params={"currency": "EUR"}).text
    assert re.search(r'id="kpi-floor-label">Our price floor \(€ / 1M\)', explorer)
    compare = client.get("/compare", params={"currency": "EUR"}).text
    assert "Unit cost (€ / 1M)" in compare and "Unit cost ($ / 1M)" not in compare
    usd = client.get("/compare").text
    assert "Unit cost ($ / 1M)" in usd


def test_chart_captions_and_data_headers_name_the_display_currency(client) -> None:
    eur = client.get("/hardware", params={"currency": "EUR"}).text
    usd = client.get("/hardware").text
    assert "€ / accelerator-hour" in eur and "$ / accelerator-hour" in usd
    for figure in re.findall(r'<figure class="chart.*?</figure>', eur, re.S):
        for chunk in re.findall(r"<figcaption.*?</figcaption>|<thead>.*?</thead>", figure, re.S):
            assert "$" not in chunk, chunk
