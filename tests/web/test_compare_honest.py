"""Issue 13 item 3: /compare names each column's horizon, gives no Δ% against a baseline at or below zero,
shows shares to a tenth of a percent, and its CSV is the screen's table in machine-readable numbers."""

from __future__ import annotations

import csv
import io
import re

from app.web.pages.compare import METRICS, Item, _delta, _shown, csv_number, relative_change


def test_delta_percent_is_not_meaningful_against_a_negative_baseline() -> None:
    cash = next(m for m in METRICS if m.key == "cash_at_horizon_p50_usd")
    _text, pct, _css = _delta(4.5e6, -1e5, cash)
    assert pct == "n/m"
    assert relative_change(-2.0, 1.0) is None and relative_change(2.0, 0.0) is None
    assert relative_change(1.5, 1.0) == 0.5


def test_shares_keep_a_decimal_and_no_negative_zero() -> None:
    share = next(m for m in METRICS if m.key == "final_share")
    assert _shown(0.014, "share") == "1.4 %"
    text, pct, _ = _delta(0.0098, 0.014, share)
    assert text == "−0.4 pts" and pct == "−30 %"
    text, _, _ = _delta(0.01401, 0.014, share)
    assert text == "0.0 pts"


def test_csv_numbers_are_rounded_and_in_screen_units() -> None:
    assert csv_number(0.25699999999999995, "pct") == 25.7
    assert csv_number(1234.5678, "usd") == 1234.57


def test_columns_name_their_horizons_and_the_csv_uses_screen_labels(client) -> None:
    html = client.get("/compare").text
    assert "Horizon simulated (months)" in html
    assert "P(survive to its horizon)" in html
    horizons = re.findall(r"Horizon simulated \(months\)</th>(.*?)</tr>", html, re.S)[0]
    shown = re.findall(r'<td class="num">(\d+)</td>', horizons)
    if len(set(shown)) > 1:
        assert "simulate different horizons" in html
    query = re.search(r'href="/compare.csv\?([^"]*)"', html).group(1).replace("&amp;", "&")
    rows = list(csv.reader(io.StringIO(client.get("/compare.csv?" + query).text)))
    labels = [r[0] for r in rows[1:]]
    assert "insolvency_18" not in labels and "death_month" not in labels
    assert "Cash runs out (median month over paths)" in labels
    for row in rows[1:]:
        for cell in row[2:]:
            assert not re.search(r"\d\.\d{7,}", cell), row
    survival = next(r for r in rows if r[0] == "P(survive to its horizon)")
    assert survival[1].startswith("%") and 0 <= float(survival[2]) <= 100


def test_item_dataclass_is_unchanged() -> None:  # the board pack and runs pages build Items the same way
    assert Item.__dataclass_fields__.keys() >= {"key", "label", "href", "result", "strategy"}
