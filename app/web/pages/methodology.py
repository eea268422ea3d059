"""Methodology: the formulas, defaults and sources behind every number, and the engine against published runs.

The published cases are recomputed by the engine on each request (a few microseconds each), so the page can
never drift from the code."""

from __future__ import annotations

import functools
from dataclasses import fields
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.db.models import Accelerator, MarketPrice, PriceQuote
from app.engine import serving as serving_engine
from app.engine import training as training_engine
from app.engine.architecture import PRESETS, ModelSpec
from app.engine.article import article_formulas
from app.engine.hardware import A100_SXM4_80GB, AcceleratorSpec
from app.engine.parallelism import DEFAULT_OVERLAP_FRACTION
from app.engine.serving_validation import TOLERANCE_FRACTION, validation_rows
from app.engine.strategies import LeverParameters
from app.engine.sweep import DEFAULT_QUALITY_LOSS_POINTS
from app.engine.training import TrainingPlan, estimate_training
from app.engine.training_validation import TOLERANCE_FRACTION as TRAINING_TOLERANCE_FRACTION
from app.engine.training_validation import validation_rows as training_validation_rows
from app.services.market_analysis import china_backtest
from app.web.charts.backtest import backtest_chart
from app.web.charts.published import PublishedCheck, published_runs_chart
from app.web.deps import SessionDep
from app.web.pages.engine_inputs import accelerator_spec
from app.web.pages.page_cache import BoundedCache, database_of, stamp
from app.web.pages.render import render

router = APIRouter()


def published_checks() -> list[PublishedCheck]:
    """docs/methodology/cost-model.md, 'Published figures the engine is tested against', computed."""

    def plan(model: ModelSpec, tokens: float, gpus: int, **kw: Any) -> TrainingPlan:
        return TrainingPlan(
            model=model, training_tokens=tokens, accelerator=A100_SXM4_80GB, gpu_count=gpus, **kw
        )

    gpt3 = estimate_training(plan(PRESETS["GPT-3 175B"], 300e9, 1024))
    gpt3_days = estimate_training(
        plan(
            PRESETS["GPT-3 175B"], 300e9, 1536, achieved_tflops_per_gpu=141.0, activation_recomputation="full"
        )
    )
    llama7 = estimate_training(plan(PRESETS["Llama 2 7B"], 2e12, 2048, mfu_fraction=0.39))
    llama70 = estimate_training(plan(PRESETS["Llama 2 70B"], 2e12, 2048, mfu_fraction=0.43))
    chinchilla = estimate_training(plan(ModelSpec(parameter_count=70e9), 1.4e12, 1))
    return [
        PublishedCheck(
            "GPT-3 175B", "training FLOPs", 3.14e23, gpt3.model_flops, 0.02, "Brown et al. 2020, Table D.1"
        ),
        PublishedCheck(
            "GPT-3 on 1,536 A100",
            "days at 141 TFLOP/s",
            23.0,
            gpt3_days.wall_clock_days,
            0.05,
            "Narayanan et al. 2021 (Megatron-LM)",
        ),
        PublishedCheck(
            "Llama 2 7B",
            "A100 GPU-hours (MFU 0.39)",
            184_320,
            llama7.gpu_hours,
            0.05,
            "Llama 2 paper, Table 2",
        ),
        PublishedCheck(
            "Llama 2 70B",
            "A100 GPU-hours (MFU 0.43)",
            1_720_320,
            llama70.gpu_hours,
            0.05,
            "Llama 2 paper, Table 2",
        ),
        PublishedCheck(
            "Chinchilla 70B", "training FLOPs", 5.8e23, chinchilla.model_flops, 0.02, "Hoffmann et al. 2022"
        ),
    ]


