"""Issue 13 item 1: the /hardware "Save new price" form and the API share one validation, and rows stored
before that (or by any other path) never break a read."""

from __future__ import annotations

import re
from datetime import date

from sqlalchemy import update

from app.db.models import PriceQuote


def _offer_and_version(client) -> tuple[str, str]:
    page = client.get("/hardware", params={"provider": "aws"}).text
    quote_id = re.search(r"offer=(\d+)", page).group(1)
    form = client.get("/hardware", params={"offer": quote_id}).text
    return quote_id, re.search(r'name="version" value="(\d+)"', form).group(1)


def test_form_refuses_what_the_api_refuses(client) -> None:
    quote_id, version = _offer_and_version(client)
    api = client.patch(
        f"/api/v1/price-quotes/{quote_id}",
        json={"usd_per_hour": 1e15, "effective_from": "2099-01-01", "version": int(version)},
    )
    assert api.status_code == 422
    form = client.post(
        f"/hardware/quotes/{quote_id}/price",
        data={"usd_per_hour": "1e15", "effective_from": "2099-01-01", "version": version},
        follow_redirects=False,
    )
    assert form.status_code == 422, form.headers.get("location")
    assert "Must be at most 10,000,000" in form.text
    # nothing was written: the offer is still current at its old price
    assert client.get(f"/api/v1/price-quotes/{quote_id}").json()["effective_to"] is None


def test_form_refuses_a_per_accelerator_price_beyond_the_cap(client) -> None:
    quote_id, version = _offer_and_version(client)
    count = client.get(f"/api/v1/price-quotes/{quote_id}").json()["accelerator_count"]
    too_much = str(10_001 * count)  # within the instance cap, beyond 10,000 USD per accelerator-hour
    form = client.post(
        f"/hardware/quotes/{quote_id}/price",
        data={"usd_per_hour": too_much, "effective_from": "2099-01-01", "version": version},
        follow_redirects=False,
    )
    assert form.status_code == 422
    assert "per accelerator" in form.text


def test_stored_out_of_range_rows_never_break_reads(client, db_session) -> None:
    quote_id, _version = _offer_and_version(client)
    db_session.execute(
        update(PriceQuote)
        .where(PriceQuote.id == int(quote_id))
        .values(usd_per_hour=1e15, usd_per_accelerator_hour=1e15, discount_percent=250.0)
    )
    db_session.commit()
    assert client.get(f"/api/v1/price-quotes/{quote_id}").status_code == 200
    assert client.get("/api/v1/price-quotes", params={"include_history": "true"}).status_code == 200
    as_of = client.get("/api/v1/price-quotes", params={"as_of": date.today().isoformat(), "limit": 500})
    assert as_of.status_code == 200
    assert client.get("/api/v1/price-quotes", params={"format": "csv", "limit": 500}).status_code == 200
    page = client.get("/hardware", params={"offer": quote_id})
    assert page.status_code == 200
    # the stored value is shown as it is, without float noise or absurd percentages
    assert "+77519379844961136" not in page.text


def test_create_schema_keeps_its_bounds_after_the_read_schema_drops_them(client) -> None:
    from app.web.schemas import PriceQuoteCreate, PriceQuoteRead

    assert PriceQuoteCreate.model_fields["usd_per_hour"].metadata
    assert not any(
        type(m).__name__ in ("Le", "Lt") for m in PriceQuoteRead.model_fields["usd_per_hour"].metadata
    )
