"""Issue 13 item 12/a11y: WCAG 2 AA (axe-core, vendored for the tests) in both themes on every page, a
visible keyboard focus, and a short dismissable tour on the overview that stays dismissed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import ADMIN, Watch, sign_in

pytestmark = pytest.mark.browser

AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"
REPORT = Path(__file__).resolve().parents[2] / "artifacts" / "a11y" / "axe.json"
PAGES = [
    "/",
    "/hardware?offer=1",
    "/models",
    "/strategy",
    "/explorer",
    "/compare",
    "/runs",
    "/methodology",
    "/currency",
    "/audit",
    "/admin",
    "/login",
]


def _violations(page: Any) -> list[dict[str, Any]]:
    page.add_script_tag(path=str(AXE))
    return page.evaluate(
        """async () => {
          const result = await axe.run(document, {
            runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa'] },
            exclude: [['.js-plotly-plot']],
          });
          return result.violations.map(v => ({
            id: v.id, impact: v.impact,
            nodes: v.nodes.slice(0, 4)
              .map(n => n.target.join(' ') + ' :: ' + (n.failureSummary || '').slice(0, 160)),
          }));
        }"""
    )


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_every_page_passes_wcag_aa_in_both_themes(browser: Any, live_server: str, theme: str) -> None:
    # bypass_csp: the test injects axe-core as a script tag (the app itself never runs inline scripts)
    context = browser.new_context(
        viewport={"width": 1366, "height": 900}, color_scheme=theme, bypass_csp=True
    )
    page = context.new_page()
    failures = {}
    try:
        sign_in(page, live_server, ADMIN)
        for path in PAGES:
            page.goto(live_server + path)
            page.wait_for_load_state("load")
            if page.locator("figure.chart").count():
                page.wait_for_selector("figure.chart[data-drawn]", state="attached", timeout=20_000)
            found = _violations(page)
            if found:
                failures[path] = found
    finally:
        context.close()
    summary = {p: [(v['id'], v['nodes'][:2]) for v in found] for p, found in failures.items()}
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.with_name(f"axe-{theme}.json").write_text(json.dumps(failures, indent=1))
    assert not failures, summary


def test_keyboard_focus_is_visible(page: Any, live_server: str, watch: Watch) -> None:
    page.goto(live_server + "/")
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    style = page.evaluate(
        """() => { const s = getComputedStyle(document.activeElement);
                   return { tag: document.activeElement.tagName, width: s.outlineWidth,
                            style: s.outlineStyle }; }"""
    )
    assert style["style"] != "none" and float(style["width"].replace("px", "")) >= 2, style
    watch.assert_clean()


def test_the_overview_tour_is_short_and_stays_dismissed(page: Any, live_server: str, watch: Watch) -> None:
    page.goto(live_server + "/")
    tour = page.locator("[data-tour]")
    assert tour.is_visible()
    steps = tour.locator("li").count()
    assert 3 <= steps <= 5
    tour.locator("[data-tour-dismiss]").click()
    assert not tour.is_visible()
    page.reload()
    assert not page.locator("[data-tour]").is_visible()
    watch.assert_clean()
