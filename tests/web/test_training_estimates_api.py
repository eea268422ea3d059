"""POST /api/v1/estimates/training and the training sweep after issue 10: layouts reported, infeasible batches
named, default MFU with its source and range, multi-GPU prices from multi-GPU offers."""

from __future__ import annotations

import pytest

LLAMA7 = {
    "name": "Llama-2-7B inline",
    "parameter_count": 6.74e9,
    "layer_count": 32,
    "hidden_size": 4096,
    "attention_head_count": 32,
    "kv_head_count": 32,
    "vocabulary_size": 32000,
    "sequence_length": 4096,
}


def test_a_2048_gpu_run_is_priced_on_an_instance_of_at_least_8_gpus(client) -> None:
    # Before: the cheapest quote of any size ($1.29/GPU-hour from a one-GPU marketplace offer for H100).
    base = {"model": LLAMA7, "training_tokens": 2e12, "accelerator_name": "H100-SXM"}
    one = client.post("/api/v1/estimates/training", json={**base, "gpu_count": 1}).json()
    many = client.post("/api/v1/estimates/training", json={**base, "gpu_count": 2048}).json()
    assert many["price_offer_accelerator_count"] >= 8
    assert "at least 8 accelerators per instance" in many["price_source"]
    assert many["price_usd_per_gpu_hour"] >= one["price_usd_per_gpu_hour"]
    if one["price_offer_accelerator_count"] < 8:
        assert many["price_usd_per_gpu_hour"] > one["price_usd_per_gpu_hour"]
    # Reserved / negotiated sheets can be chosen; with none on the sheet the answer says so.
    reserved = client.post(
        "/api/v1/estimates/training", json={**base, "gpu_count": 2048, "pricing_model": "reserved_3y"}
    ).json()
    assert reserved["pricing_model"] == "reserved_3y"
    assert reserved["cost_usd"] is None or reserved["price_offer_accelerator_count"] >= 1


def test_every_estimate_reports_its_layout_default_mfu_source_and_ranges(client) -> None:
    body = {
        "model": LLAMA7,
        "training_tokens": 2e12,
        "accelerator_name": "A100-SXM4-80GB",
        "gpu_count": 1024,
        "price_usd_per_gpu_hour": 2.0,
    }
    r = client.post("/api/v1/estimates/training", json=body)
    assert r.status_code == 200, r.text
    data = r.json()
    layout = data["layout"]
    assert layout["chosen"] is True
    assert (
        layout["tensor_parallel_count"] * layout["pipeline_parallel_count"] * layout["data_parallel_count"]
        == 1024
    )
    assert layout["global_batch_token_count"] == 4 * 2**20
    assert 0 < data["scaling_efficiency"] < 1
    assert data["end_to_end_mfu"] == pytest.approx(data["mfu"] * data["scaling_efficiency"])
    assert "published runs" in data["mfu_source"]
    low, high = data["gpu_hours_range"]
    assert low < data["gpu_hours"] < high
    assert data["cost_usd_range"] == pytest.approx([low * 2.0, high * 2.0])


def test_a_layout_that_would_grow_the_global_batch_is_a_422_with_the_numbers(client) -> None:
    body = {
        "model": LLAMA7,
        "training_tokens": 2e12,
        "accelerator_name": "A100-SXM4-80GB",
        "gpu_count": 4096,
        "price_usd_per_gpu_hour": 2.0,
        "parallelism": {"data_parallel_count": 4096, "global_batch_token_count": 4194304},
    }
    r = client.post("/api/v1/estimates/training", json=body)
    assert r.status_code == 422
    text = r.text
    assert "16,777,216" in text and "4,194,304" in text and "parallelism" in text


def test_megatron_throughput_and_impossible_throughput(client) -> None:
    body = {
        "model": LLAMA7,
        "training_tokens": 2e12,
        "accelerator_name": "A100-SXM4-80GB",
        "gpu_count": 64,
        "price_usd_per_gpu_hour": 2.0,
        "achieved_tflops_per_gpu": 160.0,
    }
    megatron = client.post("/api/v1/estimates/training", json=body).json()
    model = client.post("/api/v1/estimates/training", json={**body, "achieved_flops_basis": "model"}).json()
    assert megatron["gpu_hours"] == pytest.approx(model["gpu_hours"] * 4 / 3, rel=1e-6)
    assert "Megatron-LM" in megatron["mfu_source"]
    too_fast = client.post(
        "/api/v1/estimates/training",
        json={**body, "achieved_tflops_per_gpu": 400.0, "achieved_flops_basis": "model"},
    )
    assert too_fast.status_code == 422 and "achieved_tflops_per_gpu" in too_fast.text


def test_training_sweep_rows_carry_layouts_and_multi_gpu_prices(client) -> None:
    body = {
        "kind": "training",
        "model": LLAMA7,
        "training_tokens": 2e12,
        "accelerator_names": ["A100-SXM4-80GB", "H100-SXM"],
        "gpu_counts": [8, 512, 4096, 100000],
    }
    r = client.post("/api/v1/estimates/sweep", json=body)
    assert r.status_code == 200, r.text
    data = r.json()
    assert data["plans"]
    for row in data["plans"]:
        assert (
            row["tensor_parallel_count"] * row["pipeline_parallel_count"] * row["data_parallel_count"]
            == (row["gpu_count"])
        )
        assert row["gpu_count"] != 100000
        assert 0 < row["scaling_efficiency"] <= 1
    assert any("at least 8 accelerators" in a for a in data["assumptions"])
    assert any("global batch" in a for a in data["assumptions"])
