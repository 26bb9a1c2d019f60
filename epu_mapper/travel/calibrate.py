"""Calibrate the straight-line estimate against OSRM on a real extract (reproducible).

``epu-mapper travel calibrate --pbf FILE --district CODE --seed 0`` samples real
Code-Point Open postcodes inside the network (and, with ``--district``, inside one
local authority), routes every origin to every destination with OSRM, and fits
:class:`~epu_mapper.travel.estimate.EstimateParams`.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

import numpy as np
import pandas as pd

from epu_mapper.errors import DataDirectoryError, EpuMapperError
from epu_mapper.travel import osrm as osrm_mod
from epu_mapper.travel.candidates import haversine_km
from epu_mapper.travel.estimate import RUTLAND_OSRM, EstimateParams, estimate_errors, fit_estimate

POSTCODES_FILE = Path("postcodes") / "codepoint_open_gb_postcodes.csv.gz"
DEFAULT_ORIGINS = 400
DEFAULT_DESTINATIONS = 200
#: Distance bands (straight-line km) for the error breakdown.
BANDS_KM = (0.0, 5.0, 10.0, 20.0, np.inf)
#: A naive rule of thumb reported for comparison: km × 1.3 at 50 km/h.
NAIVE = EstimateParams(0.0, 1.3 * 60 / 50, 1.3, float("nan"), float("nan"), 0, "km × 1.3 / 50 km/h")


@dataclass
class Calibration:
    """Result of a calibration run.

    Attributes
    ----------
    params : EstimateParams
        Fitted parameters and in-sample errors.
    pairs : pandas.DataFrame
        ``origin, destination, straight_km, minutes, km`` of the routed pairs.
    bands : pandas.DataFrame
        Error by straight-line distance band: ``band, n, mae_min, p90_min, bias_min``.
    current : dict
        Error of the stored Rutland fit (:data:`~epu_mapper.travel.estimate.RUTLAND_OSRM`) on these pairs.
    naive : dict
        Error of the rule of thumb ``km × 1.3 / 50 km/h`` on these pairs.
    dropped_far : int
        Sampled points dropped because OSRM snapped them > SNAP_FAR_M from a road.
    holdout : dict
        Error on the second half of the origins of a fit on the first half.
    """

    params: EstimateParams
    pairs: pd.DataFrame
    bands: pd.DataFrame
    current: dict
    naive: dict
    dropped_far: int
    holdout: dict


def read_postcodes(data_dir: Path | None) -> pd.DataFrame:
    """``postcode, lat, lon, admin_district_code`` of GB postcodes with coordinates."""
    if data_dir is None:
        raise DataDirectoryError("set EPU_MAPPER_DATA to the raw data folder (../shared/data/raw)")
    path = Path(data_dir) / POSTCODES_FILE
    if not path.is_file():
        raise DataDirectoryError(f"postcode file not found: {path}")
    df = pd.read_csv(path, usecols=["postcode", "lat", "lon", "admin_district_code"],
                     dtype={"postcode": str, "admin_district_code": str})
    return df.dropna(subset=["lat", "lon"]).reset_index(drop=True)


def sample_points(
    postcodes: pd.DataFrame,
    router: osrm_mod.OsrmRouter,
    n: int,
    seed: int,
    district: str | None = None,
) -> pd.DataFrame:
    """Draw ``n`` distinct postcodes inside the network (and district), reproducibly.

    Postcodes are sorted by code before sampling, so the draw depends only on the
    file contents, ``seed`` and ``n``.
    """
    pc = postcodes
    if district:
        pc = pc[pc["admin_district_code"] == district]
    x0, y0, x1, y1 = router.meta["road_bbox"]
    pc = pc[pc["lon"].between(x0, x1) & pc["lat"].between(y0, y1)]
    pc = pc[router.inside(pc["lat"].to_numpy(), pc["lon"].to_numpy())]
    pc = pc.sort_values("postcode").reset_index(drop=True)
    if len(pc) < n:
        raise EpuMapperError(
            f"only {len(pc)} postcodes lie inside network {router.name!r}"
            + (f" and district {district}" if district else "") + f"; asked for {n}"
        )
    rng = np.random.default_rng(seed)
    take = np.sort(rng.choice(len(pc), size=n, replace=False))
    return pc.iloc[take].reset_index(drop=True)


def calibrate(
    router: osrm_mod.OsrmRouter,
    postcodes: pd.DataFrame,
    seed: int = 0,
    district: str | None = None,
    n_origins: int = DEFAULT_ORIGINS,
    n_destinations: int = DEFAULT_DESTINATIONS,
) -> Calibration:
    """Route sampled postcode pairs with OSRM and fit the estimate.

    Parameters
    ----------
    router : OsrmRouter
        The network to calibrate against.
    postcodes : pandas.DataFrame
        ``postcode, lat, lon, admin_district_code`` (:func:`read_postcodes`).
    seed : int
        Random seed of the sample.
    district : str, optional
        Keep only postcodes of this local authority (e.g. ``E06000017`` Rutland):
        avoids points beyond the extract's boundary whose roads are cut off.
    n_origins, n_destinations : int
        Sample sizes; origins and destinations are disjoint postcodes.

    Returns
    -------
    Calibration
    """
    pts = sample_points(postcodes, router, n_origins + n_destinations, seed, district)
    o, d = pts.iloc[:n_origins], pts.iloc[n_origins:]
    res = router.table(o["lat"].to_numpy(), o["lon"].to_numpy(), d["lat"].to_numpy(), d["lon"].to_numpy())
    o_far = res.origin_snap_m > osrm_mod.SNAP_FAR_M
    d_far = res.dest_snap_m > osrm_mod.SNAP_FAR_M
    straight = haversine_km(o["lat"].to_numpy()[:, None], o["lon"].to_numpy()[:, None],
                            d["lat"].to_numpy()[None, :], d["lon"].to_numpy()[None, :])
    keep = ~o_far[:, None] & ~d_far[None, :] & np.isfinite(res.minutes) & (straight > 0)
    ii, jj = np.nonzero(keep)
    pairs = pd.DataFrame({
        "origin": o["postcode"].to_numpy()[ii],
        "destination": d["postcode"].to_numpy()[jj],
        "straight_km": straight[ii, jj],
        "minutes": res.minutes[ii, jj],
        "km": res.km[ii, jj],
    })
    source = (f"OSRM car.lua on network {router.name!r} (OSM {router.meta.get('osm_timestamp')}), "
              f"{len(pairs)} pairs between Code-Point Open postcodes"
              + (f" in {district}" if district else "") + f", seed {seed}")
    params = fit_estimate(pairs["straight_km"], pairs["minutes"], pairs["km"], source)
    rows = []
    for lo, hi in pairwise(BANDS_KM):
        sel = pairs["straight_km"].between(lo, hi, inclusive="left")
        if sel.any():
            e = estimate_errors(params, pairs.loc[sel, "straight_km"], pairs.loc[sel, "minutes"])
            label = f"{lo:g}-{hi:g} km" if np.isfinite(hi) else f">= {lo:g} km"
            rows.append({"band": label, "n": e["n"], "mae_min": round(e["mae_min"], 2),
                         "p90_min": round(e["p90_min"], 2), "bias_min": round(e["bias_min"], 2)})
    return Calibration(
        params=params,
        pairs=pairs,
        bands=pd.DataFrame(rows),
        current=estimate_errors(RUTLAND_OSRM, pairs["straight_km"], pairs["minutes"]),
        naive=estimate_errors(NAIVE, pairs["straight_km"], pairs["minutes"]),
        dropped_far=int(o_far.sum() + d_far.sum()),
        holdout=_holdout(pairs, o["postcode"].to_numpy()),
    )


def _holdout(pairs: pd.DataFrame, origins: np.ndarray) -> dict:
    """Fit on the pairs of the first half of the origins; error on the other half."""
    first = pairs["origin"].isin(origins[: len(origins) // 2])
    train, test = pairs[first], pairs[~first]
    fitted = fit_estimate(train["straight_km"], train["minutes"], train["km"], "holdout")
    return estimate_errors(fitted, test["straight_km"], test["minutes"])


def report(cal: Calibration) -> str:
    """Human-readable calibration report (what the CLI prints)."""
    p = cal.params
    lines = [
        f"calibration: {p.source}",
        f"dropped {cal.dropped_far} sampled points snapped > {osrm_mod.SNAP_FAR_M:g} m from a road",
        (f"fitted: minutes = {p.intercept_min:.3f} + {p.min_per_km:.3f} x straight_km; "
         f"road km = {p.detour:.3f} x straight_km (implied speed {p.implied_speed_kmh:.1f} km/h)"),
        f"error vs OSRM: MAE {p.mae_min:.1f} min, p90 {p.p90_min:.1f} min (n = {p.n_pairs})",
        (f"held out (fit on half the origins, tested on the other half): "
         f"MAE {cal.holdout['mae_min']:.1f} min, p90 {cal.holdout['p90_min']:.1f} min"),
        (f"stored in code (estimate.RUTLAND_OSRM): MAE {cal.current['mae_min']:.1f} min, "
         f"p90 {cal.current['p90_min']:.1f} min"),
        (f"naive km x 1.3 / 50 km/h:           MAE {cal.naive['mae_min']:.1f} min, "
         f"p90 {cal.naive['p90_min']:.1f} min"),
        (f"straight-line range of the pairs: {cal.pairs['straight_km'].min():.1f}-"
         f"{cal.pairs['straight_km'].max():.1f} km (beyond that the estimate extrapolates)"),
        "by straight-line distance:",
        cal.bands.to_string(index=False),
        "",
        "estimate.py constants:",
        f"    intercept_min={p.intercept_min!r},",
        f"    min_per_km={p.min_per_km!r},",
        f"    detour={p.detour!r},",
        f"    mae_min={p.mae_min!r},",
        f"    p90_min={p.p90_min!r},",
        f"    n_pairs={p.n_pairs!r},",
    ]
    return "\n".join(lines)
