"""Streamlit's browser code, fetched ahead of need: the first page's and later pages' chunks.

Streamlit's frontend is split into chunks (one per element type, plus the helpers they share)
that the browser fetches only when an element first appears. Two things use that:

* the first page: :func:`install_index_preloads` lists the chunks the Find page's form draws
  (:data:`FIRST_PAGE_CHUNKS`) and everything they import as ``<link rel="modulepreload">`` in
  the page's HTML, so the browser fetches them while it loads the main bundle, instead of
  one import level at a time after the first script run (a waterfall of about 0.5 s);
* later interactions: :func:`preload_frontend` imports the chunks of the charts, tables and
  maps other pages draw (:data:`PRELOAD_CHUNKS`), and Leaflet, a few seconds after the first
  page is up. It does so through the app's own page element
  (:mod:`epu_mapper.ui.page_element`), drawn on every page, so that element's frontend code
  is ready before a page draws its first map.

Chunk file names carry a content hash and change with every Streamlit release; they are
looked up by name in the installed package, and a name that is not found is left out (a test
fails loudly when an upgrade renames them).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import streamlit as st

#: Streamlit frontend chunks that are loaded only when an element first appears on a page (the
#: Vega-Lite chart alone is 0.8 MB of JavaScript). Loaded ahead, once the first page is up and
#: the browser is idle, they are not fetched and compiled inside the first interaction that
#: shows such an element.
PRELOAD_CHUNKS = ("ArrowVegaLiteChart", "DataFrame", "Metric",
                  "DownloadButton", "LinkButton", "Radio", "Selectbox", "StreamlitMarkdown")
#: The chunks of the elements the first page (Find a unit's form) draws: the style block
#: (``st.html``), the "When" choice, the postcode box, the weeks box and the tick box, and the
#: preloader (the app's page element, a v2 component).
FIRST_PAGE_CHUNKS = ("Html", "Radio", "TextInput", "NumberInput", "Checkbox", "BidiComponent")
#: Seconds after the page has loaded before :data:`PRELOAD_CHUNKS` are imported (when the
#: browser is next idle): the first page's own chunks come first.
PRELOAD_DELAY_MS = 3000
_CHUNK = re.compile(r"^([A-Za-z]+)\.[A-Za-z0-9_-]+\.js$")
_STATIC_IMPORT = re.compile(r'(?:\bfrom|\bimport)\s*"\./([A-Za-z0-9_.-]+\.js)"')
JS_DIR = Path(st.__file__).parent / "static" / "static" / "js"


def frontend_chunks(js_dir: Path, wanted: Iterable[str] = PRELOAD_CHUNKS) -> list[str]:
    """File names of the ``wanted`` chunks in Streamlit's built frontend folder.

    Parameters
    ----------
    js_dir : Path
        Streamlit's ``static/static/js`` folder.
    wanted : iterable of str
        Chunk names without their content hash (``"ArrowVegaLiteChart"``).

    Returns
    -------
    list of str
        E.g. ``["ArrowVegaLiteChart.C1pLU68S.js"]``, in the order of ``wanted``; a chunk not
        found (another Streamlit version) is left out. Empty when the folder is missing.
    """
    try:
        names = sorted(p.name for p in js_dir.iterdir())
    except OSError:
        return []
    found = {m.group(1): n for n in names if (m := _CHUNK.match(n))}
    return [found[w] for w in wanted if w in found]


def chunk_closure(js_dir: Path, files: Iterable[str]) -> list[str]:
    """``files`` and every chunk they import statically, directly or not (breadth first).

    Parameters
    ----------
    js_dir : Path
        Streamlit's ``static/static/js`` folder.
    files : iterable of str
        Chunk file names (``"TextInput.MPWivlu9.js"``).

    Returns
    -------
    list of str
        File names, each once, the given ones first; a file that cannot be read contributes
        no imports. Dynamic imports (``import("./x.js")``) are not followed.
    """
    order: list[str] = []
    queue = list(files)
    while queue:
        name = queue.pop(0)
        if name in order:
            continue
        order.append(name)
        try:
            text = (js_dir / name).read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        queue.extend(m.group(1) for m in _STATIC_IMPORT.finditer(text))
    return order


def index_with_preloads(html: str, files: Iterable[str]) -> str:
    """Streamlit's ``index.html`` with a ``modulepreload`` link for each of ``files``.

    Files the page already references are skipped; only names matching a chunk file name
    (letters, digits, ``._-``) are written. Returned unchanged without a ``</head>``.
    """
    links = "".join(f'<link rel="modulepreload" crossorigin href="./static/js/{name}">'
                    for name in files
                    if re.fullmatch(r"[A-Za-z0-9_.-]+\.js", name) and f"/{name}" not in html)
    if not links or "</head>" not in html:
        return html
    return html.replace("</head>", links + "</head>", 1)


@functools.cache
def first_page_index(static_dir: str) -> bytes | None:
    """The patched ``index.html`` of Streamlit's static folder (None if it cannot be read)."""
    root = Path(static_dir)
    try:
        html = (root / "index.html").read_text(encoding="utf-8")
    except OSError:
        return None
    js_dir = root / "static" / "js"
    files = chunk_closure(js_dir, frontend_chunks(js_dir, FIRST_PAGE_CHUNKS))
    return index_with_preloads(html, files).encode("utf-8")


