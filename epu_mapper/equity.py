"""Who is far from care: access statistics by deprivation or car access (pure, vectorised).

Inputs are per-area arrays (no files, no Streamlit): minutes to the nearest open unit at the
chosen time and in the 192 standard slots, the women 15–44 weights, a region index per area
and a *group* per area (deprivation quintile 1 = most deprived … 5 = least deprived, or car
group). Every statistic is weighted by women aged 15–44.

Per region × group × time band (:func:`band_area_summaries`, :func:`group_statistics`):

* ``pct_within_30/60/90`` — % of women with an open unit within 30/60/90 min. For the chosen
  time (band ``selected``) each area counts 1 or 0; for a band of hours, each area counts the
  share of the band's hours in which it is within the threshold (so the figure is the % of
  women-hours of the band).
* ``median_minutes`` — weighted median over women of the area's minutes (for a band: the
  area's median over the band's hours); ``inf`` = no open unit.
* ``hours_covered`` — weighted mean number of the band's hours with an open unit within
  60 min (``week``: of 168 h).

Inequality per region × band (:func:`inequality`):

* ``gap_pct_within_60`` = pct_within_60 (most deprived group) − pct_within_60 (least deprived
  group): negative when the most deprived are worse off.
* ``gap_median_minutes`` = median (most deprived) − median (least deprived).
* ``concentration_index`` of access (y = the area's share of the band's hours within 60 min)
  over areas ordered from most to least deprived:

      CI = 2 / (W · ȳ) · Σ_i w_i (y_i − ȳ)(r_i − ½),
      r_i = (Σ_{j ranked before i} w_j + ½ Σ_{j tied with i} w_j) / W,

  with W = Σ w_i and ȳ = Σ w_i y_i / W; areas in the same group are tied. CI lies in
  [−1, 1]; CI > 0 means access is concentrated among the less deprived, CI < 0 among the more
  deprived, 0 = equal. NaN when ȳ = 0.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from epu_mapper import coverage as cov

#: Travel-time thresholds (minutes).
THRESHOLDS: tuple[int, ...] = (30, 60, 90)
#: Bands reported besides the chosen time: the whole typical week, then :data:`cov.BAND_NAMES`.
BANDS: tuple[str, ...] = ("week", *cov.BAND_NAMES)


def band_masks() -> dict[str, np.ndarray]:
    """``{band: bool (192,)}``: ``week`` = the 168 typical-week slots, then the time bands."""
    slot = np.arange(cov.N_SLOTS)
    return {"week": slot < cov.HOURS_PER_WEEK, **cov.time_bands()}


def band_area_summaries(
    nearest_minutes: np.ndarray, reach: float = 60.0, thresholds: Sequence[int] = THRESHOLDS
) -> dict[str, dict[str, np.ndarray]]:
    """Per-area summaries of each band (computed once per policy, then reused).

    Parameters
    ----------
    nearest_minutes : numpy.ndarray
        ``(n_areas, 192)`` minutes to the nearest open unit per standard slot (``inf`` = none).
    reach : float
        Threshold for ``hours``.

    Returns
    -------
    dict
        ``{band: {"within_<t>": float (n_areas,) share of the band's hours within t minutes,
        "median": float (n_areas,) median minutes over the band's hours, "hours": float
        (n_areas,) hours within reach, "n_hours": int}}``.
    """
    m = np.asarray(nearest_minutes, dtype=np.float32)
    out: dict[str, dict[str, np.ndarray]] = {}
    for band, mask in band_masks().items():
        sub = m[:, mask]
        d: dict = {f"within_{t}": (sub <= t).mean(axis=1) for t in thresholds}
        d["median"] = _lower_median(sub)
        d["hours"] = (sub <= reach).sum(axis=1).astype(np.float64)
        d["n_hours"] = int(mask.sum())
        out[band] = d
    return out


def _lower_median(a: np.ndarray) -> np.ndarray:
    """Row-wise lower median (works with ``inf``: a row mostly without a unit gives ``inf``)."""
    k = (a.shape[1] - 1) // 2
    return np.partition(a, k, axis=1)[:, k].astype(np.float64)


def slot_area_summary(
    minutes: np.ndarray, thresholds: Sequence[int] = THRESHOLDS
) -> dict[str, np.ndarray]:
    """The one-slot equivalent of :func:`band_area_summaries` (the ``selected`` band).

    ``hours`` is NaN: hours covered describe a band of hours, not one moment.
    """
    v = np.asarray(minutes, dtype=np.float64).reshape(-1)
    d: dict = {f"within_{t}": (v <= t).astype(np.float64) for t in thresholds}
    d["median"] = v
    d["hours"] = np.full(v.shape, np.nan)
    d["n_hours"] = 1
    return d


def _sums(values: np.ndarray, cell: np.ndarray, n_cells: int) -> np.ndarray:
    """Sum of ``values`` per cell (cells < 0 ignored) with ``np.bincount``."""
    keep = cell >= 0
    return np.bincount(cell[keep], weights=np.asarray(values, dtype=np.float64)[keep],
                       minlength=n_cells)[:n_cells]


def group_statistics_many(
    summaries: Sequence[dict[str, np.ndarray]],
    weights: np.ndarray,
    cell: np.ndarray,
    n_cells: int,
    thresholds: Sequence[int] = THRESHOLDS,
) -> list[pd.DataFrame]:
    """:func:`group_statistics` for several bands at once (one sort for every median)."""
    w = np.asarray(weights, dtype=np.float64)
    cell = np.asarray(cell, dtype=np.int64)
    tot = _sums(w, cell, n_cells)
    pos = tot > 0
    meds = cov.weighted_quantiles(np.column_stack([s["median"] for s in summaries]), w, cell,
                                  n_cells, [0.5])[0]
    out = []
    with np.errstate(invalid="ignore", divide="ignore"):
        for i, summary in enumerate(summaries):
            cols: dict[str, np.ndarray] = {"weight": tot}
            for t in thresholds:
                s = _sums(summary[f"within_{t}"] * w, cell, n_cells)
                cols[f"pct_within_{t}"] = np.where(pos, np.minimum(100.0 * s / tot, 100.0), np.nan)
            cols["median_minutes"] = np.where(pos, meds[:, i], np.nan)
            cols["hours_covered"] = np.where(pos, _sums(summary["hours"] * w, cell, n_cells) / tot,
                                             np.nan)
            out.append(pd.DataFrame(cols, index=pd.RangeIndex(n_cells, name="cell")))
    return out


def group_statistics(
    summary: dict[str, np.ndarray],
    weights: np.ndarray,
    cell: np.ndarray,
    n_cells: int,
    thresholds: Sequence[int] = THRESHOLDS,
) -> pd.DataFrame:
    """Weighted statistics of one band for every cell (e.g. region × quintile).

    Parameters
    ----------
    summary : dict
        One band of :func:`band_area_summaries` (or :func:`slot_area_summary`).
    weights : numpy.ndarray
        ``(n_areas,)`` women 15–44.
    cell : numpy.ndarray
        ``int (n_areas,)`` cell index 0…n_cells-1; -1 = left out.
    n_cells : int

    Returns
    -------
    pandas.DataFrame
        Indexed by cell: ``weight``, ``pct_within_<t>`` (0–100), ``median_minutes``,
        ``hours_covered`` (NaN for an empty cell).
    """
    return group_statistics_many([summary], weights, cell, n_cells, thresholds)[0]


def concentration_index(
    y: np.ndarray, weights: np.ndarray, order_key: np.ndarray, region: np.ndarray, n_regions: int
) -> np.ndarray:
    """Weighted concentration index of ``y`` per region (formula in the module docstring).

    Parameters
    ----------
    y : numpy.ndarray
        ``(n_areas,)`` outcome (e.g. share of hours within 60 min).
    weights : numpy.ndarray
        ``(n_areas,)`` weights.
    order_key : numpy.ndarray
        ``(n_areas,)`` deprivation order, low = most deprived (e.g. quintile 1…5); areas with
        equal keys are tied; ``<= 0`` = left out.
    region : numpy.ndarray
        ``int (n_areas,)`` region index (-1 = left out).

    Returns
    -------
    numpy.ndarray
        ``(n_regions,)`` CI in [−1, 1]; NaN for a region without weight or with ȳ = 0.
    """
    y = np.asarray(y, dtype=np.float64)
    w = np.asarray(weights, dtype=np.float64)
    key = np.asarray(order_key, dtype=np.int64)
    keep = (region >= 0) & (key > 0) & (w > 0)
    out = np.full(n_regions, np.nan)
    if not keep.any():
        return out
    g, k, ww, yy = region[keep], key[keep], w[keep], y[keep]
    n_keys = int(k.max()) + 1
    # weight per (region, key) and the weight of lower keys in the same region
    cellw = np.bincount(g * n_keys + k, weights=ww, minlength=n_regions * n_keys)
    cellw = cellw.reshape(n_regions, n_keys)
    before = np.cumsum(cellw, axis=1) - cellw
    W = cellw.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        r = (before[g, k] + 0.5 * cellw[g, k]) / W[g]
        ybar = np.bincount(g, ww * yy, minlength=n_regions) / W
        num = np.bincount(g, ww * (yy - ybar[g]) * (r - 0.5), minlength=n_regions)
        ci = 2.0 * num / (W * ybar)
    ok = (W > 0) & (ybar > 0)
    out[ok] = ci[ok]
    return out


def equity_tables(
    selected: np.ndarray | None,
    bands: dict[str, dict[str, np.ndarray]],
    weights: np.ndarray,
    region: np.ndarray,
    n_regions: int,
    group: np.ndarray,
    n_groups: int,
    thresholds: Sequence[int] = THRESHOLDS,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Statistics by region × group × band, and the inequality summary by region × band.

    Parameters
    ----------
    selected : numpy.ndarray or None
        ``(n_areas,)`` minutes at the chosen time (band ``selected``); None = bands only.
    bands : dict
        :func:`band_area_summaries` output.
    weights, region, n_regions
        Women 15–44 and region index per area (-1 = left out).
    group : numpy.ndarray
        ``int (n_areas,)`` group 1…n_groups (1 = most deprived / most disadvantaged); 0 = no
        group (left out of the by-group rows, counted in ``weight_without_group``).

    Returns
    -------
    (pandas.DataFrame, pandas.DataFrame)
        ``by_group``: ``region, group, band`` + :func:`group_statistics` columns +
        ``share_of_region_weight`` (%); ``summary``: ``region, band, weight,
        weight_without_group, gap_pct_within_60, gap_median_minutes, concentration_index``.
    """
    region = np.asarray(region, dtype=np.int64)
    group = np.asarray(group, dtype=np.int64)
    w = np.asarray(weights, dtype=np.float64)
    in_group = (region >= 0) & (group >= 1) & (group <= n_groups)
    cell = np.where(in_group, region * n_groups + group - 1, -1)
    region_w = _sums(w, region, n_regions)
    grouped_w = _sums(w * in_group, region, n_regions)
    parts, summaries = [], []
    named = [("selected", slot_area_summary(selected)), *bands.items()] if selected is not None \
        else list(bands.items())
    stats = group_statistics_many([s for _, s in named], w, cell, n_regions * n_groups, thresholds)
    for (band, summary), st in zip(named, stats, strict=True):
        st.insert(0, "band", band)
        st.insert(0, "group", np.tile(np.arange(1, n_groups + 1), n_regions))
        st.insert(0, "region", np.repeat(np.arange(n_regions), n_groups))
        with np.errstate(invalid="ignore", divide="ignore"):
            st["share_of_region_weight"] = 100.0 * st["weight"] / np.repeat(region_w, n_groups)
        parts.append(st)
        p60 = st["pct_within_60"].to_numpy().reshape(n_regions, n_groups)
        med = st["median_minutes"].to_numpy().reshape(n_regions, n_groups)
        with np.errstate(invalid="ignore"):
            gap_med = med[:, 0] - med[:, -1]
        y = summary["within_60"]
        summaries.append(pd.DataFrame({
            "region": np.arange(n_regions),
            "band": band,
            "weight": region_w,
            "weight_without_group": region_w - grouped_w,
            "gap_pct_within_60": p60[:, 0] - p60[:, -1],
            "gap_median_minutes": np.where(np.isnan(gap_med), np.nan, gap_med),
            "concentration_index": concentration_index(
                y, w, np.where(in_group, group, 0), region, n_regions),
        }))
    by_group = pd.concat(parts, ignore_index=True)
    summary = pd.concat(summaries, ignore_index=True)
    return by_group, summary


def double_disadvantage(
    quintile: np.ndarray,
    high_no_car: np.ndarray,
    night_median: np.ndarray,
    weekend_median: np.ndarray,
    threshold: float = 60.0,
) -> np.ndarray:
    """Areas in the most deprived quintile.

    Areas in the most deprived quintile, with a high no-car share, and more than ``threshold``
    minutes from an open unit at night or at the weekend.

    Parameters
    ----------
    quintile : numpy.ndarray
        Within-nation deprivation quintile (1 = most deprived; 0 = none).
    high_no_car : numpy.ndarray
        bool, the area is in the highest no-car fifth.
    night_median, weekend_median : numpy.ndarray
        The area's median minutes to an open unit over the night / weekend hours.

    Returns
    -------
    numpy.ndarray
        bool ``(n_areas,)``.
    """
    far = (np.asarray(night_median) > threshold) | (np.asarray(weekend_median) > threshold)
    return (np.asarray(quintile) == 1) & np.asarray(high_no_car, dtype=bool) & far
