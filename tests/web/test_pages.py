"""Server-rendered pages through the test client on a migrated, seeded database."""

from __future__ import annotations

import json
import re

import pytest

PAGES = ["/", "/hardware", "/models", "/strategy", "/explorer", "/compare", "/methodology"]


def chart_figures(html: str) -> list[dict]:
    blobs = re.findall(r'<script type="application/json" class="chart-figure">(.*?)</script>', html, re.S)
    return [json.loads(b) for b in blobs]


@pytest.mark.parametrize("path", PAGES)
def test_page_renders_with_charts_and_no_inline_script(client, path: str) -> None:
    response = client.get(path, headers={"accept": "text/html"})
    assert response.status_code == 200, response.text[:500]
    html = response.text
    # CSP: every script is external or a JSON data block; no inline handlers.
    for attrs, _body in re.findall(r"<script([^>]*)>(.*?)</script>", html, re.S):
        assert "src=" in attrs or 'type="application/json"' in attrs, attrs
    assert not re.search(r"\son[a-z]+=", html), "inline event handler"
    assert "cdn." not in html and "https://" not in html.split("<footer")[0].split("<main")[0]
    figures = chart_figures(html)
    assert figures, "page draws at least one chart"
    lazy = html.count("data-lazy>")  # drawn after load (the explorer's tornado)
    summaries = html.count('class="chart-summary"')
    assert summaries == len(figures) + lazy == html.count("<summary>Show data</summary>")


@pytest.mark.parametrize("path", PAGES)
def test_page_renders_again_from_warm_caches(client, path: str) -> None:
    # Repeated renders (caches warm: imports, plotly asset, SQL compilation) keep answering the same page.
    # Render time (p50/p95, target p95 < 150 ms) is measured by bench/bench_pages.py, not asserted here.
    first = client.get(path)
    assert first.status_code == 200
    for _ in range(2):
        again = client.get(path)
        assert again.status_code == 200
        assert len(chart_figures(again.text)) == len(chart_figures(first.text))


def test_pages_stay_out_of_openapi(client) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert not any(p in paths for p in PAGES)


def test_nav_marks_the_current_page(client) -> None:
    html = client.get("/hardware").text
    assert re.search(r'<a href="/hardware" aria-current="page">Hardware</a>', html)


def test_hardware_filters_sort_and_as_of(client) -> None:
    html = client.get(
        "/hardware", params={"provider": "aws", "pricing_model": "on_demand", "sort": "usd_per_hour"}
    ).text
    rows = re.findall(r"<tr[^>]*>\s*<td>(\w+)</td>", html.split('id="sheet-table"')[1])
    assert rows and set(rows) == {"aws"}
    prices = re.findall(r'<td class="num">\$([\d.,]+)[k]?</td>', html.split('id="sheet-table"')[1])
    assert prices
    old = client.get("/hardware", params={"as_of": "2020-01-01"}).text
    assert "No offer matches these filters on 2020-01-01" in old


def test_hardware_bad_as_of_keeps_input_and_says_why(client) -> None:
    html = client.get("/hardware", params={"as_of": "yesterday"}).text
    assert "is not a date" in html


def test_hardware_price_change_redirects_then_shows_history(client) -> None:
    page = client.get("/hardware", params={"provider": "aws"}).text
    quote_id = re.search(r"offer=(\d+)", page).group(1)
    form = client.get("/hardware", params={"offer": quote_id}).text
    version = re.search(r'name="version" value="(\d+)"', form).group(1)
    response = client.post(
        f"/hardware/quotes/{quote_id}/price",
        data={"usd_per_hour": "1.5", "effective_from": "2099-01-01", "version": version},
        follow_redirects=False,
    )
    assert response.status_code == 303
    history = client.get(response.headers["location"]).text
    assert "Price saved" in history and "2099-01-01" in history


def test_hardware_price_change_validation_is_422_next_to_the_field(client) -> None:
    page = client.get("/hardware", params={"provider": "aws"}).text
    quote_id = re.search(r"offer=(\d+)", page).group(1)
    response = client.post(
        f"/hardware/quotes/{quote_id}/price",
        data={"usd_per_hour": "cheap", "effective_from": "", "version": "1"},
    )
    assert response.status_code == 422
    assert 'value="cheap"' in response.text
    assert "is not a number" in response.text and "Needs a date" in response.text


