"""What-if and ranking of opening-hours changes: :func:`whatif`, :func:`rank`."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from epu_mapper import coverage as cov
from epu_mapper import hours as hrs
from epu_mapper import scenarios as sc
from epu_mapper.api.args import CoverageArgumentError, check_level, check_policy
from epu_mapper.api.context import Context
from epu_mapper.api.regional import _region_frame
from epu_mapper.inputs import additive_rule_problem, removed_slots, shorten

DEFAULT_EXTENSION = "Sa,Su 09:00-17:00"


@dataclass
class WhatIfResult:
    """Effect of changing units' hours on the population within reach (60 min by default).

    Attributes
    ----------
    changes : pandas.DataFrame
        ``unit_id, unit_name, hours_before, hours_after``.
    by_hour : pandas.DataFrame
        One row per standard slot: ``hour_of_week`` (0…191; 168+ = bank-holiday day), ``kind,
        label, band, before_weight, after_weight, before_pct, after_pct, newly_covered``
        (weight newly within reach), ``no_longer_covered``.
    by_region : pandas.DataFrame
        At ``level``: ``region_code, region_name, weight, before_pct, after_pct`` (percent of
        population-hours of the typical week within reach), ``newly_covered`` (population-hours
        per typical week gained), ``no_longer_covered``, ``peak_newly_covered`` (largest weight
        newly within reach in any one hour of the week, bank-holiday day included).
    by_region_hour : pandas.DataFrame
        Sparse long table of gains: ``region_code, region_name, hour_of_week, newly_covered``.
    totals : dict
        ``person_hours_week_gained``, ``person_hours_week_lost``, ``person_hours_bank_holiday_gained``,
        ``population_newly_within_any_hour``, ``peak_newly_covered``, ``areas_affected``.
    level, policy : str
    """

    changes: pd.DataFrame
    by_hour: pd.DataFrame
    by_region: pd.DataFrame
    by_region_hour: pd.DataFrame
    totals: dict
    level: str
    policy: str


def _unit_index(ctx: Context, unit_id: str) -> int:
    ids = ctx.mapped["unit_id"].astype(str)
    hit = np.flatnonzero(ids.to_numpy() == str(unit_id))
    if hit.size:
        return int(hit[0])
    if str(unit_id) in set(ctx.units["unit_id"].astype(str)):
        raise CoverageArgumentError(
            f"unit {shorten(unit_id)} has no site coordinates, so it cannot change travel coverage"
        )
    raise CoverageArgumentError(f"no unit with id {shorten(unit_id)} in the directory (see `epu-mapper units list`)")


def _states_for(hours_strings: list[str]) -> np.ndarray:
    """``int8 (n, 192)`` typical week then bank-holiday day of hours strings."""
    return np.hstack([hrs.week_states_for(hours_strings),
                      hrs.bank_holiday_states_for(hours_strings)]).astype(np.int8)


def _checked_hours(text: str, what: str) -> str:
    msg = hrs.check_hours(text) if str(text).strip() else "empty opening hours"
    if msg:
        raise CoverageArgumentError(f"{what}: {msg}")
    return str(text).strip()


def whatif(
    ctx: Context,
    changes: dict[str, str],
    policy: str = "exclude",
    level: str = "nation",
    mode: str = "add",
    weight: str = "women",
    directory: str | None = None,
) -> WhatIfResult:
    """Population newly within reach when some units' hours change.

    Parameters
    ----------
    changes : dict
        ``{unit_id: opening_hours}``.
    policy : {"exclude", "weekday", "always"}
        Applied to the unknown hours before and after.
    level : str
        Region level of ``by_region``.
    mode : {"add", "replace"}
        ``add`` (default) overlays the given hours on the unit's existing hours
        (:func:`hours.combine_hours`, e.g. ``"Sa,Su 09:00-17:00"``); ``replace`` uses them as the
        unit's new hours.
    weight : {"women", "population"}
        ``women``: ``demand.weight`` (women 15–44 in every nation); ``population``: all-ages
        population everywhere.
    directory : {None, "known", "with-likely"}
        ``with-likely`` adds every likely EPU site as a unit with unknown hours
        (:mod:`epu_mapper.api.directory`); default ``known``.
    """
    from epu_mapper.api.directory import context_for

    ctx = context_for(ctx, directory)
    check_policy(policy)
    ctx.weight_vector(weight)
    check_level(level)
    if mode not in ("add", "replace"):
        raise CoverageArgumentError(f"mode must be 'add' or 'replace', got {shorten(mode)}")
    if not changes:
        raise CoverageArgumentError("no change given: name at least one unit and its hours")
    idx, before_h, after_h = [], [], []
    for uid, text in changes.items():
        i = _unit_index(ctx, uid)
        text = _checked_hours(text, f"hours for {uid}")
        problem = additive_rule_problem(text) if mode == "add" else None
        if problem:
            raise CoverageArgumentError(f"hours for {uid}: {problem}; to set new hours use --replace")
        old = ctx.mapped.at[i, "opening_hours"]
        old = "" if pd.isna(old) else str(old)
        try:
            new = hrs.combine_hours(old or None, text) if mode == "add" else text
        except hrs.HoursError as exc:
            raise CoverageArgumentError(f"hours for {uid}: {exc}") from None
        idx.append(i), before_h.append(old), after_h.append(new)
    states_after = ctx.states.copy()
    states_after[idx] = _states_for(after_h)
    if mode == "add":
        _refuse_removal(ctx, idx, states_after)
    before = ctx.open_mask(policy)
    after = cov.open_mask(states_after, policy)
    core = sc.whatif_core(ctx.reach, before, after)
    return _whatif_result(ctx, core, policy, level, idx, before_h, after_h, weight)


def _refuse_removal(ctx: Context, idx: list[int], states_after: np.ndarray) -> None:
    """Adding hours must never take time away (open lost, or a known hour made unknown)."""
    for i in idx:
        lost = removed_slots(ctx.states[i], states_after[i])
        if lost.any():
            uid = ctx.mapped.at[i, "unit_id"]
            raise CoverageArgumentError(
                f"hours for {uid}: adding them would take away {int(lost.sum())} hour(s) of the "
                "unit's week or bank-holiday day; to set new hours use --replace")


def _whatif_result(
    ctx, core: sc.WhatIfCore, policy, level, idx, before_h, after_h, weight="women"
) -> WhatIfResult:
    w = ctx.weight_vector(weight)
    wr = w[core.rows]
    gained = wr @ core.gained if core.rows.size else np.zeros(cov.N_SLOTS)
    lost = wr @ core.lost if core.rows.size else np.zeros(cov.N_SLOTS)
    key = ("before_weight", policy, weight)
    if key not in ctx._cache:
        within_before = ctx.nearest_week(policy).minutes <= ctx.reach_minutes
        ctx._cache[key] = w @ within_before
    before_w = ctx._cache[key]
    total = w.sum()
    slots = cov.slot_table()
    by_hour = pd.DataFrame(
        {
            "hour_of_week": slots["slot"], "kind": slots["kind"], "label": slots["label"],
            "band": slots["band"], "before_weight": before_w, "after_weight": before_w + gained - lost,
        }
    )
    by_hour["before_pct"] = 100 * by_hour["before_weight"] / total
    by_hour["after_pct"] = 100 * by_hour["after_weight"] / total
    by_hour["newly_covered"] = gained
    by_hour["no_longer_covered"] = lost
    # regions
    g, uniq = ctx.groups(level)
    reg = _region_frame(ctx, level)[["region_code", "region_name", "weight", "population"]]
    if weight == "population":
        reg["weight"] = reg["population"]
    reg = reg.drop(columns="population")
    base_reg = ctx.week_within_by_region(policy, level, weight)  # (n_groups, 192)
    gr = g[core.rows]
    hit = core.gained.any(axis=1)
    gain_reg = cov._group_sums(core.gained[hit] * wr[hit, None], gr[hit], len(uniq))
    hit = core.lost.any(axis=1)
    lost_reg = cov._group_sums(core.lost[hit] * wr[hit, None], gr[hit], len(uniq))
    wk = slice(0, cov.HOURS_PER_WEEK)
    denom = reg["weight"].to_numpy() * cov.HOURS_PER_WEEK
    with np.errstate(invalid="ignore", divide="ignore"):
        reg["before_pct"] = 100 * base_reg[:, wk].sum(axis=1) / denom
        reg["after_pct"] = 100 * (base_reg[:, wk].sum(axis=1) + gain_reg[:, wk].sum(axis=1)
                                  - lost_reg[:, wk].sum(axis=1)) / denom
    reg["newly_covered"] = gain_reg[:, wk].sum(axis=1)
    reg["no_longer_covered"] = lost_reg[:, wk].sum(axis=1)
    reg["peak_newly_covered"] = gain_reg.max(axis=1) if gain_reg.size else 0.0
    gi, si = np.nonzero(gain_reg > 0)
    by_region_hour = pd.DataFrame(
        {
            "region_code": uniq[gi].astype(str),
            "region_name": reg["region_name"].to_numpy()[gi],
            "hour_of_week": si,
            "newly_covered": gain_reg[gi, si],
        }
    )
    changes = pd.DataFrame(
        {
            "unit_id": ctx.mapped["unit_id"].to_numpy()[idx],
            "unit_name": ctx.mapped["unit_name"].to_numpy()[idx],
            "hours_before": before_h,
            "hours_after": after_h,
        }
    )
    totals = {
        "person_hours_week_gained": float(gained[wk].sum()),
        "person_hours_week_lost": float(lost[wk].sum()),
        "person_hours_bank_holiday_gained": float(gained[cov.HOURS_PER_WEEK:].sum()),
        "population_newly_within_any_hour": float(wr[core.gained.any(axis=1)].sum()) if core.rows.size else 0.0,
        "peak_newly_covered": float(gained.max()) if gained.size else 0.0,
        "areas_affected": int(core.rows.size),
    }
    totals["weight"] = weight
    totals["equity"] = _equity_effect(ctx, core, w)
    return WhatIfResult(changes, by_hour, reg, by_region_hour, totals, level, policy)


def _equity_effect(ctx: Context, core: sc.WhatIfCore, w: np.ndarray) -> dict | None:
    """Women newly within reach by deprivation quintile (None without ``area_equity.parquet``)."""
    from epu_mapper.api.equity_view import equity_effect
    from epu_mapper.errors import BuildMissingError

    try:
        return equity_effect(ctx, core.rows, core.gained, w)
    except BuildMissingError:
        return None


# --------------------------------------------------------------------------- ranking


def rank(
    ctx: Context,
    k: int = 10,
    hours: str = DEFAULT_EXTENSION,
    policy: str = "exclude",
    weight: str = "women",
    directory: str | None = None,
) -> pd.DataFrame:
    """Greedy ranking of the ``k`` units whose extension brings the most women within reach.

    Each unit's extension is ``hours`` added to its existing hours (:func:`hours.combine_hours`).
    The objective is population-hours of the typical week (168 h) with an open unit within
    reach; each step picks the unit with the largest marginal gain given the units already
    picked. Units without site coordinates cannot be ranked. ``weight`` as in :func:`whatif`:
    with the default ``women`` every nation counts women 15–44; ``population`` counts all ages.

    Returns
    -------
    pandas.DataFrame
        ``step, unit_id, unit_name, hospital, nation, hours_before, hours_after,
        gain_person_hours, gain_population, cumulative_person_hours, hours_added`` and
        ``likely`` (True for a likely EPU site with ``directory="with-likely"``: its
        ``hours_before`` is ``""``, unknown, and ``hours_after`` only adds ``hours`` to it).
        Fewer than ``k`` rows when no further unit adds anything.
    """
    from epu_mapper.api.directory import context_for

    ctx = context_for(ctx, directory)
    check_policy(policy)
    w = ctx.weight_vector(weight)
    try:
        k = int(k)
    except (TypeError, ValueError):
        raise CoverageArgumentError(f"k must be a whole number, got {shorten(k)}") from None
    if k < 1:
        raise CoverageArgumentError("k must be at least 1")
    extra = _checked_hours(hours, "extension hours")
    problem = additive_rule_problem(extra)
    if problem:
        raise CoverageArgumentError(f"extension hours: {problem}")
    key = ("extended", extra)
    if key not in ctx._cache:
        old = [("" if pd.isna(h) else str(h)) for h in ctx.mapped["opening_hours"]]
        try:
            new = [hrs.combine_hours(h or None, extra) for h in old]
        except hrs.HoursError as exc:
            raise CoverageArgumentError(f"extension hours: {exc}") from None
        ctx._cache[key] = (old, new, _states_for(new))
    old, new, ext_states = ctx._cache[key]
    ranked = sc.greedy_rank(
        ctx.reach, ctx.open_mask(policy), cov.open_mask(ext_states, policy), w, k=k,
        slots=np.arange(cov.HOURS_PER_WEEK),
    )
    u = ranked["unit"].to_numpy().astype(np.intp)  # empty when no unit gains anything
    m = ctx.mapped
    out = pd.DataFrame(
        {
            "step": ranked["step"].to_numpy(),
            "unit_id": m["unit_id"].to_numpy()[u],
            "unit_name": m["unit_name"].to_numpy()[u],
            "hospital": m["hospital"].to_numpy()[u],
            "nation": m["nation"].to_numpy()[u],
            "hours_before": np.asarray(old, dtype=object)[u],
            "hours_after": np.asarray(new, dtype=object)[u],
        }
    )
    for c in ("gain_person_hours", "gain_population", "cumulative_person_hours", "hours_added"):
        out[c] = ranked[c].to_numpy()
    out["likely"] = (m["likely"].fillna(False).astype(bool).to_numpy()[u] if "likely" in m.columns
                     else np.zeros(len(u), dtype=bool))
    out.attrs.update(hours=extra, policy=policy, reach_minutes=ctx.reach_minutes, weight=weight,
                     directory=directory or "known")
    return out
