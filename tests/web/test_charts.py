"""Pure chart builders: engine results in, figure dicts out (no database, no HTTP)."""

from __future__ import annotations

import json
from datetime import date
from types import SimpleNamespace

from app.web.charts.base import PALETTE, Chart, axis, rgba
from app.web.charts.hardware import (
    cheapest_by_accelerator,
    offer_metrics,
    pflop_hour_chart,
    price_history_chart,
)
from app.web.charts.market import PricePoint, market_prices_chart
from app.web.charts.models import TrainingRow, decade_label, serving_heatmap, training_cost_chart
from app.web.charts.published import PublishedCheck, published_runs_chart


def _quote(**kw: object) -> SimpleNamespace:
    base = dict(
        id=1,
        provider="aws",
        instance_type="p5.48xlarge",
        region="us-east-1",
        accelerator_family="H100",
        accelerator_count=8,
        pricing_model="on_demand",
        usd_per_hour=80.0,
        usd_per_accelerator_hour=10.0,
        effective_from=date(2025, 1, 1),
        effective_to=None,
        verification="verified-in-source",
        source="s",
    )
    base.update(kw)
    return SimpleNamespace(**base)


H100 = SimpleNamespace(
    name="H100-SXM", tf32_tflops=494.7, bf16_tflops=1000.0, fp8_tflops=2000.0, fp4_tflops=None, memory_gb=80.0
)


def assert_chart_contract(chart: Chart) -> None:
    """Every chart: caption, one-sentence summary, a table, a JSON-serialisable figure with titled axes."""
    assert chart.caption and chart.summary.endswith(".")
    assert chart.table.columns and all(len(r) == len(chart.table.columns) for r in chart.table.rows)
    json.dumps(chart.figure)
    json.dumps(chart.as_json())
    layout = chart.figure["layout"]
    for key in ("xaxis", "yaxis"):
        if layout[key].get("showticklabels", True) and key in layout:
            assert layout[key]["title"]["text"] or key == "yaxis", key


def test_palette_is_okabe_ito_without_black() -> None:
    assert PALETTE[:3] == ("#0072B2", "#E69F00", "#009E73") and "#000000" not in PALETTE
    assert rgba("#0072B2", 0.5) == "rgba(0,114,178,0.5)"


def test_money_axis_reads_in_dollars_with_units_in_title() -> None:
    spec = axis("Training cost (USD)", money=True)
    assert spec["tickprefix"] == "$" and spec["title"]["text"] == "Training cost (USD)"


def test_pflop_hour_metric_and_missing_precision_is_none_not_zero() -> None:
    offer = offer_metrics(_quote(), H100)
    assert offer.usd_per_pflop_hour["bf16"] == 10.0  # $10/h ÷ 1 PFLOP/s
    assert offer.usd_per_pflop_hour["fp8"] == 5.0
    assert offer.usd_per_pflop_hour["fp4"] is None
    assert offer.usd_per_gb_hour == 10.0 / 80.0


def test_cheapest_by_accelerator_keeps_lowest_per_pricing_model() -> None:
    offers = [
        offer_metrics(_quote(id=1, usd_per_accelerator_hour=10.0), H100),
        offer_metrics(_quote(id=2, usd_per_accelerator_hour=4.0), H100),
        offer_metrics(_quote(id=3, usd_per_accelerator_hour=2.0, pricing_model="spot"), H100),
    ]
    rows = cheapest_by_accelerator(offers)
    assert [(m, o.quote_id) for _, m, o in rows] == [("spot", 3), ("on_demand", 2)]
    chart = pflop_hour_chart(offers)
    assert_chart_contract(chart)
    assert "$2.00 per PFLOP-hour" in chart.summary


