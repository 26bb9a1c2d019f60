"""A folium map as the data of the app's page element (``static/page_element.js``).

Pure: folium in, a JSON-able dict out; no Streamlit. The map is drawn in the page itself, not
in a frame, so a page or a result that brings a new map loads no frame, no second copy of
Leaflet and no component bundle (with streamlit-folium's frames, 0.5–0.8 s of the 1.2–1.5 s
such a click took).

The dict holds two scripts, both rendered by folium:

* ``base``: the map, its tiles and its background outlines. The same on every rerun of a
  page (element names are fixed, not random), so the browser keeps the map and only
* ``layers``: everything else (data layers, legends, accessible name, fitted view) in one
  feature group, which the browser swaps in place when the data change.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import folium
from branca.element import Element, Figure

from epu_mapper.ui import maps
from epu_mapper.ui.assets import leaflet_urls

_UNSAFE_ID = re.compile(r"[^A-Za-z0-9_]")


def map_var(key: str) -> str:
    """The map's JavaScript variable and element id for the widget ``key``.

    ``map_<key>``, with anything but letters, digits and ``_`` replaced by ``_``.
    """
    return "map_" + _UNSAFE_ID.sub("_", key)


def _tree(element: Element) -> Iterator[Element]:
    """``element`` and all its descendants, parents first, in order."""
    yield element
    for child in element._children.values():
        yield from _tree(child)


def _fix_names(root: Element, prefix: str) -> None:
    """Name every element under ``root`` by its place (folium names them at random).

    The same map then renders to the same script on every rerun.
    """
    for i, element in enumerate(_tree(root)):
        if element is not root:
            element._id = f"{prefix}{i}"


def map_scripts(m: folium.Map, key: str = "map") -> tuple[str, str, str]:
    """Render ``m`` as the two scripts of its map element.

    Parameters
    ----------
    m : folium.Map
        A map from :func:`epu_mapper.ui.maps.base_map` with its layers. It is changed: its
        data layers move into a feature group (:func:`epu_mapper.ui.maps.split_layers`).
    key : str
        The widget key (the map's id in the page, see :func:`map_var`).

    Returns
    -------
    tuple of str
        ``(base, layers, group_var)``: the script creating the map (``var map_<key>``), the
        script creating its data layers in one feature group, and that group's variable.
    """
    group = maps.split_layers(m)
    m._id = map_var(key).removeprefix("map_")
    _fix_names(m, "b")
    figure = m.get_root()
    assert isinstance(figure, Figure)  # a folium map always sits in a Figure
    m.render()
    base = figure.script.render()
    # the group is rendered on its own: its parts are the scripts it adds to the figure
    _fix_names(group, "d")
    group._id = "data"
    group.add_to(m)
    before = set(figure.script._children)
    group.render()
    parts = [part for part_name, part in figure.script._children.items()
             if part_name not in before]
    return base, "".join(part.render() for part in parts), group.get_name()


def map_script(m: folium.Map) -> str:
    """All the Leaflet script the browser runs for ``m`` (base, then layers)."""
    base, layers, _ = map_scripts(m)
    return base + layers


def map_payload_bytes(m: folium.Map) -> int:
    """Size in bytes of the scripts the browser receives for the map (incl. inline data)."""
    return len(map_script(m).encode())


def map_payload(m: folium.Map, key: str, name: str, height: int,
                base_url_path: str = "") -> dict[str, Any]:
    """The data of the in-page map element for ``m``.

    Parameters
    ----------
    m : folium.Map
        A map from :func:`epu_mapper.ui.maps.base_map` with its layers (changed, see
        :func:`map_scripts`).
    key : str
        The widget key (the map's id in the page, see :func:`map_var`).
    name : str
        The map's accessible name, saying what it shows (``"Map: …"``,
        :class:`epu_mapper.ui.maps.MapName`).
    height : int
        Height in pixels.
    base_url_path : str
        Streamlit's ``server.baseUrlPath`` (for the URLs of the local Leaflet).

    Returns
    -------
    dict
        ``map_var``, ``base``, ``layers``, ``group_var``, ``height``, ``background`` and
        ``leaflet`` (``[script URL, stylesheet URL]``), as ``static/page_element.js`` reads them.
    """
    m.add_child(maps.MapName(name))
    base, layers, group_var = map_scripts(m, key)
    return {
        "map_var": map_var(key),
        "base": base,
        "layers": layers,
        "group_var": group_var,
        "height": int(height),
        "background": maps.BACKGROUND,
        "leaflet": list(leaflet_urls(base_url_path)),
    }