def install_index_preloads() -> bool:
    """Serve Streamlit's ``index.html`` with the first page's chunks preloaded.

    Wraps the static file handler Streamlit's server creates, so its answer for the page
    HTML (``/`` and every page path) carries the ``modulepreload`` links of
    :func:`first_page_index`; every other file, header and status is Streamlit's own.

    Returns
    -------
    bool
        True when installed (False on a Streamlit without that handler).
    """
    try:
        from streamlit.web.server.starlette import starlette_static_routes as routes
    except ImportError:
        return False
    original = routes.create_streamlit_static_handler
    if getattr(original, "epu_index_preloads", False):
        return True
    from streamlit import file_util

    # built now, while the server boots, not inside the first visitor's first request
    first_page_index(str(file_util.get_static_dir()))

    def create(directory: str, base_url: str | None) -> Any:
        handler = original(directory, base_url)
        get_response = handler.get_response

        async def patched(path: str, scope: Any) -> Any:
            response = await get_response(path, scope)
            served = getattr(response, "path", "")
            if str(served).endswith("index.html") and response.status_code == 200:
                body = first_page_index(directory)
                if body is not None:
                    from starlette.responses import Response

                    headers = {k: v for k, v in response.headers.items()
                               if k.lower() not in {"content-length", "etag", "last-modified"}}
                    return Response(body, status_code=200, headers=headers,
                                    media_type="text/html")
            return response

        handler.get_response = patched  # type: ignore[method-assign]
        return handler

    create.epu_index_preloads = True  # type: ignore[attr-defined]
    routes.create_streamlit_static_handler = create
    return True


def preload_request(chunks: list[str]) -> list[str]:
    """The chunk file names the preloader may import.

    Only names matching :data:`_CHUNK` (letters, digits, ``._-``), which resolve next to the
    frontend's main module.
    """
    return [c for c in chunks if _CHUNK.match(c)]


@functools.cache
def _preload_chunks() -> tuple[str, ...]:
    return tuple(preload_request(frontend_chunks(JS_DIR)))


def preload_frontend() -> None:
    """Load what later interactions need, ahead.

    The frontend chunks of :data:`PRELOAD_CHUNKS` and Leaflet, :data:`PRELOAD_DELAY_MS` after
    the page has loaded, when the browser is idle
    (:func:`epu_mapper.ui.page_element.draw_preloader`).
    """
    from epu_mapper.ui import assets, page_element
    from epu_mapper.ui.shell import base_url_path

    page_element.draw_preloader(list(_preload_chunks()), PRELOAD_DELAY_MS,
                                assets.leaflet_urls(base_url_path()))
