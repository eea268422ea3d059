"""The seed article's formulas, exactly, and the physical model beside them."""

import math

import pytest

from app.engine.article import (
    ArticleScenario,
    article_formulas,
    communication_volume,
    compressed_communication_volume,
    mixed_precision_cost,
    quantization_cost,
    question_scenario,
    transfer_learning_cost,
)


def test_the_four_formulas_reproduce_the_worked_example_exactly() -> None:
    assert communication_volume(10, 1) == 10
    assert compressed_communication_volume(10, 1) == pytest.approx(math.sqrt(10), rel=1e-15)
    assert round(compressed_communication_volume(10, 1), 3) == 3.162
    # The article prints 1×100 + 0.1×1000 = 110; its own arithmetic gives 200. 110 needs α_t = 0.01.
    assert transfer_learning_cost(100, 1000, alpha_p=1, alpha_t=0.01) == 110
    assert transfer_learning_cost(100, 1000, alpha_p=1, alpha_t=0.1) == 200
    assert quantization_cost(1000, 10, alpha_q=1) == 1010
    assert mixed_precision_cost(1e11, 0.7, beta_16=0.5, beta_32=1.0) == 6.5e10


def test_comparisons_carry_article_and_physical_numbers() -> None:
    rows = {r.lever: r for r in article_formulas()}
    assert set(rows) == {"distributed", "transfer", "quantization", "mixed_precision"}
    assert rows["distributed"].article_value == 10 and rows[
        "distributed"
    ].article_secondary_value == pytest.approx(3.1623, rel=1e-4)
    assert rows["transfer"].article_value == 110 and rows["transfer"].article_secondary_value == 110
    assert rows["transfer"].formula_value == 200 and not rows["transfer"].consistent
    assert rows["quantization"].article_value == 1010 == rows["quantization"].formula_value
    assert rows["mixed_precision"].formula_value == 6.5e10
    # Ring all-reduce of 1 GB over 10 GPUs on 25 GB/s: 1.8 GB / 25 GB/s + 18 hops × 5 µs.
    assert rows["distributed"].physical_value == pytest.approx(0.072 + 18 * 5e-6)
    # Real A100 peaks: 70 % in bf16 (312) and 30 % in fp32 (19.5) → 2.91× faster than all-fp32.
    assert rows["mixed_precision"].physical_value == pytest.approx(1 / (0.7 * 19.5 / 312 + 0.3))


def test_reported_results_scenario_is_questioned() -> None:
    findings = {f.lever: f for f in question_scenario(ArticleScenario())}
    assert findings["distributed"].implied_value == pytest.approx(0.5)  # 2× on 4 GPUs = 50 % efficiency
    assert findings["mixed_precision"].implied_value == pytest.approx(100 / 60)
    assert findings["quantization"].implied_value == pytest.approx(5.0)
    assert "4×" in findings["quantization"].physical_view  # fp32 → int8 is only 4×
    assert findings["transfer"].implied_value == pytest.approx(10.0)
    changed = {f.lever: f for f in question_scenario(ArticleScenario(distributed_minutes=26.0))}
    assert changed["distributed"].implied_value == pytest.approx(100 / 26 / 4)
