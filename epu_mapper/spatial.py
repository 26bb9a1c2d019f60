"""Distances, the British National Grid and the nearest-point search: pure NumPy (no I/O).

The one projection (:func:`to_british_grid`, on one worker thread) and the one
nearest-point search (:func:`nearest_points`, :func:`nearest_area`) the build, the api and
the travel layer share.
"""

from __future__ import annotations

import functools
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pandas as pd
import shapely

#: Mean Earth radius (km), IUGG.
EARTH_RADIUS_KM = 6371.0088


def haversine_km(
    lat1: np.ndarray, lon1: np.ndarray, lat2: np.ndarray, lon2: np.ndarray
) -> np.ndarray:
    """Great-circle distance in km, broadcasting like NumPy.

    Parameters
    ----------
    lat1, lon1, lat2, lon2 : array_like
        WGS84 degrees. Pass ``lat1[:, None]`` and ``lat2[None, :]`` for a matrix.

    Returns
    -------
    numpy.ndarray
        Distance in km (float64); NaN where any coordinate is NaN.
    """
    p1 = np.radians(np.asarray(lat1, dtype=np.float64))
    p2 = np.radians(np.asarray(lat2, dtype=np.float64))
    dphi = p2 - p1
    dlmb = np.radians(np.asarray(lon2, dtype=np.float64) - np.asarray(lon1, dtype=np.float64))
    a = np.sin(dphi / 2.0) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dlmb / 2.0) ** 2
    return 2.0 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


#: The one thread that runs WGS84 -> EPSG:27700 transforms. pyproj keeps a private copy of a
#: transformer's internal state per thread and builds it (about 80 ms) the first time a thread
#: transforms; Streamlit runs every script run in a new thread, so transforming in the caller's
#: thread paid that on every interaction. Here it is paid once.
_BNG_WORKER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="epu-bng")


@functools.cache
def _bng_transformer() -> Any:
    """The WGS84 -> EPSG:27700 transformer (used only from :data:`_BNG_WORKER`)."""
    from pyproj import Transformer

    return Transformer.from_crs(4326, 27700, always_xy=True)


def _transform(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x, y = _bng_transformer().transform(lon, lat)
    return np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)


def to_british_grid(lat: np.ndarray, lon: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """WGS84 points as British National Grid (EPSG:27700) easting, northing in metres."""
    return _BNG_WORKER.submit(_transform, np.asarray(lon, dtype=np.float64),
                              np.asarray(lat, dtype=np.float64)).result()


def nearest_points(
    qlat: np.ndarray, qlon: np.ndarray, plat: np.ndarray, plon: np.ndarray
) -> np.ndarray:
    """Index into ``p`` of the nearest point to each query, in EPSG:27700 (metres).

    A k-d tree (:class:`scipy.spatial.cKDTree`) over the projected points; ties go to the lowest
    index (queries whose few nearest candidates all tie are settled by a shapely STRtree over
    every equidistant point, so the rule holds however many points tie).

    Parameters
    ----------
    qlat, qlon : numpy.ndarray
        Query points (WGS84); NaN = no coordinates.
    plat, plon : numpy.ndarray
        Candidate points (WGS84); points without coordinates are never chosen.

    Returns
    -------
    numpy.ndarray
        ``int64 (n_queries,)``; -1 for a query without coordinates or when there is no point.
    """
    from scipy.spatial import cKDTree

    qx, qy = to_british_grid(np.asarray(qlat, dtype=np.float64).reshape(-1),
                             np.asarray(qlon, dtype=np.float64).reshape(-1))
    px, py = to_british_grid(np.asarray(plat, dtype=np.float64).reshape(-1),
                             np.asarray(plon, dtype=np.float64).reshape(-1))
    out = np.full(qx.size, -1, dtype=np.int64)
    p_ok = np.flatnonzero(np.isfinite(px) & np.isfinite(py))
    q_ok = np.flatnonzero(np.isfinite(qx) & np.isfinite(qy))
    if p_ok.size == 0 or q_ok.size == 0:
        return out
    pts = np.column_stack([px[p_ok], py[p_ok]])
    qs = np.column_stack([qx[q_ok], qy[q_ok]])
    k = min(_TIE_K, p_ok.size)
    dist, idx = cKDTree(pts).query(qs, k=k)
    dist, idx = dist.reshape(len(qs), k), idx.reshape(len(qs), k)
    # among the candidates at the nearest distance, the lowest index (idx is into p_ok, ascending)
    tied = dist == dist[:, :1]
    pick = np.where(tied, idx, np.iinfo(np.int64).max).min(axis=1)
    out[q_ok] = p_ok[pick]
    if k < p_ok.size:  # every one of the k candidates tied: there may be more
        many = np.flatnonzero(tied.all(axis=1))
        if many.size:
            tree = shapely.STRtree(shapely.points(pts[:, 0], pts[:, 1]))
            q_idx, p_idx = tree.query_nearest(shapely.points(qs[many, 0], qs[many, 1]), all_matches=True)
            order = np.lexsort((p_idx, q_idx))
            q_idx, p_idx = q_idx[order], p_idx[order]
            first = np.r_[True, q_idx[1:] != q_idx[:-1]]
            out[q_ok[many[q_idx[first]]]] = p_ok[p_idx[first]]
    return out


#: Nearest candidates a k-d tree query returns before ties are settled exactly.
_TIE_K = 4


def nearest_area(
    lat: np.ndarray, lon: np.ndarray, lad_code: np.ndarray, demand: pd.DataFrame
) -> tuple[np.ndarray, np.ndarray]:
    """Assign points to the nearest demand point inside their own local authority.

    Parameters
    ----------
    lat, lon
        Query points (WGS84); NaN = no coordinates.
    lad_code
        The query points' LAD codes (``admin_district_code``); unknown/empty allowed.
    demand
        ``area_code, lat, lon, lad_code`` (output of :func:`demand_table`).

    Returns
    -------
    area_code, method
        Object arrays. ``method`` is ``nearest_point_in_lad`` when the LAD has demand points,
        ``nearest_point_any_lad`` when it does not (code unknown or changed), and
        ``""`` with a null area when the point has no coordinates.
    """
    lat = np.asarray(lat, dtype="float64")
    lon = np.asarray(lon, dtype="float64")
    lad = pd.Series(np.asarray(lad_code, dtype=object)).fillna("").to_numpy()
    n = len(lat)
    area = np.full(n, None, dtype=object)
    method = np.full(n, "", dtype=object)
    codes = demand["area_code"].to_numpy(dtype=object)
    dlat = demand["lat"].to_numpy("float64")
    dlon = demand["lon"].to_numpy("float64")
    has_xy = ~(np.isnan(lat) | np.isnan(lon))
    groups = pd.Series(np.arange(len(demand))).groupby(demand["lad_code"].to_numpy()).indices
    q = pd.Series(np.arange(n))[has_xy]
    for lad_value, idx in q.groupby(lad[has_xy]).indices.items():
        qi = q.to_numpy()[idx]
        cand = groups.get(lad_value)
        if cand is None:
            nearest = nearest_points(lat[qi], lon[qi], dlat, dlon)
            area[qi] = codes[nearest]
            method[qi] = "nearest_point_any_lad"
        else:
            nearest = nearest_points(lat[qi], lon[qi], dlat[cand], dlon[cand])
            area[qi] = codes[cand[nearest]]
            method[qi] = "nearest_point_in_lad"
    return area, method
