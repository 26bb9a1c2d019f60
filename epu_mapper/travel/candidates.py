"""Which (area, unit) pairs are worth routing: one rule shared by both engines.

Pure: arrays in, arrays out; no files.

The rule
--------
For each origin keep

* the ``k`` nearest units by straight line (great-circle distance), and
* when ``groups`` is given, the ``per_group`` nearest units of every group.

``groups`` labels units that share the same open/closed pattern (see
:func:`open_state_groups`). For any hour, the nearest *open* unit belongs to
some group, and every unit of that group is open at that hour, so keeping the
nearest unit of each group means a pruned matrix can never lose the
straight-line-nearest open unit. The estimate is monotone in straight-line
distance, so for it this is exact. Road times are not: after routing the kept
pairs, the OSRM engine runs :func:`completion_mask` (route every unit whose
straight-line speed bound could still beat the best routed unit of its group)
until nothing is left, which makes the nearest open unit by road exact too.

With the default ``k`` (:data:`DEFAULT_K` = 100) and today's directory (fewer
than 100 mappable units) **every pair is kept**: nothing is skipped until the
directory grows past ``k`` units. Keeping every pair also keeps what-if
scenarios exact (a unit whose hours are extended may become the nearest open
unit for areas far away).
"""

from __future__ import annotations

import numpy as np

from epu_mapper.spatial import EARTH_RADIUS_KM, haversine_km  # noqa: F401 (re-exported)

#: Units kept per origin by straight-line rank (all of them while the directory has <= 100).
DEFAULT_K = 100
#: Units kept per open-state group per origin, on top of the k nearest.
DEFAULT_PER_GROUP = 3


def straight_km_matrix(
    o_lat: np.ndarray, o_lon: np.ndarray, d_lat: np.ndarray, d_lon: np.ndarray
) -> np.ndarray:
    """Origin × destination great-circle distances (km), shape ``(n_o, n_d)``, float64."""
    return haversine_km(
        np.asarray(o_lat)[:, None], np.asarray(o_lon)[:, None],
        np.asarray(d_lat)[None, :], np.asarray(d_lon)[None, :],
    )


def open_state_groups(*state_arrays: np.ndarray, extra: np.ndarray | None = None) -> np.ndarray:
    """Label units that share identical open-state rows.

    Parameters
    ----------
    *state_arrays : numpy.ndarray
        One or more ``(n_units, m)`` int8 arrays of states (``1`` open, ``0`` closed,
        ``-1`` unknown), e.g. ``hours.week_states(units)`` and
        ``hours.bank_holiday_states(units)``. Unknown is kept distinct, so any
        unknown-hours policy maps a group to a single open pattern.
    extra : numpy.ndarray, optional
        ``(n_units,)`` labels that must also match (e.g. ``nation``: bank holidays
        differ by nation).

    Returns
    -------
    numpy.ndarray
        ``(n_units,)`` int64 group labels ``0 .. n_groups-1``.
    """
    if not state_arrays:
        raise ValueError("open_state_groups needs at least one state array")
    n = state_arrays[0].shape[0]
    parts = [np.ascontiguousarray(np.asarray(a, dtype=np.int8).reshape(n, -1)) for a in state_arrays]
    lookup: dict[tuple, int] = {}
    labels = np.empty(n, dtype=np.int64)
    extra_arr = None if extra is None else np.asarray(extra)
    for i in range(n):
        key: tuple = tuple(p[i].tobytes() for p in parts)
        if extra_arr is not None:
            key = key + (str(extra_arr[i]),)
        labels[i] = lookup.setdefault(key, len(lookup))
    return labels


