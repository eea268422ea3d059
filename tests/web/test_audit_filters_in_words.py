"""Issue 13 item 9: the audit filters speak the user's words (a price change is found as "price change")."""

from __future__ import annotations

import re

from app.web.pages.audit import ACTION_LABELS, internal_name


def test_words_map_to_the_stored_names() -> None:
    assert internal_name("Price change", ACTION_LABELS) == "price_change"
    assert internal_name("price-change", ACTION_LABELS) == "price_change"
    assert internal_name("sign-in", ACTION_LABELS) == "login"
    assert internal_name("price_change", ACTION_LABELS) == "price_change"
    assert internal_name("", ACTION_LABELS) is None


def test_a_price_change_is_found_by_its_label(client) -> None:
    page = client.get("/hardware", params={"provider": "aws"}).text
    quote_id = re.search(r"offer=(\d+)", page).group(1)
    form = client.get("/hardware", params={"offer": quote_id}).text
    version = re.search(r'name="version" value="(\d+)"', form).group(1)
    client.post(
        f"/hardware/quotes/{quote_id}/price",
        data={"usd_per_hour": "1.23", "effective_from": "2099-02-01", "version": version},
    )
    html = client.get("/audit", params={"action": "price change"}).text
    assert 'placeholder="update"' not in html
    assert re.search(r'<option value="price_change" selected>price change</option>', html)
    body = html.split("<tbody>")[1].split("</tbody>")[0]
    assert "from 2099-02-01" in body and "<td>price change</td>" in body
    by_entity = client.get("/audit", params={"entity": "Price sheet", "action": "price_change"}).text
    assert "from 2099-02-01" in by_entity
