"""Folium maps that work offline, stay small and never render data as HTML.

* Leaflet comes from the app's own static folder (:mod:`epu_mapper.ui.assets`);
  folium's CDN defaults (jQuery, Bootstrap, Font Awesome, awesome-markers) are
  dropped because nothing here needs them.
* OpenStreetMap tiles are one layer on top of a plain background colour: with no
  internet the tiles fail quietly and the map still shows boundaries and markers.
* Points (units, hospitals, small areas) and polygons are drawn by small layers
  written here (:class:`PointsLayer`, :class:`ChoroplethLayer`): the data travel as
  one compact JSON array, markers go on a shared canvas renderer, and every tooltip
  is a DOM text node (``textContent``), so a unit name can never inject HTML.
* Colours are colour-blind safe: viridis bins for values, Okabe–Ito for states.

Everything here is pure (no Streamlit, no files): it takes DataFrames / GeoJSON
dicts and returns folium objects or strings.
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import folium
import numpy as np
import pandas as pd
import xyzservices
from branca.element import Element, MacroElement
from jinja2 import Template

from epu_mapper.ui.assets import leaflet_js_css

#: Viridis, 6 classes (dark = low). Colour-blind safe and readable in greyscale.
VIRIDIS_6 = ("#440154", "#414487", "#2a788e", "#22a884", "#7ad151", "#fde725")
#: Okabe–Ito colours for unit states.
STATE_COLOURS = {"open": "#0072B2", "closed": "#D55E00", "unknown": "#999999"}
NO_DATA_COLOUR = "#d9d9d9"
BACKGROUND = "#eef1f4"
UK_CENTER = (54.6, -3.4)
UK_BOUNDS = ((49.8, -8.7), (60.9, 1.9))
OSM_ATTRIBUTION = "© OpenStreetMap contributors (ODbL)"
OSM_TILES = xyzservices.TileProvider(name="OpenStreetMap",
                                     url="https://tile.openstreetmap.org/{z}/{x}/{y}.png",
                                     attribution=OSM_ATTRIBUTION)
#: Largest map payload (script + data) we allow, bytes.
MAP_BUDGET_BYTES = 2_000_000


def safe_json(value: Any) -> str:
    """JSON that is safe inside an inline ``<script>`` (no ``<``, ``>`` or ``&``)."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


# ---------------------------------------------------------------------------
# binning (pure)
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Bins:
    """Class edges and colours of a choropleth.

    ``edges`` has ``len(colours) + 1`` ascending values; class ``i`` holds
    ``edges[i] <= v < edges[i+1]`` (the last class is closed on the right).
    """

    edges: tuple[float, ...]
    colours: tuple[str, ...]

    def classify(self, values: Sequence[float] | np.ndarray | pd.Series) -> np.ndarray:
        """Class index per value; ``-1`` for NaN (no data)."""
        v = np.asarray(values, dtype=float)
        idx = np.searchsorted(np.asarray(self.edges[1:-1], dtype=float), v, side="right")
        idx = idx.astype(np.int64)
        idx[np.isnan(v)] = -1
        return idx

    def labels(self, fmt: str = "{:g}") -> list[str]:
        """Human labels, e.g. ``"20 to < 40"``; the last is ``">= 80"`` when open-ended."""
        out = []
        n = len(self.colours)
        for i in range(n):
            lo, hi = self.edges[i], self.edges[i + 1]
            if math.isinf(hi):
                out.append(f"{fmt.format(lo)} or more")
            elif i == n - 1:
                out.append(f"{fmt.format(lo)} to {fmt.format(hi)}")
            else:
                out.append(f"{fmt.format(lo)} to < {fmt.format(hi)}")
        return out


