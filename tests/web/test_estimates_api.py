"""POST /api/v1/estimates/…: training, inference, sweep and the article, on the seeded database."""

from __future__ import annotations

import pytest

LLAMA7 = {
    "parameter_count": 6.74e9,
    "layer_count": 32,
    "hidden_size": 4096,
    "attention_head_count": 32,
    "kv_head_count": 32,
    "vocabulary_size": 32000,
    "sequence_length": 4096,
}
A100 = {
    "name": "A100 inline",
    "peak_tflops": {"fp32": 19.5, "tf32": 156.0, "bf16": 312.0},
    "memory_gb": 80.0,
    "memory_bandwidth_tb_s": 2.039,
    "board_power_w": 400.0,
}


def model_id(client, name: str) -> int:
    items = client.get("/api/v1/models", params={"name": name}).json()["items"]
    return int(items[0]["id"])


def test_training_reproduces_llama2_7b_gpu_hours(client) -> None:
    body = {
        "model": LLAMA7,
        "training_tokens": 2e12,
        "accelerator_name": "A100-SXM4-80GB",
        "gpu_count": 2048,
        "precision": "bf16",
        "mfu": 0.39,
        "price_usd_per_gpu_hour": 2.0,
        "pue": 1.0,
    }
    r = client.post("/api/v1/estimates/training", json=body)
    assert r.status_code == 200, r.text
    data = r.json()
    for key in (
        "model_flops",
        "hardware_flops",
        "gpu_hours",
        "wall_clock_days",
        "cost_usd",
        "energy_kwh",
        "co2_kg",
        "memory_gb_per_gpu",
        "fits_in_memory",
        "scaling_efficiency",
        "assumptions",
    ):
        assert key in data
    assert data["gpu_hours"] == pytest.approx(184_320, rel=0.05)
    assert data["cost_usd"] == pytest.approx(2.0 * data["gpu_hours"])
    assert data["price_source"] == "given"
    assert set(data["memory_by_part_gb"]) == {"weights_gb", "gradients_gb", "optimizer_gb", "activations_gb"}


def test_training_with_stored_model_and_cheapest_quote(client) -> None:
    body = {
        "model_id": model_id(client, "Llama 2 70B"),
        "accelerator_name": "H100-SXM",
        "gpu_count": 1024,
        "achieved_tflops_per_gpu": 400.0,
        "activation_recomputation": "full",
        "parallelism": {
            "data_parallel_count": 32,
            "tensor_parallel_count": 8,
            "pipeline_parallel_count": 4,
            "zero_stage": 1,
            "micro_batch_count": 16,
        },
    }
    data = client.post("/api/v1/estimates/training", json=body).json()
    assert data["training_tokens"] == 2e12  # from the stored model
    # Was "cheapest on_demand quote #…" of any size: multi-GPU runs are priced on 8-GPU instances (issue 10).
    assert data["price_source"].startswith("cheapest on_demand offer with at least 8 accelerators")
    assert data["price_offer_accelerator_count"] >= 8
    assert data["cost_usd"] > 0 and 0 < data["scaling_efficiency"] < 1
    assert data["communication"]["bubble_s"] > 0


def test_inference_llama2_70b_kv_cache_and_cost(client) -> None:
    body = {
        "model_id": model_id(client, "Llama 2 70B"),
        "accelerator_name": "H100-SXM",
        "gpus_per_replica": 4,
        "batch_size": 16,
        "price_usd_per_gpu_hour": 3.0,
        "utilization": 0.5,
    }
    r = client.post("/api/v1/estimates/inference", json=body)
    assert r.status_code == 200, r.text
    data = r.json()
    assert data["kv_cache_bytes_per_token"] == 327_680
    assert data["bound"] == "memory" and data["fits_in_memory"]
    expected = 3.0 * 4 / (3600 * data["output_tokens_per_second"] * 0.5) * 1e6
    assert data["cost_usd_per_million_output_tokens"] == pytest.approx(expected)


