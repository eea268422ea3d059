"""/api/v1/simulations: run and store, read back (JSON and CSV), preview, presets, errors."""

from __future__ import annotations

import copy
from typing import Any

import pytest

SCENARIO: dict[str, Any] = {
    "firm": {
        "price_usd_per_million_tokens": 2.0,
        "unit_cost_usd_per_million_tokens": 0.5,
        "fixed_costs_usd_per_month": 100_000,
        "starting_cash_usd": 250_000,
        "start_share_fraction": 0.25,
        "one_off_training_usd": 60_000,
        "training_spend_months": 2,
        "amortisation_months": 12,
        "funding": [{"month": 3, "amount_usd": 50_000}],
        "pricing": {"rule": "hold"},
    },
    "market": {
        "volume_million_tokens_per_month": 400_000,
        "market_elasticity": 0.0,
        "switching_elasticity": -1.5,
        "inertia_per_month_fraction": 0.5,
    },
    "rivals": [
        {
            "name": "Rival",
            "price_usd_per_million_tokens": 1.5,
            "unit_cost_usd_per_million_tokens": 0.3,
            "start_share_fraction": 0.5,
        }
    ],
    "horizon_months": 4,
    "paths_count": 50,
    "seed": 7,
}
STRATEGY = {"name": "baseline", "unit_cost_usd_per_million_tokens": 0.5, "one_off_training_usd": 60_000}


def test_preview_matches_the_hand_computed_cash_path(client) -> None:
    r = client.post("/api/v1/simulations/preview", json={"inputs": SCENARIO, "strategies": [STRATEGY]})
    assert r.status_code == 200, r.text
    data = r.json()
    assert data["id"] is None and data["seed"] == 7 and data["strategies_source"] == "request"
    s = data["results"]["strategies"][0]
    # see tests/engine/market/test_cash_by_hand.py::test_flat_market_cash_by_hand
    assert s["cash_usd"]["p50"] == pytest.approx([270_000, 290_000, 390_000, 440_000], abs=0.005)
    assert s["survival_probability"] == 1.0
    assert s["survival_curve"] == [1.0, 1.0, 1.0, 1.0]
    for key in ("breakeven_month", "runway_months", "unit_cost_usd_per_million_tokens", "payback_month"):
        assert key in s
    assert s["unit_cost_usd_per_million_tokens"] == 0.5


def test_run_is_stored_and_replayable(client) -> None:
    r = client.post(
        "/api/v1/simulations", json={"inputs": SCENARIO, "strategies": [STRATEGY], "name": "by hand"}
    )
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["id"] > 0 and created["name"] == "by hand"
    got = client.get(f"/api/v1/simulations/{created['id']}")
    assert got.status_code == 200
    stored = got.json()
    assert stored["results"] == created["results"]
    assert stored["seed"] == 7 and stored["paths_count"] == 50
    # the stored inputs replay to the same numbers
    again = client.post("/api/v1/simulations/preview", json={"inputs": stored["inputs"]})
    assert again.status_code == 200, again.text
    assert again.json()["results"] == stored["results"]
    assert again.json()["strategies_source"] == "preset"


def test_csv_is_the_month_by_month_table(client) -> None:
    created = client.post("/api/v1/simulations", json={"inputs": SCENARIO, "strategies": [STRATEGY]}).json()
    r = client.get(f"/api/v1/simulations/{created['id']}", params={"format": "csv"})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/csv")
    lines = r.text.strip().splitlines()
    header = lines[0].split(",")
    assert header[:3] == ["strategy", "month", "survival_fraction"]
    assert "cash_usd_p50" in header and "rival_price_usd_per_million_tokens_Rival_p50" in header
    assert len(lines) == 1 + 4
    month3 = dict(zip(header, lines[3].split(","), strict=True))
    assert float(month3["cash_usd_p50"]) == pytest.approx(390_000)


def test_presets_are_listed_and_run(client) -> None:
    r = client.get("/api/v1/simulations/presets")
    assert r.status_code == 200
    presets = {p["name"]: p for p in r.json()}
    assert set(presets) >= {"China, May 2024", "LLMflation", "Follow the leader", "The article's strategies"}
    assert all(p["sources"] for p in presets.values())
    article = presets["The article's strategies"]
    assert article["strategy_count"] == 16
    r = client.post("/api/v1/simulations/preview", json={"inputs": article["inputs"], "paths_count": 200})
    assert r.status_code == 200, r.text
    results = r.json()["results"]
    assert len(results["strategies"]) == 16 and len(results["ranking_by_survival"]) == 16


