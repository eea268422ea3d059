"""GET /api/v1/alerts: market prices at or below a scenario's price floor, in the set the scenario names."""

from __future__ import annotations

import copy

import pytest


def _scenario_inputs(client, unit_cost: float, margin: float = 0.0) -> dict:
    presets = client.get("/api/v1/scenarios", params={"is_preset": "true", "limit": 50}).json()["items"]
    inputs = copy.deepcopy(next(p for p in presets if p["model_config_id"] is None)["inputs"])
    scenario = inputs.get("scenario", inputs)
    scenario["firm"]["unit_cost_usd_per_million_tokens"] = unit_cost
    scenario["firm"].setdefault("pricing", {})["floor_margin_fraction"] = margin
    return inputs


def _price(client, model: str, output: float, day: str) -> int:
    body = {
        "provider": "example-newco",
        "model_name": model,
        "input_usd_per_million": output / 4,
        "output_usd_per_million": output,
        "effective_date": day,
        "event_type": "change",
    }
    answer = client.post("/api/v1/market-prices", json=body)
    assert answer.status_code == 201, answer.text
    return int(answer.json()["id"])


def test_a_rival_under_our_floor_is_an_alert_since_the_day_it_went_under(client) -> None:
    inputs = _scenario_inputs(client, unit_cost=1.0, margin=0.25)  # floor 1.25 USD per 1M output tokens
    created = client.post(
        "/api/v1/scenarios",
        json={"name": "alert test", "inputs": inputs, "comparable_set": {"providers": ["example-newco"]}},
    )
    assert created.status_code == 201, created.text
    scenario_id = created.json()["id"]
    assert created.json()["comparable_set"]["providers"] == ["example-newco"]
    _price(client, "cheap-1", 3.0, "2026-01-01")  # above the floor
    _price(client, "cheap-1", 1.2, "2026-03-01")  # under from here on
    current = _price(client, "cheap-1", 0.5, "2026-06-01")
    _price(client, "dear-1", 2.0, "2026-06-01")  # never under
    _price(client, "edge-1", 1.25, "2026-06-01")  # exactly at the floor counts

    answer = client.get("/api/v1/alerts", params={"scenario_id": scenario_id})
    assert answer.status_code == 200, answer.text
    items = answer.json()["items"]
    assert [item["model_name"] for item in items] == ["cheap-1", "edge-1"]
    cheap = items[0]
    assert cheap["market_price_id"] == current
    assert cheap["our_floor_usd_per_million"] == pytest.approx(1.25)
    assert cheap["price_usd_per_million"] == pytest.approx(0.5)
    assert cheap["gap_fraction"] == pytest.approx((1.25 - 0.5) / 1.25)
    assert cheap["since"] == "2026-03-01"
    assert items[1]["gap_fraction"] == pytest.approx(0.0)


def test_the_comparable_set_filters_and_defaults_to_every_price(client) -> None:
    inputs = _scenario_inputs(client, unit_cost=1.0)
    narrow = client.post(
        "/api/v1/scenarios",
        json={
            "name": "narrow",
            "inputs": inputs,
            "comparable_set": {"model_name_contains": "nothing-matches"},
        },
    ).json()["id"]
    wide = client.post("/api/v1/scenarios", json={"name": "wide", "inputs": inputs}).json()["id"]
    banded = client.post(
        "/api/v1/scenarios",
        json={"name": "banded", "inputs": inputs, "comparable_set": {"min_capability_score": 1300}},
    ).json()["id"]
    _price(client, "cheap-2", 0.1, "2026-06-01")
    answer = client.get("/api/v1/alerts", params={"scenario_id": [narrow, wide, banded]}).json()
    by_scenario = {(item["scenario_id"], item["model_name"]) for item in answer["items"]}
    assert (wide, "cheap-2") in by_scenario
    assert not any(sid == narrow for sid, _ in by_scenario)
    assert not any(sid == banded for sid, _ in by_scenario)  # an unrated price is not in a capability band
    # every stored market price at or below 1.0 shows for the wide scenario (the seeded China prices too)
    assert sum(sid == wide for sid, _ in by_scenario) > 1


def test_a_bad_comparable_set_is_a_422_naming_the_field(client) -> None:
    inputs = _scenario_inputs(client, unit_cost=1.0)
    answer = client.post(
        "/api/v1/scenarios", json={"name": "bad", "inputs": inputs, "comparable_set": {"providers": "OpenAI"}}
    )
    assert answer.status_code == 422 and "comparable_set" in answer.text
