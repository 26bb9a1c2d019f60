"""The app's own page element: maps drawn in the page, and the frontend preloader.

One Streamlit v2 component (``static/page_element.js``), drawn in the page itself rather than
in a frame. Given a map (:func:`epu_mapper.ui.leaflet_payload.map_payload`) it draws it with
the app's local Leaflet; given a preload request it loads what later pages need once the page
is idle. Light imports only: the first page draws the preloader.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import streamlit as st

#: The element's script (an ES module).
ELEMENT_JS = Path(__file__).parent / "static" / "page_element.js"
#: The component's name (unique in the app).
ELEMENT_NAME = "epu_mapper.page_element"


@functools.cache
def _element() -> Callable[..., Any]:
    # declared on first use, which is inside a script run; a new runtime (AppTest) gets it
    # again from Streamlit when the element is drawn
    return st.components.v2.component(ELEMENT_NAME,
                                      js=ELEMENT_JS.read_text(encoding="utf-8"),
                                      isolate_styles=False)


def draw_map(payload: dict[str, Any], key: str, height: int) -> None:
    """Draw a map from :func:`epu_mapper.ui.leaflet_payload.map_payload` (``height`` px)."""
    _element()(key=key, data=payload, height=height, width="stretch")


def draw_preloader(chunks: list[str], delay_ms: int, leaflet: tuple[str, str]) -> None:
    """Draw the invisible preloader.

    After the page's load event and ``delay_ms``, when the browser is idle, it imports
    Streamlit's frontend ``chunks`` (file names) and loads Leaflet (``leaflet``: script URL,
    stylesheet URL).
    """
    _element()(key="epu_preloader", data={"preload": {
        "chunks": list(chunks), "delay_ms": int(delay_ms), "leaflet": list(leaflet)}},
        height="content", width="stretch")
