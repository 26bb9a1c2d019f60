"""Start the app (``make run``): ``streamlit run app.py`` plus a warm-up once the first page is up.

Streamlit runs the app script only when the first browser session connects, so without help
the first visitor to need data would wait for the heavy imports and for the api context
(units, areas, travel matrix, weekly open states) to load. Here a background thread does that
work, but only once the first page has been drawn: on a two-core machine, loading the context
and the analysis stack (several seconds of interpreter-bound work) while the server boots and
sends the browser its frontend made the first page take about 6.5 s instead of about 4.

The first page (Find a unit) needs none of it: its first run draws a title, the safety banner
and a form with light modules only (:mod:`epu_mapper.ui.shell`). The warm-up starts
:data:`FIRST_PAGE_GRACE_S` after the first page run has finished (:func:`page_ran`; the browser
is still fetching the frontend chunks that run drew), or :data:`FIRST_VISIT_WAIT_S` after the
server started when nobody has come, and never while a page run is in progress. It loads the
context, computes the Regional gaps page's default query, imports the page modules
(:data:`WARM_IMPORTS`), then loads the postcode index and the water model a first postcode
needs. A visitor whose first page needs the context before then (Regional gaps opened
directly) loads it in their own run. Any failure in the warm-up is ignored: the pages report
it themselves.

Usage: ``python -m epu_mapper.ui.serve [streamlit run options]``.
"""

from __future__ import annotations

import importlib
import logging
import sys
import threading
import time
from collections.abc import Sequence
from typing import Any

from epu_mapper.settings import REPO_ROOT
from epu_mapper.ui import frontend

_warm_thread: threading.Thread | None = None
#: The warm-up's default gaps table: (level, hour, bank_holiday, policy) -> (context, table).
_warm_tables: dict[tuple[str, int, bool | str, str], tuple[Any, Any]] = {}
_context_loading = threading.Event()
_context_ready = threading.Event()
_first_page_ran = threading.Event()
_runs_lock = threading.Lock()
_runs_in_progress = 0
#: Modules the pages import beyond the first page's light ones (folium's plugins are the bulk
#: of its own import time). None declares a component when imported (the app's page element
#: is declared on first use, inside a script run).
WARM_IMPORTS = ("folium", "folium.plugins", "epu_mapper.ui.format", "epu_mapper.ui.maps",
                "epu_mapper.ui.common", "epu_mapper.ui.find_results", "epu_mapper.upkeep")
#: The Regional gaps page's default query (level, hour of week, policy): its first map.
DEFAULT_GAPS = ("nhs_region", 2 * 24 + 11, "range")
#: Longest wait for a first visitor's page run before warming up anyway (seconds).
FIRST_VISIT_WAIT_S = 5.0
#: Pause after the first page run before warming up (seconds): the browser is still fetching
#: from this process the frontend chunks of the elements that run drew.
FIRST_PAGE_GRACE_S = 2.5
#: Longest wait for page runs in progress to end before warming up anyway (seconds).
RUNS_WAIT_S = 30.0


def wait_for_warm_up(timeout: float = 60.0) -> None:
    """Block while the warm-up is loading the context, so it is not loaded twice at once.

    Returns at once when the warm-up has not started loading it (the caller then loads it
    itself), when it is done, and when the app was not started through :func:`main` (e.g.
    ``streamlit run`` or tests).
    """
    thread = _warm_thread
    if (thread is not None and thread.is_alive() and thread is not threading.current_thread()
            and _context_loading.is_set()):
        _context_ready.wait(timeout)


def warm_gaps(ctx: Any, level: str, hour: int, bank_holiday: bool | str,
              policy: str) -> Any | None:
    """The warm-up's gaps table when it is exactly this query on this context, else None.

    Handed out once (the page's own cache keeps it), so the first Regional gaps page does not
    compute the default query a second time.

    Parameters
    ----------
    ctx : epu_mapper.api.Context
        The context the page uses (the warm-up's table is used only if it was computed on
        this very object).
    level, hour, bank_holiday, policy
        The page's query (arguments of :func:`epu_mapper.api.gaps`).

    Returns
    -------
    pandas.DataFrame or None
    """
    hit = _warm_tables.pop((level, hour, bank_holiday, policy), None)
    if hit is None or hit[0] is not ctx:
        return None
    return hit[1]


