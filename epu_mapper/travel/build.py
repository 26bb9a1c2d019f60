"""Building a travel matrix: :func:`build_matrix` writes ``travel/matrix_<engine>.parquet``."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from epu_mapper import store
from epu_mapper.errors import BuildMissingError, EpuMapperError
from epu_mapper.settings import Settings, get_settings
from epu_mapper.sources import file_sha256
from epu_mapper.travel import candidates as cand
from epu_mapper.travel import osrm as osrm_mod
from epu_mapper.travel import water as water_mod
from epu_mapper.travel.caption import engine_caption
from epu_mapper.travel.estimate import CALIBRATED
from epu_mapper.travel.national import stored_calibration
from epu_mapper.travel.pairs import (
    AREA_OUTSIDE,
    ENGINES,
    REASONS,
    SCHEMA_VERSION,
    UNIT_OUTSIDE,
    PairResult,
    _complete_osrm,
    compute_estimate,
    compute_osrm,
    landmass,
    mappable,
    to_long,
)
from epu_mapper.travel.store import (
    _fingerprint,
    drop_dense_cache,
    matrix_paths,
    read_dense_cache,
    write_dense_cache,
)


class TravelMatrixError(EpuMapperError):
    """The travel matrix cannot be built."""


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


def unit_groups(units: pd.DataFrame) -> np.ndarray | None:
    """Open-state group labels of units (weekly states, bank-holiday states, nation)."""
    from epu_mapper import hours

    nation = units["nation"].to_numpy() if "nation" in units.columns else None
    return cand.open_state_groups(hours.week_states(units), hours.bank_holiday_states(units), extra=nation)


def _engine_and_network(
    engine: str | None, settings: Settings, network: str | None,
    router: osrm_mod.OsrmRouter | None,
) -> tuple[str, Path | None]:
    """The engine to build and, for OSRM without a given router, the built network's folder."""
    net_dir = osrm_mod.find_network(settings.build_dir, network) if router is None else None
    if router is not None:
        engine = engine or "osrm"
        if engine != "osrm":
            raise TravelMatrixError(f"an OSRM server gives road times: use engine 'osrm', not {engine!r}")
    elif engine is None:
        engine = "osrm" if net_dir is not None else "estimate"
    if engine not in ENGINES:
        raise TravelMatrixError(f"unknown engine {engine!r}; choose one of {', '.join(ENGINES)}")
    if engine == "osrm" and net_dir is None and router is None:
        raise BuildMissingError(
            "A road network for the OSRM engine", Path(settings.build_dir) / "osrm",
            "epu-mapper travel network --pbf FILE.osm.pbf",
        )
    return engine, net_dir


def _checked_units(settings: Settings, units: pd.DataFrame | None) -> pd.DataFrame:
    """The mappable units (the directory's by default), with unique ids."""
    units = load_mappable_units(settings) if units is None else mappable(units)
    if units.empty:
        raise TravelMatrixError("no mappable units (with coordinates) in the directory")
    if units["unit_id"].duplicated().any():
        raise TravelMatrixError("unit_id values must be unique")
    return units


