"""The hardware table is paged on the server (sort and filters apply to the whole sheet first); the overview's
simulation is cached in-process but never served stale after an edit."""

from __future__ import annotations

import re
from html import unescape

from app.web.pages.hardware import PAGE_SIZE


def _table(html: str) -> str:
    return html.split('id="sheet-table"')[1].split("</table>")[0]


def _offer_ids(html: str) -> list[int]:
    return [int(i) for i in re.findall(r"[?&;]offer=(\d+)", unescape(_table(html)))]


def _offers_in_effect(html: str) -> int:
    return int(
        re.search(r'<div class="card-value">(\d+)</div><div class="card-label">offers in effect', html)[1]
    )


def _dollars(text: str) -> float:
    number = text.replace("$", "").replace(",", "")
    scale = {"k": 1e3, "M": 1e6}.get(number[-1], 1.0)
    return float(number.rstrip("kM")) * scale


def test_hardware_table_shows_one_page_of_the_whole_sorted_sheet(client) -> None:
    first = client.get("/hardware", params={"sort": "usd_per_hour"}).text
    total = _offers_in_effect(first)
    assert total > PAGE_SIZE, "the seeded sheet spans more than one page"
    ids = _offer_ids(first)
    assert len(ids) == PAGE_SIZE
    assert f"rows 1–{PAGE_SIZE} of {total}" in first
    next_url = unescape(re.search(r'<a class="button secondary" href="([^"]+)" rel="next"', first)[1])
    assert "sort=usd_per_hour" in next_url and "page=2" in next_url
    seen = list(ids)
    page = 2
    while True:
        html = client.get(next_url).text
        assert f"rows {(page - 1) * PAGE_SIZE + 1}–" in html
        seen += _offer_ids(html)
        found = re.search(r'<a class="button secondary" href="([^"]+)" rel="next"', html)
        if found is None:
            break
        next_url, page = unescape(found[1]), page + 1
    assert 'rel="prev"' in html and f"of {total}</span>" in html
    assert len(seen) == len(set(seen)) == total  # every offer exactly once across the pages

    # The sort applies to the whole sheet before paging: page 2 starts where page 1 ended.
    prices = []
    for number in range(1, page + 1):
        table = _table(client.get("/hardware", params={"sort": "usd_per_hour", "page": number}).text)
        for row in re.findall(r"<tr[^>]*>(.*?)</tr>", table, re.S):
            cells = re.findall(r'<td class="num">([^<]*)</td>', row)
            if cells:
                prices.append(cells[1])
    assert len(prices) == total
    assert [_dollars(p) for p in prices] == sorted(_dollars(p) for p in prices)


def test_hardware_paging_keeps_filters_and_clamps_the_page(client) -> None:
    html = client.get("/hardware", params={"provider": "aws", "page": "999"}).text
    rows = re.findall(r"<tr[^>]*>\s*<td>(\w+)</td>", _table(html))
    assert rows and set(rows) == {"aws"}  # the last page of the filtered sheet, not an empty one
    total = _offers_in_effect(html)
    assert f"of {total}" in html
    for link in re.findall(r'href="(/hardware\?[^"]+)"', html):
        if "page=" in link:
            assert "provider=aws" in unescape(link)
    assert client.get("/hardware", params={"page": "abc"}).status_code == 200


def test_hardware_chosen_offer_opens_on_its_page(client) -> None:
    last_page = client.get("/hardware", params={"sort": "usd_per_hour", "page": "999"}).text
    quote_id = _offer_ids(last_page)[-1]
    html = client.get("/hardware", params={"sort": "usd_per_hour", "offer": quote_id}).text
    assert quote_id in _offer_ids(html)
    assert re.search(r'<tr class="is-best">', _table(html))


def _headline_cards(html: str) -> dict[str, str]:
    section = html.split('aria-label="Headline numbers"')[1].split("</section>")[0]
    cards = re.findall(
        r'<div class="card-label"[^>]*>(.*?)</div><div class="card-value">(.*?)</div>', section
    )
    return {unescape(label): unescape(value) for label, value in cards}


