"""National calibration of the straight-line estimate against independent road times.

``epu-mapper travel calibrate`` (no ``--pbf``) runs :func:`calibrate_national` on the
files of ``$EPU_MAPPER_DATA/travel_reference`` (see ``raw/SOURCES.md``):

* **stroke**: every England & Wales 2011 LSOA → its nearest stroke unit
  (``minutes_calibrated``, an ambulance-style calibration). The reference holds a fixed
  part: its shortest time is 5.8 min for a 0.2 km trip. :data:`STROKE_FIXED_MIN`
  (5.5 min) is taken off every stroke time before fitting, so the fitted curve is the
  drive alone. Origins are the ONS LSOA 2021 population-weighted centroids of the LSOAs
  unchanged 2011 → 2021 (change code ``U``); their RUC 2021 class gives urban/rural.
* **neonatal**: car-router (Maptitude 2016, free-flow) times and road distances between
  English neonatal units. Used for the detour (road km / straight km) and as a second,
  independent check of the minutes.

Held out: the stroke pairs of every local authority whose code hashes odd (CRC-32) and
the neonatal pairs whose origin postcode hashes odd are never fitted on; every error
reported (and shown to users) is measured on them.

Pure core (:func:`fit_national`, :func:`error_table`) and one reader
(:func:`read_reference`).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, replace
from itertools import pairwise
from pathlib import Path

import numpy as np
import pandas as pd

from epu_mapper.errors import DataDirectoryError
from epu_mapper.spatial import haversine_km
from epu_mapper.travel.estimate import EstimateParams, estimate_from_km

REFERENCE_DIR = Path("travel_reference")
STROKE_FILE = REFERENCE_DIR / "stroke_lsoa11_to_unit_calibrated_minutes_ew.csv"
STROKE_UNITS_FILE = REFERENCE_DIR / "stroke_units_ew_postcode_coords.csv"
NEONATAL_FILE = REFERENCE_DIR / "neonatal_units_en_maptitude2016_pairs_half_a.csv"
CENTROIDS_FILE = Path("demand") / "lsoa21_ew_population_weighted_centroids_ons.csv"
LOOKUP_FILE = Path("boundaries") / "lookup_lsoa11_lsoa21_lad22_ew.csv"
RUC_FILE = Path("demand") / "lsoa21_ew_rural_urban_classification_2021.csv"

#: Fixed part of the stroke reference taken off before fitting (minutes): its shortest
#: time is 5.8 min at 0.2 km, of which about 0.3 min is driving.
STROKE_FIXED_MIN = 5.5
#: Distance bands (straight-line km) of the error tables.
BANDS_KM = (0.0, 5.0, 10.0, 20.0, 40.0, 60.0, 100.0, np.inf)
MILE_KM = 1.609344
#: Where the held-out error was measured, as said to users.
CHECKED_ON = ("modelled road times across England and Wales (held-out check; a car router is slower "
              "on long trips; Scotland and Northern Ireland use the same curve, unchecked)")


@dataclass
class NationalCalibration:
    """Result of :func:`fit_national`.

    Attributes
    ----------
    params : EstimateParams
        The fit (on the training part) with the held-out stroke error (``mae_min``,
        ``p90_min``, ``median_bias_min``).
    stroke_bands : pandas.DataFrame
        Held-out stroke error by ``ruc`` (``all``/``Urban``/``Rural``) and ``band``:
        ``ruc, band, n, mae_min, p90_min, median_bias_min``.
    neonatal_bands : pandas.DataFrame
        Held-out neonatal (free-flow car router) error by ``band`` (same columns, ``ruc`` = ``all``).
    urban_term : dict
        The model with an added urban offset: ``coef_min`` (its fitted offset) and
        ``mae_min``/``p90_min`` held out, to compare with the model without it.
    counts : dict
        ``stroke_train, stroke_test, neonatal_train, neonatal_test, stroke_unmatched``.
    """

    params: EstimateParams
    stroke_bands: pd.DataFrame
    neonatal_bands: pd.DataFrame
    urban_term: dict
    counts: dict

    def to_dict(self) -> dict:
        """Plain dict for the travel provenance JSON."""
        return {
            "params": self.params.to_dict(),
            "stroke_fixed_min": STROKE_FIXED_MIN,
            "held_out_stroke": self.stroke_bands.to_dict(orient="records"),
            "held_out_neonatal": self.neonatal_bands.to_dict(orient="records"),
            "urban_term": self.urban_term,
            "counts": self.counts,
            "command": "epu-mapper travel calibrate",
        }


def _need(path: Path) -> Path:
    if not path.is_file():
        raise DataDirectoryError(f"reference file not found: {path} (see raw/SOURCES.md, travel_reference)")
    return path


def read_reference(data_dir: Path | None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The two reference tables, with straight-line km.

    Returns
    -------
    (stroke, neonatal) : tuple of pandas.DataFrame
        ``stroke``: ``lsoa11_code, lad_code, ruc (Urban/Rural), straight_km, minutes``
        (the reference minutes, fixed part included) for the LSOAs unchanged 2011 → 2021
        whose unit has coordinates; ``attrs["unmatched"]`` = rows left out.
        ``neonatal``: ``origin, destination, straight_km, minutes, road_km`` (pairs of
        distinct sites).
    """
    if data_dir is None:
        raise DataDirectoryError("set EPU_MAPPER_DATA to the raw data folder (../shared/data/raw)")
    d = Path(data_dir)
    s = pd.read_csv(_need(d / STROKE_FILE), dtype={"lsoa11_code": str, "unit_postcode": str})
    units = pd.read_csv(_need(d / STROKE_UNITS_FILE), dtype={"postcode": str})
    look = pd.read_csv(_need(d / LOOKUP_FILE), usecols=["lsoa11_code", "change_code", "lsoa21_code",
                                                         "ltla22_code"], dtype=str)
    cen = pd.read_csv(_need(d / CENTROIDS_FILE), usecols=["lsoa21_code", "lat", "lon"])
    ruc = pd.read_csv(_need(d / RUC_FILE), usecols=["lsoa21_code", "ruc"], dtype=str)
    look = look[look["change_code"] == "U"]
    m = (s.merge(look, on="lsoa11_code").merge(cen, on="lsoa21_code").merge(ruc, on="lsoa21_code")
         .merge(units.rename(columns={"postcode": "unit_postcode"}), on="unit_postcode"))
    stroke = pd.DataFrame({
        "lsoa11_code": m["lsoa11_code"],
        "lad_code": m["ltla22_code"],
        "ruc": m["ruc"],
        "straight_km": haversine_km(m["lat"].to_numpy(), m["lon"].to_numpy(),
                                    m["Latitude"].to_numpy(), m["Longitude"].to_numpy()),
        "minutes": m["minutes_calibrated"].astype(float),
    }).sort_values(["lsoa11_code", "minutes"], kind="stable").reset_index(drop=True)
    stroke.attrs["unmatched"] = len(s) - len(m)
    n = pd.read_csv(_need(d / NEONATAL_FILE), dtype={"origin_postcode": str, "destination_postcode": str})
    km = haversine_km(n["origin_lat"].to_numpy(), n["origin_lon"].to_numpy(),
                      n["destination_lat"].to_numpy(), n["destination_lon"].to_numpy())
    neo = pd.DataFrame({
        "origin": n["origin_postcode"], "destination": n["destination_postcode"],
        "straight_km": km, "minutes": n["minutes"].astype(float),
        "road_km": n["distance_miles"].astype(float) * MILE_KM,
    })
    neo = neo[neo["straight_km"] > 0].reset_index(drop=True)
    return stroke, neo


