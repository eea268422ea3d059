"""The price-war side in a browser: the explorer's sliders redraw without a reload and the URL reproduces the
view; a saved scenario reappears; a stored run's CSV export matches its table on screen."""

from __future__ import annotations

import csv
import io
import re
from typing import Any

import pytest

from tests.browser.conftest import Watch, screenshot, sign_in

pytestmark = pytest.mark.browser


def _wait_drawn(page: Any) -> None:
    page.wait_for_selector("figure.chart[data-drawn]", state="attached")


def test_explorer_slider_redraws_charts_and_the_link_reproduces_them(
    page: Any, live_server: str, watch: Watch
) -> None:
    page.goto(live_server + "/explorer")
    _wait_drawn(page)
    page.wait_for_selector("#chart-tornado[data-drawn]", state="attached", timeout=15_000)  # lazy, ~0.5 s
    before = page.inner_text("#kpi-cash")
    before_y = page.eval_on_selector("#chart-cash-fan .js-plotly-plot", "el => JSON.stringify(el.data[2].y)")
    timings = []
    for value in ("0.8", "0.6", "1.4"):
        page.evaluate("document.querySelector('#explorer-form').removeAttribute('data-redraw-ms')")
        page.fill("#in-price", value)
        page.wait_for_selector("#explorer-form[data-redraw-ms]", state="attached")
        timings.append(int(page.get_attribute("#explorer-form", "data-redraw-ms") or "0"))
        # A person reads the charts before moving on; the debounced tornado follows within a second.
        page.wait_for_selector("#explorer-form:not([data-extra-pending])", state="attached", timeout=15_000)
    print(f"explorer slider → redraw (ms, in page): {timings}")
    assert page.inner_text("#kpi-cash") != before
    page.locator("#chart-cash-fan").scroll_into_view_if_needed()  # off-screen charts redraw when in view
    page.wait_for_selector("#chart-cash-fan:not([data-stale])", state="attached")
    assert (
        page.eval_on_selector("#chart-cash-fan .js-plotly-plot", "el => JSON.stringify(el.data[2].y)")
        != before_y
    )
    assert "price=1.4" in page.url and "rival_cut" not in page.url  # only what changed
    shared, cash, summary = (
        page.url,
        page.inner_text("#kpi-cash"),
        page.inner_text("#chart-cash-fan .chart-summary"),
    )
    screenshot(page, "explorer-after-slider")

    page.goto(shared)
    _wait_drawn(page)
    assert page.inner_text("#kpi-cash") == cash
    assert page.inner_text("#chart-cash-fan .chart-summary") == summary
    assert page.input_value("#in-price") == "1.4"
    watch.assert_clean()


def test_saved_scenario_reappears(page: Any, live_server: str, watch: Watch) -> None:
    sign_in(page, live_server)
    page.goto(live_server + "/explorer")
    _wait_drawn(page)
    page.fill("#in-rival_cut", "0.55")
    page.wait_for_selector("#explorer-form[data-redraw-ms]", state="attached")
    page.fill("#save-name", "Browser test: deeper cut")
    page.click("form[action='/explorer/save'] button[type='submit']:not([formaction])")
    page.wait_for_url(re.compile(r"/explorer\?scenario=\d+&saved=scenario"))
    _wait_drawn(page)
    assert "Scenario saved" in page.inner_text("main")
    selected = page.eval_on_selector("#in-scenario", "s => s.options[s.selectedIndex].text")
    assert selected == "Browser test: deeper cut (saved)"
    assert page.input_value("#in-rival_cut") == "0.55"
    page.goto(live_server + "/compare")
    # The compare form itself: the header's display-currency form also submits to the page it is on.
    assert "Browser test: deeper cut" in page.inner_text("form.filters[action='/compare']")
    screenshot(page, "explorer-saved")
    watch.assert_clean()


def test_run_csv_export_matches_the_table_on_screen(page: Any, live_server: str, watch: Watch) -> None:
    sign_in(page, live_server)
    page.goto(live_server + "/explorer?rival_cut=0.7")
    _wait_drawn(page)
    page.click("form[action='/explorer/save'] button[formaction='/explorer/run']")
    page.wait_for_url(re.compile(r"/runs/\d+"))
    _wait_drawn(page)
    screenshot(page, "run")
    for table in ("summary", "monthly"):
        screen = page.eval_on_selector(
            f"#run-table-{table}",
            "t => Array.from(t.rows).map(r => Array.from(r.cells).map(c => c.innerText.trim()))",
        )
        href = page.get_attribute(f"a[data-export='csv'][data-table='{table}']", "href")
        response = page.request.get(live_server + href)
        assert response.ok and response.headers["content-type"].startswith("text/csv")
        exported = list(csv.reader(io.StringIO(response.text())))
        assert len(exported) == len(screen)  # header + the same rows
        assert len(exported[0]) == len(screen[0])
        for shown, raw in zip(screen[1:], exported[1:], strict=False):
            assert shown[0] == raw[0]
            for text, value in zip(shown[1:], raw[1:], strict=False):
                _same_number(text, value)
    page.goto(live_server + "/runs")
    assert page.locator("#runs-table tbody tr").count() >= 1
    screenshot(page, "runs")
    watch.assert_clean()


def _same_number(shown: str, raw: str) -> None:
    """The screen's '$1.2M', '45 %', '52.7' and the CSV's 1234567.0, 0.45, 52.7 say the same thing."""
    if raw == "":
        assert shown in ("—", "no burn"), shown
        return
    value = float(raw)
    text = shown.replace("−", "-").replace("$", "").replace(",", "").strip()
    scale = {"k": 1e3, "M": 1e6, "B": 1e9}
    if text.endswith("%"):
        assert abs(float(text[:-1]) / 100 - value) <= 0.006, (shown, raw)
    elif text and text[-1] in scale:
        number = float(text[:-1]) * scale[text[-1]]
        assert abs(number - value) <= max(abs(value) * 0.01, 0.05 * scale[text[-1]]), (shown, raw)
    else:
        assert abs(float(text) - value) <= max(abs(value) * 0.01, 0.06), (shown, raw)


def test_explorer_draws_a_falling_floor_and_every_firms_share(
    page: Any, live_server: str, watch: Watch
) -> None:
    page.goto(live_server + "/explorer")
    _wait_drawn(page)
    floor = page.eval_on_selector(
        "#chart-price-timeline .js-plotly-plot",
        "el => el.data.find(t => (t.name || '').startsWith('our price floor')).y",
    )
    assert len(set(floor)) > 1 and floor[-1] < floor[0]  # our unit cost declines: so does the floor
    page.locator("#chart-share").scroll_into_view_if_needed()
    page.wait_for_selector("#chart-share[data-drawn]:not([data-stale])", state="attached")
    names = page.eval_on_selector("#chart-share .js-plotly-plot", "el => el.data.map(t => t.name)")
    assert "outside option (no API)" in names and any(n.startswith("us:") for n in names)
    assert len(names) >= 3
    assert "Runway at today's burn" in page.inner_text(".cards")
    assert page.inner_text("#kpi-cash-out").startswith(("month ", "not within"))
    screenshot(page, "explorer-floor-and-shares")
    watch.assert_clean()
