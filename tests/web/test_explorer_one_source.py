"""The explorer's inputs come from one table (pricewar_inputs.FIELDS): the form's controls, their bounds and
the parser agree (issue 15), and a single rival's cut can be modelled and linked (issue 13 item 7)."""

from __future__ import annotations

import re

from app.web.charts.base import PALETTE
from app.web.charts.pricewar import OUTSIDE_OPTION_COLOR, rival_color
from app.web.pages import pricewar_inputs as pw


def _china(client) -> str:
    html = client.get("/explorer").text
    return re.search(r'name="scenario" value="(\d+)"', html).group(1)


def test_a_cut_late_in_a_long_horizon_is_accepted(client) -> None:
    scenario = _china(client)
    response = client.get(
        "/explorer", params={"scenario": scenario, "horizon": "60", "rival_cut_month": "48"}
    )
    assert response.status_code == 200, re.findall(r'class="field-error"[^>]*>([^<]*)', response.text)
    assert "Must be at most 36" not in response.text
    slider = re.search(r'<input type="range" id="in-rival_cut_month"[^>]*>', response.text).group(0)
    assert 'max="60"' in slider and 'value="48"' in slider
    live = client.get(
        "/explorer/data", params={"scenario": scenario, "horizon": "60", "rival_cut_month": "48"}
    )
    assert live.status_code == 200
    assert live.json()["fragments"]["kpi-survival-label"] == "P(survive to month 60)"
    assert "→ 60" in live.json()["fragments"]["kpi-floor-label"]


def test_a_month_beyond_the_horizon_says_so(client) -> None:
    response = client.get(
        "/explorer/data", params={"scenario": _china(client), "horizon": "24", "rival_cut_month": "30"}
    )
    assert response.status_code == 422
    assert response.json()["errors"]["rival_cut_month"] == "Must be within the horizon (24 months)."


def test_every_control_is_rendered_from_the_field_table_with_its_bounds(client) -> None:
    html = client.get("/explorer", params={"scenario": _china(client)}).text
    form = html.split('id="explorer-form"')[1].split("</form>")[0]
    names = re.findall(r'<(?:input|select)[^>]* name="([a-z_]+)"', form)
    assert [n for n in names if n not in ("scenario", "strategy")] == [
        f.name for group, _ in pw.FIELD_GROUPS for f in pw.FIELDS if f.group == group
    ]
    for f in pw.FIELDS:
        if f.kind in ("float", "int"):
            tag = re.search(rf'<input type="range" id="in-{f.name}"[^>]*>', form).group(0)
            assert f'min="{f.low}"' in tag or f'min="{int(f.low)}"' in tag, tag
    rules = re.findall(r'<option value="(\w+)"', form.split('name="rule"')[1].split("</select>")[0])
    assert tuple(rules) == tuple(pw.OUR_RULES)


def test_clearing_a_box_is_an_error_not_the_default(client) -> None:
    response = client.get("/explorer/data", params={"scenario": _china(client), "cash": ""})
    assert response.status_code == 422
    assert "Needs a value" in response.json()["errors"]["cash"]


def test_one_rival_cuts_and_the_others_keep_their_scripts(client, db_session) -> None:
    from app.db.models import Scenario

    scenario_id = _china(client)
    row = db_session.get(Scenario, int(scenario_id))
    preset = pw.load_preset(row.inputs)
    base = preset.scenario
    assert len(base.rivals) >= 3
    params = {"cut_rival": "3", "rival_cut": "0.8", "rival_cut_month": "14"}
    _preset, changed, values, _defaults, errors = pw.build(row.inputs, params)
    assert not errors
    assert changed.rivals[2].cuts[0].cut_fraction.central == 0.8
    assert changed.rivals[2].cuts[0].month.central == 14
    for i, rival in enumerate(base.rivals):
        if i != 2:
            assert changed.rivals[i] == rival
    live = client.get("/explorer/data", params={"scenario": scenario_id, **params})
    assert live.status_code == 200
    assert "cut_rival=3" in live.json()["url"] and "rival_cut=0.8" in live.json()["url"]
    page = client.get(live.json()["url"]).text
    assert re.search(r'<option value="3" selected>', page)
    bad = client.get("/explorer/data", params={"scenario": scenario_id, "cut_rival": "99"})
    assert bad.status_code == 422 and "cut_rival" in bad.json()["errors"]


def test_rival_colours_never_take_ours_the_floors_or_the_outside_options() -> None:
    reserved = {PALETTE[0], PALETTE[3], OUTSIDE_OPTION_COLOR}
    colours = [rival_color(i) for i in range(20)]
    assert not reserved & set(colours)
    assert len(set(colours[:4])) == 4


def test_rivals_beyond_the_palette_get_their_own_line_style() -> None:
    from app.web.charts.pricewar import RIVAL_COLORS, rival_dash

    styles = {(rival_color(i), rival_dash(i)) for i in range(2 * len(RIVAL_COLORS))}
    assert len(styles) == 2 * len(RIVAL_COLORS)
    assert "dash" not in {rival_dash(i) for i in range(20)}  # dashes: our floor; dots: the outside option
