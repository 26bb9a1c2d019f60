"""The light part of the Streamlit glue: what every page's first run needs.

The error guard, the UK clock and the safety banner. This module imports
Streamlit, the standard library and the error types only, so the first page a visitor opens
(Find a unit: a title, the safety banner and a form) is drawn without first importing the
analysis stack (pandas, GeoPandas, folium, SQLAlchemy: about 2.5 s of imports on a small
machine). The heavy glue is :mod:`epu_mapper.ui.common`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

import streamlit as st

from epu_mapper.errors import BuildMissingError, DataDirectoryError, EpuMapperError
from epu_mapper.settings import TIMEZONE
from epu_mapper.ui import serve

#: The urgent advice, on the patient page above the form and again above the results.
SAFETY_MESSAGE = (
    "**If you have heavy bleeding, severe pain or feel faint: call 999 or go to A&E now.** "
    "For advice, call NHS 111 (in Scotland NHS 24 on 111)."
)
#: The banner's icon: a Material Symbol, which Streamlit bundles (an emoji needs a system font).
SAFETY_ICON = ":material/warning:"


def uk_now() -> datetime:
    """Current UK local time, naive (the ``hours`` convention)."""
    return datetime.now(ZoneInfo(TIMEZONE)).replace(tzinfo=None, second=0, microsecond=0)


def base_url_path() -> str:
    """Streamlit's ``server.baseUrlPath`` (for the static asset URLs)."""
    try:
        return str(st.get_option("server.baseUrlPath") or "")
    except Exception:  # noqa: BLE001 - option missing in exotic runtimes
        return ""


def safety_banner() -> None:
    """The plain safety message (shown on the patient page)."""
    st.error(SAFETY_MESSAGE, icon=SAFETY_ICON)


def guarded(page: Callable[[], None]) -> Callable[[], None]:
    """Run a page; user-facing errors become messages (never a traceback).

    The run's start and end are reported to the launcher's warm-up
    (:func:`epu_mapper.ui.serve.page_started`, :func:`epu_mapper.ui.serve.page_ran`), which
    waits for the first page to be drawn before it loads anything heavy.
    """

    @functools.wraps(page)
    def wrapper() -> None:
        serve.page_started()
        try:
            page()
        except DataDirectoryError as exc:
            from epu_mapper.ui.common import DATA_HINT
            from epu_mapper.ui.format import md_escape

            st.error(f"The raw data folder is not available. {md_escape(exc)}")
            st.info(DATA_HINT)
        except BuildMissingError as exc:
            from epu_mapper.ui.common import offer_build

            offer_build(exc)
        except EpuMapperError as exc:
            from epu_mapper.ui.format import md_escape

            st.error(md_escape(exc))  # messages echo what was typed: never Markdown
        finally:
            serve.page_ran()

    return wrapper
