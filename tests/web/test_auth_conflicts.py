"""Edit conflicts over HTTP: ETag / If-Match (412), body version (409), the edit form's 409 page with the
user's values next to the current ones, restoring a price, and the audit log API and page."""

from __future__ import annotations

import re
from datetime import date, timedelta

from tests.conftest import add_user, bearer_token

ACCELERATOR = {"name": "Etag-GPU", "vendor": "Acme", "memory_gb": 96, "memory_bandwidth_tb_s": 4.0}


def test_etag_and_if_match(client) -> None:
    row = client.post("/api/v1/accelerators", json=ACCELERATOR).json()
    url = f"/api/v1/accelerators/{row['id']}"
    first = client.get(url)
    assert first.headers["etag"] == 'W/"1"'
    updated = client.patch(
        url, json={"memory_gb": 128, "version": 1}, headers={"If-Match": first.headers["etag"]}
    )
    assert updated.status_code == 200 and updated.headers["etag"] == 'W/"2"'
    stale = client.patch(url, json={"memory_gb": 64, "version": 2}, headers={"If-Match": 'W/"1"'})
    assert (
        stale.status_code == 412 and stale.headers["etag"] == 'W/"2"' and "If-Match" in stale.json()["detail"]
    )
    assert client.delete(url, headers={"If-Match": '"1"'}).status_code == 412
    assert client.get(url).json()["memory_gb"] == 128
    # Without If-Match the body's version still guards the write.
    assert client.patch(url, json={"memory_gb": 64, "version": 1}).status_code == 409
    assert (
        client.patch(url, json={"memory_gb": 64, "version": 2}, headers={"If-Match": "*"}).status_code == 200
    )
    assert client.delete(url, headers={"If-Match": 'W/"3"'}).status_code == 204


def test_restore_price_over_the_api(client) -> None:
    quotes = client.get("/api/v1/price-quotes", params={"provider": "aws", "limit": 1, "sort": "id"}).json()[
        "items"
    ]
    quote = quotes[0]
    start = date.fromisoformat(quote["effective_from"])
    cut = client.patch(
        f"/api/v1/price-quotes/{quote['id']}",
        json={
            "usd_per_hour": round(quote["usd_per_hour"] / 2, 2),
            "effective_from": str(start + timedelta(days=1)),
            "version": quote["version"],
        },
    )
    assert cut.status_code == 200, cut.text
    restored = client.post(
        f"/api/v1/price-quotes/{quote['id']}/restore", json={"effective_from": str(start + timedelta(days=2))}
    )
    assert restored.status_code == 201, restored.text
    body = restored.json()
    assert body["usd_per_hour"] == quote["usd_per_hour"] and body["id"] not in (quote["id"], cut.json()["id"])
    assert restored.headers["location"] == f"/api/v1/price-quotes/{body['id']}"
    log = client.get("/api/v1/audit", params={"entity": "price_quotes", "action": "restore"}).json()
    assert log["total"] == 1 and "USD/h" in log["items"][0]["summary"]


def test_audit_api_filters_and_pages(client) -> None:
    for i in range(3):
        client.post("/api/v1/accelerators", json={**ACCELERATOR, "name": f"Log-GPU-{i}"})
    page = client.get(
        "/api/v1/audit", params={"entity": "accelerators", "action": "create", "limit": 2}
    ).json()
    assert page["total"] == 3 and len(page["items"]) == 2
    assert page["items"][0]["summary"] == "created accelerator Log-GPU-2"  # newest first
    # the actor names the token that acted (id and name): which one to revoke is in the log
    assert re.fullmatch(r"test-admin \(API token #\d+ 'tests'\)", page["items"][0]["actor"])
    rest = client.get(
        "/api/v1/audit", params={"entity": "accelerators", "action": "create", "limit": 2, "offset": 2}
    )
    assert [e["summary"] for e in rest.json()["items"]] == ["created accelerator Log-GPU-0"]
    assert client.get("/api/v1/audit", params={"limit": 0}).status_code == 422


# ---- pages -------------------------------------------------------------------------------------------------


def _editor_browser(app_on_session, db_session):  # type: ignore[no-untyped-def]
    """A browser signed in as an editor through the login form."""
    from fastapi.testclient import TestClient

    add_user(db_session, "page-editor", "editor", "quiet-meadow-river-42")
    db_session.commit()
    browser = TestClient(app_on_session)
    login_page = browser.get("/login").text
    browser.post(
        "/login",
        data={
            "username": "page-editor",
            "password": "quiet-meadow-river-42",
            "csrf_token": re.search(r'name="csrf_token" value="([^"]+)"', login_page).group(1),
        },
        follow_redirects=False,  # the home page is not what these tests are about
    )
    return browser


