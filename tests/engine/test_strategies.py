"""The 16 lever combinations for the price-war simulator, through the real estimates."""

import math

import pytest

from app.engine.architecture import PRESETS
from app.engine.hardware import A100_SXM4_80GB, H100_SXM
from app.engine.strategies import LEVERS, LeverParameters, lever_strategies

LLAMA7 = PRESETS["Llama 2 7B"]


def by_name(acc=H100_SXM, **kw):  # type: ignore[no-untyped-def]
    return {s.name: s for s in lever_strategies(LLAMA7, acc, 2.5, **kw)}


def test_sixteen_strategies_in_order() -> None:
    strategies = lever_strategies(LLAMA7, H100_SXM, 2.5)
    assert len(strategies) == 16
    assert strategies[0].name == "baseline" and strategies[0].levers == frozenset()
    assert [s.name for s in strategies[1:5]] == list(LEVERS)
    sizes = [len(s.levers) for s in strategies]
    assert sizes == sorted(sizes) and sizes.count(2) == 6 and sizes[-1] == 4
    assert len({s.levers for s in strategies}) == 16


def test_each_lever_moves_what_it_should() -> None:
    s = by_name()
    base = s["baseline"]
    assert s["distributed"].training_days < base.training_days / 10
    assert s["distributed"].one_off_training_usd > base.one_off_training_usd  # scaling efficiency < 1
    assert s["transfer"].one_off_training_usd < base.one_off_training_usd / 50
    assert s["transfer"].quality_delta_points == pytest.approx(2.0)
    assert s["quantization"].unit_cost_usd_per_million_tokens < base.unit_cost_usd_per_million_tokens
    assert s["quantization"].serving_tokens_per_s_per_gpu > base.serving_tokens_per_s_per_gpu
    assert s["quantization"].quality_delta_points == pytest.approx(-0.5)
    # tf32 → bf16 training halves the GPU-hours at equal MFU.
    assert s["mixed_precision"].one_off_training_usd == pytest.approx(base.one_off_training_usd / 2, rel=1e-3)
    assert s["mixed_precision"].serving_tokens_per_s_per_gpu >= base.serving_tokens_per_s_per_gpu


def test_quality_inputs_are_used_and_recorded() -> None:
    s = by_name(
        parameters=LeverParameters(transfer_quality_delta_points=10.0, quantization_quality_loss_points=1.0)
    )
    assert s["transfer+quantization"].quality_delta_points == pytest.approx(9.0)
    assert any("transfer +10.0 points" in a for a in s["baseline"].assumptions)


def test_cost_scales_with_price() -> None:
    a = lever_strategies(LLAMA7, A100_SXM4_80GB, 2.0)
    b = lever_strategies(LLAMA7, A100_SXM4_80GB, 4.0)
    for x, y in zip(a, b, strict=True):
        assert y.one_off_training_usd == pytest.approx(2 * x.one_off_training_usd)
        assert y.unit_cost_usd_per_million_tokens == pytest.approx(2 * x.unit_cost_usd_per_million_tokens)


def test_a100_has_no_fp8_so_mixed_precision_serving_is_unchanged() -> None:
    s = by_name(acc=A100_SXM4_80GB)
    assert (
        s["mixed_precision"].unit_cost_usd_per_million_tokens
        == s["baseline"].unit_cost_usd_per_million_tokens
    )
    assert any("no FP8" in a for a in s["baseline"].assumptions)


def test_model_too_big_to_serve_reports_infinite_unit_cost() -> None:
    s = {x.name: x for x in lever_strategies(PRESETS["Llama 3.1 405B"], A100_SXM4_80GB, 2.0)}
    assert math.isinf(s["baseline"].unit_cost_usd_per_million_tokens)
    assert s["baseline"].serving_tokens_per_s_per_gpu == 0.0
