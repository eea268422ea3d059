"""Prices at equal capability: the cheapest model above a threshold by month, and its decline per year."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import pytest

from app.engine.quality_prices import RatedPrice, cheapest_by_month, decline_per_year

REFERENCE = Path(__file__).resolve().parents[2] / "app" / "data" / "reference"


def test_a_price_ten_times_lower_each_year_is_a_factor_of_ten() -> None:
    prices = [
        RatedPrice("a", date(2021, 1, 1), 100, 100, 50),
        RatedPrice("b", date(2022, 1, 1), 10, 10, 60),
        RatedPrice("c", date(2023, 1, 1), 1, 1, 45),
        RatedPrice("weak", date(2023, 1, 1), 0.01, 0.01, 30),  # below the threshold: never counts
    ]
    series = cheapest_by_month(prices, 42)
    assert series[0].usd_per_million == 100 and series[-1].usd_per_million == 1
    assert {point.model for point in series} == {"a", "b", "c"}
    assert len(series) == 25  # Jan 2021 .. Jan 2023, every month
    decline = decline_per_year(series, 42)
    assert decline is not None
    assert decline.total_factor == pytest.approx(100)
    assert decline.endpoint_factor_per_year == pytest.approx(10, rel=0.01)
    # step functions fitted by least squares come out near, not at, the endpoint rate
    assert 5 < decline.fitted_factor_per_year < 20


def test_mean_of_input_and_output_and_free_prices_left_out() -> None:
    prices = [
        RatedPrice("a", date(2024, 1, 1), 1, 3, 80),
        RatedPrice("free", date(2024, 1, 15), 0, 0, 90),
    ]
    series = cheapest_by_month(prices, 42)
    assert [(p.model, p.usd_per_million) for p in series] == [("a", 2.0)]
    assert decline_per_year(series, 42) is None  # one month: no trend


def test_the_shipped_data_reproduces_llmflation_within_its_band() -> None:
    """a16z, "Welcome to LLMflation" (Appenzeller, 12 Nov 2024, a16z.com/llmflation-llm-inference-cost): the
    cheapest model with MMLU >= 42, price = mean of input and output, fell from $60 (GPT-3, Nov 2021) to $0.06
    (Llama 3.2 3B on Together, Nov 2024): 1,000x in 3 years, "10x every year". The shipped data has no Llama
    3.2 3B offer; its cheapest rated model in Nov 2024 is Gemini 1.5 Flash at $0.1875 (320x in 3 years). The
    fitted decline still lands at about 10x a year; the endpoint rate is 6.8x. Band: 5x-20x a year."""
    scores = {
        (r["provider"], r["model"]): float(r["score"])
        for r in csv.DictReader((REFERENCE / "capability_scores.csv").open(encoding="utf-8"))
    }
    prices = []
    for row in csv.DictReader((REFERENCE / "api_prices.csv").open(encoding="utf-8")):
        key = (row["provider"], row["model"])
        if key in scores and row["input_usd_per_1m"] and row["output_usd_per_1m"]:
            text = row["effective_date"]
            day = date.fromisoformat(text if len(text) == 10 else text + "-01")
            prices.append(
                RatedPrice(
                    " ".join(key),
                    day,
                    float(row["input_usd_per_1m"]),
                    float(row["output_usd_per_1m"]),
                    scores[key],
                )
            )
    series = cheapest_by_month(prices, 42, end=date(2024, 11, 1))
    decline = decline_per_year(series, 42)
    assert decline is not None
    assert decline.first.usd_per_million == pytest.approx(60.0)
    assert decline.first.month == date(2021, 11, 1)
    assert decline.total_factor == pytest.approx(320.0)
    assert 5 < decline.fitted_factor_per_year < 20
    assert decline.fitted_factor_per_year == pytest.approx(11.4, rel=0.02)
