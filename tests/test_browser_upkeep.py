"""Directory upkeep in a real headless Chromium: a person suggests a correction from a Find unit
card, a reviewer signs in on the review page and accepts it, and the directory file changes.

The app runs on the real build with its own copy of ``data/units.csv`` (``EPU_MAPPER_UNITS``),
a fresh SQLite corrections database (``EPU_MAPPER_DB_URL``) and a reviewer password hash
(``EPU_MAPPER_REVIEWER_HASH``) made for the test; every non-localhost request is blocked.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import pytest
from _app_server import app_server
from test_browser_app import ARGS, CHROMIUM, POSTCODE, TIMEOUT_MS, _wait_app

from epu_mapper import db, upkeep
from epu_mapper.corrections import RELATIONS
from epu_mapper.importer import read_directory
from epu_mapper.settings import REPO_ROOT, REVIEWER_HASH_ENV

pytestmark = [pytest.mark.browser, pytest.mark.integration]

PASSWORD = "browser test reviewer password"
NEW_HOURS = "Mo-Fr 07:15-19:45; Sa,Su off; PH off"
ARTIFACTS = REPO_ROOT / "test-artifacts"


@pytest.fixture(scope="module")
def upkeep_server(real_settings, tmp_path_factory) -> Iterator[dict]:
    """The app on localhost with a temporary directory copy, database and reviewer password."""
    assert Path(CHROMIUM).exists(), "Chromium is needed: run `make browser`"
    folder = tmp_path_factory.mktemp("upkeep_app")
    units = folder / "units.csv"
    shutil.copyfile(REPO_ROOT / "data" / "units.csv", units)
    db_url = f"sqlite:///{folder / 'corrections.sqlite'}"
    env = {"EPU_MAPPER_DATA": str(real_settings.data_dir),
           "EPU_MAPPER_BUILD": str(real_settings.build_dir), "EPU_MAPPER_UNITS": str(units),
           "EPU_MAPPER_DB_URL": db_url, REVIEWER_HASH_ENV: upkeep.hash_password(PASSWORD)}
    try:
        with app_server(env, "streamlit-upkeep-server.log") as url:
            yield {"url": url, "units": units, "db": db_url}
    finally:
        db.dispose(db_url)


def test_suggest_on_a_unit_card_then_accept_on_the_review_page(upkeep_server):
    from playwright.sync_api import sync_playwright

    url, units = upkeep_server["url"], upkeep_server["units"]
    before = units.read_bytes()
    profile = tempfile.mkdtemp(prefix="epu-chromium-")
    external: list[str] = []

    def route(r):
        host = urlparse(r.request.url).hostname or ""
        if r.request.url.startswith(("data:", "blob:")) or host in {"127.0.0.1", "localhost"}:
            r.continue_()
        else:
            external.append(r.request.url)
            r.abort("internetdisconnected")

    with sync_playwright() as p:
        ctx = p.chromium.launch_persistent_context(profile, executable_path=CHROMIUM, headless=True,
                                                   args=ARGS, viewport={"width": 1280, "height": 1000})
        try:
            ctx.route("**/*", route)
            page = ctx.new_page()
            page.set_default_timeout(TIMEOUT_MS)

            # 1. a person finds units and suggests new hours from the first unit card
            page.goto(f"{url}/")
            _wait_app(page)
            page.get_by_label("Your postcode", exact=True).fill(POSTCODE)
            page.get_by_role("button", name="Find units").click()
            page.get_by_text(f"Units nearest {POSTCODE}").wait_for()
            card = page.locator('[data-testid="stExpander"]').filter(has_text="Suggest a correction").first
            card.get_by_text("Suggest a correction").click()
            # the shared hours editor: open it, switch to OpenStreetMap syntax, type the hours
            card.get_by_text("The opening hours are wrong or missing").click()
            card.get_by_text("Type the hours in OpenStreetMap syntax instead (advanced)").click()
            hours = card.get_by_role("textbox", name="Opening hours in OpenStreetMap syntax")
            hours.wait_for()
            hours.fill(NEW_HOURS)
            hours.press("Enter")
            _wait_app(page)
            source = card.get_by_role("textbox", name="Where is this published?")
            source.fill("https://www.example.nhs.uk/epu-hours")
            source.press("Enter")
            page.wait_for_timeout(500)
            _wait_app(page)
            know = card.locator('[data-testid="stSelectbox"]').filter(has_text="How do you know?")
            know.scroll_into_view_if_needed()
            # pick by keyboard: the option list is not reliably a clickable role in Streamlit 1.67
            know.locator("input").click()
            page.keyboard.type(RELATIONS["staff"])
            page.keyboard.press("Enter")
            card.get_by_role("button", name="Send suggestion").click()
            done = card.get_by_text("reference number")
            done.wait_for()
            cid = int(re.search(r"#(\d+)", done.inner_text()).group(1))
            assert units.read_bytes() == before  # nothing changes before review
            rec = db.get_correction(db.get_engine(upkeep_server["db"]), cid)
            assert rec["status"] == "pending" and rec["fields"] == {"opening_hours": NEW_HOURS}
            assert rec["relation"] == "staff"  # the keyboard pick above reached the database
            page.screenshot(path=str(ARTIFACTS / "suggest-correction.png"))

            # 2. a reviewer signs in on the review page and accepts it
            page.goto(f"{url}/review")
            _wait_app(page)
            page.locator('input[type="password"]').fill(PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            name = page.get_by_role("textbox", name="Your name (recorded in the audit trail)")
            name.fill("Browser Reviewer")
            name.press("Enter")
            _wait_app(page)
            page.get_by_text(f"#{cid}").first.wait_for()
            accept = page.get_by_role("button", name="Accept").first
            page.wait_for_function(
                "() => [...document.querySelectorAll('button')].some(b => b.innerText.trim() === 'Accept' "
                "&& !b.disabled)")
            accept.click()
            page.get_by_text("updated and audited").wait_for()
            page.screenshot(path=str(ARTIFACTS / "review-accept.png"))
            assert page.locator('[data-testid="stException"]').count() == 0
        finally:
            ctx.close()
            shutil.rmtree(profile, ignore_errors=True)

    row = read_directory(units).set_index("unit_id").loc[rec["unit_id"]]
    assert row["opening_hours"] == NEW_HOURS
    assert row["source_url"] == "https://www.example.nhs.uk/epu-hours"
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", row["source_seen"])
    trail = db.audit_trail(db.get_engine(upkeep_server["db"]), rec["unit_id"])
    assert [(t["action"], t["reviewer"]) for t in trail] == [("accept", "Browser Reviewer")]
