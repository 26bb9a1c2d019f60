"""The offline travel-time estimate: straight line × detour, at a distance-dependent pace.

Pure: arrays in, arrays out; no files.

Model (car, free-flow)::

    minutes = intercept_min + min_per_km × straight_km + sqrt_min × √straight_km
    km      = detour × straight_km

``straight_km`` is the great-circle distance. The √km term lets the pace rise with
distance (town streets for short trips, trunk roads for long ones). The stored
parameters (:data:`CALIBRATED`) are fitted on independent road times for England and
Wales and checked on a held-out part (:mod:`epu_mapper.travel.national`)::

    epu-mapper travel calibrate

prints the fit and the held-out error by distance band and urban/rural class; the
error shown to users is that held-out error. Scotland and Northern Ireland have no
reference times here: the same national curve is used there (stated wherever the
figures are). The earlier Rutland-only fit against OSRM is kept as
:data:`RUTLAND_OSRM` (``epu-mapper travel calibrate --pbf …``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

import numpy as np

from epu_mapper.travel.candidates import straight_km_matrix

if TYPE_CHECKING:
    from epu_mapper.travel.water import WaterModel


@dataclass(frozen=True)
class EstimateParams:
    """Parameters of the straight-line estimate and their measured error.

    Attributes
    ----------
    intercept_min : float
        Minutes added to every trip (getting onto and off the main roads).
    min_per_km : float
        Minutes per straight-line km.
    detour : float
        Road km per straight-line km.
    mae_min, p90_min : float
        Mean and 90th-percentile absolute error (minutes) against the reference
        (held out for :data:`CALIBRATED`).
    n_pairs : int
        Number of calibration pairs the parameters were fitted on.
    source : str
        What the parameters were fitted on (reference, sample, command).
    sqrt_min : float
        Minutes per √(straight-line km) (0 = a straight line in km).
    median_bias_min : float
        Median of estimate − reference on the held-out pairs (NaN when not measured;
        negative = the estimate is too fast).
    checked_on : str
        Where the error was measured, as said to users.
    """

    intercept_min: float
    min_per_km: float
    detour: float
    mae_min: float
    p90_min: float
    n_pairs: int
    source: str
    sqrt_min: float = 0.0
    median_bias_min: float = float("nan")
    checked_on: str = "road routes in rural Rutland (OSRM); likely optimistic in cities"

    @property
    def implied_speed_kmh(self) -> float:
        """Average road speed implied by the linear slope and detour (km/h)."""
        return 60.0 * self.detour / self.min_per_km

    def to_dict(self) -> dict:
        """Plain dict (for provenance JSON)."""
        return asdict(self)

    def caption(self) -> str:
        """One line for users: what the figure is and how wrong it typically is."""
        return (
            f"approximate travel time by car (straight-line estimate, free-flow), typically within "
            f"{self.mae_min:.0f} minutes (9 in 10 within {self.p90_min:.0f} minutes) "
            f"of {self.checked_on}"
        )


#: The earlier fit against OSRM on rural Rutland only (kept for the OSRM calibration check).
#: Produced by ``epu-mapper travel calibrate --pbf $EPU_MAPPER_DATA/osm/rutland-latest.osm.pbf
#: --district E06000017 --seed 0`` (tests/test_osrm_rutland.py re-runs it).
RUTLAND_OSRM = EstimateParams(
    intercept_min=3.079,
    min_per_km=1.22,
    detour=1.333,
    mae_min=2.147,
    p90_min=4.285,
    n_pairs=79600,
    source=(
        "OSRM car.lua (osrm-bindings 26.10.0) on the Rutland OSM extract of 2022-07-20, "
        "400 x 200 Code-Point Open postcodes in Rutland (E06000017), seed 0"
    ),
)

# Produced by `epu-mapper travel calibrate` (epu_mapper.travel.national; the test
# tests/test_travel_national.py re-runs it and checks these figures). The errors are the
# held-out ones (local authorities never fitted on).
CALIBRATED = EstimateParams(
    intercept_min=0.546,
    min_per_km=0.632,
    sqrt_min=2.436,
    detour=1.268,
    mae_min=3.05,
    p90_min=6.04,
    median_bias_min=0.31,
    n_pairs=28246,
    source=(
        "England & Wales LSOA -> nearest stroke unit road times (Peninsula Stroke team, "
        "ambulance-style calibrated, fixed part 5.5 min taken off), 28246 training pairs; "
        "detour from 4459 Maptitude 2016 neonatal-unit pairs; epu-mapper travel calibrate"
    ),
    checked_on=(
        "modelled road times across England and Wales (held-out check; a car router is slower "
        "on long trips; Scotland and Northern Ireland use the same curve, unchecked)"
    ),
)


def estimate_from_km(
    straight_km: np.ndarray, params: EstimateParams = CALIBRATED
) -> tuple[np.ndarray, np.ndarray]:
    """Estimated minutes and road km from straight-line km.

    Parameters
    ----------
    straight_km : numpy.ndarray
        Great-circle distances (km), any shape; NaN stays NaN, inf stays inf.
    params : EstimateParams
        Model parameters (default: the calibrated ones).

    Returns
    -------
    (minutes, km) : tuple of numpy.ndarray
        float32 arrays shaped like ``straight_km``.
    """
    d = np.asarray(straight_km, dtype=np.float64)
    minutes = params.intercept_min + params.min_per_km * d
    if params.sqrt_min:
        minutes = minutes + params.sqrt_min * np.sqrt(np.maximum(d, 0.0))
    km = params.detour * d
    return minutes.astype(np.float32), km.astype(np.float32)


def estimate_matrix(
    o_lat: np.ndarray,
    o_lon: np.ndarray,
    d_lat: np.ndarray,
    d_lon: np.ndarray,
    mask: np.ndarray | None = None,
    params: EstimateParams = CALIBRATED,
    straight_km: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Estimated origin × destination minutes and km.

    Parameters
    ----------
    o_lat, o_lon, d_lat, d_lon : numpy.ndarray
        Origin (n_o,) and destination (n_d,) WGS84 coordinates.
    mask : numpy.ndarray, optional
        ``(n_o, n_d)`` bool from :func:`~epu_mapper.travel.candidates.candidate_mask`;
        pairs outside it are ``inf`` (skipped, not unreachable).
    params : EstimateParams
        Model parameters.
    straight_km : numpy.ndarray, optional
        Precomputed straight-line distances ``(n_o, n_d)``.

    Returns
    -------
    (minutes, km) : tuple of numpy.ndarray
        float32 ``(n_o, n_d)``; NaN where a coordinate is missing; inf where skipped.
    """
    dist = straight_km if straight_km is not None else straight_km_matrix(o_lat, o_lon, d_lat, d_lon)
    minutes, km = estimate_from_km(dist, params)
    if mask is not None:
        minutes[~mask] = np.inf
        km[~mask] = np.inf
    return minutes, km


