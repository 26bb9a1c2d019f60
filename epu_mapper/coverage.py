"""Pure coverage analytics: travel matrix + open-state grids -> nearest open unit, regional statistics.

Nothing here reads files or knows about Streamlit: arrays and DataFrames in, arrays and
DataFrames out. The API facade (:mod:`epu_mapper.api`) feeds it the built tables.

Slots
-----
A *slot* is one hour in which every unit has a state. The standard layout has
``N_SLOTS = 192`` slots:

* ``0 … 167`` — a typical week with no bank holiday, ``slot = day * 24 + hour`` with
  ``day`` 0 = Monday … 6 = Sunday (UK local time), as in :mod:`epu_mapper.hours`;
* ``168 … 191`` — a *bank-holiday day* (hour 0 … 23) on which every unit follows its own
  nation's bank-holiday rules (``hours.bank_holiday_states``): a day like Christmas Day that is
  a bank holiday everywhere.

A chosen date uses its own single column from ``hours.day_states`` instead (the real calendar,
bank holidays by the unit's nation), so an English area near the border on St Andrew's Day
sees Scottish units closed and English units open.

States and policies
-------------------
Unit states are ``int8``: ``OPEN = 1``, ``CLOSED = 0``, ``UNKNOWN = -1``. The unknown-hours
policy turns them into a boolean *open mask*:

``exclude``
    unknown counts as closed (only known-open units count: a lower bound on coverage);
``weekday``
    unknown is assumed open Mo–Fr 09:00–17:00 (not on bank holidays) and closed otherwise;
``always``
    unknown counts as open (an upper bound on coverage).

Because the ``always`` open set contains the ``exclude`` open set at every slot, every
statistic computed under both policies gives a range (``low``/``high`` bound) in which the true
value lies as far as the directory can tell.

Travel minutes
--------------
The matrix is ``float32 (n_areas, n_units)``: ``inf`` where a pair was skipped as pointless
(farther than the candidates routed), ``NaN`` where unreachable. Both mean "this unit cannot be
the nearest": :func:`clean_minutes` maps NaN to ``inf``. A nearest-open result of ``inf`` (unit
index ``-1``) therefore means "no open unit among the units routed for this area".
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

OPEN, CLOSED, UNKNOWN = 1, 0, -1
POLICIES = ("exclude", "weekday", "always")
HOURS_PER_WEEK = 168
BANK_HOLIDAY_OFFSET = 168
N_SLOTS = 192
DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
#: Time bands (over the 192 standard slots). Mo–Fr 08:00–09:00 belongs to no band.
BAND_NAMES = ("weekday_day", "evening", "night", "weekend", "bank_holiday")
#: Default number of nearest units per area examined before the exact fallback.
DEFAULT_TOP_K = 6
#: Open sets up to this size are solved by scanning unit rows when a unit-major copy is given
#: (a few vector passes each; beyond it the nearest-first ``order`` path is faster).
_ROW_SCAN_MAX = 40


# --------------------------------------------------------------------------- slots


def slot_table() -> pd.DataFrame:
    """Describe the 192 standard slots (see :func:`_slot_table`)."""
    return _slot_table().copy()


@functools.lru_cache(maxsize=1)
def _slot_table() -> pd.DataFrame:
    """Describe the 192 standard slots.

    Returns
    -------
    pandas.DataFrame
        One row per slot, columns ``slot`` (0…191), ``kind`` (``"week"`` or
        ``"bank_holiday"``), ``day`` (0 = Monday … 6 = Sunday; -1 for bank-holiday slots),
        ``hour`` (0…23), ``label`` (e.g. ``"Sat 03:00"``, ``"Bank holiday 10:00"``) and
        ``band`` (one of :data:`BAND_NAMES`, or ``""`` for Mo–Fr 08:00–09:00).
    """
    slot = np.arange(N_SLOTS)
    week = slot < HOURS_PER_WEEK
    day = np.where(week, slot // 24, -1)
    hour = slot % 24
    labels = [
        f"{DAY_NAMES[d]} {h:02d}:00" if d >= 0 else f"Bank holiday {h:02d}:00"
        for d, h in zip(day, hour, strict=True)
    ]
    band = np.full(N_SLOTS, "", dtype=object)
    for name, mask in time_bands().items():
        band[mask] = name
    return pd.DataFrame(
        {
            "slot": slot,
            "kind": np.where(week, "week", "bank_holiday"),
            "day": day,
            "hour": hour,
            "label": labels,
            "band": band,
        }
    )


def time_bands() -> dict[str, np.ndarray]:
    """Boolean masks over the 192 standard slots for each time band.

    ``weekday_day`` Mo–Fr 09:00–17:00; ``evening`` Mo–Fr 17:00–22:00; ``night`` 22:00–08:00
    every day of the typical week; ``weekend`` Sa–Su 08:00–22:00; ``bank_holiday`` the 24
    bank-holiday slots. Mo–Fr 08:00–09:00 is in no band. The week bands are disjoint.

    Returns
    -------
    dict[str, numpy.ndarray]
        ``{band: bool (192,)}`` in the order of :data:`BAND_NAMES`.
    """
    slot = np.arange(N_SLOTS)
    week = slot < HOURS_PER_WEEK
    day, hour = slot // 24, slot % 24
    weekday = week & (day < 5)
    weekend = week & (day >= 5)
    return {
        "weekday_day": weekday & (hour >= 9) & (hour < 17),
        "evening": weekday & (hour >= 17) & (hour < 22),
        "night": week & ((hour >= 22) | (hour < 8)),
        "weekend": weekend & (hour >= 8) & (hour < 22),
        "bank_holiday": ~week,
    }


def weekday_assumed_slots(n_slots: int = N_SLOTS) -> np.ndarray:
    """Slots where the ``weekday`` policy assumes an unknown unit open: Mo–Fr 09:00–17:00.

    Bank-holiday slots (168…191) are never assumed open.

    Returns
    -------
    numpy.ndarray
        ``bool (n_slots,)``.
    """
    slot = np.arange(n_slots)
    return (slot < HOURS_PER_WEEK) & (slot // 24 < 5) & (slot % 24 >= 9) & (slot % 24 < 17)


def slot_of(day: int, hour: int) -> int:
    """Hour-of-week slot index of ``day`` (0 = Monday) and ``hour`` (0…23)."""
    if not (0 <= day <= 6 and 0 <= hour <= 23):
        raise ValueError(f"day must be 0..6 and hour 0..23, got {day}, {hour}")
    return day * 24 + hour


# --------------------------------------------------------------------------- masks


def open_mask(
    states: np.ndarray, policy: str = "exclude", assumed: np.ndarray | bool | None = None
) -> np.ndarray:
    """Turn unit states into an open mask under an unknown-hours policy.

    Parameters
    ----------
    states : numpy.ndarray
        ``int8 (n_units, n_slots)`` with ``OPEN``/``CLOSED``/``UNKNOWN``.
    policy : {"exclude", "weekday", "always"}
    assumed : numpy.ndarray or bool, optional
        Where the ``weekday`` policy assumes an unknown unit open, broadcastable to
        ``states`` (e.g. ``bool (n_slots,)``). Defaults to :func:`weekday_assumed_slots` for
        the standard 192- or 168-slot layouts; required for other layouts.

    Returns
    -------
    numpy.ndarray
        ``bool`` of the shape of ``states``.
    """
    states = np.asarray(states)
    is_open = states == OPEN
    if policy == "exclude":
        return is_open
    unknown = states == UNKNOWN
    if policy == "always":
        return is_open | unknown
    if policy == "weekday":
        if assumed is None:
            if states.shape[-1] not in (N_SLOTS, HOURS_PER_WEEK):
                raise ValueError("the weekday policy needs `assumed` for a non-standard slot layout")
            assumed = weekday_assumed_slots(states.shape[-1])
        return is_open | (unknown & np.asarray(assumed, dtype=bool))
    raise ValueError(f"unknown policy {policy!r}; choose one of {', '.join(POLICIES)}")


def unit_filter(
    self_referral: Sequence[str] | np.ndarray,
    min_weeks: Sequence[float] | np.ndarray,
    max_weeks: Sequence[float] | np.ndarray,
    *,
    require_self_referral: bool = False,
    weeks: float | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Which units a woman may use, given self-referral and gestation filters.

    Self-referral keeps only units whose ``self_referral`` is ``"yes"``: ``conditional``
    units (self-referral only after e.g. a previous ectopic) and ``unknown`` are left out,
    because a woman cannot rely on them. A unit serves gestation week ``w`` when
    ``min_weeks <= w <= max_weeks``; a missing limit does not exclude the unit but is flagged.

    Parameters
    ----------
    self_referral, min_weeks, max_weeks : array-like, one value per unit
        The directory columns of the same names (missing limits as NaN/None).
    require_self_referral : bool
    weeks : float, optional
        Gestation in completed weeks.

    Returns
    -------
    keep : numpy.ndarray
        ``bool (n_units,)`` units that pass the filters.
    weeks_unknown : numpy.ndarray
        ``bool (n_units,)`` units kept although a gestation limit needed for ``weeks`` is unknown.
    """
    sr = np.asarray(pd.Series(self_referral, dtype="object").fillna("").astype(str).str.lower())
    lo = pd.to_numeric(pd.Series(min_weeks), errors="coerce").to_numpy(dtype=float)
    hi = pd.to_numeric(pd.Series(max_weeks), errors="coerce").to_numpy(dtype=float)
    keep = np.ones(len(sr), dtype=bool)
    weeks_unknown = np.zeros(len(sr), dtype=bool)
    if require_self_referral:
        keep &= sr == "yes"
    if weeks is not None:
        keep &= ~(lo > weeks) & ~(hi < weeks)  # NaN comparisons are False: unknown kept
        weeks_unknown = keep & (np.isnan(lo) | np.isnan(hi))
    return keep, weeks_unknown


