"""POST/GET /api/v1/measurements and calibrated training estimates (issue 10): editors write, viewers read;
an impossible measurement is a 422 with the reason; the least-squares factor, its N and residuals; an estimate
that opts in is scaled by it and says so."""

from __future__ import annotations

import pytest

from tests.conftest import add_user, bearer_token


def _ids(client, model: str, accelerator: str) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    m = client.get("/api/v1/models", params={"name": model}).json()["items"][0]["id"]
    a = client.get("/api/v1/accelerators", params={"name": accelerator}).json()["items"][0]["id"]
    return int(m), int(a)


def _training(model_id: int, acc_id: int, tokens_per_second: float, gpus: int = 64) -> dict[str, object]:
    return {
        "kind": "training",
        "model_id": model_id,
        "accelerator_id": acc_id,
        "gpu_count": gpus,
        "precision": "bf16",
        "tokens_per_second": tokens_per_second,
        "measured_on": "2026-11-20",
        "source": "our cluster, run 42",
    }


def test_editors_write_viewers_read(anon_client, client, db_session) -> None:
    model_id, acc_id = _ids(client, "Llama 2 7B", "H100-SXM")
    viewer = bearer_token(db_session, add_user(db_session, "m-viewer", "viewer"))
    db_session.commit()
    as_viewer = {"Authorization": f"Bearer {viewer}"}
    refused = anon_client.post(
        "/api/v1/measurements", json=_training(model_id, acc_id, 1e6), headers=as_viewer
    )
    assert refused.status_code == 403
    created = client.post("/api/v1/measurements", json=_training(model_id, acc_id, 1.0e6))
    assert created.status_code == 201, created.text
    listed = anon_client.get("/api/v1/measurements", headers=as_viewer)
    assert listed.status_code == 200
    items = listed.json()["items"]
    assert [i["id"] for i in items] == [created.json()["id"]]
    assert items[0]["predicted_tokens_per_second"] > 0


def test_measurements_above_the_roofline_are_refused_with_the_reason(client) -> None:
    model_id, acc_id = _ids(client, "Llama 2 7B", "H100-SXM")
    # 64 H100 at 989 TFLOP/s bf16 can do at most 64 × 989e12 / (6 × 6.74e9) ≈ 1.57M tokens/s.
    r = client.post("/api/v1/measurements", json=_training(model_id, acc_id, 2.0e6))
    assert r.status_code == 422
    assert "above the roofline" in r.text and "tokens_per_second" in r.text
    serving = {
        "kind": "serving",
        "model_id": model_id,
        "accelerator_id": acc_id,
        "gpu_count": 1,
        "precision": "bf16",
        "prompt_token_count": 2048,
        "output_token_count": 128,
        "tokens_per_second": 100_000.0,
        "measured_on": "2026-11-20",
    }
    r = client.post("/api/v1/measurements", json=serving)
    assert r.status_code == 422 and "above the roofline" in r.text
    big_id, _ = _ids(client, "Llama 3.1 405B", "H100-SXM")
    r = client.post("/api/v1/measurements", json={**serving, "model_id": big_id, "tokens_per_second": 10.0})
    assert r.status_code == 422 and "weights take" in r.text
    missing = client.post("/api/v1/measurements", json={**serving, "prompt_token_count": None})
    assert missing.status_code == 422


def test_least_squares_factor_with_n_and_residuals_and_a_calibrated_estimate(client) -> None:
    model_id, acc_id = _ids(client, "Llama 2 7B", "A100-SXM4-80GB")
    estimate = {
        "model_id": model_id,
        "accelerator_name": "A100-SXM4-80GB",
        "gpu_count": 64,
        "price_usd_per_gpu_hour": 2.0,
    }
    plain = client.post("/api/v1/estimates/training", json=estimate).json()
    assert client.post("/api/v1/estimates/training", json={**estimate, "calibrated": True}).status_code == 422
    predicted = 2e12 / (plain["wall_clock_days"] * 86_400)  # the engine's tokens/s for this setting
    for ratio, gpus in ((0.8, 64), (0.9, 64)):
        body = _training(model_id, acc_id, predicted * ratio, gpus)
        assert client.post("/api/v1/measurements", json=body).status_code == 201
    data = client.get("/api/v1/measurements", params={"accelerator_id": acc_id}).json()
    (fit,) = [f for f in data["calibration"] if f["kind"] == "training"]
    assert fit["count"] == 2
    # k = Σ m·p / Σ p² with p equal: the mean ratio 0.85; residuals 0.8/0.85 − 1 and 0.9/0.85 − 1.
    assert fit["factor"] == pytest.approx(0.85, rel=1e-6)
    assert sorted(fit["residuals"]) == pytest.approx([0.8 / 0.85 - 1, 0.9 / 0.85 - 1], rel=1e-6)
    assert "calibrated from 2 measurements" in fit["label"]
    calibrated = client.post("/api/v1/estimates/training", json={**estimate, "calibrated": True}).json()
    assert calibrated["calibration"].startswith("calibrated from 2 measurements")
    assert calibrated["gpu_hours"] == pytest.approx(plain["gpu_hours"] / 0.85, rel=0.02)


def test_measurements_are_listed_on_hardware_and_models(client) -> None:
    model_id, acc_id = _ids(client, "Llama 2 7B", "H100-SXM")
    assert client.post("/api/v1/measurements", json=_training(model_id, acc_id, 5.0e5)).status_code == 201
    models = client.get("/models", params={"model": model_id}).text
    assert "Your measurements" in models and "calibrated from 1 measurement" in models
    hardware = client.get("/hardware").text
    assert "Your measurements" in hardware and "calibrated from 1 measurement" in hardware
