"""Adapter: database rows → engine inputs (ModelSpec, AcceleratorSpec, the price to use).

ADAPTER NOTE: the cost-engine's use-case layer (app/services/estimates.py) had not landed when the dashboard
was built; this module maps rows the same documented way (accelerators.csv columns via the engine's own
accelerator_from_row) and should give way to that service when it exists.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.models import Accelerator, ModelConfig, PriceQuote
from app.engine.architecture import ModelSpec
from app.engine.hardware import AcceleratorSpec, accelerator_from_row
from app.services.price_sheet import in_effect


def model_spec(row: ModelConfig) -> ModelSpec:
    return ModelSpec(
        parameter_count=row.parameter_count,
        name=row.name,
        workload=row.workload,
        active_parameter_count=row.active_parameter_count,
        layer_count=row.layer_count,
        hidden_size=row.hidden_size,
        attention_head_count=row.attention_head_count,
        kv_head_count=row.kv_head_count,
        vocabulary_size=row.vocabulary_size,
        sequence_length=row.context_length,
        kv_cache_values_per_token_per_layer=row.kv_cache_values_per_token_per_layer,
        flops_per_unit=row.flops_per_unit,
        bytes_per_unit=row.bytes_per_unit,
        unit_name=row.unit_name,
    )


def accelerator_spec(row: Accelerator) -> AcceleratorSpec:
    """The row in accelerators.csv's column names, so the engine's reading (FP16-only parts, TF32) applies."""
    return accelerator_from_row(
        {
            "name": row.name,
            "memory_gb": row.memory_gb,
            "memory_bandwidth_tb_s": row.memory_bandwidth_tb_s,
            "fp32_tflops": row.fp32_tflops,
            "tf32_tflops_dense": row.tf32_tflops,
            "bf16_fp16_tflops_dense": row.bf16_tflops,
            "fp8_tflops_dense": row.fp8_tflops,
            "int8_tops_dense": row.int8_tops,
            "fp4_tflops_dense": row.fp4_tflops,
            "tdp_watts": row.board_power_w,
            "interconnect_bandwidth_gb_s": row.interconnect_bandwidth_gb_s,
            "notes": row.notes,
        }
    )


@dataclass(frozen=True)
class PricedAccelerator:
    row: Accelerator
    spec: AcceleratorSpec
    usd_per_gpu_hour: float
    quote: PriceQuote


def priced_accelerators(
    session: Session, as_of: date, pricing_model: str = "on_demand"
) -> list[PricedAccelerator]:
    """Every accelerator with its cheapest per-accelerator-hour price in effect on `as_of` (one query)."""
    quotes = session.scalars(
        select(PriceQuote)
        .where(
            PriceQuote.pricing_model == pricing_model,
            PriceQuote.accelerator_id.is_not(None),
            in_effect(as_of),
        )
        .order_by(PriceQuote.usd_per_accelerator_hour, PriceQuote.id)
    )
    best: dict[int, PriceQuote] = {}
    for quote in quotes:
        best.setdefault(quote.accelerator_id or 0, quote)
    rows = session.scalars(select(Accelerator).where(Accelerator.id.in_(best))).all()
    out = [
        PricedAccelerator(row, accelerator_spec(row), best[row.id].usd_per_accelerator_hour, best[row.id])
        for row in rows
    ]
    return sorted(out, key=lambda p: p.row.name)
