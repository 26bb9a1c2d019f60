"""The app in a real headless Chromium, with every non-localhost request blocked.

Starts ``streamlit run app.py`` on a free localhost port (real build folder), waits for
``/_stcore/health``, drives each page, enters a real postcode, and checks that ranked units
and a rendered Leaflet map appear: the map is drawn in the page itself by the app's page element
(no frame), Leaflet came from the app itself, and the markers (canvas circle markers) are on
the map.
Screenshots go to ``test-artifacts/`` (git-ignored); ``make screenshots`` sets
``EPU_SCREENSHOTS=docs/screenshots`` to refresh the README images.

Chromium is Debian's (``make browser``); Playwright drives it via ``executable_path``.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse
from urllib.request import urlopen

import pytest
from _app_server import ARTIFACTS, app_server

from epu_mapper.settings import REPO_ROOT
from epu_mapper.ui import assets

pytestmark = [pytest.mark.browser, pytest.mark.integration]

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
POSTCODE = "LE15 6RB"  # Oakham, Rutland: a real postcode in Code-Point Open
TIMEOUT_MS = 45_000
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--disable-quic", "--disable-dev-shm-usage"]


@pytest.fixture(scope="module")
def server(real_settings) -> Iterator[str]:
    """A Streamlit server for the app on localhost; always stopped afterwards."""
    assert Path(CHROMIUM).exists(), "Chromium is needed: run `make browser`"
    assert assets.leaflet_present(), "Leaflet is not fetched: run `make assets`"
    env = {"EPU_MAPPER_DATA": str(real_settings.data_dir),
           "EPU_MAPPER_BUILD": str(real_settings.build_dir)}
    with app_server(env, "streamlit-server.log") as url:
        # the static Leaflet copy is served by the app itself
        with urlopen(f"{url}/app/static/vendor/leaflet-1.9.4/leaflet.js", timeout=5) as r:
            assert r.status == 200 and b"Leaflet" in r.read(2000)
        yield url


@pytest.fixture(scope="module")
def browser_ctx(server):
    """A fresh Chromium profile; every request that is not to localhost is aborted."""
    from playwright.sync_api import sync_playwright

    profile = tempfile.mkdtemp(prefix="epu-chromium-")
    external: dict[str, list[str]] = {"blocked": [], "succeeded": []}

    def route(r):
        host = urlparse(r.request.url).hostname or ""
        if r.request.url.startswith(("data:", "blob:")) or host in {"127.0.0.1", "localhost"}:
            r.continue_()
        else:
            external["blocked"].append(r.request.url)
            r.abort("internetdisconnected")

    with sync_playwright() as p:
        ctx = p.chromium.launch_persistent_context(
            profile, executable_path=CHROMIUM, headless=True, args=ARGS,
            viewport={"width": 1280, "height": 900},
        )
        ctx.route("**/*", route)

        def finished(req):
            host = urlparse(req.url).hostname or ""
            if req.url.startswith("http") and host not in {"127.0.0.1", "localhost"}:
                external["succeeded"].append(req.url)

        ctx.on("requestfinished", finished)
        ctx.external = external  # type: ignore[attr-defined]
        try:
            yield ctx
        finally:
            ctx.close()
            shutil.rmtree(profile, ignore_errors=True)


def _shot(page, name: str, anchor: str | None = None, height: int = 1400) -> None:
    """Screenshot with a taller viewport, the ``anchor`` text scrolled to the top."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    size = page.viewport_size
    if size and size["width"] > 400:
        page.set_viewport_size({"width": size["width"], "height": height})
    if anchor:
        page.get_by_text(anchor).first.evaluate("el => el.scrollIntoView({block: 'start'})")
    page.wait_for_timeout(700)  # let the map settle after the resize
    page.screenshot(path=str(path), full_page=False)
    if size:
        page.set_viewport_size(size)
    target = os.environ.get("EPU_SCREENSHOTS")
    if target:
        out = REPO_ROOT / target
        out.mkdir(parents=True, exist_ok=True)
        _small_png(path, out / f"{name}.png")


