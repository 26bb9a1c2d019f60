"""Reading a built travel matrix: :class:`TravelMatrix` and :func:`load_matrix`."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from epu_mapper import store
from epu_mapper.errors import BuildDamagedError, BuildMissingError, EpuMapperError
from epu_mapper.settings import Settings, get_settings
from epu_mapper.travel.pairs import ENGINES, _reason_labels, dense_from_long, mappable
from epu_mapper.travel.store import _fingerprint, matrix_paths, read_dense_cache


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
        """One line for users describing what the figures are (:mod:`~epu_mapper.travel.caption`).

        The caption written when the matrix was built; for a provenance without one, the
        engine's caption.
        """
        from epu_mapper.travel.caption import engine_caption

        network = self.provenance.get("network") or {}
        return str(self.provenance.get("caption")
                   or engine_caption(self.engine, network.get("osm_timestamp")))


def _read_provenance(build_dir: Path, engine: str) -> dict | None:
    out, meta = matrix_paths(build_dir, engine)
    if out.is_file() and meta.is_file():
        return store.read_json_dict(meta, f"The travel matrix provenance ({engine})",
                                    f"epu-mapper travel build --engine {engine}")
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
    changed = fresh[engine]
    if changed is not None:
        raise MatrixOutOfDateError(engine, out, changed)
    cached = read_dense_cache(settings.build_dir, engine, prov)
    if cached is not None:
        matrix = _matrix_from_cache(cached, engine, prov, demand, units)
        if matrix is not None:
            return matrix
    import pyarrow.parquet as pq

    try:
        long = pq.read_table(
            out, columns=["area_code", "unit_id", "minutes", "km", "reason"],
            read_dictionary=["area_code", "unit_id"],
        ).to_pandas()
    except store.READ_ERRORS as exc:
        raise BuildDamagedError(f"The travel matrix ({engine})", out,
                                f"epu-mapper travel build --engine {engine} --force",
                                store.short_reason(exc)) from None
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
    """Positions in the cache of the requested ids (``wanted[column]``.

    -1 = not cached), or the Parquet path's order when nothing is requested; with the ids in that
    order.
    """
    if wanted is None:
        return long_order, built[long_order]
    ids = wanted[column].astype(str).to_numpy()
    return pd.Index(built).get_indexer(ids), ids


def _matrix_from_cache(
    cached: dict[str, np.ndarray], engine: str, prov: dict,
    demand: pd.DataFrame | None, units: pd.DataFrame | None,
) -> TravelMatrix | None:
    """The matrix from its dense cache, in the order the Parquet path would give.

    None when the requested rows/columns are not all in the cache.
    """
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