def held_out(keys: pd.Series) -> np.ndarray:
    """True for keys whose CRC-32 is odd: the held-out half (stable across runs and machines)."""
    return np.fromiter((zlib.crc32(str(k).encode()) & 1 for k in keys), dtype=np.int8,
                       count=len(keys)).astype(bool)


def _lstsq(columns: list[np.ndarray], y: np.ndarray) -> np.ndarray:
    coef, *_ = np.linalg.lstsq(np.column_stack(columns), y, rcond=None)
    return coef


def error_summary(diff: np.ndarray) -> dict:
    """``n, mae_min, p90_min, median_bias_min`` of estimate − reference differences (2 decimals)."""
    diff = np.asarray(diff, dtype=np.float64)
    if len(diff) == 0:
        return {"n": 0, "mae_min": float("nan"), "p90_min": float("nan"), "median_bias_min": float("nan")}
    a = np.abs(diff)
    return {"n": len(diff), "mae_min": round(float(a.mean()), 2),
            "p90_min": round(float(np.quantile(a, 0.9)), 2),
            "median_bias_min": round(float(np.median(diff)), 2)}


def error_table(straight_km: np.ndarray, diff: np.ndarray, groups: np.ndarray | None = None) -> pd.DataFrame:
    """Error by ``ruc`` group (``all`` first) and straight-line distance band.

    Parameters
    ----------
    straight_km, diff : numpy.ndarray
        Straight-line km and estimate − reference minutes of each pair.
    groups : numpy.ndarray, optional
        Group label per pair (e.g. ``Urban``/``Rural``).

    Returns
    -------
    pandas.DataFrame
        ``ruc, band, n, mae_min, p90_min, median_bias_min``; band ``all`` = every distance.
    """
    x = np.asarray(straight_km, dtype=np.float64)
    diff = np.asarray(diff, dtype=np.float64)
    labels = np.full(len(x), "all", dtype=object) if groups is None else np.asarray(groups, dtype=object)
    rows = []
    for g in ["all"] + ([] if groups is None else sorted(set(labels))):
        in_g = np.ones(len(x), bool) if g == "all" else labels == g
        rows.append({"ruc": g, "band": "all", **error_summary(diff[in_g])})
        for lo, hi in pairwise(BANDS_KM):
            sel = in_g & (x >= lo) & (x < hi)
            if sel.any():
                band = f"{lo:g}-{hi:g} km" if np.isfinite(hi) else f">= {lo:g} km"
                rows.append({"ruc": g, "band": band, **error_summary(diff[sel])})
    return pd.DataFrame(rows)


