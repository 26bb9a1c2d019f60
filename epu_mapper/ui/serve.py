"""Start the app (``make run``): ``streamlit run app.py`` plus a warm-up at server start.

Streamlit runs the app script only when the first browser session connects, so the first
visitor would wait for the heavy imports and for the api context (units, areas, travel matrix,
weekly open states) to load. Here a background thread does that work while the server boots
and the browser loads the frontend; the api's context cache then serves the first session.

The warm-up first imports what the first page (Find a unit) runs (:data:`FIRST_PAGE_IMPORTS`:
the corrections database layer behind the menu's review check is about 0.35 s of imports), then
does what the first map needs (context, the Regional gaps page's default query, page modules). The postcode index (about 1 s of mostly interpreter-bound work, needed only once
someone submits a postcode) is loaded :data:`POSTCODE_GRACE_S` after the first page run has
finished (:func:`page_ran`), so it competes neither with that run nor with this server sending
the browser the map's files; with no visitor it is loaded after :data:`POSTCODE_DELAY_S`.
Any failure in the warm-up is ignored: the pages report it themselves.

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

_warm_thread: threading.Thread | None = None
#: The warm-up's default gaps table: (level, hour, bank_holiday, policy) -> (context, table).
_warm_tables: dict[tuple[str, int, bool | str, str], tuple[Any, Any]] = {}
_context_ready = threading.Event()
_first_page_ran = threading.Event()
#: Modules the first page run would import, minus Streamlit-bound ones (``streamlit_folium``
#: declares its component when imported, which must happen inside a script run): folium's
#: plugins are the bulk of ``streamlit_folium``'s own import time.
WARM_IMPORTS = ("folium", "folium.plugins", "epu_mapper.ui.format", "epu_mapper.ui.maps")
#: Modules every first page run imports (the menu's review check imports ``upkeep`` and with it
#: SQLAlchemy; the Find page's own modules), loaded before the context so a first visitor's page
#: does not wait for them. None declares a component.
FIRST_PAGE_IMPORTS = ("epu_mapper.upkeep", "epu_mapper.ui.common", "epu_mapper.ui.suggest",
                      "epu_mapper.ui.hospitals_view", "epu_mapper.ui.patient_text",
                      # Streamlit's emoji catalogue (0.15 s), read by the safety banner's icon
                      "streamlit.emojis")
#: The Regional gaps page's default query (level, hour of week, policy): its first map.
DEFAULT_GAPS = ("nhs_region", 2 * 24 + 11, "range")
#: Longest wait for a first page run before the postcode index is loaded anyway (seconds).
POSTCODE_DELAY_S = 30.0
#: Pause after the first page run before loading the postcode index (seconds): the browser
#: is still fetching the map component, Leaflet and the boundaries from this process.
POSTCODE_GRACE_S = 3.0


def wait_for_warm_up(timeout: float = 60.0) -> None:
    """Block until a running warm-up has loaded the context, so it is not loaded twice at once.

    A no-op when the app was not started through :func:`main` (e.g. ``streamlit run`` or tests).
    """
    thread = _warm_thread
    if thread is not None and thread.is_alive() and thread is not threading.current_thread():
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


def page_ran() -> None:
    """Record that a page script run has finished (called by :func:`epu_mapper.ui.common.guarded`).

    The warm-up waits for this before loading the postcode index, so the first session's
    run has the interpreter to itself. Cheap and idempotent.
    """
    _first_page_ran.set()


def warm(postcode_delay_s: float = POSTCODE_DELAY_S,
         postcode_grace_s: float = POSTCODE_GRACE_S) -> None:
    """Import the page dependencies and load the api context (best effort).

    In order: the first page's modules (:data:`FIRST_PAGE_IMPORTS`), the api context and the
    Regional gaps page's default query (:data:`DEFAULT_GAPS`, the first map's work), the page
    modules (:data:`WARM_IMPORTS`), then, once the first page run has finished, the postcode
    index (after a grace period). No module that declares a component is imported here (that
    must happen in a script run), and no Streamlit cache is filled (they bind to the running
    server); :func:`epu_mapper.api.load_context`
    keeps its own cache (keyed by the settings and the build files' times), which the app's
    first session then hits.

    Parameters
    ----------
    postcode_delay_s : float
        Longest wait for the first page run to finish (:func:`page_ran`) before the postcode
        index is loaded.
    postcode_grace_s : float
        Further pause before loading the postcode index.
    """
    try:
        for module in FIRST_PAGE_IMPORTS:
            importlib.import_module(module)
        from epu_mapper import api
        from epu_mapper.settings import get_settings

        settings = get_settings()
        try:
            ctx = api.load_context(settings)
            level, hour, policy = DEFAULT_GAPS
            table = api.gaps(ctx, level, hour_of_week=hour, policy=policy)
            _warm_tables[(level, hour, False, policy)] = (ctx, table)
        finally:
            _context_ready.set()
        for module in WARM_IMPORTS:
            importlib.import_module(module)
        _first_page_ran.wait(postcode_delay_s)
        time.sleep(postcode_grace_s)
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


def main(argv: Sequence[str] | None = None) -> None:
    """Start the warm-up thread, then hand over to ``streamlit run app.py``."""
    global _warm_thread
    guard_long_paths()
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