# --------------------------------------------------------------------------- nearest open


def clean_minutes(minutes: np.ndarray) -> np.ndarray:
    """``float32`` copy of a travel matrix with NaN (unreachable) replaced by ``inf``."""
    out = np.array(minutes, dtype=np.float32, copy=True)
    out[np.isnan(out)] = np.inf
    return out


def sort_order(minutes: np.ndarray) -> np.ndarray:
    """Per-area unit order by travel time (stable: ties keep unit order).

    Parameters
    ----------
    minutes : numpy.ndarray
        ``float (n_areas, n_units)``, already cleaned (no NaN).

    Returns
    -------
    numpy.ndarray
        ``int32 (n_areas, n_units)``; row ``a`` lists unit indices nearest first.
    """
    return np.argsort(minutes, axis=1, kind="stable").astype(np.int32)


@dataclass(frozen=True)
class NearestOpen:
    """Nearest open unit per area and slot.

    Attributes
    ----------
    minutes : numpy.ndarray
        ``float32 (n_areas, n_slots)``; ``inf`` where no open unit was routed for the area.
    unit : numpy.ndarray
        ``int32 (n_areas, n_slots)`` unit column index; ``-1`` where ``minutes`` is ``inf``.
    """

    minutes: np.ndarray
    unit: np.ndarray


