"""Access by deprivation and car ownership (``equity``) and the equity effect of a scenario.

The statistics themselves are pure (:mod:`epu_mapper.equity`); this module aligns the built
``area_equity.parquet`` (:mod:`epu_mapper.deprivation`) to the context's areas, picks the
grouping and names the rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import pandas as pd

from epu_mapper import coverage as cov
from epu_mapper import equity as eq
from epu_mapper import store
from epu_mapper.api.args import CoverageArgumentError, _resolve_slot, check_level, check_policy
from epu_mapper.api.context import Context
from epu_mapper.api.gap_stats import travel_caption
from epu_mapper.api.regional import _nearest_at, _region_frame

#: Groupings: name -> (number of groups, group labels, 1 = most disadvantaged).
BY: dict[str, tuple[str, ...]] = {
    "deprivation": ("1 most deprived", "2", "3", "4", "5 least deprived"),
    "uk-deprivation": ("1 most deprived (UK)", "2", "3", "4", "5 least deprived (UK)"),
    "core20": ("Core20 (most deprived 20 %)", "rest of England"),
    "car": ("highest no-car fifth", "4th", "middle", "2nd", "lowest no-car fifth"),
}
BY_NOTE = {
    "deprivation": "quintiles of each nation's own index (IMD 2025 England, WIMD 2019 Wales, "
                   "SIMD 2020v2 Scotland, NIMDM 2017 Northern Ireland via an approximate "
                   "SOA-to-SDZ crosswalk); quintile 1 = most deprived within the nation",
    "uk-deprivation": "quintiles of the UK composite index (mySociety, England-anchored; "
                      "approximate outside England)",
    "core20": "England only: the most deprived 20 % of LSOAs (IMD 2025 deciles 1-2) "
              "against the rest",
    "car": "England & Wales only (Census 2021 TS045): fifths of LSOAs by the share of "
           "households with no car or van; Scotland and Northern Ireland have no car "
           "figure in the data and are left out",
}
BAND_LABELS = {
    "selected": "at the chosen time", "week": "whole week", "weekday_day": "weekday daytime",
    "evening": "weekday evening", "night": "night (22:00-08:00)", "weekend": "weekend daytime",
    "bank_holiday": "bank holiday",
}
DOUBLE_COLUMNS = [
    "area_code", "area_name", "nation", "region_code", "region_name", "weight", "dep_index",
    "dep_decile", "pct_no_car", "night_median_minutes", "weekend_median_minutes",
]


@dataclass
class EquityResult:
    """What :func:`equity` returns.

    Attributes
    ----------
    by_group : pandas.DataFrame
        ``level, region_code, region_name, nation, by, group, group_label, band, band_label,
        weight, share_of_region_weight, pct_within_30, pct_within_60, pct_within_90,
        median_minutes, hours_covered`` (one row per region × group × band).
    summary : pandas.DataFrame
        ``level, region_code, region_name, nation, band, band_label, weight,
        weight_without_group, gap_pct_within_60, gap_median_minutes, concentration_index``.
    double_disadvantage : pandas.DataFrame
        :data:`DOUBLE_COLUMNS` for the areas in the most deprived quintile, in the highest
        no-car fifth and more than 60 min (median) from an open unit at night or at the weekend.
    attrs : dict
        ``level, by, by_note, when, at, slot, policy, directory, reach_minutes, engine,
        travel_caption, weight_kind``.
    """

    by_group: pd.DataFrame
    summary: pd.DataFrame
    double_disadvantage: pd.DataFrame
    attrs: dict = field(default_factory=dict)


def area_equity(ctx: Context) -> pd.DataFrame:
    """``area_equity.parquet`` aligned to the context's areas (cached on the context)."""
    key = ("area_equity",)
    if key not in ctx._cache:
        t = store.read_built("area_equity.parquet", ctx.settings, "The deprivation and car table")
        # positions by a hash lookup on plain strings (Series.isin on Arrow-backed strings took
        # about 0.5 s for 43k areas, inside the first scenario a visitor tried)
        index = pd.Index(t["area_code"].astype(str).to_numpy(dtype=object))
        codes = ctx.demand["area_code"].astype(str).to_numpy(dtype=object)
        pos = index.get_indexer(codes)
        missing = codes[pos < 0]
        if len(missing):
            from epu_mapper.errors import BuildMissingError

            raise BuildMissingError(
                f"area_equity.parquet lacks {len(missing)} areas (e.g. {missing[0]}); "
                "it is out of date:", ctx.settings.build_dir / "area_equity.parquet",
                "epu-mapper data build")
        ctx._cache[key] = t.iloc[pos].reset_index(drop=True)
    return ctx._cache[key]


