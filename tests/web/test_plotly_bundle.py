"""Issue 13 item 11 (first chart): the pages load the vendored cartesian partial bundle of plotly.js, pinned
to the Python package's plotly.js version, with its licence, at most 3 MB, holding every trace type a page
draws. (Time to the first chart is measured by bench/bench_pages.py, not here.)"""

from __future__ import annotations

import re

from plotly.offline import get_plotlyjs_version

from app.web.plotly_asset import BUNDLE, PLOTLY_URL
from tests.web.test_pages import PAGES, chart_figures


def test_the_bundle_is_the_python_packages_version_with_its_licence() -> None:
    header = BUNDLE.read_text(encoding="utf-8")[:400]
    version = re.search(r"plotly\.js \(cartesian - minified\) v(\d+\.\d+\.\d+)", header).group(1)
    assert version == get_plotlyjs_version()
    assert "MIT" in (BUNDLE.parent / "LICENSE").read_text()
    assert BUNDLE.stat().st_size <= 3_000_000


def test_every_trace_a_page_draws_is_in_the_bundle(client) -> None:
    script = BUNDLE.read_text(encoding="utf-8")
    bundled = set(re.findall(r'moduleType:"trace",name:"(\w+)"', script))
    used = set()
    for path in PAGES:
        html = client.get(path).text
        assert PLOTLY_URL in html
        for figure in chart_figures(html):
            used |= {trace.get("type", "scatter") for trace in figure["data"]}
    assert used and used <= bundled, used - bundled


def test_the_bundle_is_served_compressed_and_cached(client) -> None:
    response = client.get(PLOTLY_URL, headers={"accept-encoding": "gzip"})
    assert response.status_code == 200 and "immutable" in response.headers["cache-control"]
    assert len(response.content) == BUNDLE.stat().st_size  # the client decompressed it
