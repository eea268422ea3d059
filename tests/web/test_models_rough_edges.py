"""Issue 13 item 6: the Models page explains its greys and gaps, accepts what it prints, and refuses what
the API refuses."""

from __future__ import annotations

import re

from app.web.charts.models import TrainingRow, fits_text, training_cost_chart
from app.web.formatting import usd
from tests.web.test_pages import chart_figures


def _model_id(client, name: str = "Llama 3.1 70B") -> str:
    html = client.get("/models").text
    return re.search(rf'href="/models\?model=(\d+)#costs">{re.escape(name)}<', html).group(1)


def test_bars_that_do_not_fit_have_a_legend_entry() -> None:
    rows = [
        TrainingRow("A", 2.0, 8, 100.0, 1.0, 200.0, None, True, None),
        TrainingRow("B", 1.0, 8, 100.0, 1.0, 100.0, None, False, 64),
    ]
    fig = training_cost_chart("m", rows).figure
    names = [t["name"] for t in fig["data"]]
    assert any("does not fit" in n for n in names) and fig["layout"]["showlegend"]


def test_no_question_marks_for_the_gpus_needed() -> None:
    row = TrainingRow("B", 1.0, 8, 100.0, 1.0, 100.0, None, False, None)
    assert "?" not in fits_text(row) and "activations" in fits_text(row)
    assert (
        fits_text(TrainingRow("B", 1.0, 8, 1.0, 1.0, 1.0, None, False, 2048))
        == "no (needs ≥ 2,048 GPUs)"
    )


def test_the_printed_suffix_is_accepted_and_huge_counts_are_refused(client) -> None:
    model = _model_id(client, "Llama 3.1 8B")
    ok = client.get("/models", params={"model": model, "tokens": "2T"})
    assert ok.status_code == 200, re.findall(r'class="field-error"[^>]*>([^<]*)', ok.text)
    too_many = client.get("/models", params={"model": model, "tokens": "1e40"})
    assert too_many.status_code == 422 and "Must be at most 1e+30" in too_many.text


def test_utilisation_in_percent_says_what_it_means(client) -> None:
    model = _model_id(client)
    response = client.get("/models", params={"model": model, "utilization": "50"})
    assert response.status_code == 422 and "0.5 means 50 %" in response.text
    assert client.get("/models", params={"model": model, "utilization": "50 %"}).status_code == 200


def test_clearing_the_gpu_count_is_an_error_not_1024(client) -> None:
    response = client.get("/models", params={"model": _model_id(client), "gpus": ""})
    assert response.status_code == 422 and "Needs a value" in response.text
    assert re.search(r'name="gpus"[^>]*value=""', response.text)


def test_accelerators_without_a_price_are_named(client) -> None:
    html = client.get("/models", params={"model": _model_id(client)}).text
    names = [n for n in re.findall(r'"y": \[([^\]]*)\]', html)]
    assert names  # charts drawn
    if 'id="unpriced"' in html:
        assert "Add a price on Hardware" in html


def test_gaps_in_the_heatmap_are_explained(client) -> None:
    html = client.get("/models", params={"model": _model_id(client)}).text
    heatmap = next(f for f in chart_figures(html) if f["data"][0]["type"] == "heatmap")
    if any("n/a" in t for row in heatmap["data"][0]["text"] for t in row):
        assert "“n/a”: the part has no such precision" in html


def test_dollars_never_run_to_dozens_of_digits() -> None:
    assert usd(6e22) == "$6e22"
    assert usd(2.5e12) == "$2.5T"
