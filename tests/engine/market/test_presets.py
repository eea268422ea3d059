"""The shipped presets parse, cite their sources, round-trip and tell the story they claim."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from app.engine.market import (
    Range,
    baseline_strategy,
    preset_from_dict,
    preset_to_dict,
    run_simulation,
)

PRESET_DIR = Path(__file__).resolve().parents[3] / "app" / "data" / "presets"
FILES = sorted(PRESET_DIR.glob("*.json"))


def load(slug: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((PRESET_DIR / f"{slug}.json").read_text(encoding="utf-8"))
    return data


def test_the_four_presets_ship() -> None:
    names = {json.loads(f.read_text(encoding="utf-8"))["name"] for f in FILES}
    assert names == {"China, May 2024", "LLMflation", "Follow the leader", "The article's strategies"}


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_preset_parses_cites_and_round_trips(path: Path) -> None:
    data = json.loads(path.read_text(encoding="utf-8"))
    preset = preset_from_dict(data)
    assert preset.slug == path.stem
    assert preset.sources and preset.source and preset.assumptions
    again = preset_from_dict(json.loads(json.dumps(preset_to_dict(preset))))
    assert again == preset
    strategies = preset.strategies or (baseline_strategy(preset.scenario),)
    result = run_simulation(
        preset.scenario, strategies, np.random.default_rng(preset.scenario.seed), paths_count=200
    )
    assert json.loads(json.dumps(result.to_dict()))["strategies"]


def test_china_may_2024_uses_the_real_prices() -> None:
    preset = preset_from_dict(load("china-may-2024"))
    rivals = {r.name: r for r in preset.scenario.rivals}
    deepseek = rivals["DeepSeek-V2"]
    # RMB 20 -> RMB 2 per 1M output tokens at 7.2 RMB/USD: a 90 % one-step cut in month 1 (May 2024), fitted
    # to the list price by the backtest (it was a 90-97 % range with the observed price at its edge)
    assert deepseek.price_usd_per_million_tokens == pytest.approx(20 / 7.2, abs=1e-4)
    cut = deepseek.cuts[0]
    assert cut.month.central == 1 and cut.cut_fraction == Range.fixed(0.90)
    assert rivals["Alibaba Qwen"].cuts[0].cut_fraction.high == 0.97  # "cuts up to 97 %"
    assert rivals["Baidu ERNIE Speed/Lite"].cuts[0].cut_fraction.central == 1.0  # free
    assert rivals["Zhipu glm-3-turbo"].price_usd_per_million_tokens == pytest.approx(5 / 7.2, abs=1e-4)
    result = run_simulation(
        preset.scenario, [baseline_strategy(preset.scenario)], np.random.default_rng(1), paths_count=500
    )
    ds = result.strategy("baseline").rival_price_usd_per_million_tokens[0]
    # month 1 price: 90 % off RMB 20 = RMB 2 = $0.278, raised to its unit cost (at most $0.25) if higher
    assert ds.p5[0] == pytest.approx(2.0 / 7.2, rel=1e-4) and ds.p95[0] == pytest.approx(2.0 / 7.2, rel=1e-4)


def test_llmflation_median_decline_is_about_ten_x() -> None:
    d = preset_from_dict(load("llmflation")).scenario.market.price_decline_per_year
    assert d.kind == "lognormal" and (d.low, d.high) == (3.0, 40.0)
    assert d.central == pytest.approx(10.95, abs=0.01)  # geometric mean of 3 and 40


def test_follow_the_leader_cascades() -> None:
    preset = preset_from_dict(load("follow-the-leader"))
    result = run_simulation(
        preset.scenario, [baseline_strategy(preset.scenario)], np.random.default_rng(0), paths_count=300
    )
    s = result.strategies[0]
    leader, *followers = s.rival_price_usd_per_million_tokens
    # nobody moves before the leader's cut; a year on every follower has cut by more than 40 %
    for bands, rival in zip(followers, preset.scenario.rivals[1:], strict=True):
        assert bands.p50[0] == pytest.approx(rival.price_usd_per_million_tokens)
        assert bands.p50[11] < 0.6 * rival.price_usd_per_million_tokens
    assert leader.p50[11] < 0.5 * preset.scenario.rivals[0].price_usd_per_million_tokens


def test_article_strategies_are_the_sixteen_lever_combinations() -> None:
    preset = preset_from_dict(load("article-strategies"))
    assert len(preset.strategies) == 16
    assert preset.strategies[0].name == "baseline" and not preset.strategies[0].levers
    assert len({s.levers for s in preset.strategies}) == 16
    by_levers = {s.levers: s for s in preset.strategies}
    base = by_levers[frozenset()]
    # 4 GPUs x 50 min = 200 GPU-minutes against 1 x 100: twice the spend; mixed precision 100 -> 60 min
    assert by_levers[frozenset({"distributed"})].one_off_training_usd == 2 * base.one_off_training_usd
    assert by_levers[frozenset({"mixed_precision"})].one_off_training_usd == pytest.approx(
        0.6 * base.one_off_training_usd
    )
    assert by_levers[frozenset({"quantization"})].unit_cost_usd_per_million_tokens == pytest.approx(
        0.2 * base.unit_cost_usd_per_million_tokens
    )  # 100 MB -> 20 MB, at face value
    assert by_levers[frozenset({"transfer"})].quality_delta_points == 10  # 80 % -> 90 %
