"""Offline unit tests of the folium layers: no CDN, no HTML from data, correct classes."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest

from epu_mapper.ui import leaflet_payload, maps

SQUARE = [[[0.0, 50.0], [1.0, 50.0], [1.0, 51.0], [0.0, 51.0], [0.0, 50.0]]]
GEOJSON = {
    "type": "FeatureCollection",
    "features": [
        {"type": "Feature", "properties": {"region_code": "A", "region_name": "Alpha & Co"},
         "geometry": {"type": "Polygon", "coordinates": SQUARE}},
        {"type": "Feature", "properties": {"region_code": "B", "region_name": "Beta"},
         "geometry": {"type": "Polygon", "coordinates": [[[2.0, 52.0], [3.0, 52.0],
                                                           [3.0, 53.5], [2.0, 52.0]]]}},
        {"type": "Feature", "properties": {"region_code": "C", "region_name": "Gamma"},
         "geometry": {"type": "Polygon", "coordinates": SQUARE}},
    ],
}
EVIL = '</script><img src=x onerror="alert(1)"> & <b>bold</b>'


def _units() -> pd.DataFrame:
    return pd.DataFrame({
        "unit_name": [EVIL, "Plain unit", "No site"],
        "lat": [51.5, 52.6, np.nan],
        "lon": [-0.1, -0.7, np.nan],
        "state": ["open", "unknown", "closed"],
    })


def _full_map() -> maps.folium.Map:
    m = maps.base_map(bounds=((50, -1), (53, 1)))
    geometry = maps.prepare_geometry(GEOJSON)
    values = pd.DataFrame({"region_code": ["A", "B"], "value": [95.0, 10.0],
                           "text": ["95%", "10%"]})
    maps.add_choropleth(m, geometry, values, maps.make_bins([0, 50, 100]), "% within 60 min")
    maps.add_units(m, _units())
    maps.add_origin(m, 51.6, -0.2, "Your postcode LE15 6RB")
    maps.add_hospitals(m, pd.DataFrame({"name": [EVIL], "lat": [52.0], "lon": [-1.0]}))
    return m


def _external_refs(html: str) -> list[str]:
    """src/href of <script> and <link> tags."""
    return re.findall(r"<(?:script|link)\b[^>]*\b(?:src|href)=[\"']([^\"']+)", html)


def test_rendered_html_loads_only_local_leaflet():
    html = maps.render_html(_full_map())
    refs = _external_refs(html)
    assert refs, "the page must reference Leaflet"
    assert all(r.startswith("/app/static/vendor/leaflet-") for r in refs), refs
    assert not any("cdn" in r.lower() or r.startswith("http") for r in refs)
    # no jQuery, Bootstrap or Font Awesome either
    assert "jquery" not in html.lower() and "bootstrap" not in html.lower()


def test_the_map_element_loads_the_local_leaflet():
    """The page element loads Leaflet from the app itself; no map element needs other code."""
    m = _full_map()
    payload = leaflet_payload.map_payload(m, key="k", name="Map: test", height=300)
    assert payload["leaflet"] == ["/app/static/vendor/leaflet-1.9.4/leaflet.js",
                                  "/app/static/vendor/leaflet-1.9.4/leaflet.css"]
    for child in m._children.values():
        assert not getattr(child, "default_js", []), type(child)
    prefixed = leaflet_payload.map_payload(_full_map(), key="k", name="Map: test", height=300,
                                           base_url_path="/epu/")
    assert prefixed["leaflet"][0] == "/epu/app/static/vendor/leaflet-1.9.4/leaflet.js"


def test_base_url_path_prefixes_assets():
    m = maps.base_map(base_url_path="/epu/")
    assert m.default_js[0][1] == "/epu/app/static/vendor/leaflet-1.9.4/leaflet.js"


def test_data_never_reaches_html_unescaped():
    script = leaflet_payload.map_script(_full_map())
    for text in (script, maps.render_html(_full_map())):
        assert "</script><img" not in text
        assert "<b>bold</b>" not in text
        assert "onerror=\"alert" not in text
    # the text is still there, JSON-escaped, and tooltips are built with textContent
    assert "\\u003c/script\\u003e" in script
    assert "textContent" in script and "bindTooltip(tip(" in script


def test_markers_are_canvas_circle_markers():
    script = leaflet_payload.map_script(_full_map())
    assert '"preferCanvas": true' in script
    assert "L.circleMarker" in script
    assert "L.marker(" not in script  # no image icons (would need extra assets)


def test_units_without_coordinates_are_skipped():
    layer = next(c for c in _full_map()._children.values() if isinstance(c, maps.PointsLayer))
    pts = json.loads(layer.points_json.replace("\\u003c", "<").replace("\\u003e", ">")
                     .replace("\\u0026", "&"))
    assert len(pts) == 2
    assert pts[0][:3] == [51.5, -0.1, 0]  # open -> style 0
    assert pts[1][2] == 2  # unknown -> style 2
    assert pts[0][3].startswith(EVIL)


def test_bins_classify_hand_checked():
    bins = maps.make_bins([0, 20, 40, 60])
    got = bins.classify([0, 19.9, 20, 39, 40, 60, 75, np.nan])
    assert got.tolist() == [0, 0, 1, 1, 2, 2, 2, -1]
    assert bins.labels() == ["0 to < 20", "20 to < 40", "40 to 60"]
    assert len(set(bins.colours)) == 3


def test_bins_reverse_and_open_end():
    fwd = maps.make_bins([0, 30, 60, float("inf")])
    rev = maps.make_bins([0, 30, 60, float("inf")], reverse=True)
    assert rev.colours == fwd.colours[::-1]
    assert fwd.labels()[-1] == "60 or more"
    assert fwd.classify([1000.0]).tolist() == [2]


@pytest.mark.parametrize("edges", [[0], [0, 0, 1], [3, 2, 1], list(range(9))])
def test_bad_bins_rejected(edges):
    with pytest.raises(ValueError, match=r"edges"):
        maps.make_bins(edges)


def test_choropleth_aligns_values_to_features():
    m = maps.base_map()
    geometry = maps.prepare_geometry(GEOJSON)
    assert geometry.codes == ("A", "B", "C")
    values = pd.DataFrame({"region_code": ["B", "A"], "value": [10.0, 95.0],
                           "text": ["10%", "95%"]})
    maps.add_choropleth(m, geometry, values, maps.make_bins([0, 50, 100]), "t")
    layer = next(c for c in m._children.values() if isinstance(c, maps.ChoroplethLayer))
    assert json.loads(layer.classes_json) == [1, 0, -1]  # C has no data
    tips = json.loads(layer.tips_json.replace("\\u0026", "&"))
    assert tips == ["Alpha & Co: 95%", "Beta: 10%", "Gamma: no data"]
    legend = [c for c in m._children.values() if isinstance(c, maps.Legend)][-1]
    assert "no data" in legend.items_json


def test_prepared_geometry_bounds_and_size():
    geometry = maps.prepare_geometry(GEOJSON)
    assert geometry.bounds == ((50.0, 0.0), (53.5, 3.0))
    assert 0 < geometry.nbytes < 2000
    assert "region_name" not in geometry.json  # names travel only as tooltips


def test_geojson_download_merges_values():
    geometry = maps.prepare_geometry(GEOJSON)
    table = pd.DataFrame({"region_code": ["A", "B"], "region_name": ["Alpha & Co", "Beta"],
                          "pct_within_60": [95.0, 10.0]})
    data = json.loads(maps.geojson_with_values(geometry, table))
    props = [f["properties"] for f in data["features"]]
    assert props[0] == {"region_code": "A", "region_name": "Alpha & Co", "pct_within_60": 95.0}
    assert props[2] == {"region_code": "C", "region_name": "Gamma"}
    assert data["features"][1]["geometry"]["type"] == "Polygon"


def test_bounds_helpers():
    assert maps.bounds_of([51, 52], [-1, 0], pad=0) == ((51.0, -1.0), (52.0, 0.0))
    assert maps.bounds_of([np.nan], [np.nan]) is None
    assert maps.geojson_bounds({"features": []}) is None


def test_small_area_points_payload_is_compact():
    n = 5000
    rng = np.random.default_rng(0)
    pts = pd.DataFrame({"lat": rng.uniform(50, 55, n), "lon": rng.uniform(-4, 0, n),
                        "value": rng.uniform(0, 120, n), "text": ["E01012345: 45 min"] * n})
    m = maps.base_map()
    maps.add_values_points(m, pts, maps.make_bins([0, 30, 60, float("inf")], reverse=True), "t")
    size = leaflet_payload.map_payload_bytes(m)
    assert size < maps.MAP_BUDGET_BYTES
    assert size / n < 60  # ~40 bytes a point


def test_safe_json_escapes_markup():
    assert maps.safe_json({"a": "<&>"}) == '{"a":"\\u003c\\u0026\\u003e"}'
    with pytest.raises(ValueError, match="not JSON compliant"):
        maps.safe_json(float("nan"))


@pytest.mark.integration
@pytest.mark.parametrize("level", ["nation", "nhs_region", "icb", "lhb", "scot_hb", "hsct", "lad"])
def test_real_choropleth_within_budget(real_settings, level):
    """Every national choropleth the app can draw stays under 2 MB (geometry + classes + tips)."""
    from epu_mapper import api

    geometry = maps.prepare_geometry(api.boundaries(level, real_settings))
    assert len(geometry.codes) >= 1
    values = pd.DataFrame({"region_code": list(geometry.codes),
                           "value": np.linspace(0, 100, len(geometry.codes)),
                           "text": ["55.5% within 60 min"] * len(geometry.codes)})
    m = maps.base_map(bounds=geometry.bounds)
    maps.add_choropleth(m, geometry, values, maps.make_bins([0, 20, 40, 60, 80, 90, 100]), "t")
    size = leaflet_payload.map_payload_bytes(m)
    print(f"{level}: {len(geometry.codes)} regions, map payload {size / 1e6:.2f} MB")
    assert size <= maps.MAP_BUDGET_BYTES


@pytest.mark.integration
def test_real_small_areas_of_england_within_budget(real_settings):
    """The largest small-area map (all of England, labels off as the gaps page does)."""
    from epu_mapper import api
    from epu_mapper.ui.pages.gaps import TOOLTIP_LIMIT

    ctx = api.load_context(real_settings)
    areas = api.small_areas(ctx, "nation", "England", hour_of_week=59)
    assert len(areas) > TOOLTIP_LIMIT
    pts = pd.DataFrame({"lat": areas["lat"], "lon": areas["lon"],
                        "value": areas["minutes"].astype(float), "text": ""})
    m = maps.base_map()
    maps.add_values_points(m, pts, maps.make_bins([0, 30, 60, float("inf")], reverse=True), "t")
    size = leaflet_payload.map_payload_bytes(m)
    print(f"England small areas: {len(pts)} points, map payload {size / 1e6:.2f} MB")
    assert size <= maps.MAP_BUDGET_BYTES


def test_geometry_served_by_url_is_not_inlined(tmp_path):
    from epu_mapper.ui import common

    geometry = common.publish_geometry(maps.prepare_geometry(GEOJSON), "test", static_dir=tmp_path)
    assert geometry.url is not None and geometry.url.startswith("/app/static/geo/test-")
    served = tmp_path / "geo" / geometry.url.rsplit("/", 1)[1]
    assert json.loads(served.read_text()) == json.loads(geometry.json)
    m = maps.base_map()
    values = pd.DataFrame({"region_code": ["A"], "value": [50.0], "text": ["50%"]})
    maps.add_choropleth(m, geometry, values, maps.make_bins([0, 50, 100]), "t")
    maps.add_outline(m, geometry)
    script = leaflet_payload.map_script(m)
    # both layers fetch it by URL, once per page (a parsed copy is kept for in-place redraws)
    assert script.count(f'var u = "{geometry.url}";') == 2
    assert script.count("(c[u] || (c[u] = fetch(u).then(") == 2
    assert "[[[0.0, 50.0]" not in script and "50.0],[1.0" not in script
    # publishing again reuses the same content-addressed file
    again = common.publish_geometry(maps.prepare_geometry(GEOJSON), "test", static_dir=tmp_path)
    assert again.url == geometry.url
    assert len(list((tmp_path / "geo").iterdir())) == 1


def test_unwritable_static_dir_falls_back_to_inline(tmp_path):
    from epu_mapper.ui import common

    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    geometry = common.publish_geometry(maps.prepare_geometry(GEOJSON), "x", static_dir=blocker)
    assert geometry.url is None


def test_map_name_is_plain_text_on_the_map_container():
    """The accessible name travels as JSON text (never markup) and is set with setAttribute
    on the map's container; the page's own title is left alone."""
    m = maps.base_map()
    assert maps.map_name(m) is None
    hostile = 'Map: units near <img src=x onerror=alert(1)> & "</script>"'
    m.add_child(maps.MapName(hostile))
    assert maps.map_name(m) == hostile
    base, layers, group_var = leaflet_payload.map_scripts(m, key="find_map")
    assert "<img" not in layers and "</script>" not in layers and "var name = " not in base
    line = next(ln for ln in layers.splitlines() if "var name = " in ln)
    assert json.loads(line.split("var name = ", 1)[1].rstrip(";")) == hostile
    for js in ("setAttribute('aria-label', name)", "setAttribute('role', 'region')"):
        assert js in layers
    assert "document.title" not in layers and "frameElement" not in layers
    # drawn from inside the data group: the map is the one the page element binds as epuMap
    assert f"h.getContainer ? h : epuMap; }})({group_var}).getContainer()" in layers


def test_map_scripts_are_the_same_on_every_rerun_but_for_the_data():
    """The map script is the same whatever the data (the page element keeps its map); the
    layers, legend, name and bounds move to one feature group, in order."""

    def scripts(value: float) -> tuple[str, str, str, list[str]]:
        m = maps.base_map(bounds=((50.0, -5.0), (55.0, 1.0)))
        maps.add_units(m, pd.DataFrame({"lat": [51.0], "lon": [-1.0], "unit_name": ["A"],
                                        "state": ["open"]}))
        maps.add_values_points(m, pd.DataFrame({"lat": [52.0], "lon": [-2.0], "value": [value],
                                                "text": ["x"]}), maps.make_bins((0, 30, 60)),
                               "Minutes")
        m.add_child(maps.MapName(f"Map: minutes {value}"))
        base, layers, group_var = leaflet_payload.map_scripts(m, key="gaps map/1")
        group = m._children[group_var]
        kinds = [type(c).__name__ for c in group._children.values()]
        return base, layers, group_var, kinds

    base_a, layers_a, group_a, kinds_a = scripts(10.0)
    base_b, layers_b, group_b, kinds_b = scripts(45.0)
    assert kinds_a == ["FitView", "PointsLayer", "Legend", "PointsLayer", "Legend", "MapName",
                       "ElementAddToElement"]  # folium's own: adds the group to the map
    assert kinds_b == kinds_a
    assert base_a == base_b  # one map serves both
    assert 'var map_gaps_map_1 = L.map(\n                "map_gaps_map_1"' in base_a
    assert "L.tileLayer(" in base_a and "L.circleMarker(" not in base_a
    assert layers_a != layers_b and "Map: minutes 45.0" in layers_b
    assert group_a == group_b == "feature_group_data"
    # the group is created first, then filled, then added to the map
    assert layers_a.index(f"var {group_a} = L.featureGroup(") < layers_a.index("L.circleMarker(")
    assert layers_a.rstrip().endswith(f"{group_a}.addTo(map_gaps_map_1);")
    assert "fitBounds([[50.0,-5.0],[55.0,1.0]])" in layers_a
    # a legend inside the group is added to and removed from the map with the group
    assert "onRemove: function(m){ m.removeControl(ctl); }" in layers_a
    # no random element names: the scripts are the same text for the same map
    assert not re.search(r"[0-9a-f]{32}", base_a + layers_a)


def test_layers_render_as_plain_markup_the_same_page_as_brancas_template_route(monkeypatch):
    """Our layers add their rendered parts as plain markup: the page is the one branca's own
    route (each part compiled again as a Jinja template) gives, except that data which looks
    like template syntax stays literal text instead of being evaluated."""
    from branca.element import MacroElement

    def page(tip: str) -> str:
        m = maps.base_map(bounds=((50.0, -5.0), (55.0, 1.0)))
        values = pd.DataFrame({"region_code": ["A", "B"], "value": [10.0, 80.0],
                               "text": [tip, "eighty"]})
        maps.add_choropleth(m, maps.prepare_geometry(GEOJSON), values,
                            maps.make_bins([0, 50, 100]), "% within 60 min")
        m.add_child(maps.MapName("Map: test"))
        return m.get_root().render()

    fast = page("ten")
    monkeypatch.setattr(maps.LayerMacro, "render", MacroElement.render)
    slow = page("ten")
    strip = re.compile(r"[0-9a-f]{32}")  # element ids differ between the two maps
    assert strip.sub("", fast) == strip.sub("", slow)
    monkeypatch.undo()
    literal = page("{{ 7 * 7 }}")
    assert "Co: {{ 7 * 7 }}" in literal and "Co: 49" not in literal  # branca's route gives 49


def test_the_boundary_outline_stays_with_the_map_across_answers():
    """Find's map: the outline is part of the map that never changes, so a new postcode
    swaps only the units and the view, not the UK's coast and borders."""

    def scripts(lat: float) -> tuple[str, str]:
        m = maps.base_map(bounds=((lat, -2.0), (lat + 1, -1.0)))
        maps.add_outline(m, maps.prepare_geometry(GEOJSON))
        maps.add_units(m, pd.DataFrame({"lat": [lat + 0.5], "lon": [-1.5], "unit_name": ["A"],
                                        "state": ["open"]}))
        base, layers, _ = leaflet_payload.map_scripts(m, key="find_map")
        return base, layers

    (base_a, layers_a), (base_b, layers_b) = scripts(51.0), scripts(53.0)
    assert base_a == base_b and "var outline_layer_" in base_a and "#7a8793" in base_a
    assert "#7a8793" not in layers_a and layers_a != layers_b and "fitBounds" in layers_a