def _csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def test_edit_form_conflict_shows_both_values(app_on_session, db_session, client) -> None:
    quote = client.get("/api/v1/price-quotes", params={"provider": "aws", "limit": 1}).json()["items"][0]
    browser = _editor_browser(app_on_session, db_session)
    url = f"/price-quotes/{quote['id']}/edit"
    form_page = browser.get(url)
    assert form_page.status_code == 200 and 'name="version"' in form_page.text
    token = _csrf(form_page.text)
    # Someone else corrects the notes meanwhile (version 1 → 2).
    assert (
        client.patch(
            f"/api/v1/price-quotes/{quote['id']}", json={"notes": "theirs", "version": quote["version"]}
        ).status_code
        == 200
    )
    mine = {
        "instance_type": quote["instance_type"],
        "region": quote["region"],
        "pricing_model": quote["pricing_model"],
        "usd_per_hour": str(quote["usd_per_hour"]),
        "discount_percent": "0",
        "source": quote["source"],
        "notes": "mine",
        "version": str(quote["version"]),
        "csrf_token": token,
        "action": "save",
    }
    conflict = browser.post(url, data=mine)
    assert conflict.status_code == 409
    html = conflict.text
    assert "Someone else changed this quote" in html and "mine" in html and "theirs" in html
    for button in ("Overwrite with mine", "Save mine as a new quote", "Reload"):
        assert button in html
    # "Overwrite" resubmits my values with the current version.
    overwrite = browser.post(url, data={**mine, "version": str(quote["version"] + 1)}, follow_redirects=False)
    assert overwrite.status_code == 303
    assert client.get(f"/api/v1/price-quotes/{quote['id']}").json()["notes"] == "mine"
    # "Save as new" keeps the current row and adds mine beside it.
    as_new = browser.post(
        url, data={**mine, "notes": "copy", "action": "save_as_new"}, follow_redirects=False
    )
    assert as_new.status_code == 303 and as_new.headers["location"] != url
    # Without the CSRF token nothing happens.
    assert browser.post(url, data={k: v for k, v in mine.items() if k != "csrf_token"}).status_code == 403


def test_edit_form_validation_keeps_input(app_on_session, db_session, client) -> None:
    quote = client.get("/api/v1/price-quotes", params={"limit": 1}).json()["items"][0]
    browser = _editor_browser(app_on_session, db_session)
    url = f"/price-quotes/{quote['id']}/edit"
    token = _csrf(browser.get(url).text)
    bad = browser.post(
        url,
        data={
            "instance_type": "<script>x</script>",
            "region": "",
            "pricing_model": "on_demand",
            "usd_per_hour": "-3",
            "version": str(quote["version"]),
            "csrf_token": token,
        },
    )
    assert bad.status_code == 422 and "Must be more than 0" in bad.text
    assert "&lt;script&gt;x&lt;/script&gt;" in bad.text and "<script>x</script>" not in bad.text


def test_audit_page_for_editors_only(app_on_session, db_session, anon_client) -> None:
    viewer = add_user(db_session, "page-viewer", "viewer")
    token = bearer_token(db_session, viewer)
    db_session.commit()
    assert anon_client.get("/audit", headers={"Authorization": f"Bearer {token}"}).status_code == 403
    browser = _editor_browser(app_on_session, db_session)
    page = browser.get("/audit")
    assert page.status_code == 200 and "page-editor signed in" in page.text


def test_hardware_price_form_stale_save_is_409_with_both_values(client) -> None:
    quote = client.get("/api/v1/price-quotes", params={"provider": "aws", "limit": 1}).json()["items"][0]
    # Someone else corrects the row meanwhile: the form's version is now stale.
    assert (
        client.patch(
            f"/api/v1/price-quotes/{quote['id']}", json={"notes": "theirs", "version": quote["version"]}
        ).status_code
        == 200
    )
    response = client.post(
        f"/hardware/quotes/{quote['id']}/price",
        data={"usd_per_hour": "1.23", "effective_from": "2099-01-01", "version": str(quote["version"])},
    )
    assert response.status_code == 409
    html = response.text
    assert "Someone else changed this quote" in html and "1.23" in html and "theirs" in html
    assert "Overwrite with mine" in html and "Save mine as a new quote" in html and "Reload" in html


def test_restore_from_the_edit_page(app_on_session, db_session, client) -> None:
    quote = client.get("/api/v1/price-quotes", params={"provider": "aws", "limit": 1}).json()["items"][0]
    start = date.fromisoformat(quote["effective_from"])
    cut = client.patch(
        f"/api/v1/price-quotes/{quote['id']}",
        json={
            "usd_per_hour": 0.5,
            "effective_from": str(start + timedelta(days=1)),
            "version": quote["version"],
        },
    ).json()
    browser = _editor_browser(app_on_session, db_session)
    page = browser.get(f"/price-quotes/{quote['id']}/edit")
    assert "Restore this price" in page.text
    restored = browser.post(
        f"/price-quotes/{quote['id']}/restore",
        data={"effective_from": str(start + timedelta(days=2)), "csrf_token": _csrf(page.text)},
        follow_redirects=False,
    )
    assert restored.status_code == 303
    new_id = int(re.search(r"/price-quotes/(\d+)/edit", restored.headers["location"]).group(1))
    assert new_id not in (quote["id"], cut["id"])
    row = client.get(f"/api/v1/price-quotes/{new_id}").json()
    assert row["usd_per_hour"] == quote["usd_per_hour"] and row["effective_from"] == str(
        start + timedelta(days=2)
    )
