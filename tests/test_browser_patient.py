"""The Find page in a real headless Chromium (offline): the nearer-hospital card and the urgent
advice of each nation, for an English, a Welsh, a Scottish and a Northern Irish postcode.

Reuses the server and browser fixtures of ``test_browser_app`` (real build, localhost only).
"""

from __future__ import annotations

import pytest
from test_browser_app import TIMEOUT_MS, _wait_app, browser_ctx, server  # noqa: F401 - fixtures

pytestmark = [pytest.mark.browser, pytest.mark.integration]

CASES = [
    ("LE15 6RB", "Leicester Royal Infirmary", "call NHS 111 on 111"),
    ("CF14 4XW", "University Hospital of Wales", "call NHS 111 Wales on 111"),
    ("HS1 2BW", "Western Isles Hospital", "call NHS 24 on 111"),
    ("BT48 6DQ", "Altnagelvin Hospital", "Northern Ireland has no 111 service"),
]


def test_nearer_hospital_and_nation_helpline(server, browser_ctx):  # noqa: F811
    page = browser_ctx.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(f"{server}/")
    _wait_app(page)
    for postcode, hospital, helpline in CASES:
        page.get_by_label("Your postcode", exact=True).fill(postcode)
        page.get_by_role("button", name="Find units").click()
        page.get_by_text(f"Units nearest {postcode}").wait_for(timeout=4 * TIMEOUT_MS)
        card = page.get_by_text("Nearer hospital:").first
        card.wait_for(timeout=2 * TIMEOUT_MS)
        assert "it may have one" in card.inner_text()
        if postcode != "LE15 6RB":  # Oakham: Leicester and Grantham are equally near
            assert hospital in card.inner_text()
        page.get_by_text(helpline).first.wait_for()
        assert page.get_by_text(hospital).count() >= 1
        assert page.locator('[data-testid="stException"]').count() == 0
