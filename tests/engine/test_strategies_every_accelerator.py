"""The 16 lever strategies exist for every shipped accelerator, including parts without BF16 (V100, T4)
or without 32-bit matrix throughput (TPUs): no precision a part lacks is ever asked of it."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import pytest

from app.engine.architecture import PRESETS
from app.engine.hardware import accelerator_from_row
from app.engine.strategies import lever_strategies

ROWS = list(csv.DictReader((Path(__file__).parents[2] / "app/data/reference/accelerators.csv").open()))


@pytest.mark.parametrize("row", ROWS, ids=[r["name"] for r in ROWS])
def test_every_accelerator_gets_sixteen_strategies(row: dict[str, str]) -> None:
    strategies = lever_strategies(PRESETS["Llama 2 7B"], accelerator_from_row(row), 2.0)
    assert len(strategies) == 16
    baseline = strategies[0].unit_cost_usd_per_million_tokens
    assert baseline > 0 and not math.isnan(baseline)
