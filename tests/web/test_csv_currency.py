"""Issue 13 follow-up: the display currency reaches every page CSV (/runs/{id}/export.csv, /compare.csv),
through the one CSV writer, at the same dated rate as the pages, with the currency named in the headers. The
API's `?format=csv` lists stay in USD."""

from __future__ import annotations

import csv
import io
import math
import re

import pytest

from app.reports.money import Money
from app.services import csv_export, fx

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def _store_run(client) -> str:
    response = client.post(
        "/explorer/run", data={"name": "", "query": "rival_cut=0.7"}, follow_redirects=False
    )
    assert response.status_code == 303, response.text[:500]
    return response.headers["location"].split("?")[0]


def test_the_writer_converts_money_columns_and_names_the_currency() -> None:
    eur = Money("EUR", 0.5)
    text = csv_export.to_csv(
        ["name", "cash_usd_p50", "Revenue", "share_fraction"],
        [["a", 10.0, 3, 0.25], ["b", None, 1.2345678, 0.5]],
        money=eur,
        money_columns={1: 2, 2: 6},
    )
    rows = _rows(text)
    assert rows[0] == ["name", "cash_eur_p50", "Revenue (EUR)", "share_fraction"]
    assert rows[1] == ["a", "5.0", "1.5", "0.25"] and rows[2] == ["b", "", "0.617284", "0.5"]
    usd = _rows(csv_export.to_csv(["cash_usd_p50"], [[10.0]], money_columns={0: 2}))
    assert usd == [["cash_usd_p50"], ["10.0"]]  # USD is the computed number, untouched
    assert csv_export.currency_header("Unit cost ($ / 1M)", "JPY") == "Unit cost (JPY / 1M)"
    assert csv_export.currency_header("USD per 1M tokens (Δ in USD per 1M tokens)", "GBP") == (
        "GBP per 1M tokens (Δ in GBP per 1M tokens)"
    )


@pytest.mark.parametrize("table", ["summary", "monthly"])
def test_run_csv_follows_the_page_currency(client, db_session, table: str) -> None:
    location = _store_run(client)
    eur = fx.money(db_session, "EUR")
    assert eur is not None and eur.per_usd != 1
    usd_rows = _rows(client.get(f"{location}/export.csv", params={"table": table}).text)
    response = client.get(f"{location}/export.csv", params={"table": table, "currency": "EUR"})
    assert response.status_code == 200 and "EUR" in response.headers["content-disposition"]
    eur_rows = _rows(response.text)
    assert len(eur_rows) == len(usd_rows)
    money = [i for i, h in enumerate(usd_rows[0]) if "_usd" in h]
    assert money, usd_rows[0]
    for i in money:
        assert eur_rows[0][i] == usd_rows[0][i].replace("_usd", "_eur")
    assert not any("usd" in h for h in eur_rows[0])
    compared = 0
    for usd_row, eur_row in zip(usd_rows[1:], eur_rows[1:], strict=True):
        for i, cell in enumerate(usd_row):
            if i not in money:
                assert eur_row[i] == cell  # months, fractions, names: unchanged
            elif cell:
                expected = float(cell) * eur.per_usd
                assert math.isclose(float(eur_row[i]), expected, rel_tol=1e-4, abs_tol=0.01), (i, cell)
                compared += 1
    assert compared > 0


def test_run_csv_in_an_unknown_currency_stays_in_usd(client) -> None:
    location = _store_run(client)
    rows = _rows(client.get(f"{location}/export.csv", params={"currency": "XYZ"}).text)
    assert any("_usd" in h for h in rows[0])


def test_compare_csv_follows_the_page_currency(client, db_session) -> None:
    jpy = fx.money(db_session, "JPY")
    assert jpy is not None
    page = client.get("/compare").text

    query = re.search(r'href="/compare.csv\?([^"]*)"', page).group(1).replace("&amp;", "&")
    usd_rows = _rows(client.get("/compare.csv?" + query).text)
    response = client.get("/compare.csv?" + query + "&currency=JPY")
    assert response.status_code == 200 and "JPY" in response.headers["content-disposition"]
    jpy_rows = _rows(response.text)
    assert jpy_rows[0] == usd_rows[0]
    by_label = {r[0]: r for r in jpy_rows[1:]}
    cash_usd = next(r for r in usd_rows if r[0] == "Median cash at its horizon")
    cash_jpy = by_label["Median cash at its horizon"]
    assert cash_jpy[1] == "JPY (Δ in JPY)"
    for i, (usd_cell, jpy_cell) in enumerate(zip(cash_usd, cash_jpy, strict=True)):
        if i < 2 or not usd_cell:
            continue
        if i == 2 or (i - 3) % 3 in (0, 1):  # the baseline, each value and its Δ: money
            assert math.isclose(float(jpy_cell), float(usd_cell) * jpy.per_usd, rel_tol=1e-4, abs_tol=0.05)
        else:  # Δ %: a ratio, the same in any currency
            assert jpy_cell == usd_cell
    price = by_label["Our price at its horizon (JPY / 1M)"]
    assert price[1].startswith("JPY per 1M tokens")
    survival_usd = next(r for r in usd_rows if r[0] == "P(survive to its horizon)")
    assert by_label["P(survive to its horizon)"] == survival_usd  # percentages are not money
    for row in jpy_rows[1:]:
        assert "USD" not in row[1] and "$" not in row[0]


def test_api_csv_lists_stay_in_usd(client) -> None:
    usd = client.get("/api/v1/price-quotes", params={"format": "csv", "limit": 3})
    asked = client.get("/api/v1/price-quotes", params={"format": "csv", "limit": 3, "currency": "EUR"})
    assert usd.status_code == 200
    assert asked.status_code == 422 or asked.text == usd.text