def make_bins(edges: Sequence[float], reverse: bool = False) -> Bins:
    """Bins with viridis colours for the given edges.

    Parameters
    ----------
    edges
        Ascending class edges (``n + 1`` values for ``n`` classes, ``n <= 6``).
    reverse
        ``True`` when higher values are worse, so the darkest colour still marks the
        worst areas.
    """
    n = len(edges) - 1
    if n < 1 or n > len(VIRIDIS_6):
        raise ValueError(f"need 2..{len(VIRIDIS_6) + 1} edges, got {len(edges)}")
    if any(b <= a for a, b in itertools.pairwise(edges)):
        raise ValueError("edges must be strictly ascending")
    pick = np.linspace(0, len(VIRIDIS_6) - 1, n).round().astype(int)
    colours = tuple(VIRIDIS_6[i] for i in pick)
    if reverse:
        colours = colours[::-1]
    return Bins(tuple(float(e) for e in edges), colours)


# ---------------------------------------------------------------------------
# folium elements (our own small Leaflet layers)
# ---------------------------------------------------------------------------


_TEXT_TIP_JS = """function(t){var d=document.createElement('div');d.textContent=t;return d;}"""

#: ``{{ load }}(draw)``: calls ``draw(data)`` with inline GeoJSON, or after fetching it from the
#: app's own static folder (same origin, browser-cached, so it is not re-sent on every rerun).
#: The page keeps each parsed file (``window.epuGeo``): a map redrawn in place for new data does
#: not fetch and parse its boundaries again.
_LOAD_MACRO = """
{% macro load(this) -%}
{%- if this.geometry_url -%}
function(draw){ var c = window.epuGeo || (window.epuGeo = {}); var u = {{ this.geometry_url }};
  (c[u] || (c[u] = fetch(u).then(function(r){ return r.json(); }))).then(draw); }
{%- else -%}
function(draw){ draw({{ this.geometry_json }}); }
{%- endif -%}
{%- endmacro %}
"""


class _Markup(Element):
    """Markup already rendered: added to the map's page as it is.

    branca adds each rendered part of a macro element as ``Element(text)``, which compiles the
    text as a new Jinja template on every render (for a choropleth, its class list and labels):
    tens of milliseconds per map and script run, for nothing.
    """

    def __init__(self, text: str) -> None:
        super().__init__()
        self._text = text

    def render(self, **kwargs: Any) -> str:  # noqa: ARG002 - branca's render signature
        return self._text


class LayerMacro(MacroElement):
    """A macro element that adds its rendered parts to the page as plain markup.

    Its ``header``, ``html`` and ``script`` macros are rendered once and added as
    :class:`_Markup`, not compiled again as templates.
    """

    def render(self, **kwargs: Any) -> None:
        """Add the rendered parts to the root figure, then render the children."""
        figure = self.get_root()
        parts = self._template.module.__dict__
        for part in ("header", "html", "script"):
            macro = parts.get(part)
            if macro is not None:
                getattr(figure, part).add_child(_Markup(macro(self, kwargs)),
                                                name=self.get_name())
        for child in self._children.values():
            child.render(**kwargs)


class PointsLayer(LayerMacro):
    """Circle markers on the map's canvas renderer from one compact JSON array.

    Each point is ``[lat, lon, style_index, tooltip_text]``; ``styles`` is a list of
    Leaflet path options. Tooltips are text nodes, never HTML.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = (function(){
            var tip = """ + _TEXT_TIP_JS + """;
            var styles = {{ this.styles_json }};
            var pts = {{ this.points_json }};
            var group = L.featureGroup();
            for (var i = 0; i < pts.length; i++) {
                var p = pts[i];
                var o = Object.assign({}, styles[p[2]]);
                var mk = L.circleMarker([p[0], p[1]], o);
                if (p[3]) { mk.bindTooltip(tip(p[3]), {sticky: false}); }
                mk.addTo(group);
            }
            group.addTo({{ this._parent.get_name() }});
            return group;
        })();
        {% endmacro %}
        """
    )

    def __init__(self, points: list[list[Any]], styles: list[dict[str, Any]], name: str):
        super().__init__()
        self._name = "PointsLayer"
        self.layer_name = name
        self.points_json = safe_json(points)
        self.styles_json = safe_json(styles)