def test_price_history_is_a_step_line_ending_at_as_of() -> None:
    history = [
        offer_metrics(_quote(id=1, usd_per_accelerator_hour=4.0, effective_to=date(2025, 6, 1)), H100),
        offer_metrics(_quote(id=2, usd_per_accelerator_hour=3.0, effective_from=date(2025, 6, 1)), H100),
    ]
    chart = price_history_chart(history, date(2025, 12, 31))
    trace = chart.figure["data"][0]
    assert trace["line"]["shape"] == "hv"
    assert trace["x"] == ["2025-01-01", "2025-06-01", "2025-12-31"] and trace["y"] == [4.0, 3.0, 3.0]
    assert "−25 %" in chart.summary or "-25 %" in chart.summary
    assert_chart_contract(chart)


def test_serving_heatmap_marks_the_cheapest_cell_and_leaves_gaps_empty() -> None:
    costs = {("A", "BF16"): 2.0, ("A", "FP8"): 1.0, ("B", "BF16"): 5.0}
    chart = serving_heatmap("M", "per 1M output tokens", ["A", "B"], ["BF16", "FP8"], costs, {})
    trace = chart.figure["data"][0]
    assert trace["text"] == [["$2.00", "★ $1.00"], ["$5.00", "n/a"]]
    assert trace["z"][1][1] is None  # not a silent zero
    assert "A at FP8" in chart.summary
    assert_chart_contract(chart)


def test_decade_labels() -> None:
    assert [decade_label(e) for e in (-2, -1, 0, 1, 3, 6)] == ["$0.01", "$0.1", "$1", "$10", "$1k", "$1M"]


def test_training_cost_chart_summary_names_the_cheapest_fitting_plan() -> None:
    rows = [
        TrainingRow("X", 2.0, 8, 1000.0, 5.0, 2000.0, 400.0, True, 8),
        TrainingRow("Y", 1.0, 8, 1000.0, 5.0, 1000.0, 400.0, False, 16),
    ]
    chart = training_cost_chart("M", rows)
    assert "cheapest on X" in chart.summary
    assert chart.table.rows[1][-1] == "no (needs ≥ 16 GPUs)"
    assert_chart_contract(chart)


def test_market_prices_chart_groups_small_providers() -> None:
    points = [PricePoint(f"P{i}", "m", date(2024, 1, 1 + i), "launch", 1.0, 2.0 + i) for i in range(9)]
    chart = market_prices_chart(points)
    names = [t["name"] for t in chart.figure["data"]]
    assert names[-1] == "other providers" and len(names) == 8
    assert_chart_contract(chart)


def test_published_runs_chart_counts_within_tolerance() -> None:
    checks = [
        PublishedCheck("a", "q", 100.0, 101.0, 0.02, "s"),
        PublishedCheck("b", "q", 100.0, 110.0, 0.05, "s"),
    ]
    chart = published_runs_chart(checks)
    assert chart.summary.startswith("1 of 2")
    assert_chart_contract(chart)


def test_usd_keeps_three_significant_digits_below_a_dollar() -> None:
    from app.web.formatting import usd

    assert [usd(v) for v in (0.3, 0.0627, 0.81, 1.5, 1234.0, 2.5e6, -0.42)] == [
        "$0.300",
        "$0.0627",
        "$0.810",
        "$1.50",
        "$1.2k",
        "$2.5M",
        "−$0.420",
    ]


# --- price-war and strategy charts, from a small real simulation ---------------------------------------


def _small_result() -> dict:
    import json as _json
    from pathlib import Path

    import numpy as np

    from app.engine.market.codec import preset_from_dict
    from app.engine.market.simulation import run_simulation

    doc = _json.loads((Path("app/data/presets") / "article-strategies.json").read_text(encoding="utf-8"))
    preset = preset_from_dict(doc)
    result = run_simulation(preset.scenario, preset.strategies[:5], np.random.default_rng(1), paths_count=60)
    return result.to_dict()