def nearest_open(
    minutes: np.ndarray,
    is_open: np.ndarray,
    order: np.ndarray | None = None,
    top_k: int = DEFAULT_TOP_K,
    by_unit: np.ndarray | None = None,
) -> NearestOpen:
    """Minutes to (and index of) the nearest open unit for every area and slot — fast path.

    Few distinct *open sets* (which units are open) occur across the slots. Each distinct set
    is solved once and broadcast to its slots. For a set, the answer of an area is the first
    open unit in the area's nearest-first order: small sets are solved by a minimum over their
    columns; large sets by looking at each area's ``top_k`` nearest units, falling back to the
    exact minimum over the set for the areas with none of those open.

    Ties are broken by the lowest unit index, exactly like :func:`nearest_open_naive`; the two
    return identical arrays.

    Parameters
    ----------
    minutes : numpy.ndarray
        ``float32 (n_areas, n_units)`` cleaned travel minutes (see :func:`clean_minutes`).
    is_open : numpy.ndarray
        ``bool (n_units, n_slots)`` open mask (see :func:`open_mask`).
    order : numpy.ndarray, optional
        :func:`sort_order` of ``minutes`` (computed when not given; cache it per matrix).
    top_k : int
        Nearest units per area looked at before the exact fallback.
    by_unit : numpy.ndarray, optional
        :func:`unit_major` copy of ``minutes`` (cache it per matrix): small sets then read
        contiguous unit rows instead of gathering strided columns, several times faster.

    Returns
    -------
    NearestOpen
    """
    minutes = np.asarray(minutes, dtype=np.float32)
    is_open = np.asarray(is_open, dtype=bool)
    n_areas, n_units = minutes.shape
    if is_open.ndim != 2 or is_open.shape[0] != n_units:
        raise ValueError(f"is_open must be (n_units={n_units}, n_slots), got {is_open.shape}")
    n_slots = is_open.shape[1]
    if n_slots == 0 or n_areas == 0:
        return NearestOpen(
            np.full((n_areas, n_slots), np.inf, np.float32), np.full((n_areas, n_slots), -1, np.int32)
        )
    sets, inverse = np.unique(is_open.T, axis=0, return_inverse=True)
    inverse = inverse.reshape(-1)
    set_min, set_idx = _solve_sets(minutes, sets, order, top_k, by_unit)
    # Rows are sets: a row gather then a transposed view is far cheaper than a column gather.
    return NearestOpen(set_min[inverse].T, set_idx[inverse].T)


