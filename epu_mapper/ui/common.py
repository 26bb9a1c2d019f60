"""Streamlit glue shared by the pages.

Cached context and results, the build button and the map widget. The light glue every first
page run needs (the error guard, the clock, the safety banner) is :mod:`epu_mapper.ui.shell`.

Pages stay thin: they read widgets, call these cached wrappers around
:mod:`epu_mapper.api`, and draw.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import folium
import streamlit as st

from epu_mapper import api, store
from epu_mapper.errors import (
    BuildDamagedError,
    BuildMissingError,
    DataDirectoryError,
    EpuMapperError,
)
from epu_mapper.settings import Settings, get_settings
from epu_mapper.ui import assets, leaflet_payload, maps, page_element, serve
from epu_mapper.ui.format import md_escape
from epu_mapper.ui.shell import base_url_path

MAP_HEIGHT = 460
DATA_HINT = (
    "Set the environment variable `EPU_MAPPER_DATA` to the folder holding the raw open data "
    "(for this project `../shared/data/raw` beside the repository), then restart the app "
    "(`make run` does this for you)."
)


@st.cache_resource(show_spinner="Loading units, areas and travel times…", max_entries=2)
def _load_context(stamp: str) -> Any:  # noqa: ARG001 - stamp: the cache key
    serve.wait_for_warm_up()  # the launcher may be loading it right now
    return api.load_context(get_settings())


def ctx_key() -> str:
    """Hashable stand-in for the context in ``st.cache_data`` keys (changes with every rebuild)."""
    return "|".join(f"{path}:{mtime}" for path, mtime in api.build_stamp(get_settings()))


def context() -> Any:
    """The shared api context (one per build; heavy, cached across sessions)."""
    return _load_context(ctx_key())


@st.cache_resource(show_spinner=False, max_entries=16)
def _prepared(level: str, key: str) -> maps.PreparedGeometry:  # noqa: ARG001 - key: the build stamp, part of the cache key
    # a shared resource, not copied data: the geometry is immutable (a frozen dataclass of
    # strings and tuples), and cache_data unpickled its hundreds of kilobytes on every run
    return maps.prepare_geometry(api.boundaries(level, get_settings()))


def boundaries(level: str) -> maps.PreparedGeometry:
    """A level's boundaries, serialised once per build and published as a static file.

    The browser fetches (and caches) the geometry instead of receiving it on every rerun.
    """
    return publish_geometry(_prepared(level, ctx_key()), level)


def publish_geometry(geometry: maps.PreparedGeometry, name: str,
                     static_dir: Path | None = None) -> maps.PreparedGeometry:
    """Write the geometry JSON to ``static/geo/<name>-<hash>.json`` (once.

    Content-addressed) and return it with its URL. Falls back to inline geometry when the folder is
    not writable.
    """
    static_dir = static_dir or assets.STATIC_DIR
    digest = hashlib.sha256(geometry.json.encode()).hexdigest()[:16]
    filename = f"{name}-{digest}.json"
    path = static_dir / "geo" / filename
    try:
        if not path.is_file():
            path.parent.mkdir(parents=True, exist_ok=True)
            store.write_text(path, geometry.json)
    except OSError:
        return geometry
    base = assets.static_url(base_url_path()).rsplit("/vendor/", 1)[0]
    return dataclasses.replace(geometry, url=f"{base}/geo/{filename}")


# ---------------------------------------------------------------------------
# the build button (the guard in ``shell`` offers it)
# ---------------------------------------------------------------------------


def offer_build(exc: BuildMissingError) -> None:
    """Explain what is missing or damaged and offer to (re)build it with a progress indicator."""
    if isinstance(exc, BuildDamagedError):
        st.error(f"A built file is damaged or unreadable: {exc.what}.")
        st.text(f"{exc.path}: {exc.reason}")  # plain text: file names and reasons are not Markdown
        st.caption(f"From a terminal: `{exc.command}`.")
        if st.button("Rebuild", key="rebuild_now", type="primary"):
            run_build(damaged=Path(exc.path))
        return
    st.warning(f"Some derived tables are missing: {exc.what}.")
    st.text(f"Looked for {exc.path}")
    st.caption(f"From a terminal: `{exc.command}` (or `make build`).")
    if st.button("Build the missing tables now", key="build_now", type="primary"):
        run_build()


def _forced(step_outputs: tuple[str, ...], damaged: Path | None, settings: Settings) -> bool:
    """Whether a build step must be forced because it wrote the damaged file."""
    if damaged is None:
        return False
    return any(Path(settings.build_dir / o) == damaged for o in step_outputs) or (
        damaged.name == "manifest.json")


def _build_steps(settings: Settings, damaged: Path | None = None) -> list[tuple[str, Callable[[], Any]]]:
    """The build as named steps (data steps, then the travel matrix).

    The step that wrote a ``damaged`` file (or every step, for a damaged manifest) is forced.
    """
    from epu_mapper import build as data_build
    from epu_mapper.travel import build_matrix

    steps: list[tuple[str, Callable[[], Any]]] = [
        (f"data: {step.name}",
         functools.partial(data_build.build, settings, only=[step.name], quiet=True,
                           force=_forced(tuple(step.outputs), damaged, settings)))
        for step in data_build.STEPS
    ]
    # the estimate is always built (the fallback); OSRM networks are built from the CLI
    force = damaged is not None and "travel" in damaged.parts
    steps.append(("travel matrix (estimate)", functools.partial(
        build_matrix, engine="estimate", settings=settings, progress=False, log=lambda _msg: None,
        force=force)))
    return steps


def run_build(damaged: Path | None = None) -> None:
    """Run every build step in-process with ``st.status`` and ``st.progress``.

    The step that wrote a ``damaged`` file is forced.
    """
    settings = get_settings()
    steps = _build_steps(settings, damaged)
    bar = st.progress(0.0, text="Starting the build…")
    with st.status("Building derived tables…", expanded=True) as status:
        t0 = time.perf_counter()
        for i, (name, fn) in enumerate(steps):
            bar.progress(i / len(steps), text=f"{name} ({i + 1}/{len(steps)})")
            st.write(f"Running {name}…")
            try:
                fn()
            except DataDirectoryError as exc:
                status.update(label="The build stopped", state="error")
                st.error(f"The raw data folder is not available: {md_escape(exc)}")
                st.info(DATA_HINT)
                return
            except EpuMapperError as exc:
                status.update(label="The build stopped", state="error")
                st.error(md_escape(exc))
                return
        bar.progress(1.0, text="Done")
        status.update(label=f"Build finished in {time.perf_counter() - t0:.0f} s", state="complete")
    _load_context.clear()
    st.cache_data.clear()
    st.button("Open the page", key="after_build")


# ---------------------------------------------------------------------------
# widgets
# ---------------------------------------------------------------------------


def show_map(m: folium.Map, key: str, name: str, height: int = MAP_HEIGHT) -> None:
    """Draw a folium map in the page; panning/zooming never reruns the script.

    The map is drawn by the app's page element (:mod:`epu_mapper.ui.page_element`), not in a
    frame: a new page or result shows its map without loading a frame and Leaflet again.
    Its data layers travel apart from the map itself
    (:func:`epu_mapper.ui.leaflet_payload.map_payload`), so a rerun that changes only the data
    redraws them in place.

    Parameters
    ----------
    m : folium.Map
        The map.
    key : str
        The widget key.
    name : str
        Its accessible name, saying what it shows (``"Map: …"``): the label of the map's
        region (:class:`epu_mapper.ui.maps.MapName`). A table next to the map holds the same
        facts.
    height : int
        Height in pixels.
    """
    if not assets.leaflet_present():
        st.warning("The local map library is missing: run `make assets` (the table below "
                   "holds the same information).")
        return
    payload = leaflet_payload.map_payload(m, key=key, name=name, height=height,
                                          base_url_path=base_url_path())
    page_element.draw_map(payload, key=key, height=height)


