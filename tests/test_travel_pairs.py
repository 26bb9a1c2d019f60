"""`epu-mapper travel pairs` (offline): pass-through columns, bad rows located by
file:line: column, NaN times always with a reason, chunked streaming, formula-safe
cells, atomic output, and the grouping of pairs into table requests."""

from __future__ import annotations

import csv
import io

import numpy as np
import pandas as pd
import pytest

from epu_mapper.cli import main
from epu_mapper.spatial import haversine_km
from epu_mapper.travel.estimate import estimate_pairs
from epu_mapper.travel.od_pairs import (
    DESTINATION_OUTSIDE,
    INVALID,
    NO_ROUTE,
    ORIGIN_OUTSIDE,
    compute_pairs,
    neutralise_formulas,
    pairs_file,
    route_pairs,
)
from epu_mapper.travel.osrm import TableResult

# Oakham, Uppingham, Stamford, Cardiff, Leicester (WGS84, rounded place centres)
OAKHAM, UPPINGHAM, STAMFORD = (52.6705, -0.7309), (52.5886, -0.7237), (52.6530, -0.4800)
CARDIFF, LEICESTER = (51.4816, -3.1791), (52.6369, -1.1398)

INPUT = (
    "id,origin_lat,origin_lon,destination_lat,destination_lon,note,empty\n"
    f"a,{OAKHAM[0]},{OAKHAM[1]},{UPPINGHAM[0]},{UPPINGHAM[1]},\"Oakham, to Uppingham\",\n"
    f"b,{CARDIFF[0]},{CARDIFF[1]},{LEICESTER[0]},{LEICESTER[1]},\"two\nlines\",x\n"
    f"c,,{OAKHAM[1]},{STAMFORD[0]},{STAMFORD[1]},=HYPERLINK(\"http://x\"),\n"
    f"d,{OAKHAM[0]},{OAKHAM[1]},north,{STAMFORD[1]},-5,\n"
    f"e,{OAKHAM[0]},{OAKHAM[1]},{STAMFORD[0]},12.5,@SUM(A1),\n"
    f"f,{STAMFORD[0]},{STAMFORD[1]},{OAKHAM[0]},{OAKHAM[1]},+44 1572,\n"
)


class BoxRouter:
    """A stand-in road engine: roads inside a lat/lon box, time = 1.5 x straight km,
    no route from Stamford (to check NaN 'no route'); counts requests and their sizes."""

    def __init__(self, box=(52.5, -0.9, 52.8, -0.4), no_route_from=STAMFORD):
        self.box, self.no_route_from = box, no_route_from
        self.calls: list[tuple[int, int]] = []

    def inside(self, lat, lon):
        s, w, n, e = self.box
        return (lat >= s) & (lat <= n) & (lon >= w) & (lon <= e)

    def table(self, o_lat, o_lon, d_lat, d_lon):
        self.calls.append((len(o_lat), len(d_lat)))
        km = haversine_km(o_lat[:, None], o_lon[:, None], d_lat[None, :], d_lon[None, :]) * 1.3
        minutes = km * 1.5
        blocked = np.isclose(o_lat, self.no_route_from[0]) & np.isclose(o_lon, self.no_route_from[1])
        minutes[blocked] = np.nan
        km[blocked] = np.nan
        return TableResult(minutes, km, np.zeros(len(o_lat)), np.zeros(len(d_lat)))


@pytest.fixture
def pairs_csv(tmp_path):
    path = tmp_path / "pairs.csv"
    path.write_text(INPUT, encoding="utf-8")
    return path