class ChoroplethLayer(LayerMacro):
    """Polygons coloured by class, with text-only tooltips.

    The geometry arrives pre-serialised (:func:`prepare_geometry`, cached per level);
    each feature's ``_i`` property indexes the ``classes`` (``-1`` = no data) and
    ``tips`` arrays, so a slider change re-sends only two small arrays' worth of work
    on the server side.
    """

    _template = Template(_LOAD_MACRO + """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = L.featureGroup().addTo({{ this._parent.get_name() }});
        (function(){
            var tip = """ + _TEXT_TIP_JS + """;
            var colours = {{ this.colours_json }};
            var cls = {{ this.classes_json }};
            var tips = {{ this.tips_json }};
            var group = {{ this.get_name() }};
            ({{ load(this) }})(function(data){
                L.geoJSON(data, {
                    style: function(f){
                        var c = cls[f.properties._i];
                        return {color: '#ffffff', weight: {{ this.weight }}, opacity: 1,
                                fillOpacity: {{ this.fill_opacity }},
                                fillColor: c >= 0 ? colours[c] : '""" + NO_DATA_COLOUR + """'};
                    },
                    onEachFeature: function(f, l){
                        var t = tips[f.properties._i];
                        if (t) { l.bindTooltip(tip(t), {sticky: true}); }
                    }
                }).addTo(group);
            });
        })();
        {% endmacro %}
        """
    )

    def __init__(self, geometry: PreparedGeometry, classes: Sequence[int], tips: Sequence[str],
                 colours: Sequence[str], weight: float = 0.8, fill_opacity: float = 0.75):
        super().__init__()
        self._name = "ChoroplethLayer"
        self.geometry_json = "" if geometry.url else geometry.json
        self.geometry_url = safe_json(geometry.url) if geometry.url else ""
        self.classes_json = safe_json([int(c) for c in classes])
        self.tips_json = safe_json([str(t) for t in tips])
        self.colours_json = safe_json(list(colours))
        self.weight = float(weight)
        self.fill_opacity = float(fill_opacity)


@dataclass(frozen=True)
class PreparedGeometry:
    """A level's boundaries ready to draw: codes/names in feature order + safe JSON."""

    codes: tuple[str, ...]
    names: tuple[str, ...]
    json: str
    bounds: tuple[tuple[float, float], tuple[float, float]] | None
    #: Same-origin URL where the browser can fetch ``json`` (then it is not inlined).
    url: str | None = None

    @property
    def nbytes(self) -> int:
        """Size of the serialised geometry in bytes."""
        return len(self.json.encode())


def prepare_geometry(geojson: dict[str, Any]) -> PreparedGeometry:
    """Strip a FeatureCollection to geometry + ``_i`` and serialise it once.

    Parameters
    ----------
    geojson
        Features with ``properties.region_code`` and ``properties.region_name``.
    """
    codes, names, feats = [], [], []
    for i, f in enumerate(geojson.get("features", [])):
        p = f.get("properties") or {}
        codes.append(str(p.get("region_code", "")))
        names.append(str(p.get("region_name") or p.get("region_code") or ""))
        feats.append({"type": "Feature", "geometry": f.get("geometry"), "properties": {"_i": i}})
    data = {"type": "FeatureCollection", "features": feats}
    return PreparedGeometry(tuple(codes), tuple(names), safe_json(data), geojson_bounds(geojson))


