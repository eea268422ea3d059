"""The serving engine against published measurements (issue 10): each within ±30 %, its source named.

Source of every row: NVIDIA, TensorRT-LLM 1.0 performance overview (2025), docs/source/performance/
perf-overview.md of github.com/NVIDIA/TensorRT-LLM at commit 00f3768 — trtllm-bench throughput at maximum
load, FP8, DGX H100 / DGX H200, total output tokens/s of the replica. The Methodology page renders the same
rows (app.engine.serving_validation.validation_rows).
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from app.engine.hardware import accelerator_from_row
from app.engine.serving_validation import (
    MEASUREMENTS,
    TOLERANCE_FRACTION,
    ServingMeasurement,
    engine_estimate,
    validation_rows,
)

ACCELERATORS = {
    row["name"]: accelerator_from_row(row)
    for row in csv.DictReader((Path(__file__).parents[2] / "app/data/reference/accelerators.csv").open())
}


def _id(m: ServingMeasurement) -> str:
    return (
        f"TensorRT-LLM-1.0-perf-overview:{m.published_model}:{m.accelerator}x{m.gpus_per_replica_count}:"
        f"{m.prompt_token_count}/{m.output_token_count}"
    )


@pytest.mark.parametrize("measurement", MEASUREMENTS, ids=[_id(m) for m in MEASUREMENTS])
def test_published_serving_throughput_within_30_percent(measurement: ServingMeasurement) -> None:
    est = engine_estimate(measurement, ACCELERATORS)
    assert est.mode == "max_throughput" and est.fits_in_memory
    ratio = est.output_tokens_per_second / measurement.output_tokens_per_second
    assert abs(ratio - 1) <= TOLERANCE_FRACTION, (
        f"{measurement.source.title}: published {measurement.output_tokens_per_second:,.0f} output tok/s, "
        f"engine {est.output_tokens_per_second:,.0f} (ratio {ratio:.2f})"
    )


def test_the_validation_set_covers_what_the_issue_asks() -> None:
    assert len(MEASUREMENTS) >= 12
    assert {m.model for m in MEASUREMENTS} >= {"Llama 3.1 8B", "Llama 3.1 70B", "Llama 3.1 405B"}
    assert {m.accelerator for m in MEASUREMENTS} >= {"H100-SXM", "H200-SXM"}
    kinds = {m.shape.split("(")[1].rstrip(")") for m in MEASUREMENTS}
    assert kinds == {"prompt-heavy", "balanced", "decode-heavy"}
    assert all(m.source.url.startswith("https://") and m.source.date for m in MEASUREMENTS)


def test_page_rows_are_the_tested_rows() -> None:
    rows = validation_rows(ACCELERATORS)
    assert len(rows) == len(MEASUREMENTS)
    assert all(r["within_tolerance"] for r in rows)
    first = rows[0]
    assert first["ratio"] == pytest.approx(
        first["engine_output_tokens_per_second"] / first["reference_output_tokens_per_second"]
    )
