"""The REST API over the stored resources, on every backend: list/get/create/update/delete, CSV export,
strict input, conflicts and the effective-dated price sheet."""

from __future__ import annotations

import csv
import io

import pytest

ACCELERATOR = {
    "name": "Test-GPU",
    "vendor": "Acme",
    "memory_gb": 96,
    "memory_bandwidth_tb_s": 4.0,
    "bf16_tflops": 800,
}


def test_shipped_reference_data_is_listed(client) -> None:
    assert client.get("/api/v1/accelerators").json()["total"] == 18
    quotes = client.get("/api/v1/price-quotes", params={"limit": 5}).json()
    assert quotes["total"] >= 141 and len(quotes["items"]) == 5
    market = client.get("/api/v1/market-prices", params={"provider": "DeepSeek"}).json()
    assert market["total"] >= 1
    models = {m["name"] for m in client.get("/api/v1/models", params={"limit": 100}).json()["items"]}
    assert {"GPT-3 175B", "Llama 2 70B", "DeepSeek-V3", "ResNet-50"} <= models


def test_filter_sort_and_paginate(client) -> None:
    page = client.get(
        "/api/v1/accelerators", params={"vendor": "NVIDIA", "sort": "-memory_gb", "limit": 3}
    ).json()
    memories = [a["memory_gb"] for a in page["items"]]
    assert memories == sorted(memories, reverse=True) and page["total"] > 3
    second = client.get(
        "/api/v1/accelerators", params={"vendor": "NVIDIA", "sort": "-memory_gb", "limit": 3, "offset": 3}
    )
    assert not {a["id"] for a in page["items"]} & {a["id"] for a in second.json()["items"]}


def test_crud_round_trip_with_versions(client) -> None:
    created = client.post("/api/v1/accelerators", json=ACCELERATOR)
    assert created.status_code == 201, created.text
    body = created.json()
    assert created.headers["location"] == f"/api/v1/accelerators/{body['id']}"
    assert body["version"] == 1 and body["created_at"].endswith("Z")
    updated = client.patch(f"/api/v1/accelerators/{body['id']}", json={"memory_gb": 128, "version": 1})
    assert updated.status_code == 200 and updated.json()["version"] == 2
    stale = client.patch(f"/api/v1/accelerators/{body['id']}", json={"memory_gb": 64, "version": 1})
    assert stale.status_code == 409 and "version" in stale.json()["detail"]
    assert client.get(f"/api/v1/accelerators/{body['id']}").json()["memory_gb"] == 128
    assert client.delete(f"/api/v1/accelerators/{body['id']}").status_code == 204
    assert client.get(f"/api/v1/accelerators/{body['id']}").status_code == 404


def test_name_clash_is_409(client) -> None:
    assert client.post("/api/v1/accelerators", json=ACCELERATOR).status_code == 201
    clash = client.post("/api/v1/accelerators", json=ACCELERATOR)
    assert clash.status_code == 409 and "already exists" in clash.json()["detail"]


def test_delete_of_referenced_row_is_refused(client) -> None:
    h100 = client.get("/api/v1/accelerators", params={"name": "H100-SXM"}).json()["items"][0]
    response = client.delete(f"/api/v1/accelerators/{h100['id']}")
    assert response.status_code == 409 and "referenced" in response.json()["detail"]
    assert client.get(f"/api/v1/accelerators/{h100['id']}").status_code == 200


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"memory_gb": -1}, "memory_gb"),
        ({"memory_gb": True}, "memory_gb"),
        ({"memory_gb": "80"}, "memory_gb"),
        ({"colour": "red"}, "colour"),
        ({"name": ""}, "name"),
        ({"verification": "trust me"}, "verification"),
    ],
)
def test_bad_input_names_the_field(client, patch, field) -> None:
    response = client.post("/api/v1/accelerators", json={**ACCELERATOR, **patch})
    assert response.status_code == 422
    assert any(field in error["loc"] for error in response.json()["detail"])


def test_nan_and_infinity_are_refused(client) -> None:
    raw = '{"name": "n", "vendor": "v", "memory_gb": NaN, "memory_bandwidth_tb_s": Infinity}'
    response = client.post("/api/v1/accelerators", content=raw, headers={"content-type": "application/json"})
    assert response.status_code == 422


def test_unknown_ids_are_404(client) -> None:
    for path in ("accelerators", "price-quotes", "market-prices", "models", "scenarios"):
        assert client.get(f"/api/v1/{path}/999999").status_code == 404