def fit_national(stroke: pd.DataFrame, neonatal: pd.DataFrame) -> NationalCalibration:
    """Fit ``minutes = a + b·km + c·√km`` on the training part; measure on the held-out part.

    Parameters
    ----------
    stroke : pandas.DataFrame
        ``lad_code, ruc, straight_km, minutes`` (:func:`read_reference`); the fixed part
        :data:`STROKE_FIXED_MIN` is taken off ``minutes`` here.
    neonatal : pandas.DataFrame
        ``origin, straight_km, minutes, road_km``.

    Returns
    -------
    NationalCalibration
        Parameters rounded to 3 decimals; the detour is the least-squares ratio (through
        the origin) of road km to straight km on the training neonatal pairs.
    """
    s_test = held_out(stroke["lad_code"])
    n_test = held_out(neonatal["origin"])
    x = stroke["straight_km"].to_numpy(np.float64)
    y = stroke["minutes"].to_numpy(np.float64) - STROKE_FIXED_MIN
    urban = (stroke["ruc"] == "Urban").to_numpy(np.float64)
    tr = ~s_test
    a, b, c = (round(float(v), 3) for v in _lstsq([np.ones(tr.sum()), x[tr], np.sqrt(x[tr])], y[tr]))
    nk, nr = neonatal["straight_km"].to_numpy(np.float64), neonatal["road_km"].to_numpy(np.float64)
    ntr = ~n_test & np.isfinite(nr)
    detour = round(float(np.dot(nk[ntr], nr[ntr]) / np.dot(nk[ntr], nk[ntr])), 3)
    params = EstimateParams(
        intercept_min=a, min_per_km=b, detour=detour, mae_min=float("nan"), p90_min=float("nan"),
        n_pairs=int(tr.sum()), sqrt_min=c,
        source=(f"England & Wales LSOA -> nearest stroke unit road times (Peninsula Stroke team, "
                f"ambulance-style calibrated, fixed part {STROKE_FIXED_MIN} min taken off), "
                f"{int(tr.sum())} training pairs; detour from {int(ntr.sum())} Maptitude 2016 "
                f"neonatal-unit pairs; epu-mapper travel calibrate"),
        checked_on=CHECKED_ON,
    )
    s_diff = estimate_from_km(x[s_test], params)[0].astype(np.float64) - y[s_test]
    overall = error_summary(s_diff)
    params = replace(params, mae_min=overall["mae_min"], p90_min=overall["p90_min"],
                     median_bias_min=overall["median_bias_min"])
    n_diff = (estimate_from_km(nk[n_test], params)[0].astype(np.float64)
              - neonatal["minutes"].to_numpy(np.float64)[n_test])
    cu = _lstsq([np.ones(tr.sum()), x[tr], np.sqrt(x[tr]), urban[tr]], y[tr])
    u_pred = cu[0] + cu[1] * x[s_test] + cu[2] * np.sqrt(x[s_test]) + cu[3] * urban[s_test]
    u_err = error_summary(u_pred - y[s_test])
    return NationalCalibration(
        params=params,
        stroke_bands=error_table(x[s_test], s_diff, stroke["ruc"].to_numpy()[s_test]),
        neonatal_bands=error_table(nk[n_test], n_diff),
        urban_term={"coef_min": round(float(cu[3]), 3), "mae_min": u_err["mae_min"],
                    "p90_min": u_err["p90_min"]},
        counts={"stroke_train": int(tr.sum()), "stroke_test": int(s_test.sum()),
                "neonatal_train": int(ntr.sum()), "neonatal_test": int(n_test.sum()),
                "stroke_unmatched": int(stroke.attrs.get("unmatched", 0))},
    )