def _pruning_groups(
    units: pd.DataFrame, k: int, per_group: int, log: Callable[[str], None]
) -> np.ndarray | None:
    """Open-state groups of the units for the candidate rule (None: prune by the k nearest)."""
    if k >= len(units) or per_group <= 0:
        return None
    if {"opening_hours", "nation"} <= set(units.columns):
        return unit_groups(units)
    log("units carry no opening_hours/nation: pruning by the k nearest only")
    return None


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
    router: osrm_mod.OsrmRouter | None = None,
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
    router : HttpRouter, optional
        Route with this engine instead of a built network: the ``osrm-http`` engine
        (:class:`~epu_mapper.travel.osrm_http.HttpRouter`, an OSRM server). The result is
        the ``osrm`` matrix; its provenance names the server. A server's data can change
        without the URL changing: rebuild with ``force`` after updating it.

    Returns
    -------
    (path, provenance, reused) : tuple
    """
    settings = settings or get_settings()
    t0 = time.perf_counter()
    engine, net_dir = _engine_and_network(engine, settings, network, router)
    demand = load_demand_points(settings) if demand is None else demand
    units = _checked_units(settings, units)

    area_codes = demand["area_code"].astype(str).to_numpy()
    o_lat, o_lon = demand["lat"].to_numpy(np.float64), demand["lon"].to_numpy(np.float64)
    unit_ids = units["unit_id"].astype(str).to_numpy()
    d_lat = pd.to_numeric(units["lat"]).to_numpy(np.float64)
    d_lon = pd.to_numeric(units["lon"]).to_numpy(np.float64)

    groups = _pruning_groups(units, k, per_group, log)
    params: dict = {"k": k, "per_group": per_group if groups is not None else None,
                    "n_groups": None if groups is None else int(groups.max() + 1)}
    net_meta: dict | None = None
    if engine == "osrm":
        if router is None:
            assert net_dir is not None  # checked above
            net_meta = osrm_mod.read_network_meta(net_dir)
        else:
            net_meta = dict(router.meta)
        params.update(snap_far_m=osrm_mod.SNAP_FAR_M, extent_cell_deg=net_meta.get("extent_cell_deg"),
                      profile=net_meta.get("profile"), osrm_bindings=net_meta.get("osrm_bindings"))
    else:
        params["estimate"] = CALIBRATED.to_dict()
        water = water_mod.load_model(settings.build_dir)
        params["water"] = None if water is None else water_mod.provenance(water)
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
    if not force and store.looks_intact(out) and store.looks_intact(meta_path):
        old = store.read_json_dict(meta_path, f"The travel matrix provenance ({engine})")
        if old.get("inputs_key") == inputs_key:
            log(f"travel matrix ({engine}) is up to date: {out}")
            if read_dense_cache(settings.build_dir, engine, old) is None:
                log("writing its dense load cache (.npz) ...")
                write_dense_cache(settings.build_dir, engine, pd.read_parquet(out), area_codes,
                                  unit_ids, old)
            return out, old, True

    straight = cand.straight_km_matrix(o_lat, o_lon, d_lat, d_lon) if engine == "estimate" else None
    mask = cand.candidate_mask(o_lat, o_lon, d_lat, d_lon, k=k, groups=groups, per_group=per_group,
                               straight_km=straight)
    if engine == "osrm":
        if router is None:
            assert net_dir is not None  # checked above
            router = osrm_mod.OsrmRouter(net_dir)
        log(f"routing {int(mask.sum()):,} pairs with OSRM on network {router.name!r} ...")
        result = compute_osrm(router, o_lat, o_lon, d_lat, d_lon, mask, chunk=chunk, progress=progress)
        if groups is not None:
            mask = _complete_osrm(router, result, mask, groups, o_lat, o_lon, d_lat, d_lon, chunk, log)
    else:
        log(f"estimating {int(mask.sum()):,} pairs (straight line × detour) ...")
        o_land = landmass(demand["nation"]) if "nation" in demand.columns else None
        d_land = landmass(units["nation"]) if "nation" in units.columns else None
        if water is None:
            log("no build/boundaries/nation.geojson: straight lines are not checked for water")
        result = compute_estimate(o_lat, o_lon, d_lat, d_lon, mask, o_land=o_land, d_land=d_land,
                                  water=water, straight_km=straight)
    long = to_long(result, area_codes, unit_ids, mask, engine)

    counts: dict[str, Any] = {
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
        assert net_meta is not None  # read above for the osrm engine
        provenance.update(_osrm_provenance(result, unit_ids, counts, net_meta, far_list))
    else:
        provenance.update(_estimate_provenance(counts, result, params))
    provenance["seconds"] = round(time.perf_counter() - t0, 2)
    from epu_mapper.store import write_json, write_parquet

    drop_dense_cache(settings.build_dir, engine)  # the old cache is stale from here on
    write_parquet(out, long)
    write_json(meta_path, provenance)
    write_dense_cache(settings.build_dir, engine, long, area_codes, unit_ids, provenance)
    log(f"wrote {out} ({counts['pairs_kept']:,} pairs, {counts['pairs_routed']:,} with a time) "
        f"in {provenance['seconds']} s")
    return out, provenance, False


def _osrm_provenance(
    result: PairResult, unit_ids: np.ndarray, counts: dict[str, Any], net_meta: dict,
    far_list: list[dict],
) -> dict[str, Any]:
    """The OSRM engine's part of a matrix's provenance (network, coverage, caption)."""
    o_in = result.reason != AREA_OUTSIDE
    outside = (result.reason == UNIT_OUTSIDE).any(axis=0)
    unreachable = counts["unreachable"]
    return {
        "network": {key: net_meta.get(key) for key in (
            "name", "source_pbf", "source_sha256", "osm_timestamp", "built_at", "profile",
            "osrm_bindings", "road_bbox", "url", "max_table_size", "snap_limit_m")},
        "areas_outside_network": int((~o_in.all(axis=1)).sum()),
        "units_outside_network": [str(u) for u in np.asarray(unit_ids)[outside]],
        "covers_all": bool(unreachable["area outside network"] == 0
                           and unreachable["unit outside network"] == 0
                           and unreachable["no coordinates"] == 0),
        "far_snapped_origins": {"threshold_m": osrm_mod.SNAP_FAR_M, "count": len(far_list),
                                "areas": far_list[:1000]},
        "typical_error_min": None,
        "caption": engine_caption("osrm", net_meta.get("osm_timestamp"), net_meta.get("url")),
    }


def _estimate_provenance(
    counts: dict[str, Any], result: PairResult, params: dict[str, Any]
) -> dict[str, Any]:
    """The estimate's part of a matrix's provenance (calibration, errors, water, caption)."""
    return {
        "covers_all": bool(counts["unreachable"]["no coordinates"] == 0),
        "typical_error_min": CALIBRATED.mae_min,
        "p90_error_min": CALIBRATED.p90_min,
        "median_bias_min": CALIBRATED.median_bias_min,
        "calibration": stored_calibration(),
        "water": None if result.water is None else {**params["water"], "pairs": result.water},
        "caption": engine_caption("estimate"),
    }
