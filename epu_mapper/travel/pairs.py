"""The pure core of the travel matrix: area × unit pairs by either engine, long and dense forms.

:func:`compute_estimate`, :func:`compute_osrm` (given a router), :func:`to_long`,
:func:`dense_from_long`; the I/O edge is :mod:`~epu_mapper.travel.build` (write),
:mod:`~epu_mapper.travel.load` (read) and :mod:`~epu_mapper.travel.point` (one origin).

Honesty rules carried by every output:

* the engine that made each figure (``engine`` column / attribute);
* unreachable pairs are NaN with a ``reason`` (never 0):
  ``area outside network``, ``unit outside network``, ``no route``, ``no coordinates``;
* pairs skipped as pointless (:mod:`~epu_mapper.travel.candidates`) are ``inf`` in the
  dense matrix and absent from the long table;
* origins snapped more than :data:`~epu_mapper.travel.osrm.SNAP_FAR_M` metres to a
  road are listed in the provenance (``far_snapped_origins``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from epu_mapper.travel import candidates as cand
from epu_mapper.travel import osrm as osrm_mod
from epu_mapper.travel.candidates import straight_km_matrix
from epu_mapper.travel.estimate import CALIBRATED, EstimateParams, estimate_matrix

if TYPE_CHECKING:
    from epu_mapper.travel.water import WaterModel

ENGINES = ("osrm", "estimate")
SCHEMA_VERSION = 3  # 2: NI <-> GB pairs are "no road link" in the estimate; 3: the water rule

OK = 0
AREA_OUTSIDE = 1
UNIT_OUTSIDE = 2
NO_ROUTE = 3
NO_COORDS = 4
NO_ROAD_LINK = 5
NO_SEA_LINK = 6
NO_SAME_DAY = 7
#: Reason codes → text stored in the ``reason`` column for NaN rows.
REASONS = {
    AREA_OUTSIDE: "area outside network",
    UNIT_OUTSIDE: "unit outside network",
    NO_ROUTE: "no route",
    NO_COORDS: "no coordinates",
    NO_ROAD_LINK: "no road link between Northern Ireland and Great Britain",
    NO_SEA_LINK: "no fixed link or sourced car ferry reaches this island",
    NO_SAME_DAY: "no same-day link (only an overnight ferry)",
}

LONG_COLUMNS = ["area_code", "unit_id", "minutes", "km", "reason", "engine"]
POINT_COLUMNS = ["unit_id", "minutes", "km", "engine", "approximate", "reason", "origin_snap_m", "route"]


@dataclass
class PairResult:
    """Dense result of one engine run.

    Attributes
    ----------
    minutes, km : numpy.ndarray
        float32 ``(n_o, n_d)``: value where routed, NaN where unreachable, inf where skipped.
    reason : numpy.ndarray
        int8 ``(n_o, n_d)`` reason codes (:data:`REASONS`; 0 = routed or skipped).
    origin_snap_m : numpy.ndarray
        float64 ``(n_o,)`` distance from each origin to the road it was snapped to
        (NaN for the estimate and for origins that were not routed).
    dest_snap_m : numpy.ndarray
        float64 ``(n_d,)`` same for destinations.
    """

    minutes: np.ndarray
    km: np.ndarray
    reason: np.ndarray
    origin_snap_m: np.ndarray
    dest_snap_m: np.ndarray
    water: dict | None = None


def landmass(nations: object) -> np.ndarray:
    """Which island each point is on, from its nation: 1 = Ireland, 0 = Great Britain, -1 = unknown.

    A straight line crosses the Irish Sea as easily as a field, so the estimate would give
    a Belfast woman a "drive" to Stranraer. Pairs on different islands are unreachable by
    road (a ferry is not an emergency route); only the nation is needed to tell.

    Parameters
    ----------
    nations : array-like of str
        ``England`` / ``Wales`` / ``Scotland`` / ``Northern Ireland`` (anything else: unknown).
    """
    arr = np.atleast_1d(np.asarray(nations, dtype=object))
    # one dictionary look-up per distinct value (a few nations, many points)
    uniq, inverse = np.unique(arr.astype(str), return_inverse=True)
    codes = np.array([_LANDMASS.get(str(u), -1) for u in uniq], dtype=np.int8)
    return codes[inverse.reshape(-1)] if len(arr) else np.zeros(0, dtype=np.int8)


_LANDMASS = {"England": 0, "Wales": 0, "Scotland": 0, "Northern Ireland": 1}


def _no_road_link(o_land: np.ndarray, d_land: np.ndarray) -> np.ndarray:
    """``(n_o, n_d)`` True where both islands are known and differ."""
    o, d = np.asarray(o_land)[:, None], np.asarray(d_land)[None, :]
    return (o >= 0) & (d >= 0) & (o != d)


def _coords_ok(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    return np.isfinite(np.asarray(lat, dtype=np.float64)) & np.isfinite(np.asarray(lon, dtype=np.float64))


def compute_estimate(
    o_lat: np.ndarray,
    o_lon: np.ndarray,
    d_lat: np.ndarray,
    d_lon: np.ndarray,
    mask: np.ndarray,
    params: EstimateParams = CALIBRATED,
    o_land: np.ndarray | None = None,
    d_land: np.ndarray | None = None,
    water: WaterModel | None = None,
    straight_km: np.ndarray | None = None,
) -> PairResult:
    """The straight-line estimate for every kept pair, with no straight line across the sea.

    Parameters
    ----------
    o_lat, o_lon, d_lat, d_lon : numpy.ndarray
        Origin (n_o,) and destination (n_d,) WGS84 coordinates.
    mask : numpy.ndarray
        ``(n_o, n_d)`` pairs to compute (:func:`~epu_mapper.travel.candidates.candidate_mask`).
    params : EstimateParams
        Estimate parameters.
    o_land, d_land : numpy.ndarray, optional
        :func:`landmass` of origins (n_o,) and destinations (n_d,); pairs on different
        islands are NaN with reason ``no road link …``.
    water : WaterModel, optional
        :func:`epu_mapper.travel.water.load_model`: pairs whose over-land path is much longer
        than the straight line, or that need a ferry, follow :mod:`epu_mapper.travel.water`
        (NaN with ``no fixed link …`` / ``no same-day link …`` where nothing reaches).
    straight_km : numpy.ndarray, optional
        Precomputed ``(n_o, n_d)`` great-circle km.

    Returns
    -------
    PairResult
        NaN with reason ``no coordinates`` where a point has no coordinates; ``water``:
        counts of the pairs the water rule changed.
    """
    straight = straight_km if straight_km is not None else straight_km_matrix(o_lat, o_lon, d_lat, d_lon)
    minutes, km = estimate_matrix(o_lat, o_lon, d_lat, d_lon, mask=mask, params=params,
                                  straight_km=straight)
    bad = mask & ~(_coords_ok(o_lat, o_lon)[:, None] & _coords_ok(d_lat, d_lon)[None, :])
    reason = np.where(bad, NO_COORDS, OK).astype(np.int8)
    if o_land is not None and d_land is not None:
        sea = _no_road_link(o_land, d_land) & mask & ~bad
        reason[sea] = NO_ROAD_LINK
        bad |= sea
    counts = None
    if water is not None:
        from epu_mapper.travel import water as water_mod

        wm, wk, code, counts = water_mod.water_matrix(water, o_lat, o_lon, d_lat, d_lon, mask & ~bad,
                                                      straight, params)
        fix = np.isfinite(wm)
        minutes[fix], km[fix] = wm[fix], wk[fix]
        for wcode, ours in ((water_mod.CODE_NI, NO_ROAD_LINK), (water_mod.CODE_NO_LINK, NO_SEA_LINK),
                            (water_mod.CODE_OVERNIGHT, NO_SAME_DAY)):
            hit = (code == wcode) & ~bad
            reason[hit] = ours
            bad |= hit
    minutes[bad] = np.nan
    km[bad] = np.nan
    n_o, n_d = mask.shape
    return PairResult(minutes, km, reason, np.full(n_o, np.nan), np.full(n_d, np.nan), counts)


def _spatial_order(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """Order points in 0.5° latitude bands, then by longitude (chunks stay compact)."""
    return np.lexsort((lon, np.floor(lat * 2.0)))


def compute_osrm(
    router: osrm_mod.OsrmRouter,
    o_lat: np.ndarray,
    o_lon: np.ndarray,
    d_lat: np.ndarray,
    d_lon: np.ndarray,
    mask: np.ndarray,
    chunk: int = osrm_mod.DEFAULT_CHUNK,
    progress: bool = False,
) -> PairResult:
    """OSRM road times for every kept pair, in chunks of origins.

    Origins and destinations outside the network's extent are not routed: their
    pairs are NaN with reason ``area outside network`` / ``unit outside network``.
    Each chunk asks OSRM only for the destinations some origin of the chunk keeps.

    Parameters
    ----------
    router : OsrmRouter
        An opened network.
    o_lat, o_lon, d_lat, d_lon : numpy.ndarray
        Origin (n_o,) and destination (n_d,) WGS84 coordinates.
    mask : numpy.ndarray
        ``(n_o, n_d)`` pairs to compute.
    chunk : int
        Origins per OSRM request.
    progress : bool
        Show a tqdm progress bar.

    Returns
    -------
    PairResult
    """
    o_lat = np.asarray(o_lat, dtype=np.float64)
    o_lon = np.asarray(o_lon, dtype=np.float64)
    d_lat = np.asarray(d_lat, dtype=np.float64)
    d_lon = np.asarray(d_lon, dtype=np.float64)
    n_o, n_d = mask.shape
    minutes = np.full((n_o, n_d), np.inf, dtype=np.float32)
    km = np.full((n_o, n_d), np.inf, dtype=np.float32)
    reason = np.zeros((n_o, n_d), dtype=np.int8)
    o_snap = np.full(n_o, np.nan)
    d_snap = np.full(n_d, np.nan)

    o_ok, d_ok = _coords_ok(o_lat, o_lon), _coords_ok(d_lat, d_lon)
    o_in = router.inside(o_lat, o_lon) & o_ok
    d_in = router.inside(d_lat, d_lon) & d_ok
    # Reasons for pairs that will not be routed (first matching reason wins).
    no_coords = mask & ~(o_ok[:, None] & d_ok[None, :])
    area_out = mask & ~no_coords & ~o_in[:, None]
    unit_out = mask & ~no_coords & ~area_out & ~d_in[None, :]
    for sel, code in ((no_coords, NO_COORDS), (area_out, AREA_OUTSIDE), (unit_out, UNIT_OUTSIDE)):
        minutes[sel] = np.nan
        km[sel] = np.nan
        reason[sel] = code

    routable = mask & o_in[:, None] & d_in[None, :]
    rows = np.flatnonzero(routable.any(axis=1))
    rows = rows[_spatial_order(o_lat[rows], o_lon[rows])]
    starts = range(0, len(rows), chunk)
    if progress:
        from tqdm import tqdm

        starts = tqdm(starts, total=(len(rows) + chunk - 1) // chunk, unit="chunk",
                      desc=f"OSRM {len(rows)} areas")
    for start in starts:
        r = rows[start : start + chunk]
        cols = np.flatnonzero(routable[r].any(axis=0))
        res = router.table(o_lat[r], o_lon[r], d_lat[cols], d_lon[cols])
        sub = routable[np.ix_(r, cols)]
        m = np.where(sub, res.minutes, np.inf).astype(np.float32)
        k = np.where(sub, res.km, np.inf).astype(np.float32)
        nan = sub & ~np.isfinite(res.minutes)
        minutes[np.ix_(r, cols)] = m
        km[np.ix_(r, cols)] = k
        rsub = reason[np.ix_(r, cols)]
        rsub[nan] = NO_ROUTE
        reason[np.ix_(r, cols)] = rsub
        o_snap[r] = res.origin_snap_m
        d_snap[cols] = np.fmax(d_snap[cols], res.dest_snap_m)
    return PairResult(minutes, km, reason, o_snap, d_snap)


def _complete_osrm(
    router: osrm_mod.OsrmRouter,
    result: PairResult,
    mask: np.ndarray,
    groups: np.ndarray,
    o_lat: np.ndarray,
    o_lon: np.ndarray,
    d_lat: np.ndarray,
    d_lon: np.ndarray,
    chunk: int,
    log: Callable[[str], None],
) -> np.ndarray:
    """Route the pairs :func:`~epu_mapper.travel.candidates.completion_mask` asks for.

    Updates ``result`` in place until none are left; returns the final mask.
    """
    dist = cand.straight_km_matrix(o_lat, o_lon, d_lat, d_lon)
    mask = mask.copy()
    while (extra := cand.completion_mask(mask, result.minutes, dist, groups)).any():
        log(f"completion pass: routing {int(extra.sum()):,} more pairs")
        more = compute_osrm(router, o_lat, o_lon, d_lat, d_lon, extra, chunk=chunk)
        for name in ("minutes", "km", "reason"):
            getattr(result, name)[extra] = getattr(more, name)[extra]
        result.origin_snap_m[:] = np.fmax(result.origin_snap_m, more.origin_snap_m)
        mask |= extra
    return mask


def to_long(
    result: PairResult, area_codes: np.ndarray, unit_ids: np.ndarray, mask: np.ndarray, engine: str
) -> pd.DataFrame:
    """Long table of the kept pairs.

    Returns
    -------
    pandas.DataFrame
        ``area_code, unit_id`` (categorical of str), ``minutes, km`` (float32; NaN = unreachable),
        ``reason`` (categorical; null where routed), ``engine`` (categorical), in
        area order then unit order.
    """
    ii, jj = np.nonzero(mask)
    codes = result.reason[ii, jj]
    reason = _reason_labels(codes)
    # categoricals (ids as categories): millions of rows without a string per row
    areas = pd.Index(np.asarray(area_codes).astype(str), dtype=object)
    units = pd.Index(np.asarray(unit_ids).astype(str), dtype=object)
    return pd.DataFrame(
        {
            "area_code": pd.Categorical.from_codes(ii, categories=areas),
            "unit_id": pd.Categorical.from_codes(jj, categories=units),
            "minutes": result.minutes[ii, jj].astype(np.float32),
            "km": result.km[ii, jj].astype(np.float32),
            "reason": reason,
            "engine": pd.Categorical.from_codes(np.full(len(ii), ENGINES.index(engine), dtype=np.int8),
                                                categories=list(ENGINES)),
        }
    )


def _reason_labels(codes: np.ndarray) -> pd.Categorical:
    """Reason codes → categorical labels (null where routed)."""
    cats = list(REASONS.values())
    lookup = np.full(max(REASONS) + 1, -1, dtype=np.int8)
    for code, label in REASONS.items():
        lookup[code] = cats.index(label)
    return pd.Categorical.from_codes(lookup[codes], categories=cats)


def _indexer(order: np.ndarray, values: pd.Series) -> np.ndarray:
    """Position of each value in ``order`` (-1 when absent); fast for categoricals."""
    index = pd.Index(order)
    if isinstance(values.dtype, pd.CategoricalDtype):
        lookup = index.get_indexer(values.cat.categories)
        codes = values.cat.codes.to_numpy()
        return np.where(codes >= 0, lookup[codes], -1)
    return index.get_indexer(values)


def dense_from_long(
    long: pd.DataFrame, area_codes: np.ndarray, unit_ids: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Dense ``(n_areas, n_units)`` minutes and km from a long table.

    Parameters
    ----------
    long : pandas.DataFrame
        ``area_code, unit_id, minutes, km``.
    area_codes, unit_ids : numpy.ndarray
        Row and column order.

    Returns
    -------
    (minutes, km) : float32 arrays; ``inf`` for pairs absent from ``long`` (skipped).
    """
    rows = _indexer(area_codes, long["area_code"])
    cols = _indexer(unit_ids, long["unit_id"])
    ok = (rows >= 0) & (cols >= 0)
    minutes = np.full((len(area_codes), len(unit_ids)), np.inf, dtype=np.float32)
    km = np.full_like(minutes, np.inf)
    minutes[rows[ok], cols[ok]] = long["minutes"].to_numpy(np.float32)[ok]
    km[rows[ok], cols[ok]] = long["km"].to_numpy(np.float32)[ok]
    return minutes, km


def mappable(units: pd.DataFrame) -> pd.DataFrame:
    """Rows with a ``mappable`` flag (when present) and finite ``lat``/``lon``."""
    ok = _coords_ok(pd.to_numeric(units["lat"], errors="coerce"), pd.to_numeric(units["lon"], errors="coerce"))
    if "mappable" in units.columns:
        ok &= units["mappable"].astype("boolean").fillna(False).to_numpy(bool)
    return units.loc[ok].reset_index(drop=True)