class OutlineLayer(LayerMacro):
    """Boundary outlines (no fill): an offline background for point maps."""

    _template = Template(_LOAD_MACRO + """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = L.featureGroup().addTo({{ this._parent.get_name() }});
        (function(){
            var group = {{ this.get_name() }};
            ({{ load(this) }})(function(data){
                L.geoJSON(data, {
                    style: function(){ return {color: '#7a8793', weight: 1, fill: true,
                                               fillColor: '#ffffff', fillOpacity: 0.6}; },
                    interactive: false
                }).addTo(group);
                group.bringToBack();
            });
        })();
        {% endmacro %}
        """
    )

    def __init__(self, geometry: PreparedGeometry):
        super().__init__()
        self._name = "OutlineLayer"
        self.geometry_json = "" if geometry.url else geometry.json
        self.geometry_url = safe_json(geometry.url) if geometry.url else ""



#: ``(host) -> map``: the Leaflet map of a layer's host (the map, or the data feature group of
#: :func:`split_layers`, whose script the page's map element runs with ``epuMap`` bound to
#: the map, see ``static/page_element.js``).
_MAP_OF_JS = "function(h){ return h && h.getContainer ? h : epuMap; }"


class MapName(LayerMacro):
    """The map's accessible name (what it shows), for screen readers.

    Set, as plain text, on the map container (``role="region"`` + ``aria-label``); a new name
    comes with every redraw of the data layers.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function(){
            var name = {{ this.name_json }};
            var box = (""" + _MAP_OF_JS + """)({{ this._parent.get_name() }}).getContainer();
            box.setAttribute('role', 'region');
            box.setAttribute('aria-label', name);
        })();
        {% endmacro %}
        """
    )

    def __init__(self, name: str):
        super().__init__()
        self._name = "MapName"
        self.name = str(name)
        self.name_json = safe_json(self.name)


def map_name(m: folium.Map) -> str | None:
    """The accessible name given to ``m`` with :class:`MapName`, or None."""
    names = [c.name for c in m._children.values() if isinstance(c, MapName)]
    return names[-1] if names else None


class Legend(LayerMacro):
    """A legend control built from text nodes (title + colour swatches)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = (function(){
            var items = {{ this.items_json }};
            var ctl = L.control({position: 'topright'});
            ctl.onAdd = function(){
                var box = L.DomUtil.create('div', 'epu-legend');
                box.style.cssText = 'background:rgba(255,255,255,0.9);padding:4px 6px;' +
                    'font:11px/1.25 sans-serif;border-radius:4px;max-width:180px';
                var h = document.createElement('div');
                h.style.fontWeight = 'bold'; h.textContent = {{ this.title_json }};
                box.appendChild(h);
                items.forEach(function(it){
                    var row = document.createElement('div');
                    var sw = document.createElement('span');
                    sw.style.cssText = 'display:inline-block;width:10px;height:10px;margin-right:4px;' +
                        'vertical-align:middle;border:1px solid #555;background:' + it[0];
                    if (it[2]) { sw.style.borderRadius = '50%'; }
                    row.appendChild(sw);
                    row.appendChild(document.createTextNode(it[1]));
                    box.appendChild(row);
                });
                return box;
            };
            var host = {{ this._parent.get_name() }};
            if (host.getContainer) { ctl.addTo(host); } else {
                // inside a layer group: shown and removed with it
                new (L.Layer.extend({
                    onAdd: function(m){ ctl.addTo(m); },
                    onRemove: function(m){ m.removeControl(ctl); }
                }))().addTo(host);
            }
            return ctl;
        })();
        {% endmacro %}
        """
    )

    def __init__(self, title: str, items: Sequence[tuple[str, str]], round_swatches: bool = False):
        super().__init__()
        self._name = "Legend"
        self.title_json = safe_json(str(title))
        self.items_json = safe_json([[c, str(t), bool(round_swatches)] for c, t in items])


class FitView(LayerMacro):
    """Fit the map to ``((south, west), (north, east))`` (also from inside a feature group)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (""" + _MAP_OF_JS + """)({{ this._parent.get_name() }}).fitBounds({{ this.bounds_json }});
        {% endmacro %}
        """
    )

    def __init__(self, bounds: Sequence[Sequence[float]]):
        super().__init__()
        self._name = "FitView"
        self.bounds_json = safe_json([[float(v) for v in corner] for corner in bounds])


