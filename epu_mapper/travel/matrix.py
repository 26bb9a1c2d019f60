"""One interface, two engines: the area × unit travel-time matrix and single-origin queries.

Pure core (:func:`compute_estimate`, :func:`compute_osrm` given a router,
:func:`to_long`, :func:`dense_from_long`) and a thin I/O edge
(:func:`build_matrix`, :func:`load_matrix`, :func:`from_point`).

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

import functools
import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from epu_mapper import store
from epu_mapper.errors import BuildMissingError, EpuMapperError
from epu_mapper.settings import Settings, get_settings
from epu_mapper.sources import file_sha256
from epu_mapper.travel import candidates as cand
from epu_mapper.travel import osrm as osrm_mod
from epu_mapper.travel.estimate import CALIBRATED, EstimateParams, estimate_matrix
from epu_mapper.travel.national import stored_calibration

ENGINES = ("osrm", "estimate")
SCHEMA_VERSION = 2  # 2: NI <-> GB pairs are "no road link" in the estimate

OK = 0
AREA_OUTSIDE = 1
UNIT_OUTSIDE = 2
NO_ROUTE = 3
NO_COORDS = 4
NO_ROAD_LINK = 5
#: Reason codes → text stored in the ``reason`` column for NaN rows.
REASONS = {
    AREA_OUTSIDE: "area outside network",
    UNIT_OUTSIDE: "unit outside network",
    NO_ROUTE: "no route",
    NO_COORDS: "no coordinates",
    NO_ROAD_LINK: "no road link between Northern Ireland and Great Britain",
}

LONG_COLUMNS = ["area_code", "unit_id", "minutes", "km", "reason", "engine"]
POINT_COLUMNS = ["unit_id", "minutes", "km", "engine", "approximate", "reason", "origin_snap_m"]


class TravelMatrixError(EpuMapperError):
    """The travel matrix cannot be built."""


class MatrixOutOfDateError(BuildMissingError):
    """A travel matrix exists but was built from other demand areas or units."""

    def __init__(self, engine: str, path: Path, what_changed: str):
        self.what, self.path = f"The travel matrix ({engine})", path
        self.command = "epu-mapper travel build"
        EpuMapperError.__init__(
            self,
            f"The travel matrix ({engine}) is out of date: {what_changed} changed since it was "
            f"built ({path}). Run: {self.command}",
        )


# --------------------------------------------------------------------------- pure core


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
    arr = pd.Series(np.atleast_1d(np.asarray(nations, dtype=object))).astype("string").fillna("")
    out = np.full(len(arr), -1, dtype=np.int8)
    out[arr.isin(["England", "Wales", "Scotland"]).to_numpy()] = 0
    out[(arr == "Northern Ireland").to_numpy()] = 1
    return out


def _no_road_link(o_land: np.ndarray | None, d_land: np.ndarray | None) -> np.ndarray | None:
    """``(n_o, n_d)`` True where both islands are known and differ (None when either is not given)."""
    if o_land is None or d_land is None:
        return None
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
) -> PairResult:
    """The straight-line estimate for every kept pair.

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

    Returns
    -------
    PairResult
        NaN with reason ``no coordinates`` where a point has no coordinates.
    """
    minutes, km = estimate_matrix(o_lat, o_lon, d_lat, d_lon, mask=mask, params=params)
    bad = mask & ~(_coords_ok(o_lat, o_lon)[:, None] & _coords_ok(d_lat, d_lon)[None, :])
    reason = np.where(bad, NO_COORDS, OK).astype(np.int8)
    sea = _no_road_link(o_land, d_land)
    if sea is not None:
        sea &= mask & ~bad
        reason[sea] = NO_ROAD_LINK
        bad |= sea
    minutes[bad] = np.nan
    km[bad] = np.nan
    n_o, n_d = mask.shape
    return PairResult(minutes, km, reason, np.full(n_o, np.nan), np.full(n_d, np.nan))


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
    """Route the pairs :func:`~epu_mapper.travel.candidates.completion_mask` asks for
    (updating ``result`` in place) until none are left; return the final mask."""
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
        ``area_code, unit_id`` (str), ``minutes, km`` (float32; NaN = unreachable),
        ``reason`` (categorical; null where routed), ``engine`` (categorical), in
        area order then unit order.
    """
    ii, jj = np.nonzero(mask)
    codes = result.reason[ii, jj]
    reason = _reason_labels(codes)
    return pd.DataFrame(
        {
            "area_code": np.asarray(area_codes, dtype=object)[ii],
            "unit_id": np.asarray(unit_ids, dtype=object)[jj],
            "minutes": result.minutes[ii, jj].astype(np.float32),
            "km": result.km[ii, jj].astype(np.float32),
            "reason": reason,
            "engine": pd.Categorical([engine] * len(ii), categories=list(ENGINES)),
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


# --------------------------------------------------------------------------- the matrix


@dataclass
class TravelMatrix:
    """Area × unit travel times (see docs/architecture.md).

    Attributes
    ----------
    minutes, km : numpy.ndarray
        float32 ``(n_areas, n_units)``; ``inf`` = skipped as pointless, NaN = unreachable.
    area_codes, unit_ids : numpy.ndarray
        Row order (= ``demand.parquet`` order) and column order.
    engine : str
        ``"osrm"`` or ``"estimate"``.
    provenance : dict
        What made it (network, inputs, parameters, counts).
    approximate : bool
        True for the straight-line estimate.
    typical_error_min : float | None
        Mean absolute error of the estimate in minutes (None for OSRM).
    unreachable : pandas.DataFrame
        ``area_code, unit_id, reason`` of the NaN pairs.
    """

    minutes: np.ndarray
    km: np.ndarray
    area_codes: np.ndarray
    unit_ids: np.ndarray
    engine: str
    provenance: dict
    approximate: bool
    typical_error_min: float | None
    unreachable: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(
        columns=["area_code", "unit_id", "reason"]))

    @property
    def caption(self) -> str:
        """One line for users describing what the figures are."""
        return str(self.provenance.get("caption", ""))


def _fingerprint(*arrays: np.ndarray) -> str:
    h = hashlib.sha256()
    for a in arrays:
        a = np.asarray(a)
        if a.dtype == object or a.dtype.kind in "UT":
            h.update("\x1f".join(map(str, a.tolist())).encode())
        else:
            h.update(np.ascontiguousarray(a, dtype=np.float64).tobytes())
        h.update(b"\x1e")
    return h.hexdigest()[:16]


def matrix_paths(build_dir: Path, engine: str) -> tuple[Path, Path]:
    """``travel/matrix_<engine>.parquet`` and its ``.json`` provenance."""
    base = Path(build_dir) / "travel" / f"matrix_{engine}"
    return base.with_suffix(".parquet"), base.with_suffix(".json")


#: Arrays of the dense cache written beside the Parquet (``travel/matrix_<engine>.<name>.npy``).
CACHE_ARRAYS = ("minutes", "km", "area_codes", "unit_ids", "long_rows", "long_cols", "unreachable")


def cache_paths(build_dir: Path, engine: str) -> tuple[dict[str, Path], Path]:
    """The dense cache of a matrix: ``{name: travel/matrix_<engine>.<name>.npy}`` and its key
    file ``travel/matrix_<engine>.cache.json``.

    The cache holds the dense float32 ``minutes``/``km`` in build order (``area_codes`` rows,
    ``unit_ids`` columns, unicode arrays), ``long_rows``/``long_cols`` (the row/column order
    the Parquet's own order gives, for a load without ``demand``/``units``) and
    ``unreachable`` (``int32 (n, 3)``: row, column, reason code of each NaN pair, in Parquet
    order). It is a derived copy of the Parquet for a fast load; the Parquet stays the output.
    """
    base = Path(build_dir) / "travel" / f"matrix_{engine}"
    arrays = {name: base.with_name(f"{base.name}.{name}.npy") for name in CACHE_ARRAYS}
    return arrays, base.with_name(f"{base.name}.cache.json")


def _dense_cache_arrays(
    long: pd.DataFrame, area_codes: np.ndarray, unit_ids: np.ndarray
) -> dict[str, np.ndarray]:
    """The cache arrays (:func:`cache_paths`) from a matrix's long table and its build order."""
    area_codes = np.asarray(area_codes).astype(str)
    unit_ids = np.asarray(unit_ids).astype(str)
    minutes, km = dense_from_long(long, area_codes, unit_ids)
    rows = _indexer(area_codes, long["area_code"])
    cols = _indexer(unit_ids, long["unit_id"])
    bad = long["reason"].notna().to_numpy()
    reason_codes = {label: code for code, label in REASONS.items()}
    codes = long.loc[bad, "reason"].astype(str).map(reason_codes).to_numpy(np.int32)
    return {
        "minutes": minutes,
        "km": km,
        "area_codes": area_codes,
        "unit_ids": unit_ids,
        "long_rows": pd.unique(rows).astype(np.int64),
        "long_cols": pd.unique(cols).astype(np.int64),
        "unreachable": np.column_stack([rows[bad], cols[bad], codes]).astype(np.int32).reshape(-1, 3),
    }


def write_dense_cache(
    build_dir: Path, engine: str, long: pd.DataFrame, area_codes: np.ndarray,
    unit_ids: np.ndarray, provenance: dict,
) -> Path:
    """Write the dense ``.npy`` cache of a matrix (atomically, each file) and, last, its key file.

    The key file records the provenance's ``inputs_key`` and ``created_at`` and each array's
    size: :func:`load_matrix` uses the cache only when all of them match, so a stale or
    half-written cache is never used (call :func:`drop_dense_cache` before rewriting a matrix).

    Returns
    -------
    Path
        The key file.
    """
    from epu_mapper.store import atomic_write, write_json

    arrays, key_path = cache_paths(build_dir, engine)
    sizes = {}
    for name, arr in _dense_cache_arrays(long, area_codes, unit_ids).items():
        atomic_write(arrays[name], lambda tmp, a=arr: _save_npy(tmp, a))
        sizes[name] = arrays[name].stat().st_size
    write_json(key_path, {
        "inputs_key": provenance.get("inputs_key"),
        "created_at": provenance.get("created_at"),
        "engine": engine,
        "shape": [len(area_codes), len(unit_ids)],
        "sizes": sizes,
    })
    return key_path


def _save_npy(path: Path, arr: np.ndarray) -> None:
    with open(path, "wb") as fh:  # a file object: np.save would add ".npy" to a bare name
        np.save(fh, arr, allow_pickle=False)


def drop_dense_cache(build_dir: Path, engine: str) -> None:
    """Remove a matrix's cache key file (the arrays without it are never used)."""
    _, key_path = cache_paths(build_dir, engine)
    key_path.unlink(missing_ok=True)


def read_dense_cache(build_dir: Path, engine: str, provenance: dict) -> dict[str, np.ndarray] | None:
    """The cache arrays when present and made for this provenance (same ``inputs_key`` and
    ``created_at``, files of the recorded sizes, consistent shapes); else None."""
    arrays, key_path = cache_paths(build_dir, engine)
    try:
        key = json.loads(key_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if (not provenance.get("inputs_key") or key.get("inputs_key") != provenance.get("inputs_key")
            or key.get("created_at") != provenance.get("created_at")):
        return None
    try:
        if any(arrays[n].stat().st_size != key["sizes"][n] for n in CACHE_ARRAYS):
            return None
        out = {n: np.load(arrays[n], allow_pickle=False) for n in CACHE_ARRAYS}
    except (OSError, KeyError, TypeError, ValueError):
        return None
    shape = (len(out["area_codes"]), len(out["unit_ids"]))
    if out["minutes"].shape != shape or out["km"].shape != shape or list(shape) != key.get("shape"):
        return None
    return out


def load_demand_points(settings: Settings) -> pd.DataFrame:
    """``area_code, lat, lon`` (+ ``ruc_class`` when present) of ``build/demand.parquet``."""
    df = store.read_built("demand.parquet", settings, "The demand areas table")
    missing = {"area_code", "lat", "lon"} - set(df.columns)
    if missing:
        path = Path(settings.build_dir) / "demand.parquet"
        raise TravelMatrixError(f"{path} lacks columns {sorted(missing)}; rebuild with: epu-mapper data build")
    return df


def load_mappable_units(settings: Settings) -> pd.DataFrame:
    """Mappable units (``unit_id, lat, lon``, …) from the directory, in directory order."""
    try:
        from epu_mapper.units import load_units
    except ImportError as exc:  # pragma: no cover - depends on the units module landing
        raise TravelMatrixError("the units directory module (epu_mapper.units) is not available") from exc
    return mappable(load_units(settings.units_csv, settings=settings))


def mappable(units: pd.DataFrame) -> pd.DataFrame:
    """Rows with a ``mappable`` flag (when present) and finite ``lat``/``lon``."""
    ok = _coords_ok(pd.to_numeric(units["lat"], errors="coerce"), pd.to_numeric(units["lon"], errors="coerce"))
    if "mappable" in units.columns:
        ok &= units["mappable"].astype("boolean").fillna(False).to_numpy(bool)
    return units.loc[ok].reset_index(drop=True)


def unit_groups(units: pd.DataFrame) -> np.ndarray | None:
    """Open-state group labels of units (weekly states, bank-holiday states, nation)."""
    from epu_mapper import hours

    nation = units["nation"].to_numpy() if "nation" in units.columns else None
    return cand.open_state_groups(hours.week_states(units), hours.bank_holiday_states(units), extra=nation)


def _sha256_or_none(path: Path) -> str | None:
    return file_sha256(path) if Path(path).is_file() else None


def build_matrix(
    engine: str | None = None,
    settings: Settings | None = None,
    network: str | None = None,
    force: bool = False,
    k: int = cand.DEFAULT_K,
    per_group: int = cand.DEFAULT_PER_GROUP,
    chunk: int = osrm_mod.DEFAULT_CHUNK,
    progress: bool = True,
    log: Callable[[str], None] = print,
    demand: pd.DataFrame | None = None,
    units: pd.DataFrame | None = None,
) -> tuple[Path, dict, bool]:
    """Build (or reuse) ``travel/matrix_<engine>.parquet`` and its provenance.

    Parameters
    ----------
    engine : {"osrm", "estimate"}, optional
        Default: ``osrm`` when a road network is built, else ``estimate``.
    settings : Settings, optional
    network : str, optional
        Network name under ``build/osrm`` (default: the most recently built).
    force : bool
        Rebuild even when inputs are unchanged.
    k, per_group : int
        Candidate-pair rule (:func:`~epu_mapper.travel.candidates.candidate_mask`).
    chunk : int
        Origins per OSRM request.
    progress : bool
        Show a progress bar (OSRM).
    log : callable
        Receives progress lines.
    demand, units : pandas.DataFrame, optional
        Override the demand areas (``area_code, lat, lon``) and units (``unit_id, lat,
        lon``); default: ``build/demand.parquet`` and the mappable units of the directory.

    Returns
    -------
    (path, provenance, reused) : tuple
    """
    settings = settings or get_settings()
    t0 = time.perf_counter()
    net_dir = osrm_mod.find_network(settings.build_dir, network)
    if engine is None:
        engine = "osrm" if net_dir is not None else "estimate"
    if engine not in ENGINES:
        raise TravelMatrixError(f"unknown engine {engine!r}; choose one of {', '.join(ENGINES)}")
    if engine == "osrm" and net_dir is None:
        raise BuildMissingError(
            "A road network for the OSRM engine", Path(settings.build_dir) / "osrm",
            "epu-mapper travel network --pbf FILE.osm.pbf",
        )
    demand = load_demand_points(settings) if demand is None else demand
    units = load_mappable_units(settings) if units is None else mappable(units)
    if units.empty:
        raise TravelMatrixError("no mappable units (with coordinates) in the directory")
    if units["unit_id"].duplicated().any():
        raise TravelMatrixError("unit_id values must be unique")

    area_codes = demand["area_code"].astype(str).to_numpy()
    o_lat, o_lon = demand["lat"].to_numpy(np.float64), demand["lon"].to_numpy(np.float64)
    unit_ids = units["unit_id"].astype(str).to_numpy()
    d_lat = pd.to_numeric(units["lat"]).to_numpy(np.float64)
    d_lon = pd.to_numeric(units["lon"]).to_numpy(np.float64)

    groups = None
    if k < len(units) and per_group > 0:
        if {"opening_hours", "nation"} <= set(units.columns):
            groups = unit_groups(units)
        else:
            log("units carry no opening_hours/nation: pruning by the k nearest only")
    params: dict = {"k": k, "per_group": per_group if groups is not None else None,
                    "n_groups": None if groups is None else int(groups.max() + 1)}
    net_meta: dict | None = None
    if engine == "osrm":
        net_meta = osrm_mod.read_network_meta(net_dir)
        params.update(snap_far_m=osrm_mod.SNAP_FAR_M, extent_cell_deg=net_meta.get("extent_cell_deg"),
                      profile=net_meta.get("profile"), osrm_bindings=net_meta.get("osrm_bindings"))
    else:
        params["estimate"] = CALIBRATED.to_dict()
    inputs = {
        "schema": SCHEMA_VERSION,
        "engine": engine,
        "demand": _fingerprint(area_codes, o_lat, o_lon),
        "units": _fingerprint(unit_ids, d_lat, d_lon),
        "groups": None if groups is None else _fingerprint(groups),
        "network": None if net_meta is None else [net_meta.get("source_sha256"), net_meta.get("built_at"),
                                                   net_meta.get("name")],
        "params": params,
    }
    inputs_key = hashlib.sha256(json.dumps(inputs, sort_keys=True, default=str).encode()).hexdigest()
    out, meta_path = matrix_paths(settings.build_dir, engine)
    if not force and out.is_file() and meta_path.is_file():
        old = json.loads(meta_path.read_text(encoding="utf-8"))
        if old.get("inputs_key") == inputs_key:
            log(f"travel matrix ({engine}) is up to date: {out}")
            if read_dense_cache(settings.build_dir, engine, old) is None:
                log("writing its dense load cache (.npy) ...")
                write_dense_cache(settings.build_dir, engine, pd.read_parquet(out), area_codes,
                                  unit_ids, old)
            return out, old, True

    mask = cand.candidate_mask(o_lat, o_lon, d_lat, d_lon, k=k, groups=groups, per_group=per_group)
    if engine == "osrm":
        router = osrm_mod.OsrmRouter(net_dir)
        log(f"routing {int(mask.sum()):,} pairs with OSRM on network {router.name!r} ...")
        result = compute_osrm(router, o_lat, o_lon, d_lat, d_lon, mask, chunk=chunk, progress=progress)
        if groups is not None:
            mask = _complete_osrm(router, result, mask, groups, o_lat, o_lon, d_lat, d_lon, chunk, log)
    else:
        log(f"estimating {int(mask.sum()):,} pairs (straight line × detour) ...")
        o_land = landmass(demand["nation"]) if "nation" in demand.columns else None
        d_land = landmass(units["nation"]) if "nation" in units.columns else None
        result = compute_estimate(o_lat, o_lon, d_lat, d_lon, mask, o_land=o_land, d_land=d_land)
    long = to_long(result, area_codes, unit_ids, mask, engine)

    counts = {
        "areas": len(area_codes),
        "units": len(unit_ids),
        "pairs_total": int(mask.size),
        "pairs_kept": int(mask.sum()),
        "pairs_skipped": int(mask.size - mask.sum()),
        "pairs_routed": int(np.isfinite(result.minutes).sum()),
        "unreachable": {label: int((result.reason == code).sum()) for code, label in REASONS.items()},
    }
    far = np.flatnonzero(result.origin_snap_m > osrm_mod.SNAP_FAR_M)
    far_list = [{"area_code": area_codes[i], "snap_m": round(float(result.origin_snap_m[i]), 1)}
                for i in far[np.argsort(-result.origin_snap_m[far])]]
    provenance: dict = {
        "engine": engine,
        "approximate": engine == "estimate",
        "schema": SCHEMA_VERSION,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "inputs_key": inputs_key,
        "inputs": inputs,
        "demand": {"path": str(Path(settings.build_dir) / "demand.parquet"), "n_areas": len(area_codes)},
        "units": {"path": str(settings.units_csv), "csv_sha256": _sha256_or_none(settings.units_csv),
                  "n_mappable": len(unit_ids)},
        "params": params,
        "counts": counts,
    }
    if engine == "osrm":
        o_in = result.reason != AREA_OUTSIDE
        units_out = [str(u) for u, code in zip(unit_ids, (result.reason == UNIT_OUTSIDE).any(axis=0), strict=True)
                     if code]
        provenance.update(
            network={key: net_meta.get(key) for key in (
                "name", "source_pbf", "source_sha256", "osm_timestamp", "built_at", "profile",
                "osrm_bindings", "road_bbox")},
            areas_outside_network=int((~o_in.all(axis=1)).sum()),
            units_outside_network=units_out,
            covers_all=bool(counts["unreachable"]["area outside network"] == 0
                            and counts["unreachable"]["unit outside network"] == 0
                            and counts["unreachable"]["no coordinates"] == 0),
            far_snapped_origins={"threshold_m": osrm_mod.SNAP_FAR_M, "count": len(far_list),
                                 "areas": far_list[:1000]},
            typical_error_min=None,
            caption="road travel time by car (OSRM, free-flow, OpenStreetMap "
                    f"{(net_meta.get('osm_timestamp') or '')[:10]})",
        )
    else:
        provenance.update(
            covers_all=bool(counts["unreachable"]["no coordinates"] == 0),
            typical_error_min=CALIBRATED.mae_min,
            p90_error_min=CALIBRATED.p90_min,
            median_bias_min=CALIBRATED.median_bias_min,
            calibration=stored_calibration(),
            caption=CALIBRATED.caption(),
        )
    provenance["seconds"] = round(time.perf_counter() - t0, 2)
    from epu_mapper.store import write_json, write_parquet

    drop_dense_cache(settings.build_dir, engine)  # the old cache is stale from here on
    write_parquet(out, long)
    write_json(meta_path, provenance)
    write_dense_cache(settings.build_dir, engine, long, area_codes, unit_ids, provenance)
    log(f"wrote {out} ({counts['pairs_kept']:,} pairs, {counts['pairs_routed']:,} with a time) "
        f"in {provenance['seconds']} s")
    return out, provenance, False


def _read_provenance(build_dir: Path, engine: str) -> dict | None:
    out, meta = matrix_paths(build_dir, engine)
    if out.is_file() and meta.is_file():
        return json.loads(meta.read_text(encoding="utf-8"))
    return None


def _freshness(prov: dict | None, demand: pd.DataFrame | None, units: pd.DataFrame | None) -> str | None:
    """What changed since ``prov`` was built (None when nothing did or nothing to compare)."""
    if prov is None:
        return None
    inputs = prov.get("inputs", {})
    if demand is not None and inputs.get("demand") != _fingerprint(
        demand["area_code"].astype(str).to_numpy(), demand["lat"].to_numpy(np.float64),
        demand["lon"].to_numpy(np.float64),
    ):
        return "the demand areas"
    if units is not None and inputs.get("units") != _fingerprint(
        units["unit_id"].astype(str).to_numpy(), pd.to_numeric(units["lat"]).to_numpy(np.float64),
        pd.to_numeric(units["lon"]).to_numpy(np.float64),
    ):
        return "the units (ids or coordinates)"
    return None


def load_matrix(
    settings: Settings | None = None,
    engine: str | None = None,
    demand: pd.DataFrame | None = None,
    units: pd.DataFrame | None = None,
) -> TravelMatrix:
    """Load the travel matrix: OSRM when built and covering every area, else the estimate.

    Parameters
    ----------
    settings : Settings, optional
    engine : {"osrm", "estimate"}, optional
        Force one engine.
    demand, units : pandas.DataFrame, optional
        Row and column order (``area_code`` / ``unit_id``); default: the stored order.

    Returns
    -------
    TravelMatrix

    Raises
    ------
    BuildMissingError
        When no matrix is built (names ``epu-mapper travel build``).
    MatrixOutOfDateError
        (a BuildMissingError) when ``demand``/``units`` differ from those the matrix
        was built from.
    """
    settings = settings or get_settings()
    units = mappable(units) if units is not None else None
    fresh = {e: _freshness(_read_provenance(settings.build_dir, e), demand, units) for e in ENGINES}
    if engine is None:
        osrm_prov = _read_provenance(settings.build_dir, "osrm")
        engine = "osrm" if osrm_prov and osrm_prov.get("covers_all") and fresh["osrm"] is None else "estimate"
    prov = _read_provenance(settings.build_dir, engine)
    out, _ = matrix_paths(settings.build_dir, engine)
    if prov is None:
        raise BuildMissingError(f"The travel matrix ({engine})", out, f"epu-mapper travel build --engine {engine}")
    if fresh[engine] is not None:
        raise MatrixOutOfDateError(engine, out, fresh[engine])
    cached = read_dense_cache(settings.build_dir, engine, prov)
    if cached is not None:
        matrix = _matrix_from_cache(cached, engine, prov, demand, units)
        if matrix is not None:
            return matrix
    import pyarrow.parquet as pq

    long = pq.read_table(
        out, columns=["area_code", "unit_id", "minutes", "km", "reason"],
        read_dictionary=["area_code", "unit_id"],
    ).to_pandas()
    area_codes = (demand["area_code"].astype(str).to_numpy() if demand is not None
                  else np.asarray(long["area_code"].cat.categories[
                      pd.unique(long["area_code"].cat.codes)], dtype=object))
    unit_ids = (units["unit_id"].astype(str).to_numpy() if units is not None
                else np.asarray(long["unit_id"].cat.categories[
                    pd.unique(long["unit_id"].cat.codes)], dtype=object))
    minutes, km = dense_from_long(long, area_codes, unit_ids)
    bad = long["reason"].notna()
    unreachable = long.loc[bad, ["area_code", "unit_id", "reason"]].reset_index(drop=True)
    return _travel_matrix(minutes, km, area_codes, unit_ids, engine, prov, unreachable)


def _travel_matrix(
    minutes: np.ndarray, km: np.ndarray, area_codes: np.ndarray, unit_ids: np.ndarray,
    engine: str, prov: dict, unreachable: pd.DataFrame,
) -> TravelMatrix:
    """The :class:`TravelMatrix` both load paths (Parquet and dense cache) return."""
    return TravelMatrix(
        minutes=minutes,
        km=km,
        area_codes=np.asarray(area_codes),
        unit_ids=np.asarray(unit_ids),
        engine=engine,
        provenance=prov,
        approximate=engine == "estimate",
        typical_error_min=prov.get("typical_error_min"),
        unreachable=unreachable,
    )


def _cache_positions(
    built: np.ndarray, wanted: pd.DataFrame | None, column: str, long_order: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Positions in the cache of the requested ids (``wanted[column]``; -1 = not cached), or the
    Parquet path's order when nothing is requested; with the ids in that order."""
    if wanted is None:
        return long_order, built[long_order]
    ids = wanted[column].astype(str).to_numpy()
    return pd.Index(built).get_indexer(ids), ids


def _matrix_from_cache(
    cached: dict[str, np.ndarray], engine: str, prov: dict,
    demand: pd.DataFrame | None, units: pd.DataFrame | None,
) -> TravelMatrix | None:
    """The matrix from its dense cache, in the order the Parquet path would give (None when the
    requested rows/columns are not all in the cache)."""
    built_areas = cached["area_codes"].astype(object)
    built_units = cached["unit_ids"].astype(object)
    rows, area_codes = _cache_positions(built_areas, demand, "area_code", cached["long_rows"])
    cols, unit_ids = _cache_positions(built_units, units, "unit_id", cached["long_cols"])
    if (rows < 0).any() or (cols < 0).any():
        return None
    minutes, km = cached["minutes"], cached["km"]
    same_rows = len(rows) == len(built_areas) and (rows == np.arange(len(rows))).all()
    same_cols = len(cols) == len(built_units) and (cols == np.arange(len(cols))).all()
    if not (same_rows and same_cols):
        minutes, km = minutes[np.ix_(rows, cols)], km[np.ix_(rows, cols)]
    un = cached["unreachable"]
    unreachable = pd.DataFrame({
        "area_code": built_areas[un[:, 0]],
        "unit_id": built_units[un[:, 1]],
        "reason": _reason_labels(un[:, 2].astype(np.int8)),
    })
    return _travel_matrix(minutes, km, area_codes, unit_ids, engine, prov, unreachable)


# --------------------------------------------------------------------------- single origin


@functools.lru_cache(maxsize=4)
def _router(network_dir: str, stamp: float) -> osrm_mod.OsrmRouter:
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

    Returns
    -------
    pandas.DataFrame
        One row per unit, in the input order: ``unit_id``, ``minutes``, ``km``
        (float32; NaN = unreachable), ``engine`` (``osrm``/``estimate``),
        ``approximate`` (bool), ``reason`` (why NaN, else None) and
        ``origin_snap_m`` (metres from the point to the road it was snapped to, NaN
        for the estimate). ``df.attrs["far_from_road"]`` is True when the origin was
        snapped more than :data:`~epu_mapper.travel.osrm.SNAP_FAR_M` metres away.
    """
    if router is True:
        router = current_router(settings)
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
    est = ~use_osrm & d_ok
    if est.any():
        m, k = estimate_matrix(o_lat, o_lon, d_lat[est], d_lon[est])
        minutes[est], km[est] = m[0], k[0]
    if origin_nation is not None and "nation" in units.columns:
        sea = _no_road_link(landmass([origin_nation]), landmass(units["nation"]))[0] & est
        minutes[sea], km[sea] = np.nan, np.nan
        reason[sea] = REASONS[NO_ROAD_LINK]
    if not np.isfinite(o_lat[0]) or not np.isfinite(o_lon[0]):
        reason[:] = REASONS[NO_COORDS]
        minutes[:] = np.nan
        km[:] = np.nan
    reason[~d_ok] = REASONS[NO_COORDS]
    out = pd.DataFrame({
        "unit_id": units["unit_id"].to_numpy(),
        "minutes": minutes,
        "km": km,
        "engine": engine,
        "approximate": engine == "estimate",
        "reason": reason,
        "origin_snap_m": np.full(n, snap),
    })
    out.attrs["far_from_road"] = bool(np.isfinite(snap) and snap > osrm_mod.SNAP_FAR_M)
    out.attrs["caption"] = CALIBRATED.caption() if (~use_osrm).any() else "road travel time by car (OSRM)"
    return out