def _small_png(src: Path, dst: Path, limit: int = 300_000) -> None:
    """Copy a screenshot, quantised to a palette PNG so it stays under ``limit`` bytes."""
    from PIL import Image

    img = Image.open(src).convert("RGB")
    for colours in (256, 128, 64):
        img.quantize(colors=colours, method=Image.Quantize.MEDIANCUT).save(dst, optimize=True)
        if dst.stat().st_size <= limit:
            return
    img.thumbnail((img.width * 3 // 4, img.height * 3 // 4))
    img.quantize(colors=64).save(dst, optimize=True)


def _wait_app(page) -> None:
    page.wait_for_selector('[data-testid="stApp"]', timeout=TIMEOUT_MS)
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"] [data-testid=\"stStatusWidgetRunningIcon\"]')",
        timeout=TIMEOUT_MS,
    )


AXE_URL = f"/app/static/vendor/axe-core-{assets.AXE_VERSION}/axe.min.js"
#: WCAG 2.1 A/AA rules (colour contrast, names, labels, frames, ...).
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


def _axe(page, server: str) -> list[dict]:
    """Serious or critical axe-core violations on the page and its same-origin frames."""
    if not page.evaluate("() => !!window.axe"):
        page.add_script_tag(url=f"{server}{AXE_URL}")
    page.wait_for_timeout(300)
    result = page.evaluate("""async (tags) => {
        const r = await axe.run(document, {runOnly: {type: 'tag', values: tags},
                                           iframes: false});
        return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                                       nodes: v.nodes.slice(0, 5).map(n => n.target.join(' ')
                                         + ' :: ' + (n.failureSummary || '').slice(0, 160))}));
    }""", AXE_TAGS)
    return [v for v in result if v["impact"] in ("serious", "critical")]


#: A map once its script has named it (``maps.MapName``: "Map: <what it shows>").
MAP_BOX = '.epu-map[aria-label^="Map: "]'


def _map_box(page, name: str):
    """The map element whose accessible name starts with ``name``, once Leaflet drew it."""
    return page.wait_for_function(
        """n => [...document.querySelectorAll('.epu-map')].find(
            b => (b.getAttribute('aria-label') || '').startsWith(n) && b.epuLeafletMap) || null""",
        arg=name, timeout=TIMEOUT_MS).as_element()


def _check_map(page, name: str, table: str, min_markers: int = 1, min_polygons: int = 0) -> dict:
    """The Leaflet map drawn in the page (the app's page element): container, local Leaflet,
    layers.

    Its accessible name (the map region's label) starts with ``name`` and its text
    alternative, introduced by ``table``, is on the page next to it. No map is in a frame.
    """
    box = _map_box(page, name)
    assert page.get_by_text(table).first.is_visible(), table
    assert page.locator("iframe").count() == 0, "maps are drawn in the page, not in frames"
    # boundaries arrive asynchronously (fetched from /app/static/geo): wait for the layers
    page.wait_for_function(
        """([b, m, p]) => { let markers = 0, polygons = 0;
            b.epuLeafletMap.eachLayer(l => { if (l instanceof L.CircleMarker) markers++;
                                             else if (l instanceof L.Polygon) polygons++; });
            return markers >= m && polygons >= p; }""",
        arg=[box, min_markers, min_polygons], timeout=TIMEOUT_MS)
    info = box.evaluate("""c => {
        let markers = 0, polygons = 0, tiles = 0;
        c.epuLeafletMap.eachLayer(l => {
            if (l instanceof L.CircleMarker) markers++;
            else if (l instanceof L.Polygon) polygons++;
            else if (l instanceof L.TileLayer) tiles++;
        });
        const scripts = [...document.querySelectorAll('script[src]')].map(s => s.src);
        return {markers, polygons, tiles, scripts, version: L.version,
                label: c.getAttribute('aria-label'), role: c.getAttribute('role'),
                legends: c.querySelectorAll('.epu-legend').length,
                canvas: c.querySelectorAll('.leaflet-overlay-pane canvas').length,
                dragging: c.epuLeafletMap.dragging.enabled(),
                width: c.clientWidth, height: c.clientHeight,
                background: getComputedStyle(c).backgroundColor};
    }""")
    assert info["version"] == "1.9.4"
    assert any("/app/static/vendor/leaflet-1.9.4/leaflet.js" in s for s in info["scripts"])
    assert info["width"] >= 250 and info["height"] > 200
    assert info["canvas"] >= 1, "vector layers and markers draw on a canvas"
    assert info["markers"] >= min_markers, info
    assert info["polygons"] >= min_polygons, info
    assert info["background"] not in ("", "rgba(0, 0, 0, 0)"), "plain background offline"
    assert info["label"].startswith(name) and info["role"] == "region", info
    assert info["dragging"], "with a mouse, dragging moves the map"
    # the page keeps its own title (a map's name is not written over it)
    assert page.title().endswith(" · EPU access mapper"), page.title()
    return info


def test_pages_offline(server, browser_ctx):
    t0 = time.monotonic()
    page = browser_ctx.new_page()
    page.set_default_timeout(TIMEOUT_MS)

    # 1. Find a unit: a real postcode -> ranked units and a map with the postcode and units
    page.goto(f"{server}/")
    _wait_app(page)
    # Streamlit's lazily loaded chunks (the chart's 0.8 MB, tables, maps) load ahead, when idle,
    # although this page shows no chart yet
    page.wait_for_function("() => performance.getEntriesByType('resource').some("
                           "r => r.name.includes('/static/js/ArrowVegaLiteChart.'))")
    page.get_by_label("Your postcode", exact=True).fill(POSTCODE)
    page.get_by_role("button", name="Find units").click()
    # the first postcode of a server may load the postcode index and the water model
    page.get_by_text(f"Units nearest {POSTCODE}").wait_for(timeout=3 * TIMEOUT_MS)
    page.get_by_text("call 999 or go to A&E").first.wait_for()
    cards = page.locator('[data-testid="stMarkdownContainer"] strong')
    cards.filter(has_text="3. ").first.wait_for()  # the nearest few, in order
    assert cards.filter(has_text="1. ").count() >= 1
    page.wait_for_selector(MAP_BOX)  # drawn after every card
    _wait_app(page)
    n_cards = page.get_by_role("link", name="Directions").count()  # one per unit card
    assert n_cards >= 3
    _check_map(page, f"Map: the {n_cards} units in the list and your postcode {POSTCODE}",
               "Table of the same units (the map's text alternative)",
               min_markers=4)  # units + the postcode
    titles, violations = {"find": page.title()}, {"find": _axe(page, server)}
    _shot(page, "find", anchor=f"Units nearest {POSTCODE}", height=1700)

    # bad postcode: a clear message, no traceback
    page.get_by_label("Your postcode", exact=True).fill("ZZ99 9ZZ")
    page.get_by_role("button", name="Find units").click()
    page.get_by_text("We could not use that postcode").wait_for()
    assert page.locator('[data-testid="stException"]').count() == 0

    # 2. Regional gaps: choropleth of NHS England regions + ranked table
    page.goto(f"{server}/gaps")
    _wait_app(page)
    page.get_by_text("Ranked, worst first").wait_for()
    _check_map(page, "Map: % within 60 min of an open unit — Weekday 11:00 (unknown hours "
               "closed), by NHS England region", "(the map's table)", min_markers=0,
               min_polygons=7)
    titles["gaps"], violations["gaps"] = page.title(), _axe(page, server)
    _shot(page, "gaps")
    # a new time redraws the map in place: the same Leaflet map, new name, legend replaced
    box = _map_box(page, "Map: % within 60 min of an open unit — Weekday 11:00")
    page.evaluate("b => { window.__gapsMap = b.epuLeafletMap; }", box)
    legends = box.evaluate("b => b.querySelectorAll('.epu-legend').length")
    assert legends >= 1
    page.get_by_text("Sunday 03:00", exact=True).first.click()
    page.get_by_text("Ranked, worst first — % within 60 min of an open unit — Sunday 03:00").wait_for()
    info = _check_map(page, "Map: % within 60 min of an open unit — Sunday 03:00",
                      "(the map's table)", min_markers=0, min_polygons=7)
    assert _map_box(page, "Map: % within 60 min of an open unit — Sunday 03:00").evaluate(
        "b => b.epuLeafletMap === window.__gapsMap"), "the map is kept, only its layers change"
    assert info["legends"] == legends, info

    # 3. Local provision
    page.goto(f"{server}/local")
    _wait_app(page)
    page.get_by_text("Weekly timetable").wait_for()
    _check_map(page, "Map: early pregnancy units and acute hospital sites in and near ",
               "(the map's text alternative)", min_markers=1)
    titles["local"], violations["local"] = page.title(), _axe(page, server)
    _shot(page, "local", anchor="Weekly timetable", height=1500)

    # 4. Scenarios: apply the ranking's top suggestion
    page.goto(f"{server}/scenarios")
    _wait_app(page)
    page.get_by_role("tab", name="Pick from the ranking").click()
    page.get_by_role("button", name="Try this unit").click()
    page.get_by_text("Person-hours gained per week").wait_for()
    _check_map(page, "Map: Change in % of the week's population-hours within 60 min",
               "before and after", min_polygons=1, min_markers=0)
    titles["scenarios"], violations["scenarios"] = page.title(), _axe(page, server)
    _shot(page, "scenarios", anchor="Effect:", height=1500)

    # 5. About
    page.goto(f"{server}/about")
    _wait_app(page)
    page.get_by_text("Contains OS data © Crown copyright and database right.").wait_for()
    titles["about"], violations["about"] = page.title(), _axe(page, server)
    _shot(page, "about")

    # a distinct browser title per page; no serious or critical WCAG 2.1 AA violation
    assert len(set(titles.values())) == len(titles), titles
    assert titles["find"] == "Find a unit · EPU access mapper"
    found = {name: v for name, v in violations.items() if v}
    (ARTIFACTS / "axe-violations.json").write_text(json.dumps(found, indent=1), encoding="utf-8")
    assert not found, json.dumps(found, indent=1)[:4000]

    assert page.locator('[data-testid="stException"]').count() == 0
    ext = browser_ctx.external  # type: ignore[attr-defined]
    assert ext["succeeded"] == [], ext["succeeded"][:5]
    (ARTIFACTS / "blocked-requests.txt").write_text("\n".join(ext["blocked"]), encoding="utf-8")
    print(f"browser walk through 5 pages: {time.monotonic() - t0:.1f} s; "
          f"{len(ext['blocked'])} external requests blocked")


def _in_viewport(page, locator) -> bool:
    box = locator.bounding_box()
    size = page.viewport_size
    return bool(box and size and box["y"] >= 0 and box["y"] + min(box["height"], 40)
                <= size["height"])


def test_one_finger_scrolls_the_page_past_a_map_on_a_touch_screen(server, browser_ctx):
    """On a touch screen (Chromium's touch emulation: ``pointer: coarse``) a one-finger swipe
    over a map scrolls the page (CSS ``touch-action: pan-x pan-y``: the browser pans the page,
    Leaflet gets two-finger gestures only); the map still zooms with its buttons."""
    page = browser_ctx.new_page()
    page.set_viewport_size({"width": 375, "height": 812})
    cdp = browser_ctx.new_cdp_session(page)
    cdp.send("Emulation.setTouchEmulationEnabled", {"enabled": True, "maxTouchPoints": 2})
    try:
        page.goto(f"{server}/gaps")
        _wait_app(page)
        assert page.evaluate("() => matchMedia('(pointer: coarse)').matches")
        box = _map_box(page, "Map: % within 60 min of an open unit")
        state = box.evaluate("b => [b.epuLeafletMap.dragging.enabled(),"
                             " getComputedStyle(b).touchAction, b.epuLeafletMap.getZoom()]")
        assert state[:2] == [False, "pan-x pan-y"], state
        zoom_in = box.query_selector(".leaflet-control-zoom-in")
        zoom_in.scroll_into_view_if_needed()
        r = zoom_in.bounding_box()
        point = [{"x": r["x"] + r["width"] / 2, "y": r["y"] + r["height"] / 2}]
        cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": point})
        cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
        page.wait_for_function("([b, z]) => b.epuLeafletMap.getZoom() > z", arg=[box, state[2]],
                               timeout=TIMEOUT_MS)
    finally:
        cdp.send("Emulation.setTouchEmulationEnabled", {"enabled": False})
        page.close()


def test_phone_width(server, browser_ctx):
    page = browser_ctx.new_page()
    page.set_viewport_size({"width": 375, "height": 812})
    page.goto(f"{server}/")
    _wait_app(page)
    # keyboard only: focus the postcode field, type, press Enter (submits the form)
    page.get_by_label("Your postcode", exact=True).focus()
    page.keyboard.type(POSTCODE)
    page.keyboard.press("Enter")
    heading = page.get_by_role("heading", name=f"Units nearest {POSTCODE}")
    heading.wait_for(timeout=3 * TIMEOUT_MS)
    _wait_app(page)
    # the results come into view without the user scrolling, the emergency advice with them
    page.wait_for_function("() => { const h = document.getElementById('find-results');"
                           " const r = h && h.getBoundingClientRect();"
                           " return r && r.top >= 0 && r.top < 200; }", timeout=TIMEOUT_MS)
    assert _in_viewport(page, heading)
    advice = page.locator('[data-testid="stAlert"]', has_text="call 999 or go to A&E")
    assert advice.count() == 2  # the banner at the top, and again with the results
    assert any(_in_viewport(page, advice.nth(i)) for i in range(2))
    # keyboard focus moved to the results; the live region announced them
    assert page.evaluate("() => document.activeElement && document.activeElement.id") == \
        "find-results"
    page.wait_for_function("() => /\\d+ units? found/.test("
                           "(document.getElementById('epu-live') || {}).textContent || '')")
    # a tap-to-call link on every unit card with a usable phone number
    directions = page.get_by_role("link", name="Directions")
    n_cards = directions.count()
    assert n_cards >= 3
    tel = page.locator('a[href^="tel:+44"]')
    no_phone = page.get_by_text("No phone number published")
    assert tel.count() >= 1
    assert tel.count() + no_phone.count() == n_cards  # every card with a phone can call it
    assert page.get_by_text("Phone: ").count() == 0  # no number left without a link
    _shot(page, "find-phone")
    # no horizontal scrolling of the page at 375 px
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 380, width
    _check_map(page, "Map: the ", "Table of the same units", min_markers=2)
    violations = {"find": _axe(page, server)}
    page.goto(f"{server}/gaps")
    _wait_app(page)
    page.get_by_text("Ranked, worst first").wait_for()
    _check_map(page, "Map: % within 60 min of an open unit", "(the map's table)",
               min_markers=0, min_polygons=7)
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 380, width
    violations["gaps"] = _axe(page, server)
    # every other page at phone width: no serious or critical WCAG 2.1 AA violation either
    for path, ready in (("local", "Weekly timetable"), ("scenarios", "Pick from the ranking"),
                        ("equity", "Who is far from care"), ("about", "Contains OS data")):
        page.goto(f"{server}/{path}")
        _wait_app(page)
        page.get_by_text(ready).first.wait_for()
        violations[path] = _axe(page, server)
    found = {name: v for name, v in violations.items() if v}
    (ARTIFACTS / "axe-violations-phone.json").write_text(json.dumps(found, indent=1),
                                                         encoding="utf-8")
    assert not found, json.dumps(found, indent=1)[:4000]
