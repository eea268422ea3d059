"""The simulator's unit-cost basis: a rental of any pricing model, or the owned cost of our own cluster."""

from __future__ import annotations

import pytest

from tests.web.test_ownership_api import BODY
from tests.web.test_simulations_api import SCENARIO, _id

CLUSTER = {k: v for k, v in BODY.items() if k != "board_power_w"}  # the cluster of the ownership tests


def _baseline_unit_cost(client, **extra: object) -> tuple[float, list[str]]:
    body = {
        "inputs": SCENARIO,
        "model_id": _id(client, "models", "Llama 3.1 8B"),
        "accelerator_id": _id(client, "accelerators", "H100-SXM"),
        "paths_count": 50,
        **extra,
    }
    answer = client.post("/api/v1/simulations/preview", json=body)
    assert answer.status_code == 200, answer.text
    data = answer.json()
    assert data["strategies_source"] == "cost engine"
    return data["results"]["strategies"][0]["unit_cost_usd_per_million_tokens"], data["notes"]


def test_owned_hardware_prices_the_strategies_at_the_owned_cost(client) -> None:
    h100 = _id(client, "accelerators", "H100-SXM")
    owned = client.post(
        "/api/v1/estimates/ownership", json={**CLUSTER, "accelerator_id": h100, "board_power_w": 700}
    ).json()["usd_per_gpu_hour"]
    at_owned, notes = _baseline_unit_cost(client, owned_hardware=CLUSTER)
    at_given, _ = _baseline_unit_cost(client, price_usd_per_gpu_hour=owned)
    assert at_owned == pytest.approx(at_given, rel=1e-9)  # the same plan, priced at the owned cost
    assert any("owned: 8 GPUs" in note for note in notes)
    # unit cost is proportional to the price per GPU-hour: twice the owned cost, twice the unit cost
    at_double, _ = _baseline_unit_cost(client, price_usd_per_gpu_hour=2 * owned)
    assert at_double == pytest.approx(2 * at_owned, rel=1e-9)


def test_a_pricing_model_without_quotes_is_a_422_naming_the_price(client) -> None:
    answer = client.post(
        "/api/v1/simulations/preview",
        json={
            "inputs": SCENARIO,
            "model_id": _id(client, "models", "Llama 3.1 8B"),
            "accelerator_id": _id(client, "accelerators", "H100-SXM"),
            "pricing_model": "reserved_3y",  # the shipped sheet has no reserved quotes
            "paths_count": 50,
        },
    )
    assert answer.status_code == 422 and "reserved_3y" in answer.text
    spot, notes = _baseline_unit_cost(client, pricing_model="spot")
    on_demand, _ = _baseline_unit_cost(client)
    assert spot < on_demand  # spot quotes are cheaper on the shipped sheet
    assert any("spot quote" in note for note in notes)
