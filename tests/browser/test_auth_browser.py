"""Sign in, edit a price quote, read the audit log and sign out in a real browser, under the strict CSP."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import Watch, screenshot, sign_in

pytestmark = pytest.mark.browser


def test_sign_in_edit_audit_sign_out(page: Any, live_server: str, watch: Watch) -> None:
    page.goto(f"{live_server}/login")
    screenshot(page, "login")
    sign_in(page, live_server)
    assert page.locator(".account-menu").inner_text().startswith("browser-editor")

    page.goto(f"{live_server}/price-quotes/1/edit")
    screenshot(page, "edit-quote")
    page.fill("textarea[name='notes']", "checked against the invoice")
    page.click("form.edit-form button[value='save']")
    page.wait_for_load_state("load")
    assert page.locator("[role='status']").inner_text() == "Saved."

    page.goto(f"{live_server}/audit?entity=price_quotes&entity_id=1")
    assert "→ checked against the invoice" in page.content()
    assert "browser-editor" in page.locator("table.data-table").inner_text()
    screenshot(page, "audit")

    page.click(".account-menu button[type='submit']")
    page.wait_for_load_state("load")
    assert page.url.startswith(f"{live_server}/login")
    assert "You are signed out" in page.content()
    watch.assert_clean()  # no CSP violations, no console errors, nothing fetched from elsewhere
