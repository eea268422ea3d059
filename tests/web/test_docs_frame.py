"""Issue 13 item 10: /docs has a way back, a phone viewport, a dark theme and "Authorize" (the OpenAPI
document declares the bearer scheme); /favicon.ico is not a 404."""

from __future__ import annotations


def test_docs_page_links_back_and_fits_phones(anon_client) -> None:
    html = anon_client.get("/docs").text
    assert '<a href="/">' in html
    assert 'name="viewport" content="width=device-width' in html
    assert "/static/css/api-docs.css" in html
    css = anon_client.get("/static/css/api-docs.css").text
    assert "prefers-color-scheme: dark" in css and 'data-theme="dark"' in css


def test_openapi_declares_the_bearer_scheme(anon_client) -> None:
    schema = anon_client.get("/openapi.json").json()
    assert schema["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    operation = schema["paths"]["/api/v1/accelerators"]["get"]
    assert {"bearerAuth": []} in operation["security"]


def test_favicon_ico_is_served(anon_client) -> None:
    response = anon_client.get("/favicon.ico", follow_redirects=True)
    assert response.status_code == 200 and "svg" in response.headers["content-type"]