def test_overview_headline_is_cached_but_follows_a_scenario_edit(client) -> None:
    from app.web.pages import overview_headline

    first = client.get("/").text
    cards = _headline_cards(first)
    assert cards and "Runway at today's burn" in cards
    scenario_id = int(re.search(r'<option value="(\d+)" selected>', first)[1])
    cached = len(overview_headline._HEADLINES)
    assert client.get("/").text == first  # a repeated render is served from the cache, identically
    assert len(overview_headline._HEADLINES) == cached

    row = client.get(f"/api/v1/scenarios/{scenario_id}").json()
    inputs = row["inputs"]
    inputs["scenario"]["firm"]["starting_cash_usd"] *= 4
    edited = client.patch(
        f"/api/v1/scenarios/{scenario_id}", json={"inputs": inputs, "version": row["version"]}
    )
    assert edited.status_code == 200, edited.text

    after = _headline_cards(client.get("/").text)
    assert after["Runway at today's burn"] != cards["Runway at today's burn"]
    # The explorer agrees with the overview after the edit.
    fragments = client.get("/explorer/data", params={"scenario": scenario_id}).json()["fragments"]
    assert after["Runway at today's burn"] == fragments["kpi-runway"]


def test_overview_of_a_costed_scenario_follows_a_price_edit(client) -> None:
    """A scenario linked to a model and an accelerator takes its unit cost from the cheapest price in effect:
    changing that price changes the headline, though the scenario row itself is untouched."""
    quotes = client.get("/api/v1/price-quotes", params={"pricing_model": "on_demand", "limit": 200}).json()[
        "items"
    ]
    models = client.get("/api/v1/models", params={"limit": 200}).json()["items"]
    model = next(m for m in models if m["name"] == "Llama 3.1 8B")
    accelerators = client.get("/api/v1/accelerators", params={"limit": 200}).json()["items"]
    h100 = next(a["id"] for a in accelerators if a["name"].startswith("H100"))
    quote = min(
        (q for q in quotes if q["accelerator_id"] == h100 and q.get("effective_to") is None),
        key=lambda q: q["usd_per_accelerator_hour"],
    )
    base = client.get("/api/v1/scenarios/2").json()
    created = client.post(
        "/api/v1/scenarios",
        json={
            "name": "Costed headline",
            "inputs": base["inputs"],
            "model_config_id": model["id"],
            "accelerator_id": quote["accelerator_id"],
        },
    )
    assert created.status_code == 201, created.text
    scenario_id = created.json()["id"]
    before = _headline_cards(client.get("/", params={"scenario": scenario_id}).text)
    assert before
    explorer_before = client.get("/explorer/data", params={"scenario": scenario_id}).json()["fragments"]
    assert before["Runway at today's burn"] == explorer_before["kpi-runway"]

    changed = client.patch(
        f"/api/v1/price-quotes/{quote['id']}",
        json={"usd_per_hour": quote["usd_per_hour"] / 3, "version": quote["version"]},
    )
    assert changed.status_code == 200, changed.text
    after = _headline_cards(client.get("/", params={"scenario": scenario_id}).text)
    assert after != before
    fragments = client.get("/explorer/data", params={"scenario": scenario_id}).json()["fragments"]
    assert after["Runway at today's burn"] == fragments["kpi-runway"]
    assert fragments != explorer_before  # the explorer's cached simulation follows the price too


def test_hardware_sheet_is_cached_but_shows_a_price_edit_at_once(client) -> None:
    quote = client.get("/api/v1/price-quotes", params={"provider": "aws", "limit": 1}).json()["items"][0]
    params = {"provider": "aws", "sort": "usd_per_hour", "dir": "desc"}
    first = client.get("/hardware", params=params).text
    assert client.get("/hardware", params=params).text == first  # the same view again, from the caches
    changed = client.patch(
        f"/api/v1/price-quotes/{quote['id']}",
        json={"usd_per_hour": 9876.0, "version": quote["version"]},
    )
    assert changed.status_code == 200, changed.text
    html = client.get("/hardware", params=params).text
    assert "$9.9k" in _table(html)  # the successor, in effect today, tops the sheet
    assert "$9.9k" not in _table(first)
