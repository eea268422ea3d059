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