def candidate_mask(
    o_lat: np.ndarray,
    o_lon: np.ndarray,
    d_lat: np.ndarray,
    d_lon: np.ndarray,
    k: int = DEFAULT_K,
    groups: np.ndarray | None = None,
    per_group: int = DEFAULT_PER_GROUP,
    straight_km: np.ndarray | None = None,
) -> np.ndarray:
    """Boolean ``(n_o, n_d)`` mask of the pairs to route.

    Parameters
    ----------
    o_lat, o_lon : numpy.ndarray
        Origin coordinates (n_o,), WGS84 degrees.
    d_lat, d_lon : numpy.ndarray
        Destination (unit) coordinates (n_d,), WGS84 degrees.
    k : int
        Keep the ``k`` nearest destinations by straight line (all when ``k >= n_d``).
    groups : numpy.ndarray, optional
        ``(n_d,)`` group labels (:func:`open_state_groups`); the ``per_group``
        nearest destinations of every group are kept as well.
    per_group : int
        Destinations kept per group per origin.
    straight_km : numpy.ndarray, optional
        Precomputed ``(n_o, n_d)`` straight-line distances (saves recomputing them).

    Returns
    -------
    numpy.ndarray
        ``(n_o, n_d)`` bool; True = route this pair. Origins with NaN coordinates
        keep every pair (the engine then reports them as unroutable, never skipped).
    """
    n_o, n_d = len(o_lat), len(d_lat)
    if n_d == 0 or n_o == 0:
        return np.zeros((n_o, n_d), dtype=bool)
    if k >= n_d:
        return np.ones((n_o, n_d), dtype=bool)
    dist = straight_km if straight_km is not None else straight_km_matrix(o_lat, o_lon, d_lat, d_lon)
    dist = np.where(np.isnan(dist), np.inf, dist)
    mask = np.zeros((n_o, n_d), dtype=bool)
    rows = np.arange(n_o)[:, None]
    if k > 0:
        nearest = np.argpartition(dist, k - 1, axis=1)[:, :k]
        mask[rows, nearest] = True
    if groups is not None and per_group > 0:
        groups = np.asarray(groups)
        for g in np.unique(groups):
            cols = np.flatnonzero(groups == g)
            if len(cols) <= per_group:
                mask[:, cols] = True
                continue
            sub = np.argpartition(dist[:, cols], per_group - 1, axis=1)[:, :per_group]
            mask[rows, cols[sub]] = True
    bad = ~np.isfinite(dist).any(axis=1)
    mask[bad] = True
    return mask


#: Speed bound (km/h) for :func:`completion_mask`: no car route is faster than this
#: on average in straight-line terms. car.lua caps UK roads at 70 mph x 0.8 = 90 km/h.
MAX_SPEED_KMH = 120.0


def completion_mask(
    mask: np.ndarray,
    minutes: np.ndarray,
    straight_km: np.ndarray,
    groups: np.ndarray,
    max_speed_kmh: float = MAX_SPEED_KMH,
) -> np.ndarray:
    """Pairs left out by ``mask`` that could still beat the best routed unit of their group.

    Road times are not monotone in straight-line distance, so after routing the
    kept pairs, any unit whose straight-line lower bound on time
    (``60 × straight_km / max_speed_kmh``) is below the best routed time of its
    open-state group for that origin must be routed too. Routing the returned pairs
    (and repeating until none are returned) makes the per-group best - and so the
    nearest open unit at every hour - exact.

    Parameters
    ----------
    mask : numpy.ndarray
        ``(n_o, n_d)`` bool: pairs already routed.
    minutes : numpy.ndarray
        ``(n_o, n_d)`` routed minutes (NaN unreachable; values outside ``mask`` ignored).
    straight_km : numpy.ndarray
        ``(n_o, n_d)`` great-circle km.
    groups : numpy.ndarray
        ``(n_d,)`` open-state group labels.
    max_speed_kmh : float
        Upper bound on average straight-line speed.

    Returns
    -------
    numpy.ndarray
        ``(n_o, n_d)`` bool: additional pairs to route (disjoint from ``mask``).
    """
    bound = 60.0 * np.where(np.isnan(straight_km), 0.0, straight_km) / max_speed_kmh
    routed = np.where(mask & np.isfinite(minutes), minutes, np.inf)
    extra = np.zeros_like(mask)
    for g in np.unique(groups):
        cols = np.flatnonzero(groups == g)
        best = routed[:, cols].min(axis=1, keepdims=True)
        extra[:, cols] = ~mask[:, cols] & (bound[:, cols] < best)
    return extra