def engine_defaults() -> list[tuple[str, str, str]]:
    """(name, value, where it comes from) for every default a number on this site may rest on."""
    rows = [
        (
            "MFU, language models",
            "median of published runs",
            "for the accelerator generation and size class (the training estimate names its source)",
        ),
        ("MFU, other models", f"{training_engine.DEFAULT_MFU_OTHER:.2f}", "Epoch AI's default when unknown"),
        ("PUE", f"{training_engine.DEFAULT_PUE:g}", "typical hyperscale data centre"),
        (
            "Board power utilisation",
            f"{training_engine.DEFAULT_POWER_UTILIZATION:g}",
            "model cards multiply GPU-hours by peak board power",
        ),
        (
            "Usable memory (training)",
            f"{training_engine.DEFAULT_MEMORY_USABLE_FRACTION:.0%}",
            "headroom for the framework and fragmentation",
        ),
        (
            "Serving utilisation",
            f"{serving_engine.DEFAULT_UTILIZATION:.0%}",
            "fleets run well below 100 % (diurnal traffic)",
        ),
        (
            "Memory-bandwidth efficiency (serving)",
            f"{serving_engine.DEFAULT_MEMORY_EFFICIENCY:.0%}",
            "calibrated: every published serving measurement below within ±30 %",
        ),
        (
            "Compute efficiency (serving)",
            f"{serving_engine.DEFAULT_COMPUTE_EFFICIENCY:.0%}",
            "engine assumption (GEMMs and attention)",
        ),
        (
            "Tokens per serving iteration",
            f"{serving_engine.DEFAULT_MAX_BATCHED_TOKEN_COUNT:,}",
            "chunked-prefill budget: TensorRT-LLM max_num_tokens, vLLM max_num_batched_tokens",
        ),
        (
            "All-reduce latency per hop (serving)",
            f"{serving_engine.DEFAULT_HOP_LATENCY_S * 1e6:g} µs",
            "NCCL ring on NVLink, small messages",
        ),
        (
            "Usable memory (serving)",
            f"{serving_engine.DEFAULT_MEMORY_USABLE_FRACTION:.0%}",
            "engine assumption",
        ),
    ]
    rows += [
        (
            f"Quality loss at {p}",
            f"{v:g} points",
            "assumed; an input, never zero by default for low precision",
        )
        for p, v in DEFAULT_QUALITY_LOSS_POINTS.items()
        if v
    ]
    rows += [
        (
            f"Lever: {f.name.replace('_', ' ')}",
            "engine default" if f.default is None else str(f.default),
            "Strategy lab default (app/engine/strategies.py)",
        )
        for f in fields(LeverParameters)
    ]
    return rows


@functools.lru_cache(maxsize=8)
def _serving_validation(specs: tuple[AcceleratorSpec, ...]) -> list[dict[str, Any]]:
    """The published serving measurements beside the engine, on the stored accelerators (the rows the
    tests check: app.engine.serving_validation). Keyed by the specs' values: an edited part is a new key."""
    return validation_rows({spec.name: spec for spec in specs})


@functools.cache
def _training_validation() -> list[Any]:
    """The published training runs beside the engine (app.engine.training_validation: the tests' rows).
    Pure engine data, computed once per process."""
    return training_validation_rows()


# Where the data comes from (verification levels, date ranges) aggregates whole tables: computed once per
# state of those tables (their table_stats stamps, read by primary key), not per render (issue 17).
_PROVENANCE = BoundedCache(8)


def _provenance(session: Session) -> tuple[dict[str, dict[str, int]], Any, Any]:
    def compute() -> tuple[dict[str, dict[str, int]], Any, Any]:
        verification = {
            label: dict(
                session.execute(select(model.verification, func.count()).group_by(model.verification)).all()
            )
            for label, model in (
                ("accelerators", Accelerator),
                ("price quotes", PriceQuote),
                ("market prices", MarketPrice),
            )
        }
        quote_dates = session.execute(
            select(func.min(PriceQuote.effective_from), func.max(PriceQuote.effective_from))
        ).one()
        market_dates = session.execute(
            select(func.min(MarketPrice.effective_date), func.max(MarketPrice.effective_date))
        ).one()
        return verification, tuple(quote_dates), tuple(market_dates)

    key = (database_of(session), *stamp(session, Accelerator, PriceQuote, MarketPrice))
    return _PROVENANCE.get_or_compute(key, compute)


@router.get("/methodology", response_class=HTMLResponse)
def methodology(request: Request, session: SessionDep) -> HTMLResponse:
    verification, quote_dates, market_dates = _provenance(session)
    checks = published_checks()
    backtest = china_backtest(session)
    accelerators = session.scalars(select(Accelerator)).all()
    serving_rows = _serving_validation(tuple(accelerator_spec(a) for a in accelerators))
    return render(
        request,
        "methodology.html",
        {
            "active_nav": "methodology",
            "published_chart": published_runs_chart(checks),
            "backtest": backtest,
            "backtest_chart": backtest_chart(backtest),
            "checks": checks,
            "serving_validation": serving_rows,
            "training_validation": _training_validation(),
            "training_tolerance": TRAINING_TOLERANCE_FRACTION,
            "overlap_fraction": DEFAULT_OVERLAP_FRACTION,
            "serving_tolerance": TOLERANCE_FRACTION,
            "article": article_formulas(),
            "defaults": engine_defaults(),
            "verification": verification,
            "quote_dates": quote_dates,
            "market_dates": market_dates,
        },
    )
