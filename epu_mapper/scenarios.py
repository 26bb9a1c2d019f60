"""Pure what-if and greedy ranking on top of :mod:`epu_mapper.coverage`.

Arrays in, arrays/DataFrames out; no files. "Within reach" means an open unit with travel
minutes ``<= reach`` (60 by default). Only reach matters here, so the computations are boolean:
``within[a, s] = any_u reach[a, u] & open[u, s]``, evaluated as a small matrix product over just
the areas a changed unit can reach.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd


def reach_matrix(minutes: np.ndarray, reach: float = 60.0) -> np.ndarray:
    """``bool (n_areas, n_units)``: unit within ``reach`` minutes of the area (NaN/inf = no)."""
    with np.errstate(invalid="ignore"):
        return np.asarray(minutes) <= reach


def within_reach(reach: np.ndarray, is_open: np.ndarray) -> np.ndarray:
    """Whether an open unit is within reach, per area and slot.

    Parameters
    ----------
    reach : numpy.ndarray
        ``bool (n_areas, n_units)`` from :func:`reach_matrix`.
    is_open : numpy.ndarray
        ``bool (n_units, n_slots)``.

    Returns
    -------
    numpy.ndarray
        ``bool (n_areas, n_slots)``.
    """
    r = np.asarray(reach, dtype=np.float32)
    o = np.asarray(is_open, dtype=np.float32)
    return (r @ o) > 0.5


@dataclass(frozen=True)
class WhatIfCore:
    """Effect of changing some units' open masks.

    Attributes
    ----------
    rows : numpy.ndarray
        ``int (n_affected,)`` area indices within reach of a changed unit (only these can change).
    gained : numpy.ndarray
        ``bool (n_affected, n_slots)`` newly within reach.
    lost : numpy.ndarray
        ``bool (n_affected, n_slots)`` no longer within reach (when hours were cut).
    changed_units : numpy.ndarray
        ``int`` indices of units whose open mask differs.
    """

    rows: np.ndarray
    gained: np.ndarray
    lost: np.ndarray
    changed_units: np.ndarray


def whatif_core(reach: np.ndarray, open_before: np.ndarray, open_after: np.ndarray) -> WhatIfCore:
    """Compare reach before and after a change of open masks, touching only affected areas.

    Parameters
    ----------
    reach : numpy.ndarray
        ``bool (n_areas, n_units)``.
    open_before, open_after : numpy.ndarray
        ``bool (n_units, n_slots)`` open masks (same policy) before and after the change.

    Returns
    -------
    WhatIfCore
    """
    open_before = np.asarray(open_before, dtype=bool)
    open_after = np.asarray(open_after, dtype=bool)
    changed = np.flatnonzero((open_before != open_after).any(axis=1))
    n_slots = open_before.shape[1]
    if changed.size == 0:
        empty = np.zeros((0, n_slots), dtype=bool)
        return WhatIfCore(np.zeros(0, np.int64), empty, empty, changed)
    rows = np.flatnonzero(reach[:, changed].any(axis=1))
    sub = reach[rows]
    before = within_reach(sub, open_before)
    after = within_reach(sub, open_after)
    return WhatIfCore(rows, after & ~before, before & ~after, changed)


def greedy_rank(
    reach: np.ndarray,
    open_base: np.ndarray,
    open_extended: np.ndarray,
    weights: np.ndarray,
    k: int = 10,
    slots: np.ndarray | None = None,
    candidates: Sequence[int] | np.ndarray | None = None,
) -> pd.DataFrame:
    """Greedy choice of the ``k`` units whose extension brings the most population-hours in reach.

    Each step takes the candidate whose extended hours add the most *population-hours* (sum over
    areas and slots of the area's weight, for area-slots newly within reach) given the units
    already chosen; ties go to the lowest unit index. Stops early when no candidate adds anything.

    Parameters
    ----------
    reach : numpy.ndarray
        ``bool (n_areas, n_units)``.
    open_base, open_extended : numpy.ndarray
        ``bool (n_units, n_slots)`` open masks now and with each unit's extension.
    weights : numpy.ndarray
        ``(n_areas,)`` population weights.
    k : int
        Number of units to choose.
    slots : numpy.ndarray, optional
        Slot indices that count (default: all columns).
    candidates : sequence of int, optional
        Unit indices that may be chosen (default: all).

    Returns
    -------
    pandas.DataFrame
        One row per step: ``step`` (1…), ``unit`` (unit index), ``gain_person_hours`` (marginal
        population-hours per week), ``gain_population`` (weight of areas that gain at least one
        hour at this step), ``cumulative_person_hours``, ``hours_added`` (slots the extension
        opens that were closed before).
    """
    if k < 1:
        raise ValueError("k must be at least 1")
    base = np.asarray(open_base, dtype=bool)
    ext = np.asarray(open_extended, dtype=bool) | base
    if slots is not None:
        base, ext = base[:, slots], ext[:, slots]
    w = np.asarray(weights, dtype=np.float64)
    covered = within_reach(reach, base)
    cand = np.arange(base.shape[0]) if candidates is None else np.asarray(candidates, dtype=np.int64)
    delta_slots = {int(u): np.flatnonzero(ext[u] & ~base[u]) for u in cand}
    reach_rows = {u: np.flatnonzero(reach[:, u]) for u, d in delta_slots.items() if d.size}
    remaining = [u for u in sorted(reach_rows)]
    steps: list[dict] = []
    cumulative = 0.0
    for step in range(1, k + 1):
        best_u, best_gain = -1, 0.0
        for u in remaining:
            rows, cols = reach_rows[u], delta_slots[u]
            if rows.size == 0:
                continue
            newly = ~covered[np.ix_(rows, cols)]
            gain = float(w[rows] @ newly.sum(axis=1))
            if gain > best_gain:
                best_u, best_gain = u, gain
        if best_u < 0:
            break
        rows, cols = reach_rows[best_u], delta_slots[best_u]
        newly = ~covered[np.ix_(rows, cols)]
        gain_pop = float(w[rows][newly.any(axis=1)].sum())
        covered[np.ix_(rows, cols)] = True
        cumulative += best_gain
        remaining.remove(best_u)
        steps.append(
            {
                "step": step,
                "unit": best_u,
                "gain_person_hours": best_gain,
                "gain_population": gain_pop,
                "cumulative_person_hours": cumulative,
                "hours_added": int(cols.size),
            }
        )
    return pd.DataFrame(
        steps,
        columns=[
            "step", "unit", "gain_person_hours", "gain_population",
            "cumulative_person_hours", "hours_added",
        ],
    )