def test_stored_scenario_by_id(client) -> None:
    items = client.get("/api/v1/scenarios", params={"name": "Follow the leader"}).json()["items"]
    if not items:
        pytest.skip("the seed did not store the presets as scenarios")
    r = client.post("/api/v1/simulations/preview", json={"scenario_id": items[0]["id"], "paths_count": 100})
    assert r.status_code == 200, r.text
    assert r.json()["scenario_id"] == items[0]["id"]
    assert r.json()["results"]["rival_names"][0] == "Leader"


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"inputs": SCENARIO, "paths_count": 100_001}, ["body", "paths_count"]),
        ({"inputs": SCENARIO, "horizon_months": 121}, ["body", "horizon_months"]),
        ({"inputs": SCENARIO, "paths": 10}, ["body", "paths"]),
        ({"inputs": SCENARIO, "seed": "7"}, ["body", "seed"]),
        ({}, ["body"]),
    ],
)
def test_request_errors_are_422_naming_the_field(client, body: dict[str, Any], loc: list[str]) -> None:
    r = client.post("/api/v1/simulations/preview", json=body)
    assert r.status_code == 422, r.text
    assert r.json()["detail"][0]["loc"][: len(loc)] == loc


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda s: s["rivals"][0].update(rule="nuke"), "inputs.rivals[0].rule"),
        (
            lambda s: s.update(
                rivals=[dict(s["rivals"][0], name=f"r{i}", start_share_fraction=0.01) for i in range(21)]
            ),
            "inputs.rivals",
        ),
        (lambda s: s["firm"].update(colour="red"), "inputs.firm.colour"),
        (lambda s: s["market"].update(switching_elasticity=0.5), "inputs.market.switching_elasticity.low"),
    ],
)
def test_engine_errors_are_422_naming_the_field(client, change: Any, field: str) -> None:
    inputs = copy.deepcopy(SCENARIO)
    change(inputs)
    r = client.post("/api/v1/simulations/preview", json={"inputs": inputs})
    assert r.status_code == 422, r.text
    assert r.json()["detail"][0]["loc"] == ["body", field]


def test_unknown_ids_are_404(client) -> None:
    assert client.get("/api/v1/simulations/999999").status_code == 404
    assert client.post("/api/v1/simulations/preview", json={"scenario_id": 999_999}).status_code == 404


def test_viewers_preview_but_do_not_store(anon_client) -> None:
    r = anon_client.post("/api/v1/simulations", json={"inputs": SCENARIO})
    assert r.status_code in (401, 403)


def _id(client, path: str, name: str) -> int:
    items = client.get(f"/api/v1/{path}", params={"name": name}).json()["items"]
    return int(items[0]["id"])


def test_cost_engine_strategies_from_model_and_accelerator(client) -> None:
    body = {
        "inputs": SCENARIO,
        "model_id": _id(client, "models", "Llama 3.1 8B"),
        "accelerator_id": _id(client, "accelerators", "H100-SXM"),
        "price_usd_per_gpu_hour": 2.5,
        "paths_count": 100,
    }
    r = client.post("/api/v1/simulations/preview", json=body)
    assert r.status_code == 200, r.text
    data = r.json()
    assert data["strategies_source"] == "cost engine"
    names = [s["name"] for s in data["results"]["strategies"]]
    assert names[0] == "baseline" and len(names) == 16
    baseline = data["results"]["strategies"][0]
    assert 0 < baseline["unit_cost_usd_per_million_tokens"] < 10
    # the inputs snapshot carries the cost engine's strategies, so a replay needs no cost engine
    assert len(data["inputs"]["strategies"]) == 16
    assert data["inputs"]["scenario"]["firm"]["unit_cost_usd_per_million_tokens"] == pytest.approx(
        baseline["unit_cost_usd_per_million_tokens"]
    )
    # switched off: the request's inline scenario alone
    body["use_cost_engine"] = False
    assert client.post("/api/v1/simulations/preview", json=body).json()["strategies_source"] == "baseline"