def page_started() -> None:
    """Record that a page script run has started (called by :func:`epu_mapper.ui.shell.guarded`)."""
    global _runs_in_progress
    with _runs_lock:
        _runs_in_progress += 1


def page_ran() -> None:
    """Record that a page script run has finished (called by :func:`epu_mapper.ui.shell.guarded`).

    The warm-up waits for the first one, so the first page is drawn with the interpreter to
    itself. Cheap and idempotent.
    """
    global _runs_in_progress
    with _runs_lock:
        _runs_in_progress = max(0, _runs_in_progress - 1)
    _first_page_ran.set()


def runs_in_progress() -> int:
    """How many page script runs have started and not yet finished."""
    with _runs_lock:
        return _runs_in_progress


def wait_for_first_page(first_visit_wait_s: float = FIRST_VISIT_WAIT_S,
                        grace_s: float = FIRST_PAGE_GRACE_S,
                        runs_wait_s: float = RUNS_WAIT_S) -> None:
    """Return once the first page is drawn (plus ``grace_s``), or when nobody came in time.

    In either case also wait (at most ``runs_wait_s``) for page runs in progress to end.
    """
    if _first_page_ran.wait(first_visit_wait_s):
        time.sleep(grace_s)
    deadline = time.monotonic() + runs_wait_s
    while runs_in_progress() and time.monotonic() < deadline:
        time.sleep(0.05)


#: One what-if of the Scenarios page's default kind (extra weekend hours for a unit, the
#: default policy and level): its first run fills the context's per-policy tables.
SCENARIO_WARM = ("Sa,Su 09:00-17:00", "exclude", "nation", "add")


def warm_scenarios(ctx: Any) -> None:
    """Run one what-if on ``ctx`` so its first-time tables are built (best effort).

    The first what-if on a context builds tables every later one reuses (the areas'
    deprivation and car groups, the regions' week within reach, the nearest open unit under
    the policy): about half a second, otherwise paid by the first visitor to try a scenario.
    """
    from epu_mapper import api

    hours, policy, level, mode = SCENARIO_WARM
    unit = str(ctx.mapped["unit_id"].iloc[0])
    api.whatif(ctx, {unit: hours}, policy=policy, level=level, mode=mode)


def warm(first_visit_wait_s: float = FIRST_VISIT_WAIT_S,
         grace_s: float = FIRST_PAGE_GRACE_S) -> None:
    """Load the api context, the page modules and the postcode index (best effort).

    Waits for the first page first (:func:`wait_for_first_page`). Then, in order: the api
    context and the Regional gaps page's default query (:data:`DEFAULT_GAPS`, the first map's
    work), one what-if (:func:`warm_scenarios`), the page modules (:data:`WARM_IMPORTS`), the postcode index and the water model.
    No module that declares a component is imported here (that must happen in a script run),
    and no Streamlit cache is filled (they bind to the running server);
    :func:`epu_mapper.api.load_context` keeps its own cache (keyed by the settings and the
    build files' times), which the app's sessions then hit.

    Parameters
    ----------
    first_visit_wait_s : float
        Longest wait for the first page run to finish (:func:`page_ran`).
    grace_s : float
        Further pause after it.
    """
    try:
        wait_for_first_page(first_visit_wait_s, grace_s)
        from epu_mapper import api
        from epu_mapper.settings import get_settings

        settings = get_settings()
        _context_loading.set()
        try:
            ctx = api.load_context(settings)
            level, hour, policy = DEFAULT_GAPS
            table = api.gaps(ctx, level, hour_of_week=hour, policy=policy)
            _warm_tables[(level, hour, False, policy)] = (ctx, table)
        finally:
            _context_ready.set()
        warm_scenarios(ctx)
        for module in WARM_IMPORTS:
            importlib.import_module(module)
        from epu_mapper import postcodes

        postcodes.get_index(settings)  # the patient page's first postcode lookup
        from epu_mapper.travel import water

        water.load_model(settings.build_dir)  # the water rule of the first postcode's times
    except Exception as exc:  # noqa: BLE001 - best effort; the app shows any real error itself
        logging.getLogger(__name__).info("warm-up skipped: %s", exc)
    finally:
        _context_ready.set()


