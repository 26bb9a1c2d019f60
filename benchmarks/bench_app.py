"""App performance targets (issue 6), on the real build folder.

Run: ``.venv/bin/pytest benchmarks/bench_app.py --benchmark-only -s``

* **Cold start to first map <= 5 s.** Two measurements:
  - ``test_cold_start_apptest``: a fresh Python process imports the app and runs the Regional
    gaps page (load the api context, compute the gaps, build the choropleth) in Streamlit's
    AppTest; wall time of the whole process.
  - ``test_cold_start_browser``: with headless Chromium already running (launched, fresh
    profile, outside the timed part), the clock starts when ``python -m epu_mapper.ui.serve``
    (``make run``) is started and stops when the Leaflet map of the Regional gaps page holds its
    region polygons (server boot + frontend load + first script run + map drawn). The
    benchmark's figure is exactly that span; the target is asserted on the median of 3 runs.
* **Cold start to the first page <= 4 s** (``test_cold_start_first_page``): as above, but the
  clock stops when the Find a unit page (``/``) shows its postcode field (median of 3).
* **Every interaction <= 0.5 s in the browser** (``test_browser_interactions``): one warm server
  (its warm-up finished: after a first postcode, the server's CPU use has dropped below 5 %
  of a core), one Chromium; each interaction is timed from the click until the
  page shows its new content and Streamlit is idle, median of 3 rounds with new inputs each
  round (no result cache hit). The clock is the page's own: from the click's ``pointerdown``
  event to the first frame that shows the new content with Streamlit idle (see ``_timed``);
  the wall-clock time around Playwright's click and locator waits, whose queries run in the
  page on every frame, is printed beside it. Interactions: Find (a new postcode), Find "Show more", Regional gaps (a new
  time-of-week preset), Regional gaps map view (bound/width), Scenarios (apply a ranked unit),
  and switching page.
* **Slider change <= 300 ms of server time.** ``test_slider_change_server_time``: with the app
  warm (context loaded), each round moves the hour-of-week slider to an hour not seen before
  (no result cache hit) and times the script rerun, which is the server's work for a slider
  change (gaps at the new hour, ranked table, map payload), for the default level (7 NHS
  England regions), local authorities (361) and Scottish health boards (the largest geometry).
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from typing import Any
from urllib.request import urlopen

import pytest

from epu_mapper.settings import REPO_ROOT, Settings, get_settings

COLD_START_S = 5.0
FIRST_PAGE_S = 4.0
INTERACTION_S = 0.5
SLIDER_S = 0.300
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
#: Chromium offline: every host but the app's resolves to nothing (map tiles fail at once).
#: Done in the browser's resolver, not with Playwright's request routing, which sends every
#: request through this Python process first (a round trip per chunk, script and boundary
#: file that a visitor's browser does not have).
BROWSER_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                "--disable-background-networking", "--disable-quic",
                "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"]

_COLD_SCRIPT = """
import time
t0 = time.perf_counter()
from streamlit.testing.v1 import AppTest
at = AppTest.from_file("app.py", default_timeout=60)
at.run()
at.switch_page("epu_mapper/ui/pages/gaps.py")
at.run()
assert not at.exception, [e.value for e in at.exception]
maps = [e for e in at.get("bidi_component") if "L.map(" in e.proto.json]
assert maps, "no map on the page"
print(f"IN_PROCESS {time.perf_counter() - t0:.3f}")
"""


@pytest.fixture(scope="module")
def env() -> dict[str, str]:
    s: Settings = get_settings()
    if s.data_dir is None:
        s = dataclasses.replace(s, data_dir=(REPO_ROOT.parent / "shared" / "data" / "raw").resolve())
    assert s.data_dir.is_dir(), f"benchmarks need the raw data; looked in {s.data_dir}"
    assert (s.build_dir / "demand.parquet").exists(), "run `make build` first"
    return {**os.environ, "EPU_MAPPER_DATA": str(s.data_dir), "EPU_MAPPER_BUILD": str(s.build_dir)}


def test_cold_start_apptest(benchmark, env):
    inner: list[float] = []

    def run() -> None:
        out = subprocess.run([sys.executable, "-c", _COLD_SCRIPT], cwd=REPO_ROOT, env=env,
                             capture_output=True, text=True, timeout=120, check=True)
        line = next(ln for ln in out.stdout.splitlines() if ln.startswith("IN_PROCESS"))
        inner.append(float(line.split()[1]))

    benchmark.pedantic(run, rounds=3, iterations=1)
    benchmark.extra_info["in_process_s"] = inner
    print(f"\ncold start (fresh process -> gaps map built): mean {benchmark.stats['mean']:.2f} s,"
          f" of which in-process {min(inner):.2f}-{max(inner):.2f} s")
    assert benchmark.stats["mean"] <= COLD_START_S


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclasses.dataclass
class _BrowserRound:
    """One browser cold start: Chromium (fresh profile) and, once started, the app server."""

    context: Any
    page: Any
    profile: str
    proc: subprocess.Popen | None = None

    def close(self) -> None:
        """Stop the server and the browser and remove the profile (idempotent)."""
        if self.proc is not None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout=10)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc = None
        if self.context is not None:
            self.context.close()
            self.context = None
        shutil.rmtree(self.profile, ignore_errors=True)


@pytest.mark.parametrize("target", ["gaps_map", "first_page"])
def test_cold_start_browser(benchmark, env, target):
    """Server start -> choropleth drawn, timed by pytest-benchmark (median of 3 rounds).

    Outside the timed part (``setup`` / ``teardown`` of ``benchmark.pedantic``): launching
    Chromium with a fresh profile (empty HTTP cache) and opening a blank tab; stopping the
    server and closing the browser. Timed: starting ``python -m epu_mapper.ui.serve``, waiting
    for ``/_stcore/health`` (``server_boot_s``), then opening ``/gaps`` until the Leaflet map in
    the page's map element holds the 7 NHS England region polygons (``page_to_map_s``).
    """
    from playwright.sync_api import sync_playwright

    assert os.path.exists(CHROMIUM), "run `make browser`"
    phases: list[dict[str, float]] = []
    live: list[_BrowserRound] = []

    def setup() -> tuple[tuple[_BrowserRound], dict[str, Any]]:
        profile = tempfile.mkdtemp(prefix="epu-bench-")
        context = pw.chromium.launch_persistent_context(
            profile, executable_path=CHROMIUM, headless=True, args=BROWSER_ARGS,
            viewport={"width": 1280, "height": 900})
        page = context.new_page()
        live.append(_BrowserRound(context, page, profile))
        return (live[-1],), {}

    def cold_start(rnd: _BrowserRound) -> None:
        port = _free_port()
        t0 = time.perf_counter()
        rnd.proc = subprocess.Popen(
            [sys.executable, "-m", "epu_mapper.ui.serve", "--server.port", str(port),
             "--server.address", "127.0.0.1", "--server.headless", "true"],
            cwd=REPO_ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True)
        while True:
            try:
                with urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=1):
                    break
            except OSError:
                assert rnd.proc.poll() is None, "the app server exited"
                time.sleep(0.02)
        t_health = time.perf_counter()
        if target == "first_page":  # the Find a unit page, ready for a postcode
            rnd.page.goto(f"http://127.0.0.1:{port}/")
            rnd.page.get_by_label("Your postcode", exact=True).wait_for(timeout=60_000)
            t_map = time.perf_counter()
            phases.append({"server_boot_s": t_health - t0, "page_to_map_s": t_map - t_health})
            return
        rnd.page.goto(f"http://127.0.0.1:{port}/gaps")
        rnd.page.wait_for_function(
            "() => { const box = document.querySelector('.epu-map[aria-label^=\"Map: \"]');"
            " const map = box && box.epuLeafletMap; if (!map) return false; let n = 0;"
            " map.eachLayer(l => { if (l instanceof L.Polygon) n++; });"
            " return n >= 7; }", timeout=60_000)
        t_map = time.perf_counter()
        phases.append({"server_boot_s": t_health - t0, "page_to_map_s": t_map - t_health})

    def teardown(rnd: _BrowserRound) -> None:
        rnd.close()

    load_before = os.getloadavg()[0]
    with sync_playwright() as pw:
        try:
            benchmark.pedantic(cold_start, setup=setup, teardown=teardown, rounds=3, iterations=1)
        finally:
            for rnd in live:
                rnd.close()
    benchmark.extra_info["phases"] = phases
    benchmark.extra_info["load_average_before"] = load_before
    total = [p["server_boot_s"] + p["page_to_map_s"] for p in phases]
    print(f"\ncold start in the browser (server start -> choropleth drawn): "
          f"{', '.join(f'{t:.2f}' for t in total)} s, median {benchmark.stats['median']:.2f} s"
          f" (1-min load average {load_before:.2f} before, {os.getloadavg()[0]:.2f} after);"
          " phases "
          + "; ".join(f"boot {p['server_boot_s']:.2f} + page {p['page_to_map_s']:.2f}"
                      for p in phases))
    assert benchmark.stats["median"] <= (FIRST_PAGE_S if target == "first_page" else COLD_START_S)


_IDLE_JS = ("() => !document.querySelector('[data-testid=\"stStatusWidget\"] "
            "[data-testid=\"stStatusWidgetRunningIcon\"]')")
#: Real postcodes (Code-Point Open), one per round of the Find interaction.
POSTCODES = ("LE15 6RB", "CB2 0QQ", "OX3 9DU", "NG7 2UH")


#: Installed in the page before each interaction: the time of the click (the pointerdown
#: event's own timestamp) and of the first animation frame in which ``shown()`` holds (the new
#: content, and the page's map redrawn where it has one) and Streamlit is idle, both on the
#: page's clock. ``shown`` reads ``textContent`` only (no forced
#: layout), once per frame and only in frames after the page changed.
_WATCH_JS = """(shown) => {
  const test = new Function('return (' + shown + ')();');
  const idle = () => !document.querySelector(
    '[data-testid="stStatusWidget"] [data-testid="stStatusWidgetRunningIcon"]');
  const w = window.__epuWatch = {click: null, shown: null};
  document.addEventListener('pointerdown', e => { if (w.click === null) w.click = e.timeStamp; },
                            {capture: true, once: true});
  let queued = false;
  const check = () => {
    queued = false;
    if (w.shown === null && w.click !== null && test() && idle()) {
      w.shown = performance.now(); obs.disconnect();
    }
  };
  const obs = new MutationObserver(() => {
    if (!queued) { queued = true; requestAnimationFrame(check); } });
  obs.observe(document.body, {childList: true, subtree: true, characterData: true,
                              attributes: true});
}"""


def _text_shown(text: str, map_title: str | None = None) -> str:
    """The page-side test of :data:`_WATCH_JS`: ``text`` is in the document and, if given, a
    map's accessible name (set by the map's own script once it has drawn the new layers, see
    ``maps.MapName``) contains ``map_title``, so the interaction includes its map."""
    test = f"document.body.textContent.includes({json.dumps(text)})"
    if map_title is not None:
        test += (" && [...document.querySelectorAll('.epu-map[aria-label^=\"Map: \"]')]"
                 f".some(f => f.getAttribute('aria-label').includes({json.dumps(map_title)}))")
    return f"() => {test}"


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds used so far by process ``pid`` (all its threads)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _wait_until_quiet(pid: int, share: float = 0.05, window_s: float = 0.5,
                      timeout_s: float = 60.0) -> None:
    """Wait until the app server uses under ``share`` of a core over ``window_s``: its
    warm-up (context, what-if, imports, postcode index, water model) has finished."""
    deadline = time.monotonic() + timeout_s
    before = _cpu_seconds(pid)
    while time.monotonic() < deadline:
        time.sleep(window_s)
        now = _cpu_seconds(pid)
        if now - before < share * window_s:
            return
        before = now
    raise AssertionError("the app server did not go quiet")


def _timed(page, act, shown: str, ready) -> tuple[float, float]:
    """One interaction, timed twice (seconds).

    * **in the page** (the figure asserted): from the click's ``pointerdown`` event until the
      first frame that shows the new content (``shown``, see :data:`_WATCH_JS`) with Streamlit
      idle, on the page's own clock. Playwright waits meanwhile with a slow poll (100 ms), so
      its own work stays off the page's main thread.
    * **wall clock** (printed for comparison): from calling ``act()`` (Playwright's click:
      locating, scrolling, stability checks) until ``ready()`` (a Playwright locator wait)
      returns and Streamlit is idle; both waits run Playwright's queries in the page on every
      frame, on the same two cores.

    ``ready()`` is also the functional check: the new content is really there and visible.
    """
    page.evaluate(_WATCH_JS, shown)
    t0 = time.perf_counter()
    act()
    page.wait_for_function("() => window.__epuWatch.shown !== null", polling=100,
                           timeout=60_000)
    ready()
    page.wait_for_function(_IDLE_JS, timeout=60_000)
    wall = time.perf_counter() - t0
    click, shown_at = page.evaluate("() => [window.__epuWatch.click, window.__epuWatch.shown]")
    return (shown_at - click) / 1000.0, wall


def test_browser_interactions(env):
    """Each interaction of the main pages in a real browser, median of 3 (see the module
    docstring). Prints every time; asserts the median of each interaction <= 0.5 s."""
    from playwright.sync_api import sync_playwright

    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "epu_mapper.ui.serve", "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true"],
        cwd=REPO_ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    times: dict[str, list[float]] = {}
    wall_times: dict[str, list[float]] = {}

    def _record(into: dict[str, list[float]], name: str, timing: tuple[float, float]) -> None:
        into.setdefault(name, []).append(timing[0])
        wall_times.setdefault(name, []).append(timing[1])

    profile = tempfile.mkdtemp(prefix="epu-bench-")
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urlopen(f"{url}/_stcore/health", timeout=1):
                    break
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline
                time.sleep(0.1)
        with sync_playwright() as pw:
            ctx = pw.chromium.launch_persistent_context(
                profile, executable_path=CHROMIUM, headless=True, args=BROWSER_ARGS,
                viewport={"width": 1280, "height": 900})
            page = ctx.new_page()
            page.set_default_timeout(120_000)
            page.goto(f"{url}/")
            page.get_by_label("Your postcode", exact=True).wait_for()
            # warm: the first postcode loads the postcode index and water model (warm-up)
            page.get_by_label("Your postcode", exact=True).fill(POSTCODES[-1])
            page.get_by_role("button", name="Find units").click()
            page.get_by_text(f"Units nearest {POSTCODES[-1]}").wait_for()
            page.wait_for_function(_IDLE_JS)
            _wait_until_quiet(proc.pid)  # "a warm server": its warm-up has finished
            for rnd, postcode in enumerate(POSTCODES[:3]):
                page.get_by_label("Your postcode", exact=True).fill(postcode)
                _record(times, "find: new postcode", _timed(
                    page, lambda: page.get_by_role("button", name="Find units").click(),
                    _text_shown(f"Units nearest {postcode}", f"your postcode {postcode}"),
                    lambda pc=postcode: page.get_by_text(f"Units nearest {pc}").wait_for()))
                more = page.get_by_role("button", name="more units")
                if more.count():
                    _record(times, "find: show more", _timed(
                        page, more.first.click,
                        "() => { const n = [...document.querySelectorAll('a')].filter("
                        "a => a.textContent.trim() === 'Directions').length; return n >= 5 &&"
                        " [...document.querySelectorAll('.epu-map[aria-label^=\"Map: the \"]')]"
                        ".some(f => f.getAttribute('aria-label').startsWith("
                        "'Map: the ' + n + ' units')); }",
                        lambda: page.get_by_role("link", name="Directions").nth(4).wait_for()))
                del rnd
            presets = ("Weekday 20:00", "Saturday 10:00", "Sunday 03:00")
            for preset in presets:
                page.goto(f"{url}/")
                page.get_by_label("Your postcode", exact=True).wait_for()
                page.wait_for_function(_IDLE_JS)
                _record(times, "switch page: find -> gaps", _timed(
                    page, lambda: page.get_by_role("link", name="Regional gaps").click(),
                    _text_shown("Ranked, worst first", "Map: % within 60 min"),
                    lambda: page.get_by_text("Ranked, worst first").wait_for()))
                ranked = f"Ranked, worst first — % within 60 min of an open unit — {preset}"
                _record(times, "gaps: time of week", _timed(
                    page, lambda p=preset: page.get_by_text(p, exact=True).first.click(),
                    _text_shown(ranked, f"— {preset}"),
                    lambda r=ranked: page.get_by_text(r).wait_for()))
                _record(times, "gaps: map view", _timed(
                    page, lambda: page.get_by_text("Width of the range").first.click(),
                    _text_shown("Map: Width of the range", "Map: Width of the range"),
                    lambda: page.get_by_text("Map: Width of the range").wait_for()))
            for k in range(3):
                page.goto(f"{url}/scenarios")
                page.get_by_role("tab", name="Pick from the ranking").click()
                page.get_by_role("button", name="Try this unit").wait_for()
                page.wait_for_function(_IDLE_JS)
                if k:  # a different ranked unit each round (no cache hit), by keyboard
                    page.get_by_label("Unit to try").click()
                    for _ in range(k):
                        page.keyboard.press("ArrowDown")
                    page.keyboard.press("Enter")
                    page.wait_for_function(_IDLE_JS)
                _record(times, "scenarios: try a ranked unit", _timed(
                    page, lambda: page.get_by_role("button", name="Try this unit").click(),
                    _text_shown("Person-hours gained per week", "Map: Change in %"),
                    lambda: page.get_by_text("Person-hours gained per week").wait_for()))
            ctx.close()
    finally:
        print(f"\ninteraction times so far: {times}")
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=10)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(proc.pid, signal.SIGKILL)
        shutil.rmtree(profile, ignore_errors=True)
    medians = {name: sorted(v)[len(v) // 2] for name, v in times.items() if v}
    print(f"\nbrowser interactions, click -> new content shown and Streamlit idle, in the page"
          f" (wall clock with Playwright's click and waits in brackets; 1-min load average"
          f" {os.getloadavg()[0]:.2f}):")
    for name, v in times.items():
        walls = ", ".join(f"{t:.2f}" for t in wall_times[name])
        print(f"  {name}: {', '.join(f'{t:.2f}' for t in v)} s; median {medians.get(name, 0):.2f} s"
              f" (wall {walls})")
    slow = {name: m for name, m in medians.items() if m > INTERACTION_S}
    assert not slow, slow


@pytest.mark.parametrize("level", ["nhs_region", "lad", "scot_hb"])
def test_slider_change_server_time(benchmark, env, monkeypatch, level):
    from streamlit.testing.v1 import AppTest

    for k, v in env.items():
        monkeypatch.setenv(k, v)
    at = AppTest.from_file(str(REPO_ROOT / "app.py"), default_timeout=60)
    at.run()
    at.switch_page("epu_mapper/ui/pages/gaps.py")
    at.run()
    at.selectbox(key="gaps_level").set_value(level)
    at.radio(key="gaps_preset").set_value("Choose an hour")
    at.run()
    assert not at.exception
    hours = itertools.cycle([h for h in range(168) if h != 59])  # 59 = the slider default
    seen: set[int] = set()

    def setup():
        h = next(hours)
        seen.add(h)
        at.select_slider(key="gaps_hour").set_value(h)
        return (), {}

    def rerun():
        at.run()

    benchmark.pedantic(rerun, setup=setup, rounds=20, iterations=1)
    assert not at.exception, [e.value for e in at.exception]
    assert len(seen) == 20  # every round a new hour: no cache hit
    print(f"\nslider change (gaps page, level {level}, new hour each round): "
          f"median {benchmark.stats['median'] * 1000:.0f} ms, max {benchmark.stats['max'] * 1000:.0f} ms")
    assert benchmark.stats["median"] <= SLIDER_S
