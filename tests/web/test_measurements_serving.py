"""Calibrated serving estimates (issue 10): POST /api/v1/estimates/inference with `calibrated: true` uses the
efficiency factor fitted on the user's serving measurements of the accelerator (least squares through the
origin, k = Σ m·p / Σ p²), says "calibrated from N measurements" with N and the residuals, and changes the
output throughput and $/1M by exactly that factor. Without serving measurements of the accelerator the
opt-in is a 422 naming `calibrated` (never a silently uncalibrated answer)."""

from __future__ import annotations

import pytest

ESTIMATE = {
    "model_name": None,
    "accelerator_name": "H100-SXM",
    "prompt_tokens": 2048,
    "output_tokens": 128,
    "price_usd_per_gpu_hour": 2.0,
}


def _ids(client, model: str, accelerator: str) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    m = client.get("/api/v1/models", params={"name": model}).json()["items"][0]["id"]
    a = client.get("/api/v1/accelerators", params={"name": accelerator}).json()["items"][0]["id"]
    return int(m), int(a)


def _serving(model_id: int, acc_id: int, tokens_per_second: float) -> dict[str, object]:
    return {
        "kind": "serving",
        "model_id": model_id,
        "accelerator_id": acc_id,
        "gpu_count": 1,
        "precision": "bf16",
        "prompt_token_count": 2048,
        "output_token_count": 128,
        "tokens_per_second": tokens_per_second,
        "measured_on": "2026-11-20",
        "source": "our vLLM replica, benchmark_serving.py",
    }


def _estimate(model_id: int, **extra: object) -> dict[str, object]:
    body = {k: v for k, v in ESTIMATE.items() if v is not None}
    return {**body, "model_id": model_id, **extra}


def test_calibrated_serving_estimate_is_scaled_by_exactly_the_fitted_factor(client) -> None:
    model_id, acc_id = _ids(client, "Llama 2 7B", "H100-SXM")
    plain = client.post("/api/v1/estimates/inference", json=_estimate(model_id))
    assert plain.status_code == 200, plain.text
    plain_data = plain.json()
    assert plain_data["calibration"] is None and plain_data["calibration_fit"] is None

    refused = client.post("/api/v1/estimates/inference", json=_estimate(model_id, calibrated=True))
    assert refused.status_code == 422
    assert "calibrated" in refused.text and "no serving measurements of H100-SXM" in refused.text

    # A training measurement of the same part does not calibrate serving.
    training = {**_serving(model_id, acc_id, 1.0), "kind": "training", "gpu_count": 8,
                "tokens_per_second": 50_000.0}  # fmt: skip
    for key in ("prompt_token_count", "output_token_count"):
        training.pop(key)
    assert client.post("/api/v1/measurements", json=training).status_code == 201
    still = client.post("/api/v1/estimates/inference", json=_estimate(model_id, calibrated=True))
    assert still.status_code == 422

    # Two measurements of the same setting at 0.6 and 0.8 of the engine: p equal, so by hand
    # k = (0.6·p² + 0.8·p²) / (2·p²) = 0.7; residuals 0.6/0.7 − 1 and 0.8/0.7 − 1.
    predicted = plain_data["output_tokens_per_second"]
    for ratio in (0.6, 0.8):
        created = client.post("/api/v1/measurements", json=_serving(model_id, acc_id, ratio * predicted))
        assert created.status_code == 201, created.text
        # The measurement's prediction is this very estimate (same shape, max-throughput mode, defaults).
        assert created.json()["predicted_tokens_per_second"] == pytest.approx(predicted, rel=1e-12)

    calibrated = client.post("/api/v1/estimates/inference", json=_estimate(model_id, calibrated=True))
    assert calibrated.status_code == 200, calibrated.text
    data = calibrated.json()
    fit = data["calibration_fit"]
    assert fit["count"] == 2
    assert fit["factor"] == pytest.approx(0.7, rel=1e-12)
    assert sorted(fit["residuals"]) == pytest.approx([0.6 / 0.7 - 1, 0.8 / 0.7 - 1], rel=1e-9)
    assert data["calibration"].startswith("calibrated from 2 measurements on H100-SXM")
    assert data["calibration"] in data["assumptions"]
    assert data["concurrency"] == plain_data["concurrency"]
    assert data["output_tokens_per_second"] == pytest.approx(0.7 * predicted, rel=1e-9)
    assert data["cost_usd_per_million_output_tokens"] == pytest.approx(
        plain_data["cost_usd_per_million_output_tokens"] / 0.7, rel=1e-9
    )
    assert data["cost_usd_per_million_tokens"] == pytest.approx(
        plain_data["cost_usd_per_million_tokens"] / 0.7, rel=1e-9
    )
    # The listing shows the same fit for serving; training keeps its own.
    listed = client.get("/api/v1/measurements", params={"accelerator_id": acc_id}).json()
    kinds = {f["kind"]: f for f in listed["calibration"]}
    assert kinds["serving"]["factor"] == pytest.approx(0.7, rel=1e-12) and kinds["training"]["count"] == 1


def test_calibration_of_one_part_does_not_touch_another(client) -> None:
    model_id, acc_id = _ids(client, "Llama 2 7B", "H100-SXM")
    predicted = client.post("/api/v1/estimates/inference", json=_estimate(model_id)).json()[
        "output_tokens_per_second"
    ]
    assert (
        client.post("/api/v1/measurements", json=_serving(model_id, acc_id, 0.5 * predicted)).status_code
        == 201
    )
    other = client.post(
        "/api/v1/estimates/inference",
        json=_estimate(model_id, accelerator_name="A100-SXM4-80GB", calibrated=True),
    )
    assert other.status_code == 422 and "A100-SXM4-80GB" in other.text
