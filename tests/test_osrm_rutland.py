"""OSRM on the real Rutland OpenStreetMap extract (built in the test run, ~3 s).

Places are Code-Point Open postcode-sector centroids from the raw data
(``postcodes/codepoint_open_gb_postcode_sector_centroids.csv``): LE15 6 (Oakham),
LE15 9 (Uppingham), LE15 7 (Cottesmore area), LE15 8 (Manton/Edith Weston area).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from epu_mapper.cli import main
from epu_mapper.settings import Settings
from epu_mapper.travel.build import build_matrix
from epu_mapper.travel.calibrate import calibrate, read_postcodes
from epu_mapper.travel.estimate import RUTLAND_OSRM as CALIBRATED
from epu_mapper.travel.network import prepare_network
from epu_mapper.travel.osrm import SNAP_FAR_M, OsrmRouter, read_network_meta
from epu_mapper.travel.point import from_point

pytestmark = [pytest.mark.osrm, pytest.mark.integration]

RUTLAND = "E06000017"


@pytest.fixture(scope="module")
def pbf(real_settings) -> Path:
    path = real_settings.data_dir / "osm" / "rutland-latest.osm.pbf"
    assert path.is_file(), f"missing {path}"
    return path


@pytest.fixture(scope="module")
def network(pbf, tmp_path_factory) -> Path:
    return prepare_network(pbf, tmp_path_factory.mktemp("rutland") / "build", name="rutland",
                           log=lambda s: None)


@pytest.fixture(scope="module")
def bounded_network(pbf, real_settings, tmp_path_factory) -> Path:
    """The same extract, with Rutland's boundary (ONS LAD 2024, generalised) as its extent."""
    lad = real_settings.data_dir / "boundaries" / "lad24_uk_buc.geojson"
    return prepare_network(pbf, tmp_path_factory.mktemp("rutland_b") / "build", name="rutland",
                           boundary=lad, boundary_code=RUTLAND, log=lambda s: None)


@pytest.fixture(scope="module")
def router(network) -> OsrmRouter:
    return OsrmRouter(network)


@pytest.fixture(scope="module")
def sectors(real_settings) -> pd.DataFrame:
    path = real_settings.data_dir / "postcodes" / "codepoint_open_gb_postcode_sector_centroids.csv"
    return pd.read_csv(path).set_index("postcode_sector")


def _pt(sectors, code):
    row = sectors.loc[code]
    return float(row["lat"]), float(row["lon"])


def test_network_provenance(network):
    meta = read_network_meta(network)
    assert meta["osm_timestamp"] == "2022-07-20T20:21:45Z"
    assert meta["road_ways"] > 4000 and meta["source_sha256"]  # drivable ways (4,721 of 6,665 highway)
    assert meta["road_filter"] == "drivable roads and ferries" and meta["ways_dropped_by_filter"] > 1000
    assert meta["profile"].startswith("car.lua")
    assert {"filter", "extract", "contract"} <= set(meta["steps"])
    assert (network / "graph.osrm.hsgr").is_file()


def test_oakham_uppingham_both_ways(router, sectors):
    oak, upp = _pt(sectors, "LE15 6"), _pt(sectors, "LE15 9")
    lat, lon = np.array([oak[0], upp[0]]), np.array([oak[1], upp[1]])
    res = router.table(lat, lon, lat, lon)
    there, back = res.minutes[0, 1], res.minutes[1, 0]
    assert 8 <= res.km[0, 1] <= 13 and 8 <= res.km[1, 0] <= 13  # ~10 km by road
    assert 8 <= there <= 14 and 8 <= back <= 14  # ~10 min by car
    assert abs(there - back) / max(there, back) < 0.15
    assert (res.origin_snap_m < SNAP_FAR_M).all()


def test_real_postcodes_all_reachable_and_roughly_symmetric(router, real_settings):
    pc = read_postcodes(real_settings.data_dir)
    pc = pc[pc["admin_district_code"] == RUTLAND].sort_values("postcode").iloc[::40]
    lat, lon = pc["lat"].to_numpy(), pc["lon"].to_numpy()
    res = router.table(lat, lon, lat, lon)
    n = len(lat)
    assert n >= 25
    off = ~np.eye(n, dtype=bool)
    assert np.isfinite(res.minutes).all()  # every pair inside Rutland is routable
    assert (res.minutes[off] > 0).all()
    ratio = res.minutes[off] / res.minutes.T[off]
    assert 0.95 < np.median(ratio) < 1.05
    assert np.quantile(np.abs(np.log(ratio)), 0.95) < np.log(1.3)


