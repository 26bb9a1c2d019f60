"""Regional access statistics: :func:`gaps`, :func:`gaps_by_hour`, :func:`small_areas`."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd

from epu_mapper import coverage as cov
from epu_mapper.api.args import (
    GAPS_POLICIES,
    NationHoliday,
    _filters,
    _resolve_slot,
    check_level,
    check_policy,
)
from epu_mapper.api.context import Context
from epu_mapper.api.regional import (
    _json_float,
    _nearest_at,
    _region_frame,
    _region_rows,
    _slot_column,
)

GAPS_STAT_COLUMNS = (
    "median_minutes", "p90_minutes", "pct_within_30", "pct_within_60", "pct_within_90",
    "pct_no_open_unit", "gini_minutes", "hours_covered", "pct_all_week_within",
    "pct_within_weekday_day", "pct_within_evening", "pct_within_night", "pct_within_weekend",
    "pct_within_bank_holiday", "nice_7day", "nice_7day_pass",
)


def _gaps_one(
    ctx: Context, level: str, slot: int | None, when: datetime | NationHoliday | None,
    policy: str, flt: tuple[bool, float | None] | None = None,
) -> tuple[pd.DataFrame, np.ndarray]:
    """Statistics of every region under one policy, and the minutes to the nearest open unit.

    Returns
    -------
    (stats, values) : tuple
        ``stats``: one row per region (the statistics of :func:`gaps`); ``values``: ``(n_areas,)``
        minutes from each area to its nearest open unit at the chosen time (``inf`` = none).
    """
    g, uniq = ctx.groups(level)
    values = _nearest_at(ctx, slot, when, policy, flt)
    st = cov.slot_statistics(values, ctx.weights, g, len(uniq), ctx.settings.travel_bands)
    ws = ctx.week_summary(level, policy, flt).rename(columns={"hours_per_week_within": "hours_covered", "nice_7day_pct": "nice_7day"})
    out = pd.concat([st.drop(columns="weight"), ws], axis=1)
    return out.reset_index(drop=True), values


def gaps(
    ctx: Context,
    level: str,
    at: datetime | str | None = None,
    hour_of_week: int | None = None,
    bank_holiday: bool | str = False,
    policy: str = "exclude",
    self_referral: bool = False,
    weeks: float | None = None,
    directory: str | None = None,
) -> pd.DataFrame:
    """Regional access statistics at one time, plus whole-week summaries.

    Parameters
    ----------
    ctx : Context
    level : str
        One of :data:`LEVELS`.
    at : datetime or str, optional
        A real moment (its date's bank holidays by each unit's nation). Default: now.
    hour_of_week : int, optional
        A typical-week slot 0…167 (Monday 00:00 = 0) instead of ``at``; with
        ``bank_holiday=True`` the hour 0…23 of the typical bank-holiday day (an hour of the
        week is taken modulo 24).
    bank_holiday : bool or str
        True: the typical bank-holiday day on which every unit follows its own nation's
        bank-holiday rules (slots 168–191; e.g. Christmas Day). A nation name (``"Scotland"``):
        a bank holiday in that nation only, on a Monday — e.g. St Andrew's Day — so units of
        other nations keep their Monday hours.
    policy : {"exclude", "weekday", "always", "range"}
        ``range`` computes ``exclude`` and ``always`` and returns every statistic twice, with
        suffixes ``_exclude`` (only known-open units: coverage lower bound) and ``_always``
        (unknown hours counted open: upper bound).
    directory : {None, "known", "with-likely"}
        Which units count (:mod:`epu_mapper.api.directory`): ``known`` = the directory's placed
        units; ``with-likely`` = also every likely EPU site, with unknown hours. None (default):
        ``known``, except that ``policy="range"`` spans ``known``/``exclude`` to
        ``with-likely``/``always`` when the likely sites are built.
    self_referral, weeks
        Count only units accepting self-referral (``yes``) / serving that gestation week
        (units with an unknown limit are kept), as in :func:`nearest`.

    Returns
    -------
    pandas.DataFrame
        One row per region: ``level, region_code, region_name, nation, n_areas, population,
        weight, weight_kind, units_in_region``, the directory's completeness (``placed_units,
        units_known_hours, likely_sites, completeness, no_placed_unit, incomplete``) and the
        statistics (all weighted by ``weight``):

        * at the chosen time: ``median_minutes``, ``p90_minutes`` (weighted lower quantiles of
          minutes to the nearest open unit; ``inf`` = none routed), ``pct_within_30/60/90``,
          ``pct_no_open_unit``, ``gini_minutes`` (Gini over areas with an open unit);
        * over the typical week: ``hours_covered`` (mean hours/week with an open unit within
          60 min), ``pct_all_week_within`` (% with one within 60 min at all 168 h),
          ``pct_within_<band>`` (% of population-hours covered in each band: weekday_day
          Mo–Fr 09–17, evening Mo–Fr 17–22, night 22–08, weekend Sa–Su 08–22, bank_holiday),
          ``nice_7day`` (% living where a unit within 60 min is open at some time on each of the
          7 days) and ``nice_7day_pass`` (``nice_7day >= 99``);
        * ``median_minutes_any_unit``: weighted median minutes to the nearest unit at all.

        ``df.attrs``: ``level, when`` (label), ``at`` (ISO UK local time, None for a typical-week
        slot), ``slot`` (0…191 or None for a real moment), ``policy, filters, reach_minutes,
        engine, approximate, travel_caption`` (:func:`travel_caption`), ``inequality``
        (``median_ratio_worst_best``, ``pct60_ratio_best_worst``, ``gini_minutes_uk``
        per policy), ``directory`` (``{policy: "known" | "with-likely"}``) and
        ``incomplete_below``.
    """
    check_level(level)
    check_policy(policy, GAPS_POLICIES)
    flt = _filters(self_referral, weeks)
    label, slot, when = _resolve_slot(at, hour_of_week, bank_holiday)
    base = _region_frame(ctx, level)
    g, uniq = ctx.groups(level)
    anyq = cov.weighted_quantiles(ctx.nearest_any(flt).minutes[:, 0], ctx.weights, g, len(uniq), [0.5])
    base["median_minutes_any_unit"] = anyq[0, :, 0]
    from epu_mapper.api import directory as dirs

    comp = dirs.completeness(ctx, level)
    base = pd.concat([base, comp.drop(columns="region_code")], axis=1)
    plan = dirs.bounds(ctx, policy, directory)
    inequality = {}
    parts = [base]
    for p, (pctx, _d) in plan.items():
        stats, values = _gaps_one(pctx, level, slot, when, p, flt)
        finite = stats["median_minutes"].to_numpy(float)
        inequality[p] = {
            "median_ratio_worst_best": _json_float(cov.worst_best_ratio(finite)),
            "pct60_ratio_best_worst": _json_float(cov.worst_best_ratio(stats["pct_within_60"])),
            "gini_minutes_uk": _json_float(cov.weighted_gini(values, ctx.weights)[0]),
            "pct_no_open_unit_uk": _json_float(
                100 * float(ctx.weights[np.isinf(values)].sum() / ctx.weights.sum())
            ),
        }
        if policy == "range":
            stats = stats.add_suffix(f"_{p}")
        parts.append(stats)
    out = pd.concat(parts, axis=1)
    out.attrs.update(
        level=level, when=label,
        at=when.isoformat(timespec="minutes") if isinstance(when, datetime) else None,
        slot=slot, policy=policy, reach_minutes=ctx.reach_minutes,
        filters={"self_referral": bool(self_referral), "weeks": weeks},
        engine=getattr(ctx.matrix, "engine", None),
        approximate=bool(getattr(ctx.matrix, "approximate", False)),
        travel_caption=travel_caption(ctx),
        inequality=inequality if policy == "range" else inequality[policy],
        directory={p: d for p, (_c, d) in plan.items()},
        incomplete_below=dirs.INCOMPLETE_BELOW,
    )
    return out


def travel_caption(ctx: Context) -> str:
    """One line for users on what the context's area-to-unit travel times are.

    Parameters
    ----------
    ctx : Context

    Returns
    -------
    str
        :attr:`TravelMatrix.caption <epu_mapper.travel.TravelMatrix.caption>`: the caption
        written when the matrix was built (for the straight-line estimate the calibrated
        :meth:`~epu_mapper.travel.estimate.EstimateParams.caption`, which states the typical
        error in minutes).
    """
    return ctx.matrix.caption


def small_areas(
    ctx: Context,
    level: str,
    region_code: str,
    hour_of_week: int | None = None,
    bank_holiday: bool | str = False,
    policy: str = "exclude",
    at: datetime | str | None = None,
    self_referral: bool = False,
    weeks: float | None = None,
) -> pd.DataFrame:
    """Small areas of one region with their nearest open unit at one time.

    ``at`` (a real moment) or ``hour_of_week``/``bank_holiday`` as in :func:`gaps` (default now);
    ``self_referral``/``weeks`` filter the units as in :func:`nearest`.

    Returns
    -------
    pandas.DataFrame
        ``area_code, area_name, lat, lon, population, weight, weight_kind, minutes, km,
        unit_id, unit_name, minutes_any_unit, any_unit_id`` (``minutes`` inf and ``unit_id``
        empty when no open unit was routed). ``attrs["when"]`` labels the time.
    """
    check_policy(policy)
    flt = _filters(self_referral, weeks)
    rows = _region_rows(ctx, level, region_code)
    label, slot, when = _resolve_slot(
        at if (at is not None or hour_of_week is not None) else None, hour_of_week, bank_holiday
    )
    if slot is not None:
        res = ctx.nearest_week(policy, flt)
        mins, unit = res.minutes[rows, slot], res.unit[rows, slot]
    else:
        mask = _slot_column(ctx, when, policy, flt)
        res = cov.nearest_open(ctx.minutes[rows], mask, ctx.order[rows])
        mins, unit = res.minutes[:, 0], res.unit[:, 0]
    anyr = ctx.nearest_any(flt)
    ids = ctx.mapped["unit_id"].to_numpy(object)
    names = ctx.mapped["unit_name"].to_numpy(object)
    ok = unit >= 0
    km = np.full(rows.size, np.nan, dtype=np.float64)
    km[ok] = np.asarray(ctx.matrix.km)[rows[ok], unit[ok]]
    d = ctx.demand.iloc[rows]
    out = pd.DataFrame(
        {
            "area_code": d["area_code"].to_numpy(),
            "area_name": d["area_name"].to_numpy(),
            "lat": d["lat"].to_numpy(),
            "lon": d["lon"].to_numpy(),
            "population": d["population"].to_numpy(),
            "weight": d["weight"].to_numpy(),
            "weight_kind": d["weight_kind"].to_numpy(),
            "minutes": mins.astype(float),
            "km": km,
            "unit_id": np.where(ok, ids[np.clip(unit, 0, None)], ""),
            "unit_name": np.where(ok, names[np.clip(unit, 0, None)], ""),
            "minutes_any_unit": anyr.minutes[rows, 0].astype(float),
            "any_unit_id": np.where(anyr.unit[rows, 0] >= 0, ids[np.clip(anyr.unit[rows, 0], 0, None)], ""),
        }
    )
    out.attrs.update(when=label, policy=policy)
    return out


def gaps_by_hour(ctx: Context, level: str, policy: str = "exclude") -> pd.DataFrame:
    """Every region of a level at every one of the 192 standard slots (long table, cached).

    Returns
    -------
    pandas.DataFrame
        ``region_code, region_name, hour_of_week`` (0…191; 168+ = bank-holiday day), ``label,
        median_minutes, p90_minutes, pct_within_30, pct_within_60, pct_within_90,
        pct_no_open_unit`` (weighted as in :func:`gaps`), sorted by region then hour.
    """
    check_level(level)
    check_policy(policy)
    key = ("gaps_by_hour", level, policy)
    if key not in ctx._cache:
        g, uniq = ctx.groups(level)
        m = ctx.nearest_week(policy).minutes
        w = ctx.weights
        n = len(uniq)
        q = cov.weighted_quantiles(m, w, g, n, [0.5, 0.9])  # (2, n, 192)
        slots = cov.slot_table()
        names = _region_frame(ctx, level)["region_name"].to_numpy()
        out = pd.DataFrame(
            {
                "region_code": np.repeat(uniq.astype(str), cov.N_SLOTS),
                "region_name": np.repeat(names, cov.N_SLOTS),
                "hour_of_week": np.tile(slots["slot"].to_numpy(), n),
                "label": np.tile(slots["label"].to_numpy(), n),
                "median_minutes": q[0].reshape(-1),
                "p90_minutes": q[1].reshape(-1),
            }
        )
        for b in ctx.settings.travel_bands:
            out[f"pct_within_{b}"] = 100 * cov.within_share(m, w, g, n, b).reshape(-1)
        none = cov._group_sums(np.isinf(m) * w[:, None], g, n)
        total = cov._group_sums(w, g, n)
        with np.errstate(invalid="ignore", divide="ignore"):
            out["pct_no_open_unit"] = (100 * none / total).reshape(-1)
        ctx._cache[key] = out
    return ctx._cache[key].copy()
