"""Travel from one point (a patient's postcode) to every unit: :func:`from_point`."""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import pandas as pd

from epu_mapper.settings import Settings, get_settings
from epu_mapper.travel import osrm as osrm_mod
from epu_mapper.travel import water as water_mod
from epu_mapper.travel.caption import shown_caption
from epu_mapper.travel.estimate import ROUTE_ROAD, estimate_matrix
from epu_mapper.travel.pairs import (
    NO_COORDS,
    NO_ROAD_LINK,
    NO_ROUTE,
    REASONS,
    _coords_ok,
    _no_road_link,
    landmass,
)


@functools.lru_cache(maxsize=4)
def _router(network_dir: str, _stamp: float) -> osrm_mod.OsrmRouter:
    return osrm_mod.OsrmRouter(Path(network_dir))


def current_router(settings: Settings | None = None, network: str | None = None) -> osrm_mod.OsrmRouter | None:
    """The opened router of the current network (cached), or None when none is built."""
    settings = settings or get_settings()
    net_dir = osrm_mod.find_network(settings.build_dir, network)
    if net_dir is None:
        return None
    return _router(str(net_dir), (net_dir / "network.json").stat().st_mtime)


def from_point(
    lat: float,
    lon: float,
    units: pd.DataFrame,
    settings: Settings | None = None,
    router: osrm_mod.OsrmRouter | None | bool = True,
    origin_nation: str | None = None,
    water: water_mod.WaterModel | bool | None = True,
) -> pd.DataFrame:
    """Travel from one point (a patient's postcode) to every unit.

    Uses OSRM (a 1 × N table) for the units inside the built network when the point
    lies in it, else the straight-line estimate; each row says which.

    Parameters
    ----------
    lat, lon : float
        WGS84 origin.
    units : pandas.DataFrame
        ``unit_id, lat, lon`` (units without coordinates get NaN, reason ``no coordinates``).
    settings : Settings, optional
    router : OsrmRouter, None or True
        ``True`` (default) = the current network if one is built; ``None`` = estimate only.
    origin_nation : str, optional
        The origin's nation; with the units' ``nation`` column it rules out estimated
        "drives" across the Irish Sea (NaN, reason ``no road link …``).
    water : WaterModel, True or None
        The water rule (:mod:`epu_mapper.travel.water`) for estimated rows: ``True`` = the
        build's (when its boundaries are built), ``None`` = straight lines only.

    Returns
    -------
    pandas.DataFrame
        One row per unit, in the input order: ``unit_id``, ``minutes``, ``km``
        (float32; NaN = unreachable), ``engine`` (``osrm``/``estimate``),
        ``approximate`` (bool), ``reason`` (why NaN, else None) and
        ``origin_snap_m`` (metres from the point to the road it was snapped to, NaN
        for the estimate), ``route`` (``road (OSRM)``, ``road (straight-line estimate)``,
        ``via …`` a fixed link, ``ferry …``; null when NaN). ``df.attrs["far_from_road"]`` is True when the origin was
        snapped more than :data:`~epu_mapper.travel.osrm.SNAP_FAR_M` metres away.
    """
    if router is True:
        router = current_router(settings)
    elif router is False:
        router = None
    d_lat = pd.to_numeric(units["lat"], errors="coerce").to_numpy(np.float64)
    d_lon = pd.to_numeric(units["lon"], errors="coerce").to_numpy(np.float64)
    n = len(d_lat)
    o_lat, o_lon = np.array([float(lat)]), np.array([float(lon)])
    d_ok = _coords_ok(d_lat, d_lon)
    minutes = np.full(n, np.nan, dtype=np.float32)
    km = np.full(n, np.nan, dtype=np.float32)
    engine = np.full(n, "estimate", dtype=object)
    reason = np.full(n, None, dtype=object)
    snap = np.nan
    use_osrm = np.zeros(n, dtype=bool)
    if router is not None and bool(router.inside(o_lat, o_lon)[0]):
        use_osrm = router.inside(d_lat, d_lon) & d_ok
        if use_osrm.any():
            res = router.table(o_lat, o_lon, d_lat[use_osrm], d_lon[use_osrm])
            minutes[use_osrm] = res.minutes[0]
            km[use_osrm] = res.km[0]
            engine[use_osrm] = "osrm"
            snap = float(res.origin_snap_m[0])
            reason[use_osrm & ~np.isfinite(minutes)] = REASONS[NO_ROUTE]
    route = np.full(n, None, dtype=object)
    route[use_osrm] = "road (OSRM)"
    est = ~use_osrm & d_ok
    if est.any():
        m, k = estimate_matrix(o_lat, o_lon, d_lat[est], d_lon[est])
        minutes[est], km[est] = m[0], k[0]
        route[est] = ROUTE_ROAD
        model = (water_mod.load_model((settings or get_settings()).build_dir) if water is True
                 else water or None)
        if model is not None and np.isfinite(o_lat[0]) and np.isfinite(o_lon[0]):
            minutes[est], km[est], route[est], reason[est] = water_mod.point(
                model, o_lat[0], o_lon[0], d_lat[est], d_lon[est])
    if origin_nation is not None and "nation" in units.columns:
        sea = _no_road_link(landmass([origin_nation]), landmass(units["nation"]))[0] & est
        minutes[sea], km[sea] = np.nan, np.nan
        reason[sea] = REASONS[NO_ROAD_LINK]
    if not np.isfinite(o_lat[0]) or not np.isfinite(o_lon[0]):
        reason[:] = REASONS[NO_COORDS]
        minutes[:] = np.nan
        km[:] = np.nan
    reason[~d_ok] = REASONS[NO_COORDS]
    route[pd.notna(reason)] = None
    out = pd.DataFrame({
        "unit_id": units["unit_id"].array,  # as it is (no round trip through Python objects)
        "minutes": minutes,
        "km": km,
        "engine": engine,
        "approximate": engine == "estimate",
        "reason": reason,
        "origin_snap_m": np.full(n, snap),
        "route": route,
    })
    out.attrs["far_from_road"] = bool(np.isfinite(snap) and snap > osrm_mod.SNAP_FAR_M)
    osm_timestamp = router.meta.get("osm_timestamp") if router is not None else None
    out.attrs["osm_timestamp"] = osm_timestamp
    out.attrs["caption"] = shown_caption(engine, osm_timestamp)
    return out