def test_far_snapped_origin_is_reported(router, sectors):
    # the PE9 3 sector centroid (mean of its postcodes) lies in fields ~1.9 km from a road
    lat, lon = _pt(sectors, "PE9 3")
    units = pd.DataFrame({"unit_id": ["oakham"], "lat": [_pt(sectors, "LE15 6")[0]],
                          "lon": [_pt(sectors, "LE15 6")[1]]})
    df = from_point(lat, lon, units, router=router)
    assert df.loc[0, "engine"] == "osrm"
    assert df.loc[0, "origin_snap_m"] > SNAP_FAR_M and df.attrs["far_from_road"] is True
    near = from_point(*_pt(sectors, "LE15 9"), units, router=router)
    assert near.attrs["far_from_road"] is False and near.loc[0, "minutes"] > 5


def test_matrix_on_real_rutland_areas(bounded_network, real_settings, sectors):
    demand_path = real_settings.build_dir / "demand.parquet"
    assert demand_path.is_file(), "run `epu-mapper data build` first (make test does)"
    demand = pd.read_parquet(demand_path)
    rut = demand[demand["lad_code"] == RUTLAND]
    assert 20 <= len(rut) <= 40  # Rutland has 26 LSOA21
    places = ["LE15 6", "LE15 7", "LE15 8", "LE15 9"]
    dest = pd.DataFrame({"unit_id": places, "lat": [_pt(sectors, p)[0] for p in places],
                         "lon": [_pt(sectors, p)[1] for p in places]})
    settings = Settings(data_dir=real_settings.data_dir, build_dir=bounded_network.parent.parent,
                        units_csv=real_settings.units_csv)
    path, prov, _ = build_matrix("osrm", settings, demand=demand, units=dest, progress=False,
                                 log=lambda s: None)
    long = pd.read_parquet(path)
    inside = long[long["area_code"].isin(rut["area_code"])]
    assert inside["minutes"].notna().all() and (inside["minutes"] > 0).all()
    assert inside["minutes"].max() < 40
    assert (inside["engine"] == "osrm").all()
    # with the boundary, exactly Rutland's areas are inside; every other area is NaN with a reason
    outside = long[~long["area_code"].isin(rut["area_code"])]
    assert outside["minutes"].isna().all()
    assert (outside["reason"] == "area outside network").all()
    assert prov["areas_outside_network"] == len(demand) - len(rut)
    assert prov["covers_all"] is False
    assert prov["counts"]["unreachable"]["no route"] == 0
    # the estimate stays close to OSRM on these real pairs
    est, _, _ = build_matrix("estimate", settings, demand=rut, units=dest, progress=False,
                             log=lambda s: None)
    both = inside.merge(pd.read_parquet(est), on=["area_code", "unit_id"], suffixes=("_osrm", "_est"))
    err = (both["minutes_est"] - both["minutes_osrm"]).abs()
    assert err.mean() < 2 * CALIBRATED.mae_min + 1


def test_without_boundary_the_extract_edge_is_fuzzy(router, real_settings):
    """Documented limitation: without --boundary, areas just over the county line (reached
    by roads the extract cuts at its edge) count as inside."""
    demand = pd.read_parquet(real_settings.build_dir / "demand.parquet")
    inside = router.inside(demand["lat"].to_numpy(), demand["lon"].to_numpy())
    rut = (demand["lad_code"] == RUTLAND).to_numpy()
    assert inside[rut].all()
    assert 0 < (inside & ~rut).sum() < 40


def test_calibration_reproduces_the_stored_parameters(router, real_settings):
    cal = calibrate(router, read_postcodes(real_settings.data_dir), seed=0, district=RUTLAND)
    p = cal.params
    assert p.n_pairs == CALIBRATED.n_pairs
    for field in ("intercept_min", "min_per_km", "detour", "mae_min", "p90_min"):
        assert getattr(p, field) == pytest.approx(getattr(CALIBRATED, field), abs=0.002), field
    assert cal.current["mae_min"] == pytest.approx(CALIBRATED.mae_min, abs=0.002)
    assert cal.naive["mae_min"] > p.mae_min  # the fit beats the rule of thumb


