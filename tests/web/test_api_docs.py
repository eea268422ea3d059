"""/docs works with no network: Swagger UI from the installed package, no CDN, no inline script."""


def test_docs_page_loads_only_local_assets(client) -> None:
    page = client.get("/docs")
    assert page.status_code == 200
    assert "cdn" not in page.text.lower() and "http" not in page.text
    assert "<script>" not in page.text  # the initialiser is a static file (strict CSP)
    assert client.get("/assets/swagger/swagger-ui-bundle.js").status_code == 200
    assert client.get("/assets/swagger/swagger-ui.css").status_code == 200
    assert client.get("/static/js/api-docs.js").status_code == 200
    assert client.get("/openapi.json").json()["openapi"].startswith("3.1")