def test_hardware_import_preview_writes_nothing(client) -> None:
    csv_text = (
        "provider,instance_type,region,accelerator_name,accelerator_count,pricing_model,usd_per_hour,"
        "effective_from,source\nacme,gpu-1,eu,H100-SXM,1,on_demand,1.99,2025-09-01,test\n"
    )
    response = client.post("/hardware/import", data={"csv_text": csv_text, "action": "preview"})
    assert response.status_code == 200 and "Preview: 1 added" in response.text
    assert "gpu-1" not in client.get("/hardware", params={"provider": "acme"}).text
    done = client.post(
        "/hardware/import", data={"csv_text": csv_text, "action": "import"}, follow_redirects=False
    )
    assert done.status_code == 303
    assert "gpu-1" in client.get("/hardware", params={"provider": "acme"}).text


def test_models_page_marks_cheapest_serving_plan(client) -> None:
    html = client.get("/models").text
    heatmap = next(f for f in chart_figures(html) if f["data"][0]["type"] == "heatmap")
    stars = [cell for row in heatmap["data"][0]["text"] for cell in row if cell.startswith("★")]
    assert len(stars) == 1


def test_models_page_validation_keeps_input(client) -> None:
    response = client.get("/models", params={"gpus": "many"})
    assert response.status_code == 422
    assert 'value="many"' in response.text and "is not a number" in response.text


def test_model_without_training_tokens_says_needs_input(client) -> None:
    page = client.get("/models").text
    mixtral = re.search(r'href="/models\?model=(\d+)#costs">Mixtral', page)
    if mixtral is None:
        pytest.skip("no Mixtral preset in this seed")
    html = client.get("/models", params={"model": mixtral.group(1)}).text
    assert "needs input" in html.lower()


def test_methodology_reproduces_published_runs(client) -> None:
    html = client.get("/methodology").text
    assert "5 of 5 published figures are reproduced" in html


def test_hardware_tokens_per_dollar_is_sortable(client) -> None:
    html = client.get("/hardware", params={"sort": "tokens_per_usd"}).text
    table = html.split('id="sheet-table"')[1]
    assert "tok/s per $/h" in table
    cells = re.findall(r'<td class="num">([\d,]+)</td>\s*<td>\d{4}-', table)
    values = [float(v.replace(",", "")) for v in cells]
    assert values and values == sorted(values, reverse=True)  # best value for money first


def test_edit_forms_are_offered_to_editors_only(client, anon_client) -> None:
    assert "Save new price" in client.get("/hardware", params={"offer": "1"}).text
    anonymous = anon_client.get("/hardware", params={"offer": "1"}).text
    assert "Save new price" not in anonymous and "Sign in as an editor" in anonymous
    assert "Save as scenario" in client.get("/explorer").text
    assert "Save as scenario" not in anon_client.get("/explorer").text


def test_models_page_names_the_training_unit_of_each_workload(client) -> None:
    page = client.get("/models").text
    assert "Training amount" in page
    row = page.split(">ResNet-50<", 1)[1].split("</tr>", 1)[0]
    assert re.search(r"[\d.]+[kMBT]? images<", row), row
    dlrm = page.split(">DLRM", 1)[1].split("</tr>", 1)[0]
    assert " requests<" in dlrm and " tokens<" not in dlrm
    whisper = page.split(">Whisper", 1)[1].split("</tr>", 1)[0]
    assert " audio seconds<" in whisper
    assert re.search(r"[\d.]+[kMBT]? tokens<", page.split(">Llama 2 7B<", 1)[1].split("</tr>", 1)[0])
    resnet_id = re.search(r'href="/models\?model=(\d+)#costs">ResNet-50', page)
    assert resnet_id
    detail = client.get("/models", params={"model": resnet_id.group(1)}).text
    assert "Training images" in detail and "Training tokens" not in detail