#: Longest request path (characters) and path segment (UTF-8 bytes) the server will look up;
#: longer ones get 400 Bad Request instead of an operating-system error (HTTP 500).
MAX_PATH_CHARS = 2048
MAX_SEGMENT_BYTES = 255


def path_too_long(path: str) -> bool:
    """Whether a request path is too long to be a file this app serves.

    Parameters
    ----------
    path : str
        The URL path (without the query string).

    Returns
    -------
    bool
    """
    return len(path) > MAX_PATH_CHARS or any(
        len(part.encode("utf-8", "surrogatepass")) > MAX_SEGMENT_BYTES for part in path.split("/"))


def guard_long_paths() -> bool:
    """Make Streamlit's path-security middleware refuse over-long paths with 400.

    Streamlit's static file route asks the file system about any path it is given, and a
    name longer than the file system allows raises ``OSError`` (HTTP 500). The middleware
    already answers 400 to unsafe path patterns; this adds over-long paths to them.

    Returns
    -------
    bool
        True when the guard is installed (False on a Streamlit without that middleware).
    """
    try:
        from streamlit.web.server.starlette import starlette_path_security_middleware as mw
    except ImportError:
        return False
    original = mw.is_unsafe_path_pattern
    if getattr(original, "epu_long_path_guard", False):
        return True

    def unsafe(path: str) -> bool:
        return path_too_long(path) or original(path)

    unsafe.epu_long_path_guard = True  # type: ignore[attr-defined]
    mw.is_unsafe_path_pattern = unsafe
    return True


def skip_direct_run_check() -> bool:
    """Tell Streamlit its "run me with ``streamlit run``" check is done: this is ``streamlit run``.

    Streamlit makes that check when a process draws its first element, and it walks the whole
    call stack with :func:`inspect.stack`, reading the source of every frame: about 0.35 s
    inside the first visitor's first page run.

    Returns
    -------
    bool
        True when the flag was set (False on a Streamlit without it).
    """
    from streamlit import delta_generator

    if not hasattr(delta_generator, "_use_warning_has_been_displayed"):
        return False
    delta_generator._use_warning_has_been_displayed = True
    return True


def narrow_component_scan() -> bool:
    """Look for Streamlit's v2 component manifests only in packages named ``streamlit…``.

    At start-up Streamlit checks every installed package for such components, parsing each
    package's metadata several times (about 0.3 s before the server answers, with this
    project's 70-odd packages). Its own first test is the package name; the others read the
    summary and the dependencies. This app's only v2 component (its page element) is declared
    in code, with no package manifest, so the name test (on the ``.dist-info`` folder name,
    which needs no parsing) is enough: every package it names is still scanned as before.

    Returns
    -------
    bool
        True when installed (False on a Streamlit without that scanner).
    """
    try:
        from streamlit.components.v2 import manifest_scanner
    except ImportError:
        return False
    if not hasattr(manifest_scanner, "_is_likely_streamlit_component_package"):
        return False

    def named_like_streamlit(dist: Any) -> bool:
        folder = getattr(dist, "_path", None)
        name = getattr(folder, "name", None) or dist.name or ""
        return "streamlit" in str(name).lower()

    manifest_scanner._is_likely_streamlit_component_package = named_like_streamlit
    return True


def main(argv: Sequence[str] | None = None) -> None:
    """Start the warm-up thread, then hand over to ``streamlit run app.py``."""
    global _warm_thread
    guard_long_paths()
    skip_direct_run_check()
    narrow_component_scan()
    frontend.install_index_preloads()
    args = list(sys.argv[1:] if argv is None else argv)
    _warm_thread = threading.Thread(target=warm, name="epu-warm-up", daemon=True)
    _warm_thread.start()
    from streamlit.web import cli as stcli

    sys.argv = ["streamlit", "run", str(REPO_ROOT / "app.py"), *args]
    stcli.main()


if __name__ == "__main__":
    # ``python -m`` runs this file as ``__main__``, a second copy of the module; the pages
    # import ``epu_mapper.ui.serve``, so start the warm-up from that copy for them to see it.
    importlib.import_module("epu_mapper.ui.serve").main()