def test_closed_forms_lever_contributions_and_tornado(client) -> None:
    presets = {p["name"]: p for p in client.get("/api/v1/simulations/presets").json()}
    body = {
        "inputs": presets["The article's strategies"]["inputs"],
        "paths_count": 200,
        "tornado": {"outcome": "survival_probability", "outcome_month": 36, "paths_count": 100},
    }
    r = client.post("/api/v1/simulations/preview", json=body)
    assert r.status_code == 200, r.text
    results = r.json()["results"]
    assert {c["lever"] for c in results["lever_contributions"]} == {
        "distributed",
        "transfer",
        "quantization",
        "mixed_precision",
    }
    assert all(c["pairs_count"] == 8 for c in results["lever_contributions"])
    forms = results["strategies"][0]["closed_forms"]
    assert set(forms) >= {
        "required_volume_uplift_fraction",
        "breakeven_volume_million_tokens_per_month",
        "profit_max_price_usd_per_million_tokens",
        "payback_months",
    }
    t = results["tornado"]
    assert t["strategy"] == "baseline" and t["outcome"] == "survival_probability" and t["bars"]
    bad = client.post("/api/v1/simulations/preview", json={**body, "tornado": {"strategy": "nope"}})
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["body", "tornado.strategy"]


def test_too_much_work_is_a_422_naming_paths(client) -> None:
    presets = {p["name"]: p for p in client.get("/api/v1/simulations/presets").json()}
    inputs = presets["The article's strategies"]["inputs"]
    r = client.post(
        "/api/v1/simulations/preview", json={"inputs": inputs, "paths_count": 100_000, "horizon_months": 120}
    )
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", "paths_count"]
    assert "at most" in r.json()["detail"][0]["msg"]


def test_tornado_route_is_the_preview_tornado_and_viewers_may_call_it(client, anon_client) -> None:
    presets = {p["name"]: p for p in client.get("/api/v1/simulations/presets").json()}
    options = {"outcome": "cash_at_month", "outcome_month": 24, "paths_count": 80}
    body = {"inputs": presets["The article's strategies"]["inputs"], "tornado": options}
    alone = client.post("/api/v1/simulations/tornado", json=body)
    assert alone.status_code == 200, alone.text
    with_run = client.post("/api/v1/simulations/preview", json={**body, "paths_count": 50}).json()
    assert alone.json() == with_run["results"]["tornado"]  # same service, same seed, same numbers
    assert alone.json()["strategy"] == "baseline" and alone.json()["bars"]
    anon = anon_client.post("/api/v1/simulations/tornado", json=body)
    preview_anon = anon_client.post("/api/v1/simulations/preview", json=body)
    assert anon.status_code == preview_anon.status_code  # the viewer role, as the preview
    bad = client.post("/api/v1/simulations/tornado", json={**body, "tornado": {"strategy": "nope"}})
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["body", "tornado.strategy"]


def test_explorer_tornado_comes_from_the_service(client, monkeypatch) -> None:
    from app.services import simulations
    from app.web.pages import pricewar_inputs

    calls = []
    original = simulations.tornado_preview

    def spy(session, request):  # type: ignore[no-untyped-def]
        calls.append(request)
        return original(session, request)

    monkeypatch.setattr(simulations, "tornado_preview", spy)
    monkeypatch.setattr(pricewar_inputs, "_CACHE", type(pricewar_inputs._CACHE)())
    data = client.get("/explorer/tornado", params={"month_n": "12"}).json()
    assert calls and calls[0]["tornado"]["outcome_month"] == 12 and "inputs" in calls[0]
    assert data["charts"][0]["key"] == "tornado"


def test_results_carry_the_floor_by_month_and_every_firms_share(client) -> None:
    scenario = copy.deepcopy(SCENARIO)
    scenario["firm"]["cost_decline_per_year"] = 2.0
    scenario["firm"]["pricing"] = {"rule": "hold", "floor_margin_fraction": 0.25}
    scenario["horizon_months"] = 13
    created = client.post("/api/v1/simulations", json={"inputs": scenario, "strategies": [STRATEGY]}).json()
    s = created["results"]["strategies"][0]
    floor = s["price_floor_usd_per_million_tokens_by_month"]["p50"]
    assert floor[0] == pytest.approx(0.5 * 1.25) and floor[12] == pytest.approx(0.5 * 1.25 / 2)
    assert s["unit_cost_usd_per_million_tokens_by_month"]["p95"][12] == pytest.approx(0.25)
    shares = s["shares_of_all_demand_fraction_p50"]
    for t in range(13):
        total = shares["ours"][t] + sum(r[t] for r in shares["rivals"]) + shares["outside_option"][t]
        assert total == pytest.approx(1.0, abs=1e-6)
    csv_text = client.get(f"/api/v1/simulations/{created['id']}", params={"format": "csv"}).text
    header = csv_text.splitlines()[0].split(",")
    last = dict(zip(header, csv_text.strip().splitlines()[-1].split(","), strict=True))
    assert float(last["price_floor_usd_per_million_tokens_p50"]) == pytest.approx(0.3125)
    assert float(last["unit_cost_usd_per_million_tokens_p50"]) == pytest.approx(0.25)
