"""One nearest-point search (STRtree in EPSG:27700) against the two brute-force loops it replaced,
on the real build: units and hospitals to their nearest small area, postcode sectors too."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from epu_mapper import spatial

pytestmark = pytest.mark.integration


def _old_api_index(lat, lon, demand):
    """The api's former loop: equirectangular distance at the pair's mean latitude."""
    dlat = np.radians(demand["lat"].to_numpy(float))
    dlon = np.radians(demand["lon"].to_numpy(float))
    out = np.full(len(lat), -1, dtype=np.int64)
    for i, (la, lo) in enumerate(zip(np.radians(lat), np.radians(lon), strict=True)):
        if np.isnan(la) or np.isnan(lo):
            continue
        x = (dlon - lo) * np.cos((dlat + la) / 2)
        out[i] = int(np.argmin(x * x + (dlat - la) ** 2))
    return out


def _old_geography_index(qlat, qlon, plat, plon):
    """geography's former loop: equirectangular at the candidates' mean latitude."""
    coslat = np.cos(np.radians(np.nanmean(plat)))
    d2 = ((qlon[:, None] - plon[None, :]) * coslat) ** 2 + (qlat[:, None] - plat[None, :]) ** 2
    return np.argmin(d2, axis=1)


def _metres(lat, lon, demand, idx):
    x, y = spatial.to_british_grid(lat, lon)
    px, py = spatial.to_british_grid(demand["lat"].to_numpy(float)[idx],
                                       demand["lon"].to_numpy(float)[idx])
    return np.hypot(x - px, y - py)


@pytest.fixture(scope="module")
def demand(real_settings):
    return pd.read_parquet(real_settings.build_dir / "demand.parquet")


def _compare(lat, lon, demand, old):
    new = spatial.nearest_points(lat, lon, demand["lat"].to_numpy(float),
                                   demand["lon"].to_numpy(float))
    ok = old >= 0
    assert (new[~ok] == -1).all() and (new[ok] >= 0).all()
    differ = ok & (new != old)
    # where the two metrics pick different areas, the new pick is never farther in metres and the
    # old one was a near-tie under its distorted metric (measured: at most 58 m / 2.8 % farther)
    d_new = _metres(lat[differ], lon[differ], demand, new[differ])
    d_old = _metres(lat[differ], lon[differ], demand, old[differ])
    assert (d_new <= d_old + 1e-6).all()
    assert (d_old - d_new <= np.maximum(60.0, 0.03 * d_old)).all()
    return int(ok.sum()), int(differ.sum())


def test_units_and_hospitals_match_the_old_api_search(real_settings, demand):
    units = pd.read_parquet(real_settings.build_dir / "units_geo.parquet")
    hospitals = pd.read_parquet(real_settings.build_dir / "hospitals.parquet")
    for table in (units, hospitals):
        lat = pd.to_numeric(table["lat"], errors="coerce").to_numpy(float)
        lon = pd.to_numeric(table["lon"], errors="coerce").to_numpy(float)
        n, differ = _compare(lat, lon, demand, _old_api_index(lat, lon, demand))
        # measured: 84 units and 238 hospitals; on the official population-weighted centroids one
        # site is a near-tie that the two metrics split (_compare checks the new pick is nearer)
        assert n > 50 and differ <= max(1, n // 100)


def test_postcode_sectors_match_the_old_geography_search(real_settings, demand):
    sectors = pd.read_parquet(real_settings.build_dir / "postcode_sectors.parquet")
    sample = sectors.sample(3000, random_state=1)
    lat, lon = sample["lat"].to_numpy(float), sample["lon"].to_numpy(float)
    old = np.full(len(lat), -1)
    ok = np.isfinite(lat) & np.isfinite(lon)
    old[ok] = _old_geography_index(lat[ok], lon[ok], demand["lat"].to_numpy(float),
                                   demand["lon"].to_numpy(float))
    n, differ = _compare(lat, lon, demand, old)
    assert n > 2500 and differ <= n // 100  # measured: 25 of 3000 differ