def _read(path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def test_pass_through_columns_and_estimate(pairs_csv, tmp_path, capsys):
    out = tmp_path / "out.csv"
    rc = main(["travel", "pairs", "--in", str(pairs_csv), "--out", str(out), "--engine", "estimate",
               "--no-progress"])
    assert rc == 1  # three rows had bad input; the others are written
    rows = _read(out)
    header = next(csv.reader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert header == ["id", "origin_lat", "origin_lon", "destination_lat", "destination_lon", "note",
                      "empty", "minutes", "km", "engine", "route", "reason"]
    assert [r["id"] for r in rows] == list("abcdef")
    src = list(csv.DictReader(io.StringIO(INPUT)))
    for got, want in zip(rows, src, strict=True):
        for col in ("id", "origin_lat", "origin_lon", "destination_lat", "destination_lon", "empty"):
            assert got[col] == want[col]  # unchanged text, including empty cells
    assert rows[0]["note"] == "Oakham, to Uppingham" and rows[1]["note"] == "two\nlines"
    est = estimate_pairs(np.array([OAKHAM[0], CARDIFF[0]]), np.array([OAKHAM[1], CARDIFF[1]]),
                              np.array([UPPINGHAM[0], LEICESTER[0]]),
                              np.array([UPPINGHAM[1], LEICESTER[1]]))
    for row, (m, k) in zip(rows[:2], zip(est["minutes"], est["km"], strict=True), strict=True):
        assert row["engine"] == "estimate"
        if np.isfinite(m):
            assert float(row["minutes"]) == pytest.approx(float(m), abs=0.006)
            assert float(row["km"]) == pytest.approx(float(k), abs=0.006)
    assert 8 < float(rows[0]["km"]) < 14  # Oakham -> Uppingham, about 10 km by road
    assert "wrote" in capsys.readouterr().out


def test_bad_rows_are_located_and_the_rest_computed(pairs_csv, tmp_path, capsys):
    out = tmp_path / "out.csv"
    rc = main(["travel", "pairs", "--in", str(pairs_csv), "--out", str(out), "--engine", "estimate",
               "--no-progress"])
    err = capsys.readouterr().err.splitlines()
    assert rc == 1
    # row b spans lines 3-4, so c is on line 5, d on 6, e on 7
    assert f"{pairs_csv}:5: origin_lat: empty" in err
    assert f"{pairs_csv}:6: destination_lat: 'north' is not a number" in err
    assert any(line.startswith(f"{pairs_csv}:7: destination_lon: 12.5 is outside the UK")
               for line in err)
    assert "3 rows had invalid input" in err[-1]
    rows = {r["id"]: r for r in _read(out)}
    for key in "cde":
        assert rows[key]["minutes"] == "" and rows[key]["engine"] == ""
        assert rows[key]["reason"].startswith(INVALID)
    assert rows["c"]["reason"] == "invalid input: origin_lat empty"
    for key in "abf":
        assert float(rows[key]["minutes"]) > 0 and rows[key]["reason"] == ""


def test_missing_column_and_clash_exit_2(tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("origin_lat,origin_lon,destination_lat\n52,-1,52\n", encoding="utf-8")
    assert main(["travel", "pairs", "--in", str(bad), "--out", str(tmp_path / "o.csv")]) == 2
    err = capsys.readouterr().err
    assert f"{bad}:1: destination_lon: missing column" in err and "Traceback" not in err
    clash = tmp_path / "clash.csv"
    clash.write_text("origin_lat,origin_lon,destination_lat,destination_lon,minutes\n52,-1,52,-1,3\n",
                     encoding="utf-8")
    assert main(["travel", "pairs", "--in", str(clash), "--out", str(tmp_path / "o.csv")]) == 2
    assert f"{clash}:1: minutes: the input already has" in capsys.readouterr().err
    assert main(["travel", "pairs", "--in", str(tmp_path / "nope.csv"), "--out",
                 str(tmp_path / "o.csv")]) == 2
    assert "input file not found" in capsys.readouterr().err
    assert not (tmp_path / "o.csv").exists()


def test_every_nan_time_has_a_reason(pairs_csv, tmp_path):
    router = BoxRouter()
    out = tmp_path / "out.csv"
    summary = pairs_file(pairs_csv, out, router=router, road_only=True, progress=False)
    rows = {r["id"]: r for r in _read(out)}
    assert rows["a"]["engine"] == "osrm" and rows["a"]["reason"] == ""
    assert rows["b"]["reason"] == ORIGIN_OUTSIDE  # Cardiff is outside the box
    assert rows["f"]["reason"] == NO_ROUTE  # the stand-in has no route from Stamford
    for row in rows.values():
        assert (row["minutes"] == "") == (row["reason"] != "")
    assert summary.no_time == {ORIGIN_OUTSIDE: 1, NO_ROUTE: 1, INVALID: 3}
    # the default (auto) rule: outside the network falls back to the estimate
    summary = pairs_file(pairs_csv, out, router=router, road_only=False, progress=False)
    rows = {r["id"]: r for r in _read(out)}
    assert rows["b"]["engine"] == "estimate" and float(rows["b"]["minutes"]) > 60
    assert rows["a"]["engine"] == "osrm"
    assert summary.by_engine == {"osrm": 2, "estimate": 1}


def test_destination_outside_reason():
    res = compute_pairs(np.array([OAKHAM[0]]), np.array([OAKHAM[1]]), np.array([CARDIFF[0]]),
                        np.array([CARDIFF[1]]), router=BoxRouter(), road_only=True)
    assert np.isnan(res["minutes"][0]) and res["reason"][0] == DESTINATION_OUTSIDE


def test_chunks_give_the_same_file(pairs_csv, tmp_path):
    one, many = tmp_path / "one.csv", tmp_path / "many.csv"
    pairs_file(pairs_csv, one, chunk_rows=100, progress=False)
    summary = pairs_file(pairs_csv, many, chunk_rows=2, progress=False)
    assert one.read_bytes() == many.read_bytes()
    assert [p.line for p in summary.problems] == [5, 6, 7]


def test_formula_cells_are_neutralised(pairs_csv, tmp_path):
    out = tmp_path / "out.csv"
    pairs_file(pairs_csv, out, progress=False)
    rows = {r["id"]: r for r in _read(out)}
    assert rows["c"]["note"] == "'=HYPERLINK(\"http://x\")"
    assert rows["e"]["note"] == "'@SUM(A1)"
    assert rows["f"]["note"] == "'+44 1572"
    assert rows["d"]["note"] == "-5"  # a plain number stays a number
    assert rows["a"]["origin_lon"] == str(OAKHAM[1])  # negative longitudes untouched
    frame = neutralise_formulas(pd.DataFrame({"t": ["\tx", "\rx", "ok", "-1e3", "-"]}))
    assert frame["t"].tolist() == ["'\tx", "'\rx", "ok", "-1e3", "'-"]


def test_output_is_atomic(pairs_csv, tmp_path):
    class Failing(BoxRouter):
        def table(self, *args):
            raise RuntimeError("engine fell over")

    out = tmp_path / "out.csv"
    out.write_text("previous\n", encoding="utf-8")
    with pytest.raises(RuntimeError):
        pairs_file(pairs_csv, out, router=Failing(), progress=False)
    assert out.read_text(encoding="utf-8") == "previous\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv", "pairs.csv"]


def test_route_pairs_groups_shared_ends():
    rng = np.random.default_rng(0)
    sites = np.array([OAKHAM, UPPINGHAM, STAMFORD])
    n = 700
    o_lat = 52.55 + rng.random(n) * 0.2
    o_lon = -0.85 + rng.random(n) * 0.3
    pick = rng.integers(0, 3, n)
    router = BoxRouter(no_route_from=(0.0, 0.0))
    minutes, km = route_pairs(router, o_lat, o_lon, sites[pick, 0], sites[pick, 1], max_coords=100)
    want = haversine_km(o_lat, o_lon, sites[pick, 0], sites[pick, 1]) * 1.3
    np.testing.assert_allclose(km, want, rtol=1e-12)
    np.testing.assert_allclose(minutes, want * 1.5, rtol=1e-12)
    assert all(a + b <= 100 for a, b in router.calls)
    # many origins share three sites: ~97 origins per request, not one request per pair
    assert len(router.calls) <= 10