def split_layers(m: folium.Map) -> folium.FeatureGroup:
    """Move everything drawn on ``m`` but its tiles and outlines into one feature group.

    The map keeps only what is the same on every rerun (Leaflet, tiles, background, boundary
    outlines), so the page's map element keeps its map and swaps the group's layers in place
    when the data change (:mod:`epu_mapper.ui.leaflet_payload`), instead of building a new map
    and its boundaries each time. The outline (Find's map: the UK's coast and borders,
    thousands of vertices) is then built once per map, not again for every postcode.

    Parameters
    ----------
    m : folium.Map
        A map from :func:`base_map` with its layers, legends, name and bounds.

    Returns
    -------
    folium.FeatureGroup
        The layers, in their order; a fit to the map's bounds becomes :class:`FitView`.
    """
    group = folium.FeatureGroup(name="data", control=False)
    for key, child in list(m._children.items()):
        if isinstance(child, (folium.TileLayer, OutlineLayer)):
            continue
        del m._children[key]
        if isinstance(child, folium.map.FitBounds):
            child = FitView(child.bounds)
        group.add_child(child)
    return group


# ---------------------------------------------------------------------------
# builders
# ---------------------------------------------------------------------------


def base_map(
    center: tuple[float, float] = UK_CENTER,
    zoom: int = 5,
    bounds: tuple[tuple[float, float], tuple[float, float]] | None = None,
    tiles: bool = True,
    base_url_path: str = "",
) -> folium.Map:
    """A folium map using local Leaflet only, canvas markers, plain background.

    Parameters
    ----------
    center, zoom
        Initial view (ignored when ``bounds`` is given).
    bounds
        ``((south, west), (north, east))`` to fit.
    tiles
        Add the OpenStreetMap tile layer (loads only when online).
    base_url_path
        Streamlit ``server.baseUrlPath`` for the static asset URLs.
    """
    m = folium.Map(location=list(center), zoom_start=zoom, tiles=None, prefer_canvas=True,
                   control_scale=True, min_zoom=4, max_zoom=16)
    js, css = leaflet_js_css(base_url_path)
    # instance attributes win over folium's class-level CDN lists
    m.default_js = js
    m.default_css = css
    m.get_root().header.add_child(
        Element(f"<style>.leaflet-container{{background:{BACKGROUND};}}</style>"),
        name="epu_background",
    )
    if tiles:
        # a TileProvider, not a URL string: folium would search all of xyzservices' provider
        # names for a string first (about 60 ms on every map)
        folium.TileLayer(tiles=OSM_TILES, attr=OSM_ATTRIBUTION, name="OpenStreetMap",
                         max_zoom=19).add_to(m)
    if bounds is not None:
        m.fit_bounds([list(bounds[0]), list(bounds[1])])
    return m


def add_outline(m: folium.Map, geometry: PreparedGeometry | dict[str, Any] | None) -> folium.Map:
    """Draw region outlines (e.g. nations) as an offline background."""
    if isinstance(geometry, dict):
        geometry = prepare_geometry(geometry) if geometry.get("features") else None
    if geometry is not None and geometry.codes:
        m.add_child(OutlineLayer(geometry))
    return m