def test_price_war_charts_honour_the_contract() -> None:
    from app.web.charts.pricewar import (
        breakeven_chart,
        cash_fan_chart,
        insolvency_by,
        price_timeline_chart,
        share_chart,
        survival_chart,
    )

    result = _small_result()
    first = result["strategies"][0]["name"]
    charts = [
        price_timeline_chart(result),
        share_chart(result),
        cash_fan_chart(result, first, 12),
        survival_chart(result),
        breakeven_chart(result, first, 250_000.0, 1000.0),
    ]
    for chart in charts:
        assert_chart_contract(chart)
    fan = charts[2]
    risk = insolvency_by(result, first, 12)
    assert f"P(cash < 0 by month 12) = {risk * 100:.0f} %" in fan.summary
    # Plotly text is escaped (app/web/charts/base.py:plotly_text): Plotly shows &lt; as <
    assert fan.figure["layout"]["annotations"][0]["text"].startswith("P(cash &lt; 0 by month 12)")
    assert len(fan.table.rows) == len(result["months"])
    survival = charts[3]
    assert survival.wide and len(survival.figure["data"]) == 5  # five strategies: legend on the right
    assert all(trace["y"][0] == 1.0 for trace in survival.figure["data"])


def test_tornado_chart_orders_the_widest_bar_on_top() -> None:
    from app.web.charts.pricewar import tornado_chart

    tornado = {
        "outcome": "cash_at_month",
        "outcome_month": 12,
        "strategy": "baseline",
        "base_value": 1e6,
        "bars": [
            {
                "input": "firm.starting_cash_usd",
                "low_value": 4e6,
                "high_value": 6e6,
                "outcome_at_low": 0.0,
                "outcome_at_high": 2e6,
                "swing": 2e6,
            },
            {
                "input": "rivals[0].cuts[0].cut_fraction",
                "low_value": 0.4,
                "high_value": 0.8,
                "outcome_at_low": 1.2e6,
                "outcome_at_high": 0.9e6,
                "swing": 3e5,
            },
        ],
    }
    chart = tornado_chart(tornado, ["Price cutter"])
    assert_chart_contract(chart)
    assert chart.figure["data"][0]["y"][-1] == "starting cash"  # Plotly draws the last category on top
    assert "Price cutter: cut cut fraction" in chart.figure["data"][0]["y"]
    assert "$4.0M" in chart.table.rows[0][1]


def test_strategy_charts_show_deltas_and_leave_out_plans_that_do_not_fit() -> None:
    import math

    from app.web.charts.strategy import StrategyPoint, fmt_delta, lever_delta_chart, strategy_scatter_chart

    base = StrategyPoint("baseline", frozenset(), 100.0, 10.0, 2.0, 0.0)
    singles = [
        StrategyPoint("distributed", frozenset({"distributed"}), 120.0, 2.0, 2.0, 0.0),
        StrategyPoint("quantization", frozenset({"quantization"}), 100.0, 10.0, 1.0, -0.5),
        StrategyPoint("transfer", frozenset({"transfer"}), 10.0, 1.0, math.inf, 2.0),
    ]
    deltas = lever_delta_chart(base, singles)
    assert_chart_contract(deltas)
    assert deltas.figure["data"][2]["y"][2] is None  # serving cost of a plan that does not fit: no number
    assert fmt_delta(50.0, 100.0) == "−$50.00 (−50 %)" and fmt_delta(1.0, 1.0) == "no change"
    scatter = strategy_scatter_chart([base, *singles])
    assert_chart_contract(scatter)
    assert "1 cannot serve" in scatter.summary


def test_compare_charts_overlay_each_item() -> None:
    from app.web.charts.compare import compare_cash_chart, compare_survival_chart

    result = _small_result()
    items = [(s["name"], s) for s in result["strategies"][:3]]
    for chart in (compare_cash_chart(items), compare_survival_chart(items)):
        assert_chart_contract(chart)
        assert [t["name"] for t in chart.figure["data"]] == [name for name, _ in items]