def unit_major(minutes: np.ndarray) -> np.ndarray:
    """``float32 (n_units, n_areas)`` C-contiguous copy of a cleaned matrix (one row per unit)."""
    return np.ascontiguousarray(np.asarray(minutes, dtype=np.float32).T)


def _min_over_rows(by_unit: np.ndarray, members: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Minimum over the unit rows ``members`` (ascending) and the first unit reaching it."""
    val = by_unit[members[0]].copy()
    idx = np.full(val.shape, members[0], dtype=np.int32)
    for u in members[1:]:
        row = by_unit[u]
        better = row < val  # strict: ties keep the lower unit index, like argmin
        np.copyto(val, row, where=better)
        idx[better] = u
    return val, idx


def _solve_sets(
    minutes: np.ndarray,
    sets: np.ndarray,
    order: np.ndarray | None,
    top_k: int,
    by_unit: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Nearest open unit for each distinct open set ``sets (n_sets, n_units)``.

    Returns ``(n_sets, n_areas)`` minutes and unit indices.
    """
    n_areas, n_units = minutes.shape
    n_sets = sets.shape[0]
    out_min = np.full((n_sets, n_areas), np.inf, dtype=np.float32)
    out_idx = np.full((n_sets, n_areas), -1, dtype=np.int32)
    k = max(1, min(int(top_k), n_units))
    rows = np.arange(n_areas)
    top: np.ndarray | None = None
    top_min: np.ndarray | None = None
    for j in range(n_sets):
        members = np.flatnonzero(sets[j])
        if members.size == 0:
            continue
        if by_unit is not None and members.size <= _ROW_SCAN_MAX:
            val, idx = _min_over_rows(by_unit, members)
        elif members.size <= k:
            sub = minutes[:, members]
            pos = sub.argmin(axis=1)
            val = sub[rows, pos]
            idx = members[pos].astype(np.int32)
        else:
            if top is None:
                if order is None:
                    order = sort_order(minutes)
                top = np.ascontiguousarray(order[:, :k])
                top_min = np.take_along_axis(minutes, top, axis=1)
            assert top_min is not None
            hit = sets[j][top]
            first = hit.argmax(axis=1)
            found = hit[rows, first]
            val = top_min[rows, first]
            idx = top[rows, first].astype(np.int32)
            miss = np.flatnonzero(~found)
            if miss.size:
                sub = minutes[np.ix_(miss, members)]
                pos = sub.argmin(axis=1)
                val[miss] = sub[np.arange(miss.size), pos]
                idx[miss] = members[pos]
        idx[~np.isfinite(val)] = -1
        out_min[j] = val
        out_idx[j] = idx
    return out_min, out_idx


def nearest_open_naive(minutes: np.ndarray, is_open: np.ndarray) -> NearestOpen:
    """Reference implementation: for each slot, the minimum over the open units.

    Same contract as :func:`nearest_open`; used by tests and the benchmark baseline.
    """
    minutes = np.asarray(minutes, dtype=np.float32)
    is_open = np.asarray(is_open, dtype=bool)
    n_areas, n_slots = minutes.shape[0], is_open.shape[1]
    out_min = np.empty((n_areas, n_slots), np.float32)
    out_idx = np.empty((n_areas, n_slots), np.int32)
    for s in range(n_slots):
        masked = np.where(is_open[:, s][None, :], minutes, np.float32(np.inf))
        idx = masked.argmin(axis=1) if masked.shape[1] else np.zeros(n_areas, np.int64)
        val = masked.min(axis=1) if masked.shape[1] else np.full(n_areas, np.inf, np.float32)
        idx = np.where(np.isfinite(val), idx, -1)
        out_min[:, s], out_idx[:, s] = val, idx
    return NearestOpen(out_min, out_idx)


def nearest_any(minutes: np.ndarray) -> NearestOpen:
    """Nearest unit regardless of hours: ``NearestOpen`` with one slot column."""
    return nearest_open(minutes, np.ones((np.asarray(minutes).shape[1], 1), dtype=bool))


# --------------------------------------------------------------------------- regional statistics


def group_codes(labels: Sequence[str] | np.ndarray | pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Integer group codes for region labels; empty/missing labels get ``-1``.

    Returns
    -------
    codes : numpy.ndarray
        ``int64 (n_areas,)`` index into ``uniques`` or -1.
    uniques : numpy.ndarray
        Sorted distinct non-empty labels.
    """
    s = pd.Series(labels, dtype="object").fillna("").astype(str)
    valid = s.str.len() > 0
    uniques = np.array(sorted(s[valid].unique()), dtype=object)
    codes = np.full(len(s), -1, dtype=np.int64)
    codes[valid.to_numpy()] = np.searchsorted(uniques, s[valid].to_numpy())
    return codes, uniques


def _group_sums(values: np.ndarray, group: np.ndarray, n_groups: int) -> np.ndarray:
    """Sum rows of ``values (n, s)`` per group (rows with group -1 ignored) -> ``(n_groups, s)``."""
    values = np.asarray(values, dtype=np.float64)
    if values.ndim == 1:
        values = values[:, None]
    group = np.asarray(group)
    keep = np.flatnonzero(group >= 0)
    out = np.zeros((n_groups, values.shape[1]), dtype=np.float64)
    if keep.size == 0:
        return out
    g = group[keep]
    order = keep[np.argsort(g, kind="stable")]
    present, starts = np.unique(group[order], return_index=True)
    out[present] = np.add.reduceat(values[order], starts, axis=0)
    return out


def weighted_quantiles(
    values: np.ndarray,
    weights: np.ndarray,
    group: np.ndarray,
    n_groups: int,
    qs: Sequence[float] = (0.5, 0.9),
) -> np.ndarray:
    """Population-weighted quantiles of ``values`` per group and column.

    The weighted ``q``-quantile of a group is the smallest value ``v`` such that the areas with
    ``value <= v`` hold at least ``q`` of the group's weight (a "lower" quantile: always an
    observed value, never interpolated). ``inf`` values (no open unit routed) take part and can
    be the answer. A group with zero total weight gives NaN.

    Parameters
    ----------
    values : numpy.ndarray
        ``(n_areas,)`` or ``(n_areas, n_cols)`` minutes.
    weights : numpy.ndarray
        ``(n_areas,)`` non-negative weights (population).
    group : numpy.ndarray
        ``int (n_areas,)`` group code per area (-1 = in no group).
    n_groups : int
    qs : sequence of float
        Quantiles in (0, 1].

    Returns
    -------
    numpy.ndarray
        ``float64 (len(qs), n_groups, n_cols)``.
    """
    v = np.asarray(values, dtype=np.float64)
    if v.ndim == 1:
        v = v[:, None]
    w = np.asarray(weights, dtype=np.float64)
    g = np.asarray(group)
    keep = g >= 0
    v, w, g = v[keep], w[keep], g[keep]
    n_cols = v.shape[1]
    out = np.full((len(qs), n_groups, n_cols), np.nan)
    if v.shape[0] == 0:
        return out
    by_group = np.argsort(g, kind="stable")
    v, w, g = v[by_group], w[by_group], g[by_group]
    present, starts, counts = np.unique(g, return_index=True, return_counts=True)
    seg = np.repeat(np.arange(present.size), counts)
    # Sort values within each group segment, column by column (exact: two stable sorts).
    o1 = np.argsort(v, axis=0, kind="stable")
    o2 = np.argsort(seg[o1], axis=0, kind="stable")
    order = np.take_along_axis(o1, o2, axis=0)
    sv = np.take_along_axis(v, order, axis=0)
    sw = w[order]
    cum = np.cumsum(sw, axis=0)
    before = np.zeros((present.size, n_cols))
    before[1:] = cum[starts[1:] - 1]
    cum_in = cum - before[seg]
    total = cum_in[starts + counts - 1]  # (n_present, n_cols)
    for qi, q in enumerate(qs):
        target = q * total * (1.0 - 1e-12)
        below = cum_in < target[seg]
        n_below = np.add.reduceat(below.astype(np.int64), starts, axis=0)
        pos = np.minimum(starts[:, None] + n_below, (starts + counts - 1)[:, None])
        val = np.take_along_axis(sv, pos, axis=0)
        val[total <= 0] = np.nan
        out[qi, present] = val
    return out


def weighted_gini(
    values: np.ndarray, weights: np.ndarray, group: np.ndarray | None = None, n_groups: int = 1
) -> np.ndarray:
    """Population-weighted Gini coefficient of access time, per group.

    ``G = Σ_i Σ_j w_i w_j |x_i − x_j| / (2 W² μ)`` with ``W = Σ w`` and ``μ`` the weighted mean:
    0 when every woman has the same travel time, towards 1 when it is concentrated. Areas with
    an infinite time (no open unit routed) are left out (report their share separately); NaN
    when the group has no finite weight or a zero mean.

    Parameters
    ----------
    values : numpy.ndarray
        ``(n_areas,)`` minutes.
    weights : numpy.ndarray
        ``(n_areas,)`` weights.
    group : numpy.ndarray, optional
        ``int (n_areas,)`` group codes (-1 = none); all areas in one group when omitted.
    n_groups : int

    Returns
    -------
    numpy.ndarray
        ``float64 (n_groups,)``.
    """
    x = np.asarray(values, dtype=np.float64).reshape(-1)
    w = np.asarray(weights, dtype=np.float64).reshape(-1)
    g = np.zeros(x.size, np.int64) if group is None else np.asarray(group)
    keep = (g >= 0) & np.isfinite(x) & (w > 0)
    x, w, g = x[keep], w[keep], g[keep]
    out = np.full(n_groups, np.nan)
    if x.size == 0:
        return out
    order = np.lexsort((x, g))
    x, w, g = x[order], w[order], g[order]
    present, starts = np.unique(g, return_index=True)
    cum = np.cumsum(w)
    seg = np.searchsorted(starts, np.arange(x.size), side="right") - 1
    before = np.concatenate([[0.0], cum[starts[1:] - 1]])[seg]
    c_in = cum - before
    total_w = np.add.reduceat(w, starts)
    left = c_in - w
    right = total_w[seg] - c_in
    num = np.add.reduceat(w * x * (left - right), starts)
    wx = np.add.reduceat(w * x, starts)
    with np.errstate(invalid="ignore", divide="ignore"):
        gini = np.where(wx > 0, num / (total_w * wx), np.nan)
    out[present] = gini
    return out


def within_share(
    values: np.ndarray, weights: np.ndarray, group: np.ndarray, n_groups: int, threshold: float
) -> np.ndarray:
    """Weighted share (0–1) of each group with ``value <= threshold``, per column.

    Returns
    -------
    numpy.ndarray
        ``float64 (n_groups, n_cols)``; NaN for groups with zero weight.
    """
    v = np.asarray(values)
    if v.ndim == 1:
        v = v[:, None]
    w = np.asarray(weights, dtype=np.float64)
    covered = _group_sums((v <= threshold) * w[:, None], group, n_groups)
    total = _group_sums(w, group, n_groups)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, np.minimum(covered / total, 1.0), np.nan)


def slot_statistics(
    values: np.ndarray,
    weights: np.ndarray,
    group: np.ndarray,
    n_groups: int,
    bands: Sequence[float] = (30, 60, 90),
    qs: Mapping[str, float] | None = None,
) -> pd.DataFrame:
    """Regional statistics of nearest-open minutes at one slot.

    Parameters
    ----------
    values : numpy.ndarray
        ``(n_areas,)`` minutes to the nearest open unit (``inf`` = none routed).
    weights, group, n_groups
        As in :func:`weighted_quantiles`.
    bands : sequence of float
        Travel-time thresholds in minutes.
    qs : mapping, optional
        Column name -> quantile; default ``{"median_minutes": 0.5, "p90_minutes": 0.9}``.

    Returns
    -------
    pandas.DataFrame
        Indexed by group code ``0 … n_groups-1``, columns ``weight`` (sum), the quantile columns,
        ``pct_within_<b>`` for each band (percent of weight), ``pct_no_open_unit`` (percent with
        ``inf``) and ``gini_minutes`` (:func:`weighted_gini` over finite values).
    """
    qs = dict(qs or {"median_minutes": 0.5, "p90_minutes": 0.9})
    v = np.asarray(values, dtype=np.float64).reshape(-1)
    w = np.asarray(weights, dtype=np.float64)
    out: dict[str, np.ndarray] = {"weight": _group_sums(w, group, n_groups)[:, 0]}
    quant = weighted_quantiles(v, w, group, n_groups, list(qs.values()))
    for i, name in enumerate(qs):
        out[name] = quant[i, :, 0]
    for b in bands:
        out[f"pct_within_{int(b) if float(b).is_integer() else b}"] = (
            100.0 * within_share(v, w, group, n_groups, b)[:, 0]
        )
    none = _group_sums(np.isinf(v) * w, group, n_groups)[:, 0]
    with np.errstate(invalid="ignore", divide="ignore"):
        out["pct_no_open_unit"] = np.where(
            out["weight"] > 0, np.minimum(100.0 * none / out["weight"], 100.0), np.nan
        )
    out["gini_minutes"] = weighted_gini(v, w, group, n_groups)
    return pd.DataFrame(out, index=pd.RangeIndex(n_groups, name="group"))


def nice_seven_day(within_week: np.ndarray) -> np.ndarray:
    """NICE NG126 seven-day test per area.

    An area passes when, on each of the 7 days of the typical week, some unit within reach is
    open at some hour of that day.

    Parameters
    ----------
    within_week : numpy.ndarray
        ``bool (n_areas, 168)``: an open unit within reach at that hour of the week.

    Returns
    -------
    numpy.ndarray
        ``bool (n_areas,)``.
    """
    w = np.asarray(within_week, dtype=bool)
    return w.reshape(w.shape[0], 7, 24).any(axis=2).all(axis=1)


def week_summary(
    nearest_minutes: np.ndarray,
    weights: np.ndarray,
    group: np.ndarray,
    n_groups: int,
    reach: float = 60.0,
    nice_pass_share: float = 0.99,
) -> pd.DataFrame:
    """Whole-week statistics per region from the 192-slot nearest-open minutes.

    Parameters
    ----------
    nearest_minutes : numpy.ndarray
        ``(n_areas, 192)`` minutes to the nearest open unit per standard slot.
    weights, group, n_groups
        As in :func:`weighted_quantiles`.
    reach : float
        "Within reach" threshold in minutes.
    nice_pass_share : float
        A region passes the NICE 7-day test when at least this share of its weight lives in
        areas that pass (:func:`nice_seven_day`).

    Returns
    -------
    pandas.DataFrame
        Indexed by group code, columns:

        ``hours_per_week_within`` — weighted mean over areas of the number of hours (0–168) of
        the typical week with an open unit within reach;
        ``pct_all_week_within`` — percent of weight with an open unit within reach at all 168 h;
        ``pct_within_<band>`` for each of :data:`BAND_NAMES` — percent of population-hours of the
        band with an open unit within reach (weighted mean over the band's hours);
        ``nice_7day_pct`` — percent of weight in areas passing the 7-day test;
        ``nice_7day_pass`` — ``nice_7day_pct >= 100 * nice_pass_share``.
    """
    m = np.asarray(nearest_minutes)
    if m.shape[1] != N_SLOTS:
        raise ValueError(f"week_summary needs the {N_SLOTS} standard slots, got {m.shape[1]}")
    w = np.asarray(weights, dtype=np.float64)
    within = m <= reach
    total = _group_sums(w, group, n_groups)[:, 0]
    hours = within[:, :HOURS_PER_WEEK].sum(axis=1)
    cols: dict[str, np.ndarray] = {}
    with np.errstate(invalid="ignore", divide="ignore"):
        pos = total > 0
        cols["hours_per_week_within"] = np.where(
            pos, _group_sums(hours * w, group, n_groups)[:, 0] / total, np.nan
        )
        cols["pct_all_week_within"] = np.where(
            pos, 100 * _group_sums((hours == HOURS_PER_WEEK) * w, group, n_groups)[:, 0] / total, np.nan
        )
        for name, mask in time_bands().items():
            frac = within[:, mask].mean(axis=1)
            cols[f"pct_within_{name}"] = np.where(
                pos, 100 * _group_sums(frac * w, group, n_groups)[:, 0] / total, np.nan
            )
        nice = nice_seven_day(within[:, :HOURS_PER_WEEK])
        cols["nice_7day_pct"] = np.where(
            pos, 100 * _group_sums(nice * w, group, n_groups)[:, 0] / total, np.nan
        )
    for name, value in cols.items():  # weighted shares can exceed 100 by a rounding error
        if name != "hours_per_week_within":
            cols[name] = np.minimum(value, 100.0)
    cols["hours_per_week_within"] = np.minimum(cols["hours_per_week_within"], float(HOURS_PER_WEEK))
    cols["nice_7day_pass"] = cols["nice_7day_pct"] >= 100.0 * nice_pass_share - 1e-9
    return pd.DataFrame(cols, index=pd.RangeIndex(n_groups, name="group"))


def worst_best_ratio(values: np.ndarray) -> float:
    """Ratio of the largest regional value to the smallest, so always >= 1.

    For minutes that is worst over best; for coverage percentages best over worst. NaN values
    are left out; ``inf`` when the largest is infinite, NaN when the smallest is 0 or there is
    no value.
    """
    v = np.asarray(values, dtype=np.float64)
    v = v[~np.isnan(v)]
    if v.size == 0:
        return float("nan")
    lo, hi = float(v.min()), float(v.max())
    if lo <= 0:
        return float("nan")
    return hi / lo