def test_csv_export_has_the_json_columns_and_plain_numbers(client) -> None:
    json_page = client.get("/api/v1/price-quotes", params={"limit": 20, "sort": "usd_per_hour"}).json()
    response = client.get(
        "/api/v1/price-quotes", params={"limit": 20, "sort": "usd_per_hour", "format": "csv"}
    )
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert list(rows[0]) == list(json_page["items"][0])
    for row, item in zip(rows, json_page["items"], strict=True):
        assert float(row["usd_per_hour"]) == pytest.approx(item["usd_per_hour"])
        assert "," not in row["usd_per_hour"]


def _quote(**overrides):
    quote = {
        "provider": "acme-cloud",
        "instance_type": "gpu.8x",
        "region": "eu-1",
        "accelerator_count": 8,
        "pricing_model": "on_demand",
        "usd_per_hour": 40.0,
        "effective_from": "2025-01-01",
    }
    return {**quote, **overrides}


def test_price_change_adds_a_dated_row_and_history_reads_back(client) -> None:
    created = client.post("/api/v1/price-quotes", json=_quote()).json()
    assert created["usd_per_accelerator_hour"] == pytest.approx(5.0)
    changed = client.patch(
        f"/api/v1/price-quotes/{created['id']}",
        json={"usd_per_hour": 32.0, "effective_from": "2025-06-01", "version": created["version"]},
    )
    assert changed.status_code == 200, changed.text
    successor = changed.json()
    assert successor["id"] != created["id"] and successor["usd_per_accelerator_hour"] == pytest.approx(4.0)
    old = client.get(f"/api/v1/price-quotes/{created['id']}").json()
    assert old["effective_to"] == "2025-06-01" and old["usd_per_hour"] == 40.0

    def sheet(as_of: str) -> list[float]:
        page = client.get("/api/v1/price-quotes", params={"provider": "acme-cloud", "as_of": as_of}).json()
        return [q["usd_per_hour"] for q in page["items"]]

    assert sheet("2025-03-01") == [40.0]
    assert sheet("2025-06-01") == [32.0]
    assert sheet("2024-12-31") == []
    history = client.get(
        "/api/v1/price-quotes", params={"provider": "acme-cloud", "include_history": True}
    ).json()
    assert history["total"] == 2


def test_notes_are_corrected_in_place(client) -> None:
    created = client.post("/api/v1/price-quotes", json=_quote()).json()
    fixed = client.patch(
        f"/api/v1/price-quotes/{created['id']}", json={"notes": "typo fixed", "version": 1}
    ).json()
    assert fixed["id"] == created["id"] and fixed["notes"] == "typo fixed" and fixed["version"] == 2


def test_price_caps_and_dates_are_checked(client) -> None:
    assert client.post("/api/v1/price-quotes", json=_quote(usd_per_hour=0)).status_code == 422
    assert client.post("/api/v1/price-quotes", json=_quote(usd_per_hour=-3)).status_code == 422
    assert client.post("/api/v1/price-quotes", json=_quote(accelerator_count=0)).status_code == 422
    response = client.post("/api/v1/price-quotes", json=_quote(effective_to="2024-01-01"))
    assert response.status_code == 422 and "effective_to" in str(response.json())
    assert client.post("/api/v1/price-quotes", json=_quote(accelerator_id=999999)).status_code == 409


def test_market_price_and_model_and_scenario_create(client) -> None:
    market = client.post(
        "/api/v1/market-prices",
        json={
            "provider": "Rival",
            "model_name": "r-1",
            "input_usd_per_million": 0.5,
            "output_usd_per_million": 1.5,
            "effective_date": "2026-01-15",
            "event_type": "cut",
        },
    )
    assert market.status_code == 201, market.text
    model = client.post(
        "/api/v1/models",
        json={
            "name": "Tiny LM",
            "workload": "language",
            "parameter_count": 1.0e9,
            "layer_count": 16,
            "hidden_size": 2048,
            "attention_head_count": 16,
            "kv_head_count": 4,
        },
    )
    assert model.status_code == 201, model.text
    scenario = client.post(
        "/api/v1/scenarios",
        json={
            "name": "My war",
            "model_config_id": model.json()["id"],
            "inputs": {"horizon_months": 24},
        },
    )
    assert scenario.status_code == 201 and scenario.json()["inputs"] == {"horizon_months": 24}
    referenced = client.delete(f"/api/v1/models/{model.json()['id']}")
    assert referenced.status_code == 409


def test_health_and_readiness(client) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").status_code == 200


def test_openapi_documents_the_resources(client) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for path in ("accelerators", "price-quotes", "market-prices", "models", "scenarios"):
        assert f"/api/v1/{path}" in paths and f"/api/v1/{path}/{{row_id}}" in paths
    assert "/" not in paths
