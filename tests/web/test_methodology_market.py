"""The Methodology page's price-war section: the model as built, and the 2024 backtest against the database."""

from __future__ import annotations


def test_methodology_shows_the_demand_model_and_the_2024_backtest(client) -> None:
    html = client.get("/methodology").text
    assert "Price war against 2024" in html
    assert "backtest-2024" in html  # the chart
    assert "α_j = −e_s / (p_j0·(1 − s_j0))" in html
    assert "Lerner price, which on the China preset" in html  # the replaced formula is named, not shown
    assert "p* = c·ε/(1+ε)" not in html
    assert "deepseek-chat (DeepSeek-V2) 2024-05-06" in html  # a dated list price from the sheet
    for guide in ("MARKET-MODEL.md", "COST-MODEL.md", "shared/guides"):
        assert guide not in html
