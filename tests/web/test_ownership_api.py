"""POST /api/v1/estimates/ownership on the seeded database: hand arithmetic through REST, the named rental."""

from __future__ import annotations

import pytest


def accelerator(client, name: str) -> dict:
    items = client.get("/api/v1/accelerators", params={"name": name}).json()["items"]
    return items[0]


BODY = {
    "gpu_count": 8,
    "purchase_usd_per_gpu": 30_000,
    "depreciation_years": 4,
    "power_usd_per_kwh": 0.10,
    "pue": 1.3,
    "utilization": 0.6,
    "server_overhead_fraction": 0.35,
    "colocation_usd_per_kw_month": 150,
    "board_power_w": 700,
}


def test_owned_cost_and_break_even_against_the_cheapest_eight_gpu_offer(client) -> None:
    h100 = accelerator(client, "H100-SXM")
    answer = client.post("/api/v1/estimates/ownership", json={**BODY, "accelerator_id": h100["id"]})
    assert answer.status_code == 200, answer.text
    result = answer.json()
    # the same hand arithmetic as tests/engine/test_ownership.py: 106,949.79 USD a year over 42,048 h
    assert result["usd_per_gpu_hour"] == pytest.approx(2.5435167, rel=1e-6)
    rental = result["rental"]
    assert rental is not None and rental["accelerator_count"] >= 8
    offers = client.get(
        "/api/v1/price-quotes",
        params={"accelerator_id": h100["id"], "pricing_model": "on_demand", "limit": 500},
    ).json()["items"]
    eligible = [
        q["usd_per_accelerator_hour"]
        for q in offers
        if q["accelerator_count"] >= 8
        and q["price_scope"] != "gpu_only_component"
        and q["effective_to"] is None
    ]
    assert rental["usd_per_gpu_hour"] == pytest.approx(min(eligible))
    rent = rental["usd_per_gpu_hour"]
    # u* = fixed / (8,760 × (R − marginal)) with fixed 12,679.9776 and marginal 0.13104 USD
    expected = 12_679.9776 / (8_760 * (rent - 0.13104))
    if expected <= 1:
        assert rental["break_even_utilization"] == pytest.approx(expected, rel=1e-6)
    else:
        assert rental["break_even_utilization"] is None
    assert any("no staff cost" in text for text in result["assumptions"])
    assert len(result["curve"]) == 20


def test_bad_input_names_the_field(client) -> None:
    h100 = accelerator(client, "H100-SXM")
    answer = client.post(
        "/api/v1/estimates/ownership", json={**BODY, "accelerator_id": h100["id"], "pue": 0.5}
    )
    assert answer.status_code == 422
    assert "pue" in answer.text
    missing = client.post("/api/v1/estimates/ownership", json={**BODY, "accelerator_id": 2_000_000_000})
    assert missing.status_code == 404
    assert "accelerator_id" in missing.text
