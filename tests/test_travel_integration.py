"""The travel layer on the real UK data: estimate matrix for every area x every mappable
unit, and the candidate-pair rule never changing a nearest-open answer."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest

from epu_mapper import hours
from epu_mapper.settings import Settings
from epu_mapper.travel.build import build_matrix, load_mappable_units
from epu_mapper.travel.candidates import candidate_mask, open_state_groups, straight_km_matrix
from epu_mapper.travel.estimate import CALIBRATED, estimate_matrix
from epu_mapper.travel.load import load_matrix

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def demand(real_settings) -> pd.DataFrame:
    path = real_settings.build_dir / "demand.parquet"
    assert path.is_file(), "run `epu-mapper data build` first (make test does)"
    return pd.read_parquet(path)


@pytest.fixture(scope="module")
def units(real_settings) -> pd.DataFrame:
    return load_mappable_units(real_settings)


def test_estimate_matrix_for_every_uk_area(real_settings, demand, units, tmp_path):
    build = tmp_path / "build"
    build.mkdir()
    os.symlink(real_settings.build_dir / "demand.parquet", build / "demand.parquet")
    settings = Settings(data_dir=real_settings.data_dir, build_dir=build, units_csv=real_settings.units_csv)
    _, prov, _ = build_matrix("estimate", settings, progress=False, log=lambda s: None)
    assert prov["counts"]["areas"] == len(demand) > 43_000
    assert prov["counts"]["units"] == len(units) > 50
    m = load_matrix(settings)
    assert m.engine == "estimate" and m.approximate
    assert m.minutes.shape == (len(demand), len(units))
    np.testing.assert_array_equal(m.area_codes, demand["area_code"].to_numpy())
    np.testing.assert_array_equal(m.unit_ids, units["unit_id"].to_numpy())
    # every area has coordinates and nothing is skipped with k=100: the only gaps are the
    # pairs across the Irish Sea, which are NaN with their reason, never a number
    ni_area = (demand["nation"] == "Northern Ireland").to_numpy()[:, None]
    ni_unit = (units["nation"] == "Northern Ireland").to_numpy()[None, :]
    np.testing.assert_array_equal(np.isnan(m.minutes), ni_area != ni_unit)
    assert not np.isinf(m.minutes).any()
    assert set(m.unreachable["reason"]) == {"no road link between Northern Ireland and Great Britain"}
    assert len(m.unreachable) == int((ni_area != ni_unit).sum())
    assert np.nanmin(m.minutes) >= CALIBRATED.intercept_min
    # the nearest unit of every area is within a plausible range for the UK
    nearest = np.nanmin(m.minutes, axis=1)
    assert np.median(nearest) < 30 and nearest.max() < 400


def test_pruning_never_changes_the_nearest_open_unit(demand, units):
    """With k = 5 and the nearest unit of every open-state group, the nearest open unit
    (every hour of the week and of a bank holiday, unknown = closed or open) is unchanged."""
    week = hours.week_states(units)
    bank = hours.bank_holiday_states(units)
    groups = open_state_groups(week, bank, extra=units["nation"].to_numpy())
    o_lat, o_lon = demand["lat"].to_numpy(), demand["lon"].to_numpy()
    d_lat, d_lon = units["lat"].to_numpy(float), units["lon"].to_numpy(float)
    dist = straight_km_matrix(o_lat, o_lon, d_lat, d_lon)
    mask = candidate_mask(o_lat, o_lon, d_lat, d_lon, k=5, groups=groups, per_group=1, straight_km=dist)
    assert mask.mean() < 0.6  # the rule really prunes here
    full, _ = estimate_matrix(o_lat, o_lon, d_lat, d_lon, straight_km=dist)
    pruned, _ = estimate_matrix(o_lat, o_lon, d_lat, d_lon, mask=mask, straight_km=dist)
    states = np.concatenate([week, bank], axis=1)
    for unknown_as in (0, 1):
        is_open = np.where(states == -1, unknown_as, states).astype(bool)
        distinct = np.unique(is_open, axis=1)  # hours sharing one open set are checked once
        for h in range(distinct.shape[1]):
            col = distinct[:, h]
            if not col.any():
                continue
            a = np.where(col[None, :], full, np.inf).min(axis=1)
            b = np.where(col[None, :], pruned, np.inf).min(axis=1)
            np.testing.assert_array_equal(a, b, err_msg=f"hour {h}, unknown as {unknown_as}")
