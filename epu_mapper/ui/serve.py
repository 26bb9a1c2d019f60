"""Start the app (``make run``): ``streamlit run app.py`` plus a warm-up at server start.

Streamlit runs the app script only when the first browser session connects, so the first
visitor would wait for the heavy imports and for the api context (units, areas, travel matrix,
weekly open states) to load. Here a background thread does that work while the server boots
and the browser loads the frontend; the api's context cache then serves the first session. Any failure in the warm-up is ignored: the pages report it themselves.

Usage: ``python -m epu_mapper.ui.serve [streamlit run options]``.
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Sequence

from epu_mapper.settings import REPO_ROOT

_warm_thread: threading.Thread | None = None
_context_ready = threading.Event()


def wait_for_warm_up(timeout: float = 60.0) -> None:
    """Block until a running warm-up has loaded the context, so it is not loaded twice at once.

    A no-op when the app was not started through :func:`main` (e.g. ``streamlit run`` or tests).
    """
    thread = _warm_thread
    if thread is not None and thread.is_alive() and thread is not threading.current_thread():
        _context_ready.wait(timeout)


def warm() -> None:
    """Import the page dependencies and load the api context (best effort).

    Only non-Streamlit modules are touched here: components must be declared by the running
    server, and :func:`epu_mapper.api.load_context` keeps its own cache (keyed by the
    settings and the build files' times), which the app's first session then hits.
    """
    try:
        import folium  # noqa: F401

        from epu_mapper import api
        from epu_mapper.settings import get_settings

        settings = get_settings()
        try:
            ctx = api.load_context(settings)
            api.gaps(ctx, "nhs_region", hour_of_week=2 * 24 + 11)
        finally:
            _context_ready.set()
        from epu_mapper import postcodes

        postcodes.get_index(settings)  # the patient page's first postcode lookup
    except Exception as exc:  # noqa: BLE001 - best effort; the app shows any real error itself
        logging.getLogger(__name__).info("warm-up skipped: %s", exc)
    finally:
        _context_ready.set()


def main(argv: Sequence[str] | None = None) -> None:
    """Start the warm-up thread, then hand over to ``streamlit run app.py``."""
    global _warm_thread
    args = list(sys.argv[1:] if argv is None else argv)
    _warm_thread = threading.Thread(target=warm, name="epu-warm-up", daemon=True)
    _warm_thread.start()
    from streamlit.web import cli as stcli

    sys.argv = ["streamlit", "run", str(REPO_ROOT / "app.py"), *args]
    stcli.main()


if __name__ == "__main__":
    main()