def group_vector(ctx: Context, by: str) -> np.ndarray:
    """``int8 (n_areas,)`` group 1… of each area for grouping ``by`` (0 = not in any group)."""
    if by not in BY:
        raise CoverageArgumentError(f"unknown grouping {by!r}; choose one of: {', '.join(BY)}")
    t = area_equity(ctx)
    if by == "deprivation":
        return t["dep_quintile"].to_numpy(np.int8)
    if by == "uk-deprivation":
        return t["uk_quintile"].to_numpy(np.int8)
    if by == "core20":
        eng = (t["nation"] == "England").to_numpy()
        return np.where(eng, np.where(t["core20"].to_numpy(bool), 1, 2), 0).astype(np.int8)
    q = t["no_car_quintile"].to_numpy(np.int8)
    return np.where(q > 0, 6 - q, 0).astype(np.int8)


def _bands(ctx: Context, policy: str) -> dict:
    key = ("equity_bands", policy)
    if key not in ctx._cache:
        ctx._cache[key] = eq.band_area_summaries(ctx.nearest_week(policy).minutes,
                                                 reach=ctx.reach_minutes)
    return ctx._cache[key]


def equity(
    ctx: Context,
    level: str,
    at: datetime | str | None = None,
    hour_of_week: int | None = None,
    bank_holiday: bool | str = False,
    by: str = "deprivation",
    policy: str = "exclude",
    directory: str | None = None,
) -> EquityResult:
    """Access to an open unit by deprivation quintile, Core20 or car access, per region.

    Parameters
    ----------
    ctx : Context
    level : str
        A region level (:data:`epu_mapper.api.LEVELS`).
    at, hour_of_week, bank_holiday
        The chosen time, as in :func:`epu_mapper.api.gaps` (default: now).
    by : {"deprivation", "uk-deprivation", "core20", "car"}
        The grouping (:data:`BY_NOTE` says what each is).
    policy : {"exclude", "weekday", "always"}
        Unknown hours (``exclude`` = counted closed).
    directory : {None, "known", "with-likely"}
        Units counted (:mod:`epu_mapper.api.directory`): the directory's placed units (None,
        ``known``) or also every likely EPU site with unknown hours (``with-likely``).

    Returns
    -------
    EquityResult
        Statistics per region × group × band (``selected`` = the chosen time, ``week`` and the
        time bands of :data:`epu_mapper.coverage.BAND_NAMES`), the inequality summary and the
        double-disadvantage list. All weighted by women 15–44.
    """
    from epu_mapper.api import directory as dirs

    check_level(level)
    check_policy(policy)
    directory = dirs.check_directory(directory) or "known"
    ctx = dirs.context_for(ctx, directory)
    group = group_vector(ctx, by)
    label, slot, when = _resolve_slot(at, hour_of_week, bank_holiday)
    selected = _nearest_at(ctx, slot, when, policy)
    g, uniq = ctx.groups(level)
    labels = BY[by]
    key = ("equity_week", level, by, policy)
    if key not in ctx._cache:  # the typical-week bands do not depend on the chosen time
        ctx._cache[key] = eq.equity_tables(None, _bands(ctx, policy), ctx.weights, g, len(uniq),
                                           group, len(labels))
    week_rows, week_summary = ctx._cache[key]
    sel_rows, sel_summary = eq.equity_tables(selected, {}, ctx.weights, g, len(uniq), group,
                                             len(labels))
    by_group = pd.concat([sel_rows, week_rows], ignore_index=True)
    summary = pd.concat([sel_summary, week_summary], ignore_index=True)
    reg = _region_frame(ctx, level)[["region_code", "region_name", "nation", "weight_kind"]]
    by_group = _named(by_group, reg, level)
    by_group.insert(4, "by", by)
    by_group.insert(6, "group_label", np.asarray(labels, dtype=object)[by_group["group"] - 1])
    by_group.insert(8, "band_label", by_group["band"].map(BAND_LABELS))
    summary = _named(summary, reg, level)
    summary.insert(5, "band_label", summary["band"].map(BAND_LABELS))
    # regions with nobody in any group (e.g. Scotland by car) are left out
    has = summary.groupby("region_code")["weight_without_group"].first() < \
        summary.groupby("region_code")["weight"].first() - 1e-9
    keep = has[has].index
    by_group = by_group[by_group["region_code"].isin(keep)].reset_index(drop=True)
    summary = summary[summary["region_code"].isin(keep)].reset_index(drop=True)
    attrs = {
        "level": level, "by": by, "by_note": BY_NOTE[by], "when": label,
        "at": when.isoformat(timespec="minutes") if isinstance(when, datetime) else None,
        "slot": slot, "policy": policy, "directory": directory,
        "reach_minutes": ctx.reach_minutes,
        "engine": getattr(ctx.matrix, "engine", None), "travel_caption": travel_caption(ctx),
        "weight_kind": "women aged 15-44 (" + ", ".join(sorted(set(reg["weight_kind"]))) + ")",
    }
    return EquityResult(by_group, summary, double_disadvantage(ctx, level, policy), attrs)


