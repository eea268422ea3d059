"""Issue 13 follow-up: charts.js in a display currency moves everything placed on a money axis — series,
bar bases, ranges (log axes in log10 units), lines (shapes) and labels (annotations) — and names the
currency in the axis titles and hover formats; a page in EUR draws its money axes with "€"."""

from __future__ import annotations

from typing import Any

FIGURE_JS = """() => {
  const layout = {
    xaxis: {title: {text: "Month"}},
    yaxis: {title: {text: "Cash (USD)"}, tickprefix: "$", range: [-10, 30]},
    xaxis2: {title: {text: "$ per 1M tokens (log)"}, tickprefix: "$", type: "log", range: [0, 2]},
    shapes: [
      {type: "line", xref: "paper", x0: 0, x1: 1, y0: 20, y1: 20},
      {type: "line", x0: 3, x1: 3, yref: "paper", y0: 0, y1: 1},
      {type: "line", xref: "x2", x0: 1, x1: 1, yref: "paper", y0: 0, y1: 1},
    ],
    annotations: [{x: 3, y: 20, text: "floor"}, {xref: "paper", yref: "paper", x: 0.5, y: 1, text: "t"}],
  };
  const data = [
    {type: "scatter", x: [1, 2], y: [10, 20], hovertemplate: "month %{x}: %{y:$,.3s}<extra></extra>"},
    {type: "bar", orientation: "v", x: [1], y: [5], base: 4, hovertemplate: "$%{y:.2f}"},
  ];
  window.PriceWar.inCurrency(layout, data, {code: "EUR", rate: 0.5, symbol: "€"});
  return {layout, data};
}"""


def test_charts_js_moves_everything_on_a_money_axis(page: Any, live_server: str) -> None:
    page.goto(live_server + "/hardware?currency=EUR")
    page.wait_for_function("() => Boolean(window.PriceWar && window.PriceWar.inCurrency)")
    out = page.evaluate(FIGURE_JS)
    layout, data = out["layout"], out["data"]
    assert layout["yaxis"]["tickprefix"] == "€" and layout["yaxis"]["range"] == [-5, 15]
    assert layout["yaxis"]["title"]["text"] == "Cash (EUR)"
    assert layout["xaxis2"]["title"]["text"] == "€ per 1M tokens (log)"
    low, high = layout["xaxis2"]["range"]  # log axis: log10(0.5) added, not multiplied
    assert abs(low - (-0.30103)) < 1e-4 and abs(high - 1.69897) < 1e-4
    assert layout["xaxis"]["title"]["text"] == "Month" and "tickprefix" not in layout["xaxis"]
    zero_line, month_line, log_line = layout["shapes"]
    assert zero_line["y0"] == 10 and zero_line["y1"] == 10  # on the money y axis: converted
    assert month_line["x0"] == 3  # on the month axis: untouched
    assert abs(log_line["x0"] - 0.69897) < 1e-4
    assert layout["annotations"][0]["y"] == 10 and layout["annotations"][0]["x"] == 3
    assert layout["annotations"][1]["y"] == 1  # paper coordinates never move
    assert data[0]["y"] == [5, 10] and data[0]["x"] == [1, 2]
    assert data[0]["hovertemplate"] == "month %{x}: €%{y:,.3s}<extra></extra>"
    assert data[1]["base"] == 2 and data[1]["hovertemplate"] == "€%{y:.2f}"


def test_a_page_in_euros_draws_euro_money_axes(page: Any, live_server: str) -> None:
    page.goto(live_server + "/hardware?currency=EUR")
    page.wait_for_selector("figure.chart[data-drawn]", timeout=60_000)
    prefixes = page.evaluate(
        """() => Array.from(document.querySelectorAll("figure.chart[data-drawn] .chart-plot"))
              .map(p => p.layout || {})
              .flatMap(l => Object.keys(l).filter(k => /^[xy]axis\\d*$/.test(k)).map(k => l[k].tickprefix))
              .filter(Boolean)"""
    )
    assert prefixes and all(p == "€" for p in prefixes), prefixes
