"""OSRM on a tiny synthetic network written by the test, whose shortest times are known.

The network (.osm XML, generated here into a tmp dir) is a square near (52 N, 1 W):

    T(52.02,-1.00) ---- B(52.02,-0.97)
      |                   |
      | residential       | primary, maxspeed 60 mph (also S-A and B-T)
      | maxspeed 10 mph   |
    S(52.00,-1.00) ---- A(52.00,-0.97)

plus an isolated residential street 3 km north (unreachable from the square).

Expected values follow the bundled car.lua rules: a way with ``maxspeed`` drives at
``maxspeed x speed_reduction (0.8)``; a bend where only two roads meet adds no turn
penalty; duration = length / speed. Lengths use the haversine formula with OSRM's
Earth radius (6,372,797.560856 m). OSRM stores segment durations in 0.1 s and uses
its own fast distance approximation, so times are compared within 1.5 s and
distances within 0.5%.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from epu_mapper.settings import Settings
from epu_mapper.travel.build import build_matrix
from epu_mapper.travel.load import load_matrix
from epu_mapper.travel.network import prepare_network
from epu_mapper.travel.osrm import OsrmRouter
from epu_mapper.travel.point import from_point

pytestmark = pytest.mark.osrm

OSRM_EARTH_RADIUS_M = 6_372_797.560856
NODES = {1: (52.00, -1.00), 2: (52.02, -1.00), 3: (52.00, -0.97), 4: (52.02, -0.97),
         5: (52.05, -1.00), 6: (52.05, -0.99)}
WAYS = {
    10: ([1, 2], {"highway": "residential", "maxspeed": "10 mph"}),
    11: ([1, 3, 4, 2], {"highway": "primary", "maxspeed": "60 mph"}),
    12: ([5, 6], {"highway": "residential"}),
}
S, T, A, ISLAND = NODES[1], NODES[2], NODES[3], (52.05, -0.995)


def haversine_m(a, b) -> float:
    p1, l1 = np.radians(a)
    p2, l2 = np.radians(b)
    h = np.sin((p2 - p1) / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin((l2 - l1) / 2) ** 2
    return float(2 * OSRM_EARTH_RADIUS_M * np.arcsin(np.sqrt(h)))


def mph_to_ms(mph: float) -> float:
    return mph * 1.609344 * 0.8 / 3.6  # car.lua speed_reduction = 0.8


def write_osm(path: Path) -> Path:
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', '<osm version="0.6" generator="epu-mapper test">']
    lines += [f'  <node id="{i}" version="1" lat="{la}" lon="{lo}"/>' for i, (la, lo) in NODES.items()]
    for wid, (nds, tags) in WAYS.items():
        body = "".join(f'<nd ref="{n}"/>' for n in nds) + "".join(
            f'<tag k="{k}" v="{v}"/>' for k, v in tags.items())
        lines.append(f'  <way id="{wid}" version="1">{body}</way>')
    lines.append("</osm>")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def square(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("square")
    osm = write_osm(root / "square.osm")
    return prepare_network(osm, root / "build", name="square", log=lambda s: None)


def test_shortest_time_takes_the_fast_detour(square):
    router = OsrmRouter(square)
    res = router.table(np.array([S[0]]), np.array([S[1]]), np.array([T[0], A[0]]), np.array([T[1], A[1]]))
    detour_m = haversine_m(S, A) + haversine_m(A, NODES[4]) + haversine_m(NODES[4], T)
    fast = mph_to_ms(60)
    slow_direct_s = haversine_m(S, T) / mph_to_ms(10)
    expected_s = detour_m / fast
    assert expected_s < slow_direct_s / 2  # the detour is the shortest time by far
    assert res.minutes[0, 0] * 60 == pytest.approx(expected_s, abs=1.5)
    assert res.km[0, 0] * 1000 == pytest.approx(detour_m, rel=0.005)
    assert res.minutes[0, 1] * 60 == pytest.approx(haversine_m(S, A) / fast, abs=1.5)
    assert res.origin_snap_m[0] < 1.0


def test_symmetric_on_two_way_roads(square):
    router = OsrmRouter(square)
    lat = np.array([S[0], T[0], A[0]])
    lon = np.array([S[1], T[1], A[1]])
    res = router.table(lat, lon, lat, lon)
    np.testing.assert_allclose(res.minutes, res.minutes.T, atol=0.5 / 60)
    assert (np.diag(res.minutes) == 0).all()


def test_unreachable_is_nan_never_zero(square):
    router = OsrmRouter(square)
    res = router.table(np.array([S[0]]), np.array([S[1]]), np.array([ISLAND[0]]), np.array([ISLAND[1]]))
    assert np.isnan(res.minutes[0, 0]) and np.isnan(res.km[0, 0])


def test_matrix_and_point_on_the_synthetic_network(square, tmp_path):
    build = square.parent.parent  # <build>/osrm/square -> <build>
    settings = Settings(data_dir=None, build_dir=build, units_csv=tmp_path / "none.csv")
    demand = pd.DataFrame({"area_code": ["S", "FAR"], "lat": [S[0], 54.0], "lon": [S[1], -3.0]})
    units = pd.DataFrame({"unit_id": ["T", "ISLAND"], "lat": [T[0], ISLAND[0]], "lon": [T[1], ISLAND[1]]})
    path, prov, _ = build_matrix("osrm", settings, demand=demand, units=units, progress=False,
                                 log=lambda s: None)
    assert prov["network"]["name"] == "square" and prov["engine"] == "osrm"
    long = pd.read_parquet(path).set_index(["area_code", "unit_id"])
    assert long.loc[("S", "T"), "minutes"] == pytest.approx(
        (haversine_m(S, A) + haversine_m(A, NODES[4]) + haversine_m(NODES[4], T)) / mph_to_ms(60) / 60,
        abs=1.5 / 60)
    assert np.isnan(long.loc[("S", "ISLAND"), "minutes"]) and long.loc[("S", "ISLAND"), "reason"] == "no route"
    assert long.loc[("FAR", "T"), "reason"] == "area outside network"
    assert (long["engine"] == "osrm").all()
    assert prov["covers_all"] is False and prov["areas_outside_network"] == 1
    m = load_matrix(settings, engine="osrm")
    assert m.engine == "osrm" and not m.approximate and m.typical_error_min is None
    # load_matrix(auto) falls back to the estimate when OSRM does not cover every area
    with pytest.raises(Exception, match="estimate"):
        load_matrix(settings)
    df = from_point(S[0], S[1], units, router=OsrmRouter(square))
    assert df["engine"].tolist() == ["osrm", "osrm"]
    assert df.loc[1, "reason"] == "no route" and np.isnan(df.loc[1, "minutes"])


def test_completion_pass_routes_a_unit_that_is_farther_but_faster(square, tmp_path):
    """k = 1 keeps only the straight-line nearest unit (T, 2.2 km but ~4.9 min via the
    detour); B is 3.0 km away but 3.3 min by road. The completion pass must route B;
    the far unit F (22 km, lower bound 11 min) stays skipped."""
    build = square.parent.parent
    settings = Settings(data_dir=None, build_dir=build, units_csv=tmp_path / "none.csv")
    demand = pd.DataFrame({"area_code": ["S"], "lat": [S[0]], "lon": [S[1]]})
    units = pd.DataFrame({
        "unit_id": ["T", "B", "F"],
        "lat": [T[0], NODES[4][0], 52.2], "lon": [T[1], NODES[4][1], -1.0],
        "opening_hours": ["Mo-Fr 09:00-17:00"] * 3, "nation": ["England"] * 3,
    })
    path, prov, _ = build_matrix("osrm", settings, demand=demand, units=units, k=1, per_group=1,
                                 force=True, progress=False, log=lambda s: None)
    long = pd.read_parquet(path).set_index("unit_id")
    assert prov["params"]["n_groups"] == 1
    assert set(long.index) == {"T", "B"}  # F skipped (inf in the dense matrix), never 0
    assert long.loc["B", "minutes"] < long.loc["T", "minutes"]
    assert prov["counts"]["pairs_kept"] == 2 and prov["counts"]["pairs_skipped"] == 1
    m = load_matrix(settings, engine="osrm", demand=demand, units=units)
    assert np.isinf(m.minutes[0, 2]) and np.nanargmin(m.minutes[0]) == 1


def test_network_extent_comes_from_the_routable_nodes(square):
    from epu_mapper.travel.network import osrm_node_coordinates
    from epu_mapper.travel.osrm import read_network_meta

    lat, lon = osrm_node_coordinates(square / "graph.osrm")
    got = sorted(zip(np.round(lat, 6).tolist(), np.round(lon, 6).tolist(), strict=True))
    assert got == sorted(NODES.values())
    meta = read_network_meta(square)
    assert meta["extent_source"].startswith("osrm node-based graph")
    assert meta["road_bbox"] == [-1.0, 52.0, -0.97, 52.05]
    router = OsrmRouter(square)
    # inside = within one 0.01-degree cell of a road node; 0.1 degree away is outside
    np.testing.assert_array_equal(router.inside(np.array([52.0, 52.01, 52.2]), np.array([-1.0, -0.985, -1.0])),
                                  [True, True, False])


def test_boundary_poly_limits_the_network_extent(tmp_path):
    from epu_mapper.travel.network import read_poly

    poly = tmp_path / "west.poly"
    # the western half of the square (lon < -0.985), with a small hole around (52.01, -0.995)
    poly.write_text("west\n1\n -1.01 51.99\n -0.985 51.99\n -0.985 52.06\n -1.01 52.06\n -1.01 51.99\nEND\n"
                    "!2\n -0.996 52.009\n -0.994 52.009\n -0.994 52.011\n -0.996 52.011\nEND\nEND\n")
    shape = read_poly(poly)
    assert shape.area == pytest.approx(0.025 * 0.07 - 0.002 * 0.002)
    osm = write_osm(tmp_path / "square.osm")
    net = prepare_network(osm, tmp_path / "build", name="west", boundary=poly, log=lambda s: None)
    router = OsrmRouter(net)
    np.testing.assert_array_equal(
        router.inside(np.array([S[0], A[0], 52.01]), np.array([S[1], A[1], -0.995])),
        [True, False, False],  # A lies east of the boundary; the third point is in the hole
    )
    units = pd.DataFrame({"unit_id": ["T", "A"], "lat": [T[0], A[0]], "lon": [T[1], A[1]]})
    df = from_point(S[0], S[1], units, router=router)
    assert df["engine"].tolist() == ["osrm", "estimate"]  # A is outside: estimated, and says so
