"""One region's provision: :func:`local` and :func:`coverage_by_hour`."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from epu_mapper import coverage as cov
from epu_mapper.api.args import check_policy
from epu_mapper.api.context import Context
from epu_mapper.api.regional import _region_rows


@dataclass
class LocalResult:
    """One region's units, weekly timetable and coverage by hour (see :func:`local`)."""

    units: pd.DataFrame
    week: np.ndarray
    coverage_by_hour: pd.DataFrame
    hospitals_without_unit: pd.DataFrame


def coverage_by_hour(ctx: Context, level: str, region_code: str, policy: str = "exclude") -> pd.DataFrame:
    """Coverage of one region's population at each of the 192 standard slots.

    Returns
    -------
    pandas.DataFrame
        ``hour_of_week`` (slot 0…191: 168+ = bank-holiday day), ``kind, day, hour, label, band,
        median_minutes, p90_minutes, pct_within_30, pct_within_60, pct_within_90,
        pct_no_open_unit``.
    """
    check_policy(policy)
    rows = _region_rows(ctx, level, region_code)
    m = ctx.nearest_week(policy).minutes[rows]
    w = ctx.weights[rows]
    grp = np.zeros(rows.size, dtype=np.int64)
    q = cov.weighted_quantiles(m, w, grp, 1, [0.5, 0.9])
    out = cov.slot_table().rename(columns={"slot": "hour_of_week"})
    out["median_minutes"] = q[0, 0]
    out["p90_minutes"] = q[1, 0]
    for b in ctx.settings.travel_bands:
        out[f"pct_within_{b}"] = 100 * cov.within_share(m, w, grp, 1, b)[0]
    total = w.sum()
    out["pct_no_open_unit"] = 100 * (np.isinf(m) * w[:, None]).sum(axis=0) / total if total else np.nan
    return out


_LOCAL_UNIT_COLS = [
    "unit_id", "unit_name", "hospital", "opening_hours", "hours_status", "hours_kind",
    "self_referral", "source_url", "source_seen", "phone", "lat", "lon",
]


def local(ctx: Context, level: str, region_code: str, policy: str = "exclude") -> LocalResult:
    """Units in or serving a region, their weekly states, and the region's coverage by hour.

    ``units`` holds the mappable units whose site lies in the region (``in_region`` True) and
    those that are the nearest unit (at any hour) of at least one of its small areas; ``week``
    is their ``int8 (n, 168)`` typical week in the same row order. ``hospitals_without_unit``
    lists acute sites (``hospitals.parquet``) in the region with no directory unit at the same
    site code or postcode (empty when that table is not built).
    """
    rows = _region_rows(ctx, level, region_code)
    g, _ = ctx.groups(level)
    region_g = g[rows[0]]
    unit_area = ctx.mapped["area_index"].to_numpy()
    in_region = _inside_boundary(ctx, level, region_code)
    if in_region is None:  # no boundary file: the unit's nearest small area decides
        in_region = (unit_area >= 0) & (g[np.clip(unit_area, 0, None)] == region_g)
    serving = np.zeros(len(ctx.mapped), dtype=bool)
    nearest_units = ctx.nearest_any().unit[rows, 0]
    serving[nearest_units[nearest_units >= 0]] = True
    pick = np.flatnonzero(in_region | serving)
    units = ctx.mapped.iloc[pick][[c for c in _LOCAL_UNIT_COLS if c in ctx.mapped.columns]].copy()
    units["in_region"] = in_region[pick]
    units = units.reset_index(drop=True)
    week = ctx.states[pick, : cov.HOURS_PER_WEEK]
    hospitals = _hospitals_without_unit(ctx, rows)
    return LocalResult(units, week, coverage_by_hour(ctx, level, region_code, policy), hospitals)


def _inside_boundary(ctx: Context, level: str, region_code: str) -> np.ndarray | None:
    """Which mapped units' sites lie inside the region's boundary polygon.

    Which mapped units' sites lie inside the region's boundary polygon (``None`` when the boundary
    is not available). A unit by a border belongs to the region its site is in, not to the region of
    its nearest small-area centroid.
    """
    key = ("inside", level, str(region_code))
    if key not in ctx._cache:
        import shapely
        from shapely.geometry import shape

        from epu_mapper.api.about import boundaries
        from epu_mapper.errors import BuildMissingError

        try:
            features = boundaries(level, ctx.settings)["features"]
        except (BuildMissingError, OSError, ValueError, KeyError):
            return None
        shapes = [shape(f["geometry"]) for f in features
                  if str(f.get("properties", {}).get("region_code")) == str(region_code)]
        if not shapes:
            return None
        lat = pd.to_numeric(ctx.mapped["lat"], errors="coerce").to_numpy(float)
        lon = pd.to_numeric(ctx.mapped["lon"], errors="coerce").to_numpy(float)
        ctx._cache[key] = shapely.contains_xy(shapely.union_all(shapes), lon, lat)
    return ctx._cache[key]


def _hospitals_without_unit(ctx: Context, rows: np.ndarray) -> pd.DataFrame:
    """Acute sites (loaded with the context) in these demand rows with no directory unit."""
    cols = ["site_code", "name", "organisation", "postcode", "lat", "lon"]
    h = ctx.hospitals
    inside = h[h["area_index"].isin(rows)]
    site_codes = set(ctx.units.get("site_code", pd.Series(dtype=str)).dropna().astype(str))
    postcodes = set(ctx.units.get("postcode", pd.Series(dtype=str)).dropna().astype(str))
    no_unit = ~(inside["site_code"].astype(str).isin(site_codes) | inside["postcode"].astype(str).isin(postcodes))
    return inside.loc[no_unit, [c for c in cols if c in inside.columns]].reset_index(drop=True)
