"""Imports in the formats the data is published in: LiteLLM's price table and a SkyPilot vms.csv."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

PUBLISHED = Path(__file__).resolve().parent.parent / "fixtures" / "published"
LITELLM = (PUBLISHED / "litellm_model_prices_sample.json").read_text()
SKYPILOT = (PUBLISHED / "skypilot_aws_vms_sample.csv").read_text()


def _litellm(client, text: str, dry_run: bool, effective_from: str = "2026-11-30", multipart: bool = False):
    params = {"source": "litellm", "dry_run": str(dry_run).lower(), "effective_from": effective_from}
    if multipart:
        return client.post(
            "/api/v1/market-prices/import",
            params=params,
            files={"file": ("prices.json", text, "application/json")},
        )
    return client.post(
        "/api/v1/market-prices/import",
        params=params,
        content=text,
        headers={"Content-Type": "application/json"},
    )


def test_litellm_dry_run_reports_the_diff_and_writes_nothing(client) -> None:
    before = client.get("/api/v1/market-prices", params={"limit": 1}).json()["total"]
    answer = _litellm(client, LITELLM, dry_run=True)
    assert answer.status_code == 200, answer.text
    report = answer.json()
    reasons = {item["key"]: item["reason"] for item in report["invalid"]}
    assert (
        "negative" in reasons["broken/negative-price"]
        and "input_cost_per_token" in reasons["broken/negative-price"]
    )
    assert "not a number" in reasons["broken/text-price"]
    assert report["skipped"] == 2  # sample_spec and the embedding model
    statuses = {row["key"]: row["status"] for row in report["rows"]}
    assert statuses["example-newco frontier-1"] == "added"
    assert statuses["DeepSeek deepseek-chat"] in {"added", "changed", "unchanged"}
    assert report["committed"] is False
    assert client.get("/api/v1/market-prices", params={"limit": 1}).json()["total"] == before


def test_litellm_commit_is_all_or_nothing_then_adds_dated_rows(client) -> None:
    before = client.get("/api/v1/market-prices", params={"limit": 1}).json()["total"]
    refused = _litellm(client, LITELLM, dry_run=False)
    assert refused.status_code == 422
    assert client.get("/api/v1/market-prices", params={"limit": 1}).json()["total"] == before

    clean = {k: v for k, v in json.loads(LITELLM).items() if not k.startswith("broken/")}
    answer = _litellm(client, json.dumps(clean), dry_run=False, multipart=True)
    assert answer.status_code == 200, answer.text
    report = answer.json()
    assert report["committed"] is True
    written = report["added"] + report["changed"]
    assert client.get("/api/v1/market-prices", params={"limit": 1}).json()["total"] == before + written
    row = client.get(
        "/api/v1/market-prices", params={"provider": "example-newco", "model_name": "frontier-1"}
    ).json()["items"][0]
    # 1e-06 USD per token = 1 USD per 1M tokens; 4e-06 = 4 USD
    assert row["input_usd_per_million"] == pytest.approx(1.0)
    assert row["output_usd_per_million"] == pytest.approx(4.0)
    assert row["effective_date"] == "2026-11-30"
    # the same file again changes nothing
    again = _litellm(client, json.dumps(clean), dry_run=True, effective_from="2026-12-01").json()
    assert again["added"] == 0 and again["changed"] == 0
    # a later cut adds a dated successor marked as a cut
    clean["example-newco/frontier-1"]["output_cost_per_token"] = 2e-06
    cut = _litellm(client, json.dumps(clean), dry_run=False, effective_from="2026-12-01").json()
    assert cut["changed"] == 1
    rows = client.get(
        "/api/v1/market-prices",
        params={"provider": "example-newco", "model_name": "frontier-1", "sort": "effective_date"},
    ).json()["items"]
    assert [r["output_usd_per_million"] for r in rows] == pytest.approx([4.0, 2.0])
    assert rows[-1]["event_type"] == "cut"
    audit = client.get("/api/v1/audit", params={"entity": "market_prices", "action": "import"}).json()
    assert any("LiteLLM import" in entry.get("summary", "") for entry in audit["items"])


def test_litellm_rejects_what_is_not_a_price_table(client) -> None:
    assert _litellm(client, "[1, 2]", dry_run=True).status_code == 422
    answer = _litellm(client, "{not json", dry_run=True)
    assert answer.status_code == 422 and "not JSON" in answer.text


def _skypilot(client, text: str, dry_run: bool, provider: str | None = "aws"):
    params = {"source": "skypilot", "dry_run": str(dry_run).lower(), "effective_from": "2026-11-30"}
    if provider:
        params["provider"] = provider
    return client.post(
        "/api/v1/price-quotes/import", params=params, content=text, headers={"Content-Type": "text/csv"}
    )


def test_skypilot_catalog_dry_run(client) -> None:
    answer = _skypilot(client, SKYPILOT, dry_run=True)
    assert answer.status_code == 200, answer.text
    report = answer.json()
    invalid = {row["line"]: row["reason"] for row in report["rows"] if row["status"] == "invalid"}
    assert "Inferentia2" in invalid[7]
    assert "Price" in invalid[8] and "not a number" in invalid[8]
    assert report["skipped"] == 1  # the CPU machine
    keys = {(row["key"], row["status"]) for row in report["rows"] if row["status"] != "invalid"}
    # on-demand and spot of p5 (spot: the lower of the two zones), on-demand only of p4d, both of g5
    assert len(keys) == 5


def test_skypilot_commit_maps_parts_and_takes_the_lowest_zone(client) -> None:
    clean = "\n".join(
        line for line in SKYPILOT.splitlines() if "Inferentia2" not in line and "not-a-price" not in line
    )
    answer = _skypilot(client, clean, dry_run=False)
    assert answer.status_code == 200, answer.text
    sheet = client.get("/api/v1/price-quotes", params={"provider": "aws", "limit": 500}).json()["items"]
    quotes = [q for q in sheet if q["instance_type"] == "p5.48xlarge"]
    spot = next(q for q in quotes if q["pricing_model"] == "spot" and q["effective_from"] == "2026-11-30")
    assert spot["usd_per_hour"] == pytest.approx(22.1)
    assert spot["usd_per_accelerator_hour"] == pytest.approx(22.1 / 8)
    h100 = client.get("/api/v1/accelerators", params={"name": "H100-SXM"}).json()["items"][0]
    assert spot["accelerator_id"] == h100["id"]
    a100 = [q for q in sheet if q["instance_type"] == "p4d.24xlarge"]
    a100_part = client.get("/api/v1/accelerators", params={"name": "A100-SXM4-40GB"}).json()["items"][0]
    assert {q["accelerator_id"] for q in a100} == {a100_part["id"]}


def test_skypilot_needs_a_provider_and_its_columns(client) -> None:
    answer = _skypilot(client, SKYPILOT, dry_run=True, provider=None)
    assert answer.status_code == 422 and "provider" in answer.text
    answer = _skypilot(client, "a,b\n1,2\n", dry_run=True)
    assert answer.status_code == 422 and "InstanceType" in answer.text
