"""The market pages: alerts, quality-adjusted prices with the import form, and owning versus renting."""

from __future__ import annotations

from pathlib import Path

PUBLISHED = Path(__file__).resolve().parent.parent / "fixtures" / "published"


def test_market_page_shows_the_equal_capability_trend(client) -> None:
    page = client.get("/market")
    assert page.status_code == 200, page.text
    assert "Quality-adjusted prices" in page.text
    assert 'id="chart-price-capability"' in page.text and 'id="chart-equal-capability"' in page.text
    # the seeded scores reproduce about 10x a year at MMLU >= 42 over a16z's window (fit 11.4x)
    assert "11.4×" in page.text
    assert "Import published price files" in page.text and 'action="/market/import"' in page.text


def test_market_import_preview_through_the_form(client) -> None:
    text = (PUBLISHED / "litellm_model_prices_sample.json").read_bytes()
    page = client.post(
        "/market/import",
        data={"source": "litellm", "action": "preview", "effective_from": "2026-11-30"},
        files={"file": ("prices.json", text, "application/json")},
    )
    assert page.status_code == 200, page.text
    assert "Preview:" in page.text and "broken/negative-price" in page.text and "not a price" in page.text
    missing = client.post(
        "/market/import",
        data={"source": "skypilot", "action": "preview"},
        files={"file": ("x.csv", b"", "text/csv")},
    )
    assert missing.status_code == 422 and "needs its cloud" in missing.text


def test_alerts_page_lists_prices_under_a_floor(client) -> None:
    page = client.get("/alerts")
    assert page.status_code == 200, page.text
    assert "Price-floor alerts" in page.text


def test_ownership_page_with_the_crossover_chart(client) -> None:
    h100 = client.get("/api/v1/accelerators", params={"name": "H100-SXM"}).json()["items"][0]
    page = client.get(
        "/hardware/ownership",
        params={
            "accelerator_id": h100["id"],
            "gpu_count": "8",
            "purchase_usd_per_gpu": "30000",
            "depreciation_years": "4",
            "power_usd_per_kwh": "0.1",
            "pue": "1.3",
            "utilization": "60 %",
        },
    )
    assert page.status_code == 200, page.text
    assert 'id="chart-ownership-crossover"' in page.text and "per used GPU-hour" in page.text
    bad = client.get(
        "/hardware/ownership",
        params={
            "accelerator_id": h100["id"],
            "gpu_count": "8",
            "pue": "0.5",
            "purchase_usd_per_gpu": "30000",
            "depreciation_years": "4",
            "power_usd_per_kwh": "0.1",
            "utilization": "0.6",
        },
    )
    assert bad.status_code == 422 and "Must be at least 1" in bad.text
    empty = client.get("/hardware/ownership")
    assert empty.status_code == 200 and "Owning versus renting" in empty.text


def _banner_count(text: str) -> int:
    import re

    match = re.search(r'id="alert-banner"><strong>Price-floor alert:</strong>\s*(\d+) market price', text)
    return int(match.group(1)) if match else 0


def test_overview_banner_counts_alerts_and_follows_edits(client) -> None:
    page = client.get("/")
    assert page.status_code == 200
    before = _banner_count(page.text)
    assert before > 0  # the seeded market has prices under the presets' floors (ERNIE Speed is free)
    body = {
        "provider": "example-newco",
        "model_name": "free-ish",
        "input_usd_per_million": 0.0,
        "output_usd_per_million": 0.0001,
        "effective_date": "2026-06-01",
        "event_type": "cut",
    }
    assert client.post("/api/v1/market-prices", json=body).status_code == 201
    after = _banner_count(client.get("/").text)
    scenarios = client.get("/api/v1/alerts").json()["items"]
    assert after == len(scenarios) > before  # the cached banner followed the new price at once