def _named(df: pd.DataFrame, reg: pd.DataFrame, level: str) -> pd.DataFrame:
    r = reg.reset_index(drop=True)
    idx = df["region"].to_numpy()
    out = df.drop(columns="region").copy()
    out.insert(0, "nation", r["nation"].to_numpy()[idx])
    out.insert(0, "region_name", r["region_name"].to_numpy()[idx])
    out.insert(0, "region_code", r["region_code"].to_numpy()[idx])
    out.insert(0, "level", level)
    return out


def double_disadvantage(ctx: Context, level: str = "lad", policy: str = "exclude") -> pd.DataFrame:
    """Areas in the most deprived quintile.

    Areas in the most deprived quintile (own nation), in the highest no-car fifth (E&W), and more
    than 60 min from an open unit (median over the hours) at night or at the weekend.

    Returns
    -------
    pandas.DataFrame
        :data:`DOUBLE_COLUMNS` (region at ``level``), worst night time first.
    """
    key = ("double_disadvantage", level, policy)
    if key not in ctx._cache:
        ctx._cache[key] = _double_disadvantage(ctx, level, policy)
    return ctx._cache[key].copy()


def _double_disadvantage(ctx: Context, level: str, policy: str) -> pd.DataFrame:
    t = area_equity(ctx)
    bands = _bands(ctx, policy)
    night, weekend = bands["night"]["median"], bands["weekend"]["median"]
    hit = eq.double_disadvantage(t["dep_quintile"].to_numpy(), t["high_no_car"].to_numpy(bool),
                                 night, weekend, threshold=60.0)
    g, _ = ctx.groups(level)
    reg = _region_frame(ctx, level)
    rows = np.flatnonzero(hit & (g >= 0))
    d = ctx.demand
    out = pd.DataFrame({
        "area_code": d["area_code"].to_numpy()[rows],
        "area_name": d["area_name"].to_numpy()[rows],
        "nation": d["nation"].to_numpy()[rows],
        "region_code": reg["region_code"].to_numpy()[g[rows]],
        "region_name": reg["region_name"].to_numpy()[g[rows]],
        "weight": ctx.weights[rows],
        "dep_index": t["dep_index"].to_numpy()[rows],
        "dep_decile": t["dep_decile"].to_numpy()[rows],
        "pct_no_car": t["pct_no_car"].to_numpy()[rows],
        "night_median_minutes": night[rows],
        "weekend_median_minutes": weekend[rows],
    })
    return out.sort_values(["night_median_minutes", "weekend_median_minutes"],
                           ascending=False, kind="stable").reset_index(drop=True)


def equity_effect(ctx: Context, rows: np.ndarray, gained: np.ndarray, weights: np.ndarray) -> dict:
    """Women newly within reach by within-nation deprivation quintile, for a what-if.

    Parameters
    ----------
    rows : numpy.ndarray
        Area rows touched by the change (``WhatIfCore.rows``).
    gained : numpy.ndarray
        ``bool (len(rows), 192)`` newly within reach per slot.
    weights : numpy.ndarray
        ``(n_areas,)`` the what-if's weights.

    Returns
    -------
    dict
        ``newly_within_any_hour_by_quintile`` ({"1": women, … "5": …}: women newly within
        reach at some hour of the week), ``person_hours_week_by_quintile`` and
        ``most_deprived_share_pct`` (quintile 1's share of the person-hours gained).
    """
    q = group_vector(ctx, "deprivation")[rows] if len(rows) else np.zeros(0, np.int8)
    w = weights[rows] if len(rows) else np.zeros(0)
    wk = gained[:, : cov.HOURS_PER_WEEK] if len(rows) else np.zeros((0, cov.HOURS_PER_WEEK))
    anyh = wk.any(axis=1)
    hours = wk.sum(axis=1) * w
    within = {str(k): float(w[(q == k) & anyh].sum()) for k in range(1, 6)}
    ph = {str(k): float(hours[q == k].sum()) for k in range(1, 6)}
    total = sum(ph.values())
    return {
        "newly_within_any_hour_by_quintile": within,
        "person_hours_week_by_quintile": ph,
        "most_deprived_share_pct": (100.0 * ph["1"] / total) if total > 0 else None,
        "note": "quintile 1 = most deprived within its own nation; weighted as the what-if",
    }
