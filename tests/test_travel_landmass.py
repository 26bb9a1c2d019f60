"""Straight lines cross the Irish Sea; roads do not. Pairs between Northern Ireland and
Great Britain are unreachable for the estimate (NaN with a reason), never a short "drive"."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from epu_mapper.settings import Settings
from epu_mapper.travel import from_point
from epu_mapper.travel.build import build_matrix
from epu_mapper.travel.pairs import NO_ROAD_LINK, REASONS, landmass

# Belfast and Stranraer are 55 km apart in a straight line; Stranraer and Glasgow 105 km by road.
DEMAND = pd.DataFrame({
    "area_code": ["BELFAST", "STRANRAER"],
    "nation": ["Northern Ireland", "Scotland"],
    "lat": [54.597, 54.903],
    "lon": [-5.930, -5.024],
})
UNITS = pd.DataFrame({
    "unit_id": ["RVH", "GGC"],
    "nation": ["Northern Ireland", "Scotland"],
    "lat": [54.594, 55.862],
    "lon": [-5.955, -4.252],
    "mappable": [True, True],
})


def test_landmass_codes():
    got = landmass(["England", "Wales", "Scotland", "Northern Ireland", "", None, "Jersey"])
    assert got.tolist() == [0, 0, 0, 1, -1, -1, -1]


def test_matrix_marks_cross_sea_pairs_unreachable(tmp_path: Path):
    settings = Settings(data_dir=None, build_dir=tmp_path / "b", units_csv=tmp_path / "u.csv")
    path, prov, _ = build_matrix("estimate", settings, demand=DEMAND, units=UNITS, progress=False,
                                 log=lambda s: None)
    long = pd.read_parquet(path).set_index(["area_code", "unit_id"])
    for pair in [("BELFAST", "GGC"), ("STRANRAER", "RVH")]:
        assert np.isnan(long.loc[pair, "minutes"]) and np.isnan(long.loc[pair, "km"])
        assert long.loc[pair, "reason"] == REASONS[NO_ROAD_LINK]
    for pair in [("BELFAST", "RVH"), ("STRANRAER", "GGC")]:
        assert long.loc[pair, "minutes"] > 0 and pd.isna(long.loc[pair, "reason"])
    assert prov["counts"]["unreachable"][REASONS[NO_ROAD_LINK]] == 2


def test_from_point_with_origin_nation():
    belfast = from_point(54.597, -5.930, UNITS, router=None, origin_nation="Northern Ireland")
    assert belfast["minutes"].notna().tolist() == [True, False]
    assert belfast.loc[1, "reason"] == REASONS[NO_ROAD_LINK]
    # without the origin's nation and without the water rule's land grid nothing is ruled out
    # (with the grid, tests/test_travel_water.py: the land itself tells Ireland from Britain)
    unknown = from_point(54.597, -5.930, UNITS, router=None, water=None)
    assert unknown["minutes"].notna().all()
    stranraer = from_point(54.903, -5.024, UNITS, router=None, origin_nation="Scotland")
    assert np.isnan(stranraer.loc[0, "minutes"]) and stranraer.loc[1, "minutes"] > 60
