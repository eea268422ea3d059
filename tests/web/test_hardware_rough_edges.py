"""Issue 13 item 8: the hardware price form starts with a date, saving keeps the user's filters, and the
history line sits under the chart's top."""

from __future__ import annotations

import re
from datetime import date

from tests.web.test_pages import chart_figures


def _offer(client) -> tuple[str, str]:
    page = client.get("/hardware", params={"provider": "aws", "sort": "usd_per_hour"}).text
    quote_id = re.search(r"offer=(\d+)", page).group(1)
    return quote_id, client.get(
        "/hardware", params={"provider": "aws", "sort": "usd_per_hour", "offer": quote_id}
    ).text


def test_the_effective_from_date_starts_filled(client) -> None:
    _quote_id, html = _offer(client)
    start = re.search(r'<input type="date" name="effective_from" value="([^"]*)"', html).group(1)
    assert start and date.fromisoformat(start) >= date.today()


def test_saving_keeps_the_filters(client) -> None:
    quote_id, html = _offer(client)
    version = re.search(r'name="version" value="(\d+)"', html).group(1)
    view = re.search(r'name="view" value="([^"]*)"', html).group(1).replace("&amp;", "&")
    assert "provider=aws" in view and "sort=usd_per_hour" in view
    response = client.post(
        f"/hardware/quotes/{quote_id}/price",
        data={"usd_per_hour": "3.21", "effective_from": "2099-01-01", "version": version, "view": view},
        follow_redirects=False,
    )
    assert response.status_code == 303
    location = response.headers["location"]
    assert "provider=aws" in location and "sort=usd_per_hour" in location and "saved=price" in location


def test_the_history_line_stays_under_the_top_of_the_axis(client) -> None:
    _quote_id, html = _offer(client)
    history = next(f for f in chart_figures(html) if f["layout"]["xaxis"].get("type") == "date")
    top = history["layout"]["yaxis"]["range"][1]
    assert top > max(history["data"][0]["y"]) * 1.1