def test_cli_network_and_osrm_build_end_to_end(pbf, real_settings, tmp_path, monkeypatch, capsys):
    build = tmp_path / "build"
    build.mkdir()
    demand = real_settings.build_dir / "demand.parquet"
    assert demand.is_file(), "run `epu-mapper data build` first (make test does)"
    os.symlink(demand, build / "demand.parquet")
    monkeypatch.setenv("EPU_MAPPER_BUILD", str(build))
    assert main(["travel", "network", "--pbf", str(pbf), "--name", "rutland"]) == 0
    out = capsys.readouterr().out
    assert "road network 'rutland'" in out and "contract" in out
    assert main(["travel", "build", "--no-progress"]) == 0  # estimate + osrm (a network is built)
    out = capsys.readouterr().out
    assert "engine estimate" in out and "engine osrm" in out
    assert "covers all areas and units: False" in out
    assert (build / "travel" / "matrix_osrm.parquet").is_file()
    assert (build / "travel" / "matrix_estimate.json").is_file()
    assert main(["travel", "build", "--engine", "osrm", "--no-progress"]) == 0
    assert "up to date" in capsys.readouterr().out


def test_pruning_keeps_the_nearest_open_by_road(router, real_settings):
    """OSRM times are not monotone in straight-line distance: the k-nearest + per-group
    rule alone can miss the nearest open unit by road; the completion pass (route any
    unit whose straight-line speed bound could beat its group's best) makes it exact.
    Checked on real roads: 300 Rutland postcodes to 60 other postcodes standing in for
    units, in 8 random open-state groups."""
    from epu_mapper.travel.candidates import (
        DEFAULT_PER_GROUP,
        candidate_mask,
        completion_mask,
        straight_km_matrix,
    )

    pc = read_postcodes(real_settings.data_dir)
    pc = pc[pc["admin_district_code"] == RUTLAND].sort_values("postcode").reset_index(drop=True)
    rng = np.random.default_rng(7)
    pick = rng.choice(len(pc), 360, replace=False)
    o, d = pc.iloc[pick[:300]], pc.iloc[pick[300:]]
    o_lat, o_lon, d_lat, d_lon = (o["lat"].to_numpy(), o["lon"].to_numpy(),
                                  d["lat"].to_numpy(), d["lon"].to_numpy())
    res = router.table(o_lat, o_lon, d_lat, d_lon)  # the full matrix
    groups = rng.integers(0, 8, len(d))
    is_open = (rng.random((8, 24)) < 0.3)[groups]
    dist = straight_km_matrix(o_lat, o_lon, d_lat, d_lon)
    mask = candidate_mask(o_lat, o_lon, d_lat, d_lon, k=5, groups=groups, per_group=DEFAULT_PER_GROUP,
                          straight_km=dist)
    first = mask.copy()
    while (extra := completion_mask(mask, res.minutes, dist, groups)).any():
        mask |= extra
    assert mask.mean() < 0.9  # still prunes

    def misses(m):
        n = 0
        for h in range(24):
            col = is_open[:, h]
            if col.any():
                full = np.where(col[None, :], res.minutes, np.inf).min(axis=1)
                pruned = np.where(col[None, :] & m, res.minutes, np.inf).min(axis=1)
                n += int((full != pruned).sum())
        return n

    assert misses(first) > 0  # the greedy rule alone is not exact on real roads ...
    assert misses(mask) == 0  # ... the completion pass is


def test_cli_calibrate_prints_the_stored_figures(pbf, real_settings, tmp_path, monkeypatch, capsys):
    """The reproducible command behind estimate.CALIBRATED (and the README figures)."""
    monkeypatch.setenv("EPU_MAPPER_BUILD", str(tmp_path / "build"))
    args = ["travel", "calibrate", "--pbf", str(pbf), "--district", RUTLAND, "--seed", "0"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert f"error vs OSRM: MAE {CALIBRATED.mae_min:.1f} min, p90 {CALIBRATED.p90_min:.1f} min" in out
    assert f"n = {CALIBRATED.n_pairs}" in out
    assert f"minutes = {CALIBRATED.intercept_min:.3f} + {CALIBRATED.min_per_km:.3f} x straight_km" in out
    assert f"road km = {CALIBRATED.detour:.3f} x straight_km" in out
    assert main(["travel", "status"]) == 0
    assert "rutland-latest" in capsys.readouterr().out