def test_inference_picks_the_batch_under_latency_targets(client) -> None:
    body = {
        "model": LLAMA7,
        "accelerator": A100,
        "time_per_output_token_target_s": 0.02,
        "time_to_first_token_target_s": 1.0,
        "price_usd_per_gpu_hour": 2.0,
    }
    data = client.post("/api/v1/estimates/inference", json=body).json()
    assert data["meets_latency_targets"] and data["batch_size"] > 1
    assert data["time_per_output_token_s"] <= 0.02


def test_plan_that_cannot_fit_is_a_422_with_the_numbers(client) -> None:
    body = {
        "model_id": model_id(client, "Llama 3.1 405B"),
        "accelerator_name": "A100-SXM4-80GB",
        "gpus_per_replica": 8,
        "batch_size": 1,
        "price_usd_per_gpu_hour": 2.0,
    }
    r = client.post("/api/v1/estimates/inference", json=body)
    assert r.status_code == 422
    detail = r.json()["detail"][0]
    assert detail["loc"] == ["body", "gpus_per_replica"]
    assert "needs 811 GB, has 576 GB" in detail["msg"]


def test_unsupported_precision_is_a_422_naming_the_field(client) -> None:
    body = {
        "model": LLAMA7,
        "training_tokens": 1e9,
        "accelerator_name": "A100-SXM4-80GB",
        "gpu_count": 8,
        "precision": "fp8",
    }
    r = client.post("/api/v1/estimates/training", json=body)
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", "precision"]
    assert "no fp8" in r.json()["detail"][0]["msg"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"gpu_count": "8"}, "gpu_count"),  # strict: no string-to-int coercion
        ({"gpu_count": 0}, "gpu_count"),
        ({"precision": "fp6"}, "precision"),
        ({"mfu": 1.5}, "mfu"),
        ({"surprise": 1}, "surprise"),  # extra fields are refused
    ],
)
def test_invalid_training_input_is_a_422_naming_the_field(client, change, field) -> None:
    body = {
        "model": LLAMA7,
        "training_tokens": 1e9,
        "accelerator_name": "A100-SXM4-80GB",
        "gpu_count": 8,
        **change,
    }
    r = client.post("/api/v1/estimates/training", json=body)
    assert r.status_code == 422
    assert any(field in error["loc"] for error in r.json()["detail"])


def test_unknown_ids_are_404(client) -> None:
    r = client.post(
        "/api/v1/estimates/training",
        json={
            "model_id": 999_999,
            "training_tokens": 1e9,
            "accelerator_name": "A100-SXM4-80GB",
            "gpu_count": 8,
        },
    )
    assert r.status_code == 404
    r = client.post(
        "/api/v1/estimates/training",
        json={"model": LLAMA7, "training_tokens": 1e9, "accelerator_name": "Z9000", "gpu_count": 8},
    )
    assert r.status_code == 404


def test_model_and_model_id_together_are_refused(client) -> None:
    r = client.post(
        "/api/v1/estimates/training",
        json={
            "model": LLAMA7,
            "model_id": 1,
            "training_tokens": 1e9,
            "accelerator_name": "A100-SXM4-80GB",
            "gpu_count": 8,
        },
    )
    assert r.status_code == 422


def test_training_sweep_over_stored_quotes(client) -> None:
    body = {
        "kind": "training",
        "model_id": model_id(client, "Llama 2 7B"),
        "precisions": ["bf16", "fp8"],
        "gpu_counts": [64, 256, 1024],
        "pricing_models": ["on_demand", "spot"],
        "max_days": 30,
        "mfu": 0.4,
        "limit": 5,
    }
    r = client.post("/api/v1/estimates/sweep", json=body)
    assert r.status_code == 200, r.text
    data = r.json()
    assert data["evaluated_plan_count"] >= data["feasible_plan_count"] > 0
    costs = [p["cost_usd"] for p in data["plans"]]
    assert costs == sorted(costs) and len(costs) <= 5
    assert data["cheapest"]["wall_clock_days"] <= 30 and data["pareto"]


