"""Issue 10, serving: the inference estimate's modes and fields, and one plan, one price everywhere.

Findings reproduced first as failing tests: with no latency targets the API answered $0.24/1M with a 42 s
time to first token and meets_latency_targets true; Llama 3.1 70B bf16 on H100 cost $1.74/1M on Models
(power-of-two batches) and $1.21 on the Strategy lab (batch 48).
"""

from __future__ import annotations

from datetime import date

import pytest

from app.db.models import ModelConfig
from app.engine.strategies import LeverParameters, lever_strategies
from app.services.estimates import spec_of_model_row
from app.services.simulations import _cost_engine_strategies
from app.web.pages.engine_inputs import priced_accelerators
from app.web.pages.models import _serving


def model_id(client, name: str) -> int:
    items = client.get("/api/v1/models", params={"name": name}).json()["items"]
    return int(items[0]["id"])


def inference(client, **body: object) -> dict:
    response = client.post("/api/v1/estimates/inference", json=body)
    assert response.status_code == 200, response.text
    return response.json()


def test_no_targets_is_max_throughput_and_claims_no_targets(client) -> None:
    data = inference(
        client,
        model_id=model_id(client, "Llama 3.1 70B"),
        accelerator_name="H100-SXM",
        gpus_per_replica=4,
        price_usd_per_gpu_hour=2.0,
    )
    assert data["mode"] == "max_throughput"
    assert data["meets_latency_targets"] is False
    assert data["time_to_first_token_s"] < 5.0  # own chunked prefill + queueing, not 42 s
    held = inference(
        client,
        model_id=model_id(client, "Llama 3.1 70B"),
        accelerator_name="H100-SXM",
        gpus_per_replica=4,
        price_usd_per_gpu_hour=2.0,
        time_to_first_token_target_s=2.0,
        time_per_output_token_target_s=0.05,
    )
    assert held["mode"] == "latency_targets" and held["meets_latency_targets"] is True
    assert held["time_per_output_token_s"] <= 0.05 and held["time_to_first_token_s"] <= 2.0


def test_full_utilisation_is_an_answer_not_an_error(client) -> None:
    data = inference(
        client,
        model_id=model_id(client, "Llama 3.1 8B"),
        accelerator_name="H100-SXM",
        price_usd_per_gpu_hour=2.0,
        utilization=1.0,
    )
    assert data["queue_wait_s"] > 0 and data["mode"] == "max_throughput"


def test_inference_cost_is_exactly_gpus_times_price_over_throughput(client) -> None:
    data = inference(
        client,
        model_id=model_id(client, "Llama 3.1 8B"),
        accelerator_name="H100-SXM",
        weight_precision="fp8",
        activation_precision="fp8",
        kv_cache_precision="fp8",
        prompt_tokens=2048,
        output_tokens=128,
        price_usd_per_gpu_hour=3.0,
        utilization=0.6,
    )
    expected = 1 * 3.0 / (3600 * data["output_tokens_per_second"] * 0.6) * 1e6
    assert data["cost_usd_per_million_output_tokens"] == pytest.approx(expected, rel=1e-12)
    blended = 3.0 / (3600 * (data["output_tokens_per_second"] + data["input_tokens_per_second"]) * 0.6) * 1e6
    assert data["cost_usd_per_million_tokens"] == pytest.approx(blended, rel=1e-12)
    assert data["utilization"] == 0.6
    # Prompt-heavy: the decode-only rate is far above what the replica delivers end to end.
    assert data["decode_output_tokens_per_second"] > data["output_tokens_per_second"]
    assert data["prefill_input_tokens_per_second"] > data["input_tokens_per_second"]
    # TensorRT-LLM 1.0 performance overview: 3,450 output tokens/s for this shape on one H100 (FP8).
    assert 3450 / 1.3 <= data["output_tokens_per_second"] <= 3450 * 1.3


def test_one_plan_one_price_models_strategy_lab_simulator_sweep_and_estimate(client, db_session) -> None:
    """Llama 3.1 70B, bf16, on H100 at the same price, targets and utilisation: every caller's $/1M agrees."""
    mid = model_id(client, "Llama 3.1 70B")
    spec = spec_of_model_row(db_session.get(ModelConfig, mid))
    priced = [p for p in priced_accelerators(db_session, date.today()) if p.row.name == "H100-SXM"]
    assert priced, "the seed has an H100-SXM on-demand price"
    h100 = priced[0]
    price = h100.usd_per_gpu_hour

    costs, details, _ = _serving(spec, priced, 0.5, 0.05, 2.0)  # the Models page's heatmap cell
    models_page = costs[("H100-SXM", "BF16")]

    # The Strategy lab's baseline strategy (its defaults: bf16, 1,024/256 tokens, 2 s TTFT, 50 ms TPOT).
    lab = lever_strategies(spec, h100.spec, price, parameters=LeverParameters())[0]
    assert lab.name == "baseline"

    simulator, _ = _cost_engine_strategies(db_session, mid, h100.row.id, price)
    simulator_baseline = next(s for s in simulator if s.name == "baseline")

    sweep = client.post(
        "/api/v1/estimates/sweep",
        json={
            "kind": "serving",
            "model_id": mid,
            "accelerator_names": ["H100-SXM"],
            "price_usd_per_gpu_hour": price,
            "time_to_first_token_target_s": 2.0,
            "time_per_output_token_target_s": 0.05,
            "utilization": 0.5,
        },
    ).json()["cheapest"]

    estimate = inference(
        client,
        model_id=mid,
        accelerator_name="H100-SXM",
        gpus_per_replica=int(sweep["gpus_per_replica"]),
        price_usd_per_gpu_hour=price,
        time_to_first_token_target_s=2.0,
        time_per_output_token_target_s=0.05,
        utilization=0.5,
    )

    values = {
        "models page": models_page,
        "strategy lab": lab.unit_cost_usd_per_million_tokens,
        "simulator": simulator_baseline.unit_cost_usd_per_million_tokens,
        "sweep API": sweep["cost_usd_per_million_output_tokens"],
        "inference API": estimate["cost_usd_per_million_output_tokens"],
    }
    reference = values["models page"]
    assert all(v == pytest.approx(reference, rel=1e-9) for v in values.values()), values
    assert estimate["concurrency"] == int(sweep["batch_size"])


def test_methodology_renders_the_serving_validation_table(client) -> None:
    from app.engine.serving_validation import MEASUREMENTS

    html = client.get("/methodology").text
    table = html.split('id="serving-validation-table"')[1].split("</table>")[0]
    rows = table.count("<tr>") - 1  # minus the header
    assert rows == len(MEASUREMENTS) >= 12
    assert "TensorRT-LLM 1.0 perf" in table and "github.com/NVIDIA/TensorRT-LLM" in table
    assert "TensorRT-LLM 1.0 performance overview" in html
    assert "outside" not in table
