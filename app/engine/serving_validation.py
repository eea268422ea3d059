"""Published serving measurements and the engine beside them (issue 10's validation table).

Every row is a figure a vendor published, with its source and date; the engine reproduces each within ±30 %
(tests/engine/test_serving_validation.py) and the Methodology page renders the same rows through
`validation_rows`, so the page and the tests cannot disagree.

Source. NVIDIA, "TensorRT-LLM performance overview" (TensorRT-LLM 1.0 documentation, 2025): trtllm-bench
`throughput` with requests fed at an infinite rate (the maximum-throughput scenario), synthetic datasets of
fixed input/output lengths, FP8 checkpoints from NVIDIA's Model Optimizer collection, DGX H100 / DGX H200,
metric "Total Output Throughput (tokens/sec)" of the whole tensor-parallel replica. The 70B rows are
Llama 3.3 70B Instruct, architecturally identical to Llama 3.1 70B (same layers, widths, heads, GQA).
Not used: the FP4 (Blackwell) and RTX 6000 columns (no such part in the reference data), the MoE models
(Llama 4, Qwen3: not in the presets), and MLPerf Inference and vLLM results (found only as press summaries
without the input/output lengths the model needs; see docs/methodology/serving.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from app.engine.architecture import PRESETS, ModelSpec
from app.engine.hardware import AcceleratorSpec
from app.engine.serving import ServingEstimate, ServingPlan, estimate_serving

TOLERANCE_FRACTION = 0.30


@dataclass(frozen=True)
class Source:
    title: str
    short: str
    url: str
    date: str


TRTLLM_1_0 = Source(
    title="NVIDIA TensorRT-LLM 1.0 performance overview (trtllm-bench throughput, maximum load)",
    short="TensorRT-LLM 1.0 perf overview",
    url="https://github.com/NVIDIA/TensorRT-LLM/blob/00f37686aa854010d68bcbd0f4ab000221541ca6/"
    "docs/source/performance/perf-overview.md",
    date="2025 (TensorRT-LLM 1.0)",
)


@dataclass(frozen=True)
class ServingMeasurement:
    """One published figure: output tokens/s of one replica in the max-throughput scenario."""

    model: str  # a PRESETS name
    published_model: str
    accelerator: str  # a name in app/data/reference/accelerators.csv
    gpus_per_replica_count: int
    precision: str  # weights, activations and KV cache
    prompt_token_count: int
    output_token_count: int
    output_tokens_per_second: float
    source: Source = TRTLLM_1_0

    @property
    def shape(self) -> str:
        ratio = self.prompt_token_count / self.output_token_count
        kind = "prompt-heavy" if ratio >= 4 else "decode-heavy" if ratio <= 0.25 else "balanced"
        return f"{self.prompt_token_count:,}/{self.output_token_count:,} ({kind})"


_SHAPES = (
    (128, 128),
    (128, 2048),
    (128, 4096),
    (500, 2000),
    (1000, 1000),
    (1000, 2000),
    (2048, 128),
    (2048, 2048),
    (5000, 500),
    (20000, 2000),
)
# (preset, published model, accelerator, tensor-parallel GPUs, output tokens/s per shape in _SHAPES order)
_TABLES: tuple[tuple[str, str, str, int, tuple[float, ...]], ...] = (
    (
        "Llama 3.1 8B",
        "Llama 3.1 8B Instruct FP8",
        "H200-SXM",
        1,
        (27911, 26221, 18027, 20770, 17744, 16828, 3538, 12194, 3902, 1804),
    ),
    (
        "Llama 3.1 8B",
        "Llama 3.1 8B Instruct FP8",
        "H100-SXM",
        1,
        (28312, 22714, 14325, 17660, 15220, 13899, 3450, 9305, 3459, 1351),
    ),
    (
        "Llama 3.1 70B",
        "Llama 3.3 70B Instruct FP8",
        "H200-SXM",
        1,
        (3803, 4336, 2872, 3666, 2909, 2994, 442, 2003, 566, 283),
    ),
    (
        "Llama 3.1 70B",
        "Llama 3.3 70B Instruct FP8",
        "H100-SXM",
        2,
        (6378, 6651, 4199, 5222, 4205, 4146, 762, 3082, 898, 437),
    ),
    (
        "Llama 3.1 405B",
        "Llama 3.1 405B Instruct FP8",
        "H200-SXM",
        8,
        (3814, 5348, 4741, 4724, 3330, 3722, 456, 2948, 650, 505),
    ),
    (
        "Llama 3.1 405B",
        "Llama 3.1 405B Instruct FP8",
        "H100-SXM",
        8,
        (3627, 4340, 3116, 3994, 2919, 2895, 453, 2296, 610, 345),
    ),
)

MEASUREMENTS: tuple[ServingMeasurement, ...] = tuple(
    ServingMeasurement(
        model=preset,
        published_model=published,
        accelerator=accelerator,
        gpus_per_replica_count=gpus,
        precision="fp8",
        prompt_token_count=prompt,
        output_token_count=output,
        output_tokens_per_second=float(value),
    )
    for preset, published, accelerator, gpus, values in _TABLES
    for (prompt, output), value in zip(_SHAPES, values, strict=True)
)


def engine_estimate(
    measurement: ServingMeasurement,
    accelerators: Mapping[str, AcceleratorSpec],
    models: Mapping[str, ModelSpec] = PRESETS,
) -> ServingEstimate:
    """The engine on the published setup: same model, part, GPUs, precision and lengths, no latency targets
    (max-throughput mode, as the benchmark runs), every other input at its default."""
    p = measurement.precision
    return estimate_serving(
        ServingPlan(
            model=models[measurement.model],
            accelerator=accelerators[measurement.accelerator],
            gpus_per_replica_count=measurement.gpus_per_replica_count,
            weight_precision=p,
            activation_precision=p,
            kv_cache_precision=p,
            prompt_token_count=measurement.prompt_token_count,
            output_token_count=measurement.output_token_count,
            quality_loss_points=0.0,
        )
    )


def validation_rows(
    accelerators: Mapping[str, AcceleratorSpec], models: Mapping[str, ModelSpec] = PRESETS
) -> list[dict[str, Any]]:
    """One row per measurement whose part is known: reference, engine, ratio, source, date."""
    rows = []
    for m in MEASUREMENTS:
        if m.accelerator not in accelerators or m.model not in models:
            continue
        est = engine_estimate(m, accelerators, models)
        ratio = est.output_tokens_per_second / m.output_tokens_per_second
        rows.append(
            {
                "model": m.published_model,
                "accelerator": m.accelerator,
                "gpus_per_replica": m.gpus_per_replica_count,
                "precision": m.precision,
                "shape": m.shape,
                "reference_output_tokens_per_second": m.output_tokens_per_second,
                "engine_output_tokens_per_second": est.output_tokens_per_second,
                "engine_concurrency": est.batch_size,
                "ratio": ratio,
                "within_tolerance": abs(ratio - 1.0) <= TOLERANCE_FRACTION,
                "source": m.source.title,
                "source_short": m.source.short,
                "source_url": m.source.url,
                "date": m.source.date,
            }
        )
    return rows
