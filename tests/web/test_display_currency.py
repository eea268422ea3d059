"""Issue 13, display currency: USD by default; EUR, CNY, GBP, JPY from the dated FX table (seeded with the
ECB's 2025-02-28 reference rates by the migration, editable by editors), chosen with ?currency=EUR and
honoured by pages (cards, tables, chart summaries, cached fragments), chart axes (charts.js) and the board
pack; the API stays in USD."""

from __future__ import annotations

import re
from datetime import date

from app.reports.money import Money
from app.services import fx


def test_the_migration_seeds_sourced_dated_rates(db_session) -> None:
    eur = fx.money(db_session, "EUR")
    assert eur is not None and eur.as_of == date(2025, 2, 28)
    assert abs(eur.per_usd - 1 / 1.0411) < 1e-6 and "ECB" in eur.source
    jpy = fx.money(db_session, "JPY")
    assert jpy is not None and abs(jpy.per_usd - 156.96 / 1.0411) < 1e-3
    assert fx.money(db_session, "XYZ") is None


def test_money_converts_and_says_so() -> None:
    eur = Money("EUR", 0.5, date(2025, 2, 28), "test")
    assert eur(3e6) == "€1.5M" and "0.5 EUR per USD" in eur.note()


def test_pages_show_amounts_in_the_chosen_currency(client) -> None:
    usd_page = client.get("/hardware").text
    eur_page = client.get("/hardware", params={"currency": "EUR"}).text
    assert 'data-currency="EUR"' in eur_page and "Amounts converted from USD" in eur_page
    assert "€" in eur_page.split('id="sheet-table"')[1]
    assert "€" not in usd_page.split('id="sheet-table"')[1]  # the per-worker caches keep currencies apart
    assert re.search(r'<option value="EUR" selected>EUR</option>', eur_page)
    unknown = client.get("/hardware", params={"currency": "XYZ"}).text
    assert "No exchange rate for “XYZ”" in unknown


def test_live_fragments_follow_the_currency(client) -> None:
    html = client.get("/explorer").text
    scenario = re.search(r'name="scenario" value="(\d+)"', html).group(1)
    live = client.get("/explorer/data", params={"scenario": scenario, "currency": "GBP"}).json()
    assert live["fragments"]["kpi-cash"].startswith(("£", "−£"))


def test_the_api_stays_in_usd(client) -> None:
    usd = client.get("/api/v1/price-quotes", params={"limit": 1}).json()["items"][0]
    asked = client.get("/api/v1/price-quotes", params={"limit": 1, "currency": "EUR"})
    assert "usd_per_hour" in usd
    assert asked.status_code == 422 or asked.json()["items"][0]["usd_per_hour"] == usd["usd_per_hour"]


def test_editors_add_a_dated_rate_and_it_is_used(client) -> None:
    response = client.post(
        "/currency/rates",
        data={"currency": "EUR", "units_per_usd": "0.5", "as_of": date.today().isoformat(), "source": "test"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert "€" in client.get("/currency", params={"currency": "EUR"}).text
    bad = client.post(
        "/currency/rates", data={"currency": "EUR", "units_per_usd": "-1", "as_of": "", "source": ""}
    )
    assert bad.status_code == 422 and "Must be more than 0" in bad.text and "Needs a date" in bad.text


def test_anonymous_readers_cannot_add_rates(anon_client) -> None:
    response = anon_client.post(
        "/currency/rates",
        data={"currency": "EUR", "units_per_usd": "0.5", "as_of": "2026-01-01", "source": "x"},
    )
    assert response.status_code in (401, 403)