def add_choropleth(
    m: folium.Map,
    geometry: PreparedGeometry,
    values: pd.DataFrame,
    bins: Bins,
    title: str,
    fmt: str = "{:g}",
) -> folium.Map:
    """Colour regions by a value.

    Parameters
    ----------
    geometry
        From :func:`prepare_geometry` (the ``boundaries/<level>.geojson`` contract).
    values
        Columns ``region_code``, ``value`` (float, NaN = no data) and ``text``
        (tooltip line, plain text). Regions absent from ``values`` show "no data".
    bins
        Classes from :func:`make_bins`.
    title
        Legend title.
    """
    codes = pd.Index(geometry.codes)
    v = values.drop_duplicates("region_code").set_index("region_code")
    aligned = v.reindex(codes)
    cls = bins.classify(aligned["value"].to_numpy(dtype=float))
    text = aligned["text"].astype(object).where(aligned["text"].notna(), "no data")
    tips = [f"{n}: {t}" for n, t in zip(geometry.names, text, strict=True)]
    m.add_child(ChoroplethLayer(geometry, cls.tolist(), tips, bins.colours))
    items = list(zip(bins.colours, bins.labels(fmt), strict=True))
    if (cls < 0).any():
        items.append((NO_DATA_COLOUR, "no data"))
    m.add_child(Legend(title, items))
    return m


def _state_style(state: str) -> dict[str, Any]:
    colour = STATE_COLOURS.get(state, STATE_COLOURS["unknown"])
    style: dict[str, Any] = {"radius": 7, "color": "#222222", "weight": 1.2,
                             "fillColor": colour, "fillOpacity": 0.9}
    if state == "unknown":
        style.update(dashArray="3,3", fillOpacity=0.6)
    if state == "closed":
        style.update(radius=6)
    return style


STATE_ORDER = ("open", "closed", "unknown")


def add_units(m: folium.Map, units: pd.DataFrame, legend: bool = True,
              label: str = "EPUs") -> folium.Map:
    """Unit markers coloured by state.

    Parameters
    ----------
    units
        Columns ``lat``, ``lon``, ``unit_name`` and optionally ``state``
        (``open``/``closed``/``unknown``) and ``tip`` (tooltip text; defaults to
        ``unit_name (state)``). Rows without coordinates are skipped.
    """
    df = units.dropna(subset=["lat", "lon"])
    states = df["state"].astype(str) if "state" in df else pd.Series("unknown", index=df.index)
    styles = [_state_style(s) for s in STATE_ORDER]
    idx = states.map({s: i for i, s in enumerate(STATE_ORDER)}).fillna(2).astype(int)
    if "tip" in df:
        tips = df["tip"].astype(str)
    else:
        tips = df["unit_name"].astype(str) + " (" + states.map(_STATE_WORDS).fillna(states) + ")"
    pts = [[round(float(a), 5), round(float(b), 5), int(c), str(t)]
           for a, b, c, t in zip(df["lat"], df["lon"], idx, tips, strict=True)]
    m.add_child(PointsLayer(pts, styles, label))
    if legend:
        present = [s for s in STATE_ORDER if (states == s).any()] or list(STATE_ORDER)
        m.add_child(Legend(label, [(STATE_COLOURS[s], _STATE_WORDS[s]) for s in present],
                           round_swatches=True))
    return m


_STATE_WORDS = {"open": "open now", "closed": "closed", "unknown": "hours unknown"}


def add_hospitals(m: folium.Map, hospitals: pd.DataFrame, tip_prefix: str = "") -> folium.Map:
    """Acute hospital sites as small hollow squares-ish rings (no EPU information held).

    Parameters
    ----------
    hospitals
        Columns ``lat``, ``lon``, ``name``.
    """
    df = hospitals.dropna(subset=["lat", "lon"])
    style = {"radius": 5, "color": "#000000", "weight": 1.5, "fill": True,
             "fillColor": "#ffffff", "fillOpacity": 0.9}
    pts = [[round(float(a), 5), round(float(b), 5), 0, f"{tip_prefix}{n}"]
           for a, b, n in zip(df["lat"], df["lon"], df["name"].astype(str), strict=True)]
    m.add_child(PointsLayer(pts, [style], "hospitals"))
    return m


