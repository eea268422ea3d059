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
    # + our profit curve and the equilibrium beside the war; the tornado and the flips are computed on request
    assert {"profit-curve", "equilibrium"} <= set(keys)
    assert len(chart_figures(response.text)) == 7


def test_explorer_url_carries_only_non_default_inputs(client) -> None:
    data = client.get("/explorer/data", params={"rival_cut": "0.5", "price": "1.0"}).json()
    query = parse_qs(urlsplit(data["url"]).query)
    assert query == {"rival_cut": ["0.5"]} or set(query) == {"rival_cut", "price"}
    assert "rival_cut=0.5" in data["url"]
    assert {c["key"] for c in data["charts"]} == {
        "price-timeline",
        "share",
        "cash-fan",
        "survival",
        "breakeven",
        "profit-curve",
        "equilibrium",
    }
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
    assert len(chart_figures(html)) == 8  # 7 + the tornado


def test_save_as_scenario_redirects_and_reappears(client) -> None:
    response = client.post(
        "/explorer/save",
        data={"name": "Deep cut test", "query": "rival_cut=0.6&price=0.9"},
        follow_redirects=False,
    )
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


def _store_run(client, query: str = "rival_cut=0.7") -> str:
    response = client.post("/explorer/run", data={"name": "", "query": query}, follow_redirects=False)
    assert response.status_code == 303, response.text[:500]
    return response.headers["location"].split("?")[0]


def test_run_and_store_then_list_and_show(client) -> None:
    location = _store_run(client)
    page = client.get(location, params={"stored": "1"})
    assert page.status_code == 200 and "Run stored" in page.text
    assert len(chart_figures(page.text)) == 4
    run_id = location.rsplit("/", 1)[1]
    assert f'href="/runs/{run_id}"' in client.get("/runs").text


def test_csv_export_is_the_table_on_screen(client) -> None:
    import csv
    import io

    location = _store_run(client)
    page = client.get(location).text
    for table in ("summary", "monthly"):
        body = page.split(f'id="run-table-{table}"')[1].split("</table>")[0]
        headers = re.findall(r"<th[^>]*>(.*?)</th>", body)
        screen_rows = [
            re.findall(r"<td[^>]*>(.*?)</td>", row) for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)[1:]
        ]
        exported = list(
            csv.reader(io.StringIO(client.get(f"{location}/export.csv", params={"table": table}).text))
        )
        assert len(exported[0]) == len(headers)
        assert len(exported) - 1 == len(screen_rows)
        for shown, raw in zip(screen_rows, exported[1:], strict=False):
            assert shown[0] == raw[0]  # the first column (strategy / month) matches exactly
    data = client.get(f"{location}/export.json").json()
    assert data["schema_version"] == 1 and [t["table"] for t in data["tables"]] == ["summary", "monthly"]


def test_replay_reproduces_the_run(client) -> None:
    location = _store_run(client)
    replay = client.post(f"{location}/replay", follow_redirects=False)
    assert replay.status_code == 303
    assert "identical results" in client.get(replay.headers["location"]).text


def test_compare_shows_deltas_against_the_baseline(client) -> None:
    page = client.get("/compare").text  # the presets by default
    assert 'id="compare-table"' in page and "Δ%" in page
    assert len(chart_figures(page)) == 2
    one = client.get("/compare", params={"scenario": "1"})
    assert one.status_code == 422 and "at least two" in one.text
    run = _store_run(client).rsplit("/", 1)[1]
    ids = re.findall(r'name="scenario" value="(\d+)"', page)[:2]
    both = client.get("/compare", params={"run": run, "scenario": ids[0], "baseline": f"run:{run}"})
    assert both.status_code == 200
    header = both.text.split('id="compare-table"')[1].split("</thead>")[0]
    assert header.index(f"Run #{run}") < header.index("Δ")  # the baseline comes first
    csv_text = client.get(
        "/compare.csv", params={"run": run, "scenario": ids[0], "baseline": f"run:{run}"}
    ).text
    assert csv_text.splitlines()[0].startswith('metric,unit,"Run #') and "P(survive to its horizon)" in csv_text


def _figure(chart: dict, name_part: str) -> dict:
    return next(t for t in chart["figure"]["data"] if name_part in t.get("name", ""))


def test_explorer_floor_is_a_step_line_that_falls_with_our_unit_cost(client) -> None:
    data = client.get("/explorer/data").json()
    timeline = next(c for c in data["charts"] if c["key"] == "price-timeline")
    floor = _figure(timeline, "our price floor")
    assert floor["line"]["shape"] == "hv"
    ys = floor["y"]
    assert len(set(ys)) > 1 and ys[-1] < ys[0]  # the China preset's unit cost declines (k > 1)
    assert all(b <= a + 1e-12 for a, b in zip(ys, ys[1:], strict=False))
    assert timeline["table"]["rows"][0][-1] != timeline["table"]["rows"][-1][-1]  # the "Our floor" column
    assert "→" in data["fragments"]["kpi-floor"]


def test_explorer_share_chart_shows_every_firm_and_the_outside_option(client) -> None:
    data = client.get("/explorer/data").json()
    share = next(c for c in data["charts"] if c["key"] == "share")
    names = [t["name"] for t in share["figure"]["data"]]
    assert any(n.startswith("us:") for n in names) and "outside option (no API)" in names
    assert len(names) >= 2 + 6  # six rivals in the China preset
    ours = _figure(share, "us:")
    assert ours["line"]["width"] > max(t["line"]["width"] for t in share["figure"]["data"] if t is not ours)
    assert share["table"]["columns"][-1] == "Outside option"


def test_explorer_and_overview_label_both_runways(client) -> None:
    data = client.get("/explorer/data").json()
    fragments = data["fragments"]
    assert fragments["kpi-cash-out"].startswith(("month ", "not within"))
    html = client.get("/").text
    assert "Cash runs out (median over paths)" in html and "Runway at today&#39;s burn" in html
    assert "Runway (median)" not in html
    survival = next(c for c in data["charts"] if c["key"] == "survival")
    row = survival["table"]["rows"][0]
    assert survival["table"]["columns"][2] == "Cash runs out (median over paths)"
    assert row[2] == fragments["kpi-cash-out"]  # the KPI card and the strategies table agree
    assert row[3] == fragments["kpi-runway"]


def test_runs_stored_before_the_monthly_floor_and_shares_still_read(client, db_session) -> None:
    from app.db.models import SimulationRun

    location = _store_run(client)
    run_id = int(location.rsplit("/", 1)[1])
    row = db_session.get(SimulationRun, run_id)
    old = json.loads(json.dumps(row.results))
    for s in old["strategies"]:
        for key in (
            "unit_cost_usd_per_million_tokens_by_month",
            "price_floor_usd_per_million_tokens_by_month",
            "shares_of_all_demand_fraction_p50",
        ):
            assert key in s
            del s[key]
    row.results = old
    db_session.flush()
    page = client.get(location)
    assert page.status_code == 200 and len(chart_figures(page.text)) == 4
    api = client.get(f"/api/v1/simulations/{run_id}")
    assert api.status_code == 200
    assert api.json()["results"]["strategies"][0]["price_floor_usd_per_million_tokens_by_month"] is None
    csv_text = client.get(f"/api/v1/simulations/{run_id}", params={"format": "csv"}).text
    assert "price_floor_usd_per_million_tokens_p50" not in csv_text.splitlines()[0]
