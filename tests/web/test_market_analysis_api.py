"""/api/v1/simulations/equilibrium, /profit-curve and /flips; a monopolist and extreme prices over REST."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from tests.web.test_simulations_api import SCENARIO, STRATEGY

CHINA = json.loads(
    (Path(__file__).resolve().parents[2] / "app/data/presets/china-may-2024.json").read_text(encoding="utf-8")
)


def test_equilibrium_has_the_issue_shape_and_every_firm(client) -> None:
    r = client.post("/api/v1/simulations/equilibrium", json={"inputs": CHINA})
    assert r.status_code == 200, r.text
    data = r.json()
    assert data["converged"] is True and data["iterations"] >= 1
    names = [f["name"] for f in data["firms"]]
    assert names == ["Us"] + [rv["name"] for rv in CHINA["scenario"]["rivals"]]
    for f in data["firms"]:
        assert set(f) >= {
            "name",
            "price_usd_per_million_tokens",
            "share_fraction",
            "margin_fraction",
            "unit_cost_usd_per_million_tokens",
        }
        assert f["price_usd_per_million_tokens"] > f["unit_cost_usd_per_million_tokens"]
    assert data["at_horizon"]["month"] == CHINA["scenario"]["horizon_months"]


def test_profit_curve_peaks_at_its_stated_price(client) -> None:
    r = client.post("/api/v1/simulations/profit-curve", json={"inputs": CHINA})
    assert r.status_code == 200, r.text
    for key in ("month_1", "horizon"):
        c = r.json()[key]
        prices, profit = c["prices_usd_per_million_tokens"], c["gross_profit_usd_per_month"]
        top = prices[profit.index(max(profit))]
        assert top == pytest.approx(c["profit_max_price_usd_per_million_tokens"], abs=prices[1] - prices[0])


def test_flips_lists_thresholds_or_never(client) -> None:
    r = client.post(
        "/api/v1/simulations/flips",
        json={"inputs": SCENARIO, "strategies": [STRATEGY], "flips": {"paths_count": 50, "steps": 4}},
    )
    assert r.status_code == 200, r.text
    data = r.json()
    assert data["level_fraction"] == 0.5 and len(data["closest"]) <= 3
    names = {f["input"] for f in data["flips"]}
    assert "firm.starting_cash_usd" in names
    bad = client.post("/api/v1/simulations/flips", json={"inputs": SCENARIO, "flips": {"paths_count": 0}})
    assert bad.status_code == 422 and "paths_count" in bad.text


def _monopolist() -> dict[str, Any]:
    s = copy.deepcopy(SCENARIO)
    s["rivals"] = []
    s["firm"]["start_share_fraction"] = 1.0
    return s


def test_a_monopolist_is_not_a_500(client) -> None:
    # Old model: ZeroDivisionError -> HTTP 500.
    for path in ("preview", "equilibrium", "profit-curve"):
        r = client.post(
            f"/api/v1/simulations/{path}", json={"inputs": _monopolist(), "strategies": [STRATEGY]}
        )
        assert r.status_code == 200, (path, r.text)


@pytest.mark.parametrize("price", [1e-6, 1e4])
def test_extreme_prices_are_not_nan(client, price: float) -> None:
    s = copy.deepcopy(SCENARIO)
    s["firm"]["price_usd_per_million_tokens"] = price
    r = client.post(
        "/api/v1/simulations/preview",
        json={
            "inputs": s,
            "strategies": [{"name": "b", "unit_cost_usd_per_million_tokens": min(price, 0.5)}],
        },
    )
    assert r.status_code == 200, r.text
    cash = r.json()["results"]["strategies"][0]["cash_usd"]["p50"]
    assert all(v is not None for v in cash)


def test_an_inconsistent_market_is_a_422_naming_the_field(client) -> None:
    s = copy.deepcopy(SCENARIO)
    s["market"]["market_elasticity"] = -5.0
    r = client.post("/api/v1/simulations/preview", json={"inputs": s})
    assert r.status_code == 422
    assert "market_elasticity" in r.text


def test_china_backtest_reads_the_dated_prices_in_the_database(db_session) -> None:
    from app.services.market_analysis import china_backtest

    data = china_backtest(db_session)
    rivals = {c["rival"] for c in data["comparisons"]}
    # the seeded sheet has May-2024 prices for five of the six rivals (Tencent's row has no USD price)
    assert {"DeepSeek-V2", "Zhipu glm-3-turbo", "ByteDance Doubao-pro", "Alibaba Qwen"} <= rivals
    assert "Tencent Hunyuan" in data["rivals_without_prices"]
    may = [c for c in data["comparisons"] if c["month"] == 1]
    assert may and all(c["inside_band"] for c in may)  # the month-1 cuts are read off those prices
    assert 0.0 <= data["inside_fraction"] <= 1.0


def _china_id(client) -> int:  # type: ignore[no-untyped-def]
    rows = client.get("/api/v1/scenarios", params={"limit": 100}).json()
    items = rows["items"] if isinstance(rows, dict) else rows
    return next(r["id"] for r in items if r["name"] == "China, May 2024")


def test_explorer_shows_the_profit_curve_and_the_equilibrium_beside_the_war(client) -> None:
    html = client.get(f"/explorer?scenario={_china_id(client)}").text
    assert 'id="chart-profit-curve"' in html or "profit-curve" in html
    assert "Where prices settle if everyone prices rationally" in html
    assert "flips=1" in html  # what flips the answer: on request


def test_explorer_finds_what_flips_the_answer_on_request(client) -> None:
    html = client.get(f"/explorer?scenario={_china_id(client)}&flips=1").text
    assert "What flips the answer" in html
    assert "never, within its range" in html or "survival falls below" in html


def test_overview_says_what_flips_the_answer(client) -> None:
    html = client.get("/", headers={"accept": "text/html"}).text
    assert 'id="overview-flips"' in html and "What flips the answer" in html
    assert "flips=1" in html
