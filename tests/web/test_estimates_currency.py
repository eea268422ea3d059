"""Issue 13 follow-up: POST /api/v1/estimates/training and /inference take an optional `currency` (USD by
default). The `…_usd…` fields stay in USD; the answer says which rate it used (`currency`, `fx_rate_per_usd`,
`fx_rate_date`, `fx_rate_source`) and adds each money field in that currency as `…_in_currency…`."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from app.services import fx

TRAINING = {
    "model": {
        "parameter_count": 6.74e9,
        "layer_count": 32,
        "hidden_size": 4096,
        "attention_head_count": 32,
        "kv_head_count": 32,
        "vocabulary_size": 32000,
        "sequence_length": 4096,
    },
    "training_tokens": 2e12,
    "accelerator_name": "A100-SXM4-80GB",
    "gpu_count": 2048,
    "precision": "bf16",
    "mfu": 0.39,
    "price_usd_per_gpu_hour": 2.0,
    "pue": 1.0,
}


def _model_id(client, name: str) -> int:
    return int(client.get("/api/v1/models", params={"name": name}).json()["items"][0]["id"])


def test_training_defaults_to_usd_and_says_so(client) -> None:
    data = client.post("/api/v1/estimates/training", json=TRAINING).json()
    assert data["currency"] == "USD" and data["fx_rate_per_usd"] == 1.0 and data["fx_rate_date"] is None
    assert data["cost_in_currency"] == data["cost_usd"]
    assert data["price_in_currency_per_gpu_hour"] == 2.0


def test_training_in_eur_converts_money_only_at_the_dated_rate(client, db_session) -> None:
    eur = fx.money(db_session, "EUR")
    assert eur is not None
    usd = client.post("/api/v1/estimates/training", json=TRAINING).json()
    r = client.post("/api/v1/estimates/training", json={**TRAINING, "currency": "EUR"})
    assert r.status_code == 200, r.text
    data = r.json()
    assert data["currency"] == "EUR" and data["fx_rate_per_usd"] == pytest.approx(eur.per_usd)
    assert data["fx_rate_date"] == eur.as_of.isoformat() and data["fx_rate_source"] == eur.source
    assert data["cost_usd"] == usd["cost_usd"]  # a _usd field never holds euros
    assert data["price_usd_per_gpu_hour"] == 2.0
    assert data["cost_in_currency"] == pytest.approx(usd["cost_usd"] * eur.per_usd)
    assert data["price_in_currency_per_gpu_hour"] == pytest.approx(2.0 * eur.per_usd)
    if usd["cost_usd_range"] is not None:
        assert data["cost_in_currency_range"] == pytest.approx(
            [v * eur.per_usd for v in usd["cost_usd_range"]]
        )
    assert data["gpu_hours"] == usd["gpu_hours"]  # physics does not change with the currency


def test_the_rate_in_effect_is_the_latest_dated_one(client) -> None:
    today = date.today()
    for day, rate in ((today - timedelta(days=1), 0.5), (today + timedelta(days=30), 0.25)):
        added = client.post(
            "/currency/rates",
            data={"currency": "GBP", "units_per_usd": str(rate), "as_of": day.isoformat(), "source": "test"},
            follow_redirects=False,
        )
        assert added.status_code == 303
    data = client.post("/api/v1/estimates/training", json={**TRAINING, "currency": "GBP"}).json()
    assert data["fx_rate_per_usd"] == 0.5 and data["fx_rate_date"] == (today - timedelta(days=1)).isoformat()
    assert data["cost_in_currency"] == pytest.approx(data["cost_usd"] * 0.5)


def test_inference_in_jpy(client, db_session) -> None:
    jpy = fx.money(db_session, "JPY")
    assert jpy is not None
    body = {
        "model_id": _model_id(client, "Llama 2 70B"),
        "accelerator_name": "H100-SXM",
        "gpus_per_replica": 4,
        "batch_size": 16,
        "price_usd_per_gpu_hour": 3.0,
        "utilization": 0.5,
    }
    usd = client.post("/api/v1/estimates/inference", json=body).json()
    data = client.post("/api/v1/estimates/inference", json={**body, "currency": "JPY"}).json()
    assert data["currency"] == "JPY" and data["fx_rate_date"] == jpy.as_of.isoformat()
    for field in (
        "cost_usd_per_million_output_tokens",
        "cost_usd_per_million_tokens",
        "price_usd_per_gpu_hour",
    ):
        assert data[field] == usd[field]
        converted = field.replace("_usd", "_in_currency")
        assert data[converted] == pytest.approx(usd[field] * jpy.per_usd)
    assert usd["cost_in_currency_per_million_output_tokens"] == usd["cost_usd_per_million_output_tokens"]


@pytest.mark.parametrize("currency", ["XYZ", "eur", 3, None])
def test_an_unknown_currency_is_a_422_naming_the_field(client, currency) -> None:
    r = client.post("/api/v1/estimates/training", json={**TRAINING, "currency": currency})
    assert r.status_code == 422 and "currency" in r.text


def test_a_currency_without_a_rate_in_effect_is_a_422_not_a_usd_answer(client, db_session) -> None:
    from sqlalchemy import delete

    from app.db.fx import FxRate

    db_session.execute(delete(FxRate).where(FxRate.currency == "CNY"))
    db_session.flush()
    r = client.post("/api/v1/estimates/training", json={**TRAINING, "currency": "CNY"})
    assert r.status_code == 422 and "no exchange rate for CNY" in r.text and "currency" in r.text
