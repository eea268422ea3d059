"""Chart text is escaped for Plotly's HTML-like labels in every chart builder.

Found in an attack: Plotly renders a small HTML language in names, so an accelerator named with `<a href=…>`
was a clickable phishing link on /hardware and /models for anonymous visitors, and `<b>`/styling applied in
rival, strategy and run names. Every figure is made by app.web.charts.base.figure, which escapes every text;
this file proves (1) the escaping, (2) that no chart is built around it, (3) the pages with hostile names, on
both backends.
"""

from __future__ import annotations

import ast
import json
import re
import uuid
from pathlib import Path
from typing import Any

import pytest

import app.web
from app.web.charts.base import escape_text, figure, plotly_text

LINK = '<a href="https://evil.example/login">Sign in again</a>'
BOLD = "<b style='font-size:90px'>HUGE</b>"
HOSTILE_TAGS = re.compile(r"<(a|b|i|span|sup|sub|em|s|u|img|script)\b", re.IGNORECASE)
WEB = Path(app.web.__file__).parent


def test_plotly_text_escapes_markup_and_keeps_only_line_breaks() -> None:
    assert plotly_text(LINK) == '&lt;a href="https://evil.example/login"&gt;Sign in again&lt;/a&gt;'
    assert plotly_text("R&D") == "R&amp;D"
    assert plotly_text("two<br>lines") == "two<br>lines"
    assert plotly_text("month %{x}<extra>rival</extra>") == "month %{x}<extra>rival</extra>"


def test_figure_escapes_names_text_categories_titles_annotations_and_templates() -> None:
    fig = figure(
        [
            {
                "type": "bar",
                "name": LINK,
                "x": [LINK, BOLD],
                "y": [1.0, 2.0],
                "text": [BOLD, "ok"],
                "hovertemplate": "%{x}<extra>" + LINK + "</extra>",
                "customdata": [[LINK, 3]],
            }
        ],
        {"title": {"text": BOLD}, "annotations": [{"text": LINK}], "xaxis": {"ticktext": [LINK]}},
    )
    strings = _strings(fig)
    assert strings and not [s for s in strings if HOSTILE_TAGS.search(s)]
    assert fig["data"][0]["y"] == [1.0, 2.0]
    assert escape_text([1, 2.5, None]) == [1, 2.5, None]


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list | tuple):
        return [s for v in value for s in _strings(v)]
    return []


def test_every_chart_figure_goes_through_the_escaping_helper() -> None:
    """Each `Chart(...)` in app/web gets its figure from figure() (directly or through a name bound to it),
    and nothing else writes a {"data": ..., "layout": ...} figure by hand."""
    offenders = []
    for path in sorted(WEB.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Dict):
                keys = {k.value for k in node.keys if isinstance(k, ast.Constant)}
                if {"data", "layout"} <= keys and path.name != "base.py":
                    offenders.append(f"{path.name}:{node.lineno} builds a figure dict by hand")
        for func in [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)]:
            bound = {
                t.id
                for n in ast.walk(func)
                if isinstance(n, ast.Assign)
                and isinstance(n.value, ast.Call)
                and getattr(n.value.func, "id", "") == "figure"
                for t in n.targets
                if isinstance(t, ast.Name)
            }
            for call in [n for n in ast.walk(func) if isinstance(n, ast.Call)]:
                if getattr(call.func, "id", "") != "Chart":
                    continue
                args = list(call.args[3:4]) + [k.value for k in call.keywords if k.arg == "figure"]
                for arg in args:
                    ok = (isinstance(arg, ast.Call) and getattr(arg.func, "id", "") == "figure") or (
                        isinstance(arg, ast.Name) and arg.id in bound
                    )
                    if not ok:
                        offenders.append(f"{path.name}:{call.lineno} Chart figure not from figure()")
    assert not offenders, "\n".join(offenders)


def _page_figures(html: str) -> list[Any]:
    blocks = re.findall(r'<script type="application/json" class="chart-figure">(.*?)</script>', html, re.S)
    return [json.loads(b) for b in blocks]


def _assert_no_markup(figures: list[Any], marker: str) -> None:
    strings = [s for f in figures for s in _strings(f)]
    assert any(marker in s for s in strings), "the hostile name is not on the chart at all"
    leaked = [s for s in strings if marker in s and HOSTILE_TAGS.search(s)]
    assert not leaked, leaked[:3]


@pytest.fixture
def hostile_accelerator(client) -> str:
    marker = uuid.uuid4().hex[:6]
    name = f'<a href="https://evil.example/{marker}">H100 {marker}</a>'
    made = client.post(
        "/api/v1/accelerators",
        json={
            "name": name,
            "vendor": "Test",
            "memory_gb": 80,
            "memory_bandwidth_tb_s": 3.35,
            "bf16_tflops": 989,
            "fp32_tflops": 67,
        },
    )
    assert made.status_code == 201, made.text
    quote = client.post(
        "/api/v1/price-quotes",
        json={
            "provider": f"<b>cloud {marker}</b>",
            "instance_type": f"x{marker}",
            "accelerator_id": made.json()["id"],
            "accelerator_count": 8,
            "pricing_model": "on_demand",
            "usd_per_hour": 0.08,
            "effective_from": "2020-01-01",
        },
    )
    assert quote.status_code == 201, quote.text
    return marker


def test_hardware_chart_shows_a_hostile_accelerator_as_text(client, hostile_accelerator: str) -> None:
    page = client.get("/hardware")
    assert page.status_code == 200
    _assert_no_markup(_page_figures(page.text), hostile_accelerator)


def test_models_charts_show_a_hostile_accelerator_as_text(client, hostile_accelerator: str) -> None:
    page = client.get("/models")
    assert page.status_code == 200
    figures = _page_figures(page.text)
    strings = [s for f in figures for s in _strings(f)]
    assert not [s for s in strings if hostile_accelerator in s and HOSTILE_TAGS.search(s)]


def test_run_and_compare_charts_show_hostile_rival_and_strategy_names_as_text(client) -> None:
    presets = client.get("/api/v1/simulations/presets").json()
    inputs = json.loads(json.dumps(next(p for p in presets if p["slug"] == "article-strategies")["inputs"]))
    marker = uuid.uuid4().hex[:6]
    rivals = inputs["scenario"]["rivals"]
    rivals[0]["name"] = f"{BOLD} rival {marker}"
    strategies = [
        {"name": f"{LINK} {marker}"[:110], "unit_cost_usd_per_million_tokens": 0.5},
        {"name": f"<i>cheap</i> {marker}", "unit_cost_usd_per_million_tokens": 0.3},
    ]
    ids = []
    for _ in range(2):
        made = client.post(
            "/api/v1/simulations",
            json={
                "inputs": inputs,
                "strategies": strategies,
                "paths_count": 100,
                "name": f"<b>run</b> {marker}",
                "use_cost_engine": False,
            },
        )
        assert made.status_code == 201, made.text
        ids.append(made.json()["id"])
    for url in (f"/runs/{ids[0]}", f"/compare?run={ids[0]}&run={ids[1]}"):
        page = client.get(url)
        assert page.status_code == 200, url
        _assert_no_markup(_page_figures(page.text), marker)