def calibrate_national(data_dir: Path | None) -> NationalCalibration:
    """Read the reference files and fit (:func:`read_reference`, :func:`fit_national`)."""
    return fit_national(*read_reference(data_dir))


def report_national(cal: NationalCalibration) -> str:
    """Human-readable report (what ``epu-mapper travel calibrate`` prints)."""
    p, c = cal.params, cal.counts
    lines = [
        f"national calibration: {p.source}",
        (f"stroke reference: {c['stroke_train']} training + {c['stroke_test']} held-out pairs "
         f"(held out: local authorities whose code's CRC-32 is odd); "
         f"{c['stroke_unmatched']} rows left out (LSOA changed 2011->2021 or unit without coordinates)"),
        f"fixed part of the stroke reference taken off: {STROKE_FIXED_MIN} min",
        (f"fitted: minutes = {p.intercept_min:.3f} + {p.min_per_km:.3f} x km + {p.sqrt_min:.3f} x sqrt(km) "
         f"(km = straight line); road km = {p.detour:.3f} x straight_km"),
        (f"held-out error vs the stroke reference (drive part): MAE {p.mae_min:.2f} min, "
         f"p90 {p.p90_min:.2f} min, median bias {p.median_bias_min:+.2f} min"),
        (f"with an urban/rural term (urban offset {cal.urban_term['coef_min']:+.2f} min): "
         f"MAE {cal.urban_term['mae_min']:.2f}, p90 {cal.urban_term['p90_min']:.2f} "
         f"-> not used unless it lowers the held-out error"),
        "held-out stroke error by urban/rural (RUC 2021) and straight-line distance:",
        cal.stroke_bands.to_string(index=False),
        (f"held-out neonatal error (Maptitude 2016 free-flow car router, {c['neonatal_test']} pairs, "
         "a second independent check):"),
        cal.neonatal_bands.to_string(index=False),
        "",
        "estimate.py constants (CALIBRATED):",
        f"    intercept_min={p.intercept_min!r}, min_per_km={p.min_per_km!r}, sqrt_min={p.sqrt_min!r},",
        f"    detour={p.detour!r}, mae_min={p.mae_min!r}, p90_min={p.p90_min!r},",
        f"    median_bias_min={p.median_bias_min!r}, n_pairs={p.n_pairs!r},",
    ]
    return "\n".join(lines)


#: The calibration's figures as written by ``epu-mapper travel calibrate --json`` (in the repo).
STORED_FILE = Path(__file__).resolve().parents[2] / "data" / "travel_calibration.json"


def stored_calibration(path: Path = STORED_FILE) -> dict | None:
    """The stored calibration figures (:meth:`NationalCalibration.to_dict`), None when absent."""
    import json

    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