def fit_estimate(
    straight_km: np.ndarray, minutes: np.ndarray, road_km: np.ndarray, source: str
) -> EstimateParams:
    """Least-squares fit of the estimate against routed pairs.

    Parameters
    ----------
    straight_km, minutes, road_km : numpy.ndarray
        1-D arrays of equal length: great-circle km, routed minutes and routed km.
        Pairs where any value is non-finite are ignored.
    source : str
        Description stored with the parameters.

    Returns
    -------
    EstimateParams
        Fitted ``intercept_min``, ``min_per_km`` (ordinary least squares of minutes
        on straight km), ``detour`` (least squares through the origin of road km on
        straight km), and the in-sample mean and 90th-percentile absolute error,
        rounded to 3 decimals so re-runs compare exactly.
    """
    x = np.asarray(straight_km, dtype=np.float64)
    y = np.asarray(minutes, dtype=np.float64)
    r = np.asarray(road_km, dtype=np.float64)
    ok = np.isfinite(x) & np.isfinite(y) & np.isfinite(r)
    x, y, r = x[ok], y[ok], r[ok]
    if len(x) < 3:
        raise ValueError("need at least 3 routed pairs to fit the estimate")
    design = np.column_stack([np.ones_like(x), x])
    (a, b), *_ = np.linalg.lstsq(design, y, rcond=None)
    detour = float(np.dot(x, r) / np.dot(x, x))
    a, b, detour = round(float(a), 3), round(float(b), 3), round(detour, 3)
    err = np.abs(a + b * x - y)
    return EstimateParams(
        intercept_min=a,
        min_per_km=b,
        detour=detour,
        mae_min=round(float(err.mean()), 3),
        p90_min=round(float(np.quantile(err, 0.9)), 3),
        n_pairs=len(x),
        source=source,
    )