def add_origin(m: folium.Map, lat: float, lon: float, label: str) -> folium.Map:
    """The patient's postcode: a black ring on white."""
    style = {"radius": 9, "color": "#000000", "weight": 3, "fillColor": "#ffffff",
             "fillOpacity": 1.0}
    m.add_child(PointsLayer([[round(lat, 5), round(lon, 5), 0, label]], [style], "origin"))
    return m


def add_values_points(m: folium.Map, points: pd.DataFrame, bins: Bins, title: str,
                      fmt: str = "{:g}") -> folium.Map:
    """Small-area points coloured by a value.

    Parameters
    ----------
    points
        Columns ``lat``, ``lon``, ``value`` (NaN = no data) and ``text`` (tooltip).
    """
    df = points.dropna(subset=["lat", "lon"])
    cls = bins.classify(df["value"].to_numpy())
    styles = [{"radius": 4, "stroke": False, "fillColor": c, "fillOpacity": 0.85}
              for c in (*bins.colours, NO_DATA_COLOUR)]
    no_data = len(bins.colours)
    pts = [[round(float(a), 4), round(float(b), 4), int(c) if c >= 0 else no_data, str(t)]
           for a, b, c, t in zip(df["lat"], df["lon"], cls, df["text"], strict=True)]
    m.add_child(PointsLayer(pts, styles, "areas"))
    items = list(zip(bins.colours, bins.labels(fmt), strict=True))
    if (cls < 0).any():
        items.append((NO_DATA_COLOUR, "no data"))
    m.add_child(Legend(title, items, round_swatches=True))
    return m


def bounds_of(lat: Sequence[float] | pd.Series, lon: Sequence[float] | pd.Series,
              pad: float = 0.05) -> tuple[tuple[float, float], tuple[float, float]] | None:
    """``((south, west), (north, east))`` around points, or ``None`` when there are none."""
    la = pd.to_numeric(pd.Series(lat), errors="coerce").dropna()
    lo = pd.to_numeric(pd.Series(lon), errors="coerce").dropna()
    if la.empty or lo.empty:
        return None
    return ((float(la.min()) - pad, float(lo.min()) - pad),
            (float(la.max()) + pad, float(lo.max()) + pad))


def geojson_bounds(geojson: dict[str, Any]) -> tuple[tuple[float, float], tuple[float, float]] | None:
    """Bounding box of a FeatureCollection (lon/lat coordinates)."""
    xs: list[float] = []
    ys: list[float] = []

    def walk(c: Any) -> None:
        if isinstance(c, (list, tuple)) and c and isinstance(c[0], (int, float)):
            xs.append(float(c[0]))
            ys.append(float(c[1]))
        elif isinstance(c, (list, tuple)):
            for x in c:
                walk(x)

    for f in geojson.get("features", []):
        walk((f.get("geometry") or {}).get("coordinates", []))
    if not xs:
        return None
    return ((min(ys), min(xs)), (max(ys), max(xs)))


def render_html(m: folium.Map) -> str:
    """The standalone HTML page folium would write for this map."""
    return m.get_root().render()


def geojson_with_values(geometry: PreparedGeometry, table: pd.DataFrame) -> bytes:
    """A downloadable GeoJSON: boundaries with every column of ``table`` as properties.

    Parameters
    ----------
    geometry
        From :func:`prepare_geometry`.
    table
        One row per region with a ``region_code`` column (e.g. the ``gaps`` table).
    """
    data = json.loads(geometry.json)
    rows = table.drop_duplicates("region_code")
    rows.index = rows["region_code"].astype(str)
    records = json.loads(rows.to_json(orient="index", default_handler=str))
    for f, code, name in zip(data["features"], geometry.codes, geometry.names, strict=True):
        props = {"region_code": code, "region_name": name}
        props.update({k: v for k, v in records.get(code, {}).items()
                      if k not in {"region_code", "region_name"}})
        f["properties"] = props
    return json.dumps(data, separators=(",", ":")).encode()