def test_serving_sweep_cheapest_under_latency(client) -> None:
    body = {
        "kind": "serving",
        "model_id": model_id(client, "Llama 2 70B"),
        "accelerator_names": ["H100-SXM", "A100-SXM4-80GB"],
        "price_usd_per_gpu_hour": 2.5,
        "quantizations": [
            {"weight_precision": "bf16", "quality_loss_points": 0.0},
            {"weight_precision": "int8", "kv_cache_precision": "int8", "quality_loss_points": 0.5},
        ],
        "gpus_per_replica": [2, 4, 8],
        "batch_sizes": [1, 8, 32, 128],
        "time_per_output_token_target_s": 0.05,
    }
    data = client.post("/api/v1/estimates/sweep", json=body).json()
    assert data["cost_column"] == "cost_usd_per_million_output_tokens"
    assert data["cheapest"]["time_per_output_token_s"] <= 0.05


def test_article_endpoint_reproduces_the_worked_example(client) -> None:
    r = client.post("/api/v1/estimates/article", json={})
    assert r.status_code == 200, r.text
    data = r.json()
    assert data["formulas"]["communication_volume"] == 10
    assert data["formulas"]["compressed_communication_volume"] == pytest.approx(10**0.5)
    assert data["formulas"]["quantization_cost"] == 1010
    assert data["formulas"]["mixed_precision_cost"] == 6.5e10
    worked = {w["lever"]: w for w in data["worked_example"]}
    assert worked["transfer"]["article_value"] == 110 and worked["transfer"]["formula_value"] == 200
    findings = {f["lever"]: f for f in data["findings"]}
    assert findings["distributed"]["implied_value"] == pytest.approx(0.5)
    custom = client.post("/api/v1/estimates/article", json={"transfer_learning": {"alpha_t": 0.01}}).json()
    assert custom["formulas"]["transfer_learning_cost"] == 110


def test_memoised_rows_follow_every_edit_at_once(client, db_session) -> None:
    """Estimates memoise the stored model, accelerator and cheapest price per process (issue 10, speed),
    keyed by the tables' change stamps: an edit, even by raw SQL, shows in the very next estimate."""
    from sqlalchemy import text

    from app.services import resolved_cache

    resolved_cache.clear()
    body = {"model_id": model_id(client, "Llama 2 7B"), "accelerator_name": "H100-SXM", "gpu_count": 64}
    first = client.post("/api/v1/estimates/training", json=body).json()
    assert client.post("/api/v1/estimates/training", json=body).json() == first  # served from the memo
    quote_id = int(first["price_source"].split("quote #")[1].split(":")[0])
    cheaper = first["price_usd_per_gpu_hour"] / 2
    db_session.execute(
        text("UPDATE price_quotes SET usd_per_accelerator_hour = :usd WHERE id = :id"),
        {"usd": cheaper, "id": quote_id},
    )
    db_session.execute(
        text("UPDATE model_configs SET training_tokens = 1e12 WHERE id = :id"), {"id": body["model_id"]}
    )
    db_session.commit()
    second = client.post("/api/v1/estimates/training", json=body).json()
    assert second["price_usd_per_gpu_hour"] == pytest.approx(cheaper)
    assert second["training_tokens"] == 1e12
    assert second["cost_usd"] == pytest.approx(first["cost_usd"] / 2 / 2, rel=1e-9)
    inference = client.post(
        "/api/v1/estimates/inference", json={"model_id": body["model_id"], "accelerator_name": "H100-SXM"}
    ).json()
    db_session.execute(
        text("UPDATE accelerators SET memory_bandwidth_tb_s = 2 * memory_bandwidth_tb_s WHERE name = :n"),
        {"n": "H100-SXM"},
    )
    db_session.commit()
    faster = client.post(
        "/api/v1/estimates/inference", json={"model_id": body["model_id"], "accelerator_name": "H100-SXM"}
    ).json()
    assert faster["decode_output_tokens_per_second"] > inference["decode_output_tokens_per_second"]
