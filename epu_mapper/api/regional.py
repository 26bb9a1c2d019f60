"""Helpers the region queries share: region frames and rows, the open mask at a moment."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd

from epu_mapper import coverage as cov
from epu_mapper import hours as hrs
from epu_mapper.api.args import CoverageArgumentError, NationHoliday, check_level
from epu_mapper.api.context import Context
from epu_mapper.inputs import shorten
from epu_mapper.levels import region_columns
from epu_mapper.population import weight_kind_label


def _slot_column(
    ctx: Context, when: datetime | NationHoliday, policy: str, flt=None
) -> np.ndarray:
    """``bool (n_units, 1)`` open mask at a real moment (bank holidays by each unit's nation)."""
    if isinstance(when, NationHoliday):
        in_nation = (ctx.mapped["nation"].astype(str) == when.nation).to_numpy()
        h = when.hour
        states = np.where(in_nation, ctx.states[:, cov.BANK_HOLIDAY_OFFSET + h], ctx.states[:, h])
        assumed = ~in_nation & (9 <= h < 17)
        mask = cov.open_mask(states[:, None], policy, assumed[:, None])
        return mask & ctx.eligible(flt)[:, None]
    day = when.date()
    key = ("day_states", day)
    if key not in ctx._cache:
        ctx._cache[key] = hrs.day_states(ctx.mapped, day)
    states = ctx._cache[key][:, when.hour : when.hour + 1]
    nations = ctx.mapped["nation"].astype(str).to_numpy()
    holiday = np.array([hrs.is_bank_holiday(day, n) for n in nations])
    assumed = (day.weekday() < 5) & (9 <= when.hour < 17) & ~holiday
    return cov.open_mask(states, policy, assumed[:, None]) & ctx.eligible(flt)[:, None]


def _nearest_at(
    ctx: Context, slot: int | None, when: datetime | None, policy: str, flt=None
) -> np.ndarray:
    if slot is not None:
        return ctx.nearest_week(policy, flt).minutes[:, slot]
    mask = _slot_column(ctx, when, policy, flt)
    return cov.nearest_open(ctx.minutes, mask, ctx.order, by_unit=ctx.by_unit).minutes[:, 0]


def _weight_kinds(ctx: Context, g: np.ndarray, n: int) -> np.ndarray:
    kinds = ctx.demand["weight_kind"].astype(str).to_numpy()
    out = np.empty(n, dtype=object)
    df = pd.DataFrame({"g": g, "k": kinds})
    df = df[df.g >= 0]
    for gi, ks in df.groupby("g")["k"].unique().items():
        out[gi] = weight_kind_label(ks)
    return out


def _region_frame(ctx: Context, level: str) -> pd.DataFrame:
    """Region identity and size columns at a level (cached; returns a copy)."""
    key = ("region_frame", level)
    if key not in ctx._cache:
        ctx._cache[key] = _region_frame_uncached(ctx, level)
    return ctx._cache[key].copy()


def _region_frame_uncached(ctx: Context, level: str) -> pd.DataFrame:
    g, uniq = ctx.groups(level)
    _, name_col = region_columns(level)
    first = pd.DataFrame({"g": g, "name": ctx.regions[name_col].to_numpy(),
                          "nation": ctx.regions["nation"].to_numpy()})
    first = first[first.g >= 0].drop_duplicates("g").set_index("g").sort_index()
    pop = cov._group_sums(pd.to_numeric(ctx.demand["population"], errors="coerce").fillna(0), g, len(uniq))
    n_areas = np.bincount(g[g >= 0], minlength=len(uniq))
    unit_area = ctx.mapped["area_index"].to_numpy()
    ug = np.where(unit_area >= 0, g[np.clip(unit_area, 0, None)], -1)
    n_units = np.bincount(ug[ug >= 0], minlength=len(uniq))
    return pd.DataFrame(
        {
            "level": level,
            "region_code": uniq.astype(str),
            "region_name": first["name"].reindex(range(len(uniq))).to_numpy(),
            "nation": first["nation"].reindex(range(len(uniq))).to_numpy(),
            "n_areas": n_areas,
            "population": pop[:, 0],
            "weight": cov._group_sums(ctx.weights, g, len(uniq))[:, 0],
            "weight_kind": _weight_kinds(ctx, g, len(uniq)),
            "units_in_region": n_units,
        }
    )


def regions(ctx: Context, level: str) -> pd.DataFrame:
    """Pick list of regions at a level: ``region_code, region_name, nation`` sorted by code."""
    return _region_frame(ctx, check_level(level))[["region_code", "region_name", "nation"]]


def _region_rows(ctx: Context, level: str, region_code: str) -> np.ndarray:
    g, uniq = ctx.groups(check_level(level))
    pos = np.searchsorted(uniq, str(region_code))
    if pos >= len(uniq) or uniq[pos] != str(region_code):
        raise CoverageArgumentError(
            f"no {level} region with code {shorten(region_code)} (see `regions(ctx, {shorten(level)})`)"
        )
    return np.flatnonzero(g == pos)


def _json_float(x) -> float | None:
    x = float(x)
    return None if not np.isfinite(x) else x