def estimate_errors(
    params: EstimateParams, straight_km: np.ndarray, minutes: np.ndarray
) -> dict[str, float]:
    """Error of ``params`` against routed minutes.

    Returns
    -------
    dict
        ``mae_min``, ``p90_min``, ``bias_min`` (mean of estimate − routed) and ``n``.
    """
    x = np.asarray(straight_km, dtype=np.float64)
    y = np.asarray(minutes, dtype=np.float64)
    ok = np.isfinite(x) & np.isfinite(y)
    diff = estimate_from_km(x[ok], params)[0].astype(np.float64) - y[ok]
    return {
        "mae_min": float(np.abs(diff).mean()),
        "p90_min": float(np.quantile(np.abs(diff), 0.9)),
        "bias_min": float(diff.mean()),
        "n": int(ok.sum()),
    }


#: Columns of :func:`estimate_pairs`.
PAIR_COLUMNS = ["minutes", "km", "route", "reason"]
#: ``route`` note of a pair estimated by road without crossing water.
ROUTE_ROAD = "road (straight-line estimate)"


def estimate_pairs(
    o_lat: np.ndarray,
    o_lon: np.ndarray,
    d_lat: np.ndarray,
    d_lon: np.ndarray,
    params: EstimateParams = CALIBRATED,
    water: WaterModel | bool | None = True,
):
    """The estimate for element-wise origin → destination pairs.

    The estimate for element-wise origin → destination pairs (one row per pair), with no straight
    line across the sea (:mod:`epu_mapper.travel.water`).

    Parameters
    ----------
    o_lat, o_lon, d_lat, d_lon : numpy.ndarray
        WGS84 coordinates, four arrays of the same length ``n`` (pair ``i`` is
        origin ``i`` → destination ``i``).
    params : EstimateParams
        Model parameters (default: the calibrated ones).
    water : WaterModel, True or None
        The land grid and crossings (:class:`~epu_mapper.travel.water.WaterModel`); ``True``
        (default) = the current build's (when its boundaries are built); ``None`` = straight
        lines only (``route`` then says the water was not checked).

    Returns
    -------
    pandas.DataFrame
        ``n`` rows in input order: ``minutes`` and ``km`` (float32; NaN when the pair
        has no time), ``route`` (how the time was made, e.g. ``road (straight-line
        estimate)``, ``via Severn Bridge (M48)``, ``ferry Ullapool-Stornoway (CalMac) 2 h 40``;
        null when NaN) and ``reason`` (why the time is NaN, else null).
    """
    import pandas as pd

    o_lat, o_lon, d_lat, d_lon = (np.asarray(a, dtype=np.float64).ravel() for a in (o_lat, o_lon, d_lat, d_lon))
    n = len(o_lat)
    if not (len(o_lon) == len(d_lat) == len(d_lon) == n):
        raise ValueError("estimate_pairs needs four arrays of the same length")
    from epu_mapper.spatial import haversine_km

    ok = np.isfinite(o_lat) & np.isfinite(o_lon) & np.isfinite(d_lat) & np.isfinite(d_lon)
    straight = np.where(ok, haversine_km(o_lat, o_lon, d_lat, d_lon), np.nan)
    minutes, km = estimate_from_km(straight, params)
    route = np.full(n, None, dtype=object)
    route[ok] = ROUTE_ROAD
    reason = np.full(n, None, dtype=object)
    reason[~ok] = "no coordinates"
    out = pd.DataFrame({"minutes": minutes, "km": km, "route": route, "reason": reason})
    if water is True:
        from epu_mapper.travel import water as water_mod

        water = water_mod.load_model()
    if water is None or water is False:
        out.loc[ok, "route"] = ROUTE_ROAD + "; water not checked (boundaries not built)"
        return out
    from epu_mapper.travel.water import water_pairs

    which, res = water_pairs(water, o_lat, o_lon, d_lat, d_lon, straight, params)
    if len(which):
        for col in ("minutes", "km", "route", "reason"):
            out.loc[which, col] = res[col].to_numpy()
    return out
