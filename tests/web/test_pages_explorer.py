"""Price-war explorer, Compare and Runs pages through the test client."""

from __future__ import annotations

import json
import re
from urllib.parse import parse_qs, urlsplit

from tests.web.test_pages import chart_figures


def test_explorer_renders_every_price_war_chart(client) -> None:
    response = client.get("/explorer")
    assert response.status_code == 200, response.text[:400]
    keys = re.findall(r'<figure class="chart[^"]*" id="chart-([\w-]+)"', response.text)
    assert {"price-timeline", "share", "cash-fan", "survival", "breakeven", "tornado"} <= set(keys)
    assert "P(cash &lt; 0 by month" in response.text
    assert len(chart_figures(response.text)) == 5  # the tornado is computed on request (~0.5 s)


def test_explorer_url_carries_only_non_default_inputs(client) -> None:
    data = client.get("/explorer/data", params={"rival_cut": "0.5", "price": "1.0"}).json()
    query = parse_qs(urlsplit(data["url"]).query)
    assert query == {"rival_cut": ["0.5"]} or set(query) == {"rival_cut", "price"}
    assert "rival_cut=0.5" in data["url"]
    assert {c["key"] for c in data["charts"]} == {"price-timeline", "share", "cash-fan", "survival", "breakeven"}
    json.dumps(data)


def test_explorer_inputs_change_the_numbers(client) -> None:
    base = client.get("/explorer/data").json()["fragments"]
    cut = client.get("/explorer/data", params={"fixed_costs": "5000000"}).json()["fragments"]
    assert base["kpi-cash"] != cut["kpi-cash"]


def test_explorer_validation_is_422_with_the_input_kept(client) -> None:
    response = client.get("/explorer", params={"price": "free"})
    assert response.status_code == 422
    assert 'value="free"' in response.text and "is not a number" in response.text
    assert client.get("/explorer/data", params={"price": "free"}).status_code == 422


def test_explorer_tornado_ranks_inputs(client) -> None:
    data = client.get("/explorer/tornado").json()
    chart = data["charts"][0]
    assert chart["key"] == "tornado" and chart["table"]["rows"]
    html = client.get("/explorer", params={"tornado": "1"}).text  # the no-JavaScript path
    assert len(chart_figures(html)) == 6


def test_save_as_scenario_redirects_and_reappears(client) -> None:
    response = client.post("/explorer/save", data={"name": "Deep cut test", "query": "rival_cut=0.6&price=0.9"},
                           follow_redirects=False)
    assert response.status_code == 303, response.text[:500]
    page = client.get(response.headers["location"]).text
    assert "Scenario saved" in page
    assert re.search(r"<option value=\"\d+\" selected>Deep cut test \(saved\)</option>", page)
    assert 'id="in-price"' in page and 'value="0.9"' in page  # the saved inputs are the new defaults


def test_save_needs_a_unique_name(client) -> None:
    response = client.post("/explorer/save", data={"name": "", "query": ""})
    assert response.status_code == 422 and "Give the scenario a name" in response.text
    client.post("/explorer/save", data={"name": "Twice", "query": ""})
    again = client.post("/explorer/save", data={"name": "Twice", "query": "price=2"})
    assert again.status_code == 422 and "already exists" in again.text and 'value="Twice"' in again.text
