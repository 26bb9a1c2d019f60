"""The loaded build every query runs on: :class:`Context`, :func:`build_context`, :func:`load_context`."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from epu_mapper import coverage as cov
from epu_mapper import hours as hrs
from epu_mapper import scenarios as sc
from epu_mapper import store
from epu_mapper.api.args import CoverageArgumentError, check_level, check_policy
from epu_mapper.errors import BuildMissingError
from epu_mapper.inputs import shorten
from epu_mapper.levels import region_columns
from epu_mapper.settings import Settings, get_settings
from epu_mapper.travel.load import TravelMatrix


@dataclass
class Context:
    """Everything the queries need, loaded once.

    Attributes
    ----------
    settings : Settings
    units : pandas.DataFrame
        Every valid directory row (``units.csv``).
    mapped : pandas.DataFrame
        The mappable units in matrix column order (index ``0 … n_units-1``), plus
        ``area_index`` (row of the nearest demand point to the site).
    demand : pandas.DataFrame
        ``demand.parquet`` rows in matrix row order.
    regions : pandas.DataFrame
        ``regions.parquet`` aligned to ``demand`` rows.
    matrix : TravelMatrix
    minutes : numpy.ndarray
        Cleaned ``float32 (n_areas, n_units)`` (NaN -> inf).
    order : numpy.ndarray
        Per-area nearest-first unit order (:func:`coverage.sort_order`).
    by_unit : numpy.ndarray
        ``minutes`` unit-major (:func:`coverage.unit_major`), for the small open sets.
    states : numpy.ndarray
        ``int8 (n_units, 192)``: typical week then a bank-holiday day.
    weights : numpy.ndarray
        ``float64 (n_areas,)`` demand weights.
    reach : numpy.ndarray
        ``bool (n_areas, n_units)``: within ``settings.reach_minutes``.
    """

    settings: Settings
    units: pd.DataFrame
    mapped: pd.DataFrame
    demand: pd.DataFrame
    regions: pd.DataFrame
    matrix: TravelMatrix
    minutes: np.ndarray
    order: np.ndarray
    by_unit: np.ndarray
    states: np.ndarray
    weights: np.ndarray
    reach: np.ndarray
    manifest: dict = field(default_factory=dict)
    hospitals: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=HOSPITAL_COLUMNS))
    _cache: dict = field(default_factory=dict, repr=False)

    @property
    def reach_minutes(self) -> float:
        """Minutes that count as within reach (``settings.reach_minutes``)."""
        return float(self.settings.reach_minutes)

    def eligible(self, flt: tuple[bool, float | None] | None = None) -> np.ndarray:
        """``bool (n_units,)`` units passing ``(self_referral, weeks)`` filters (None = all)."""
        if flt is None or (not flt[0] and flt[1] is None):
            return np.ones(len(self.mapped), dtype=bool)
        keep, _ = cov.unit_filter(
            self.mapped["self_referral"], self.mapped["min_weeks"], self.mapped["max_weeks"],
            require_self_referral=bool(flt[0]), weeks=flt[1],
        )
        return keep

    def open_mask(self, policy: str, flt: tuple[bool, float | None] | None = None) -> np.ndarray:
        """``bool (n_units, 192)`` open mask under ``policy`` and unit filters (cached)."""
        key = ("open", policy, flt)
        if key not in self._cache:
            mask = cov.open_mask(self.states, check_policy(policy))
            self._cache[key] = mask & self.eligible(flt)[:, None]
        return self._cache[key]

    def nearest_week(
        self, policy: str, flt: tuple[bool, float | None] | None = None
    ) -> cov.NearestOpen:
        """Nearest open unit for every area and the 192 standard slots (cached per policy)."""
        key = ("nearest", policy, flt)
        if key not in self._cache:
            self._cache[key] = cov.nearest_open(
                self.minutes, self.open_mask(policy, flt), self.order, by_unit=self.by_unit
            )
        return self._cache[key]

    def nearest_any(self, flt: tuple[bool, float | None] | None = None) -> cov.NearestOpen:
        """Nearest eligible unit regardless of hours (one column, cached)."""
        key = ("any", flt)
        if key not in self._cache:
            self._cache[key] = cov.nearest_open(
                self.minutes, self.eligible(flt)[:, None], self.order, by_unit=self.by_unit
            )
        return self._cache[key]

    def week_summary(
        self, level: str, policy: str, flt: tuple[bool, float | None] | None = None
    ) -> pd.DataFrame:
        """:func:`coverage.week_summary` of a level under ``policy`` (cached).

        The same at every hour, so a time-of-week change does not recompute it.

        Returns
        -------
        pandas.DataFrame
            One row per region of :meth:`groups` (see :func:`coverage.week_summary`); shared
            between calls, so callers must not modify it.
        """
        key = ("week_summary", level, policy, flt)
        if key not in self._cache:
            g, uniq = self.groups(level)
            self._cache[key] = cov.week_summary(self.nearest_week(policy, flt).minutes,
                                                self.weights, g, len(uniq),
                                                reach=self.reach_minutes)
        return self._cache[key]

    def groups(self, level: str) -> tuple[np.ndarray, np.ndarray]:
        """``(codes (n_areas,), region_codes)`` for a level (cached)."""
        key = ("groups", level)
        if key not in self._cache:
            code_col, _ = region_columns(check_level(level))
            self._cache[key] = cov.group_codes(self.regions[code_col])
        return self._cache[key]

    def weight_vector(self, weight: str = "women") -> np.ndarray:
        """Area weights.

        ``women`` = ``demand.weight`` (women 15–44 in every nation); ``population`` = all-ages
        population everywhere.
        """
        if weight == "women":
            return self.weights
        if weight == "population":
            if "population" not in self._cache:
                self._cache["population"] = (
                    pd.to_numeric(self.demand["population"], errors="coerce").fillna(0).to_numpy(float)
                )
            return self._cache["population"]
        raise CoverageArgumentError(f"unknown weight {shorten(weight)}; choose 'women' or 'population'")

    def week_within_by_region(self, policy: str, level: str, weight: str = "women") -> np.ndarray:
        """Weight within reach per region and slot, ``(n_groups, 192)`` (cached)."""
        key = ("within_region", policy, level, weight)
        if key not in self._cache:
            g, uniq = self.groups(level)
            within = self.nearest_week(policy).minutes <= self.reach_minutes
            w = self.weight_vector(weight)
            self._cache[key] = cov._group_sums(within * w[:, None], g, len(uniq))
        return self._cache[key]


def _nearest_area_index(lat: np.ndarray, lon: np.ndarray, demand: pd.DataFrame) -> np.ndarray:
    """Row of the nearest demand point for each site (-1 without coordinates).

    :func:`epu_mapper.spatial.nearest_points` (one spatial index, EPSG:27700).
    """
    from epu_mapper.spatial import nearest_points

    return nearest_points(lat, lon, demand["lat"].to_numpy(float), demand["lon"].to_numpy(float))


def build_context(
    settings: Settings,
    units: pd.DataFrame,
    demand: pd.DataFrame,
    regions: pd.DataFrame,
    matrix: TravelMatrix,
    manifest: dict | None = None,
    hospitals: pd.DataFrame | None = None,
) -> Context:
    """Assemble a :class:`Context` from loaded tables (no I/O; tests use it with fixtures).

    Parameters
    ----------
    units : pandas.DataFrame
        Directory rows (``unit_id, opening_hours, nation, lat, lon, mappable, …``).
    demand : pandas.DataFrame
        ``area_code, area_name, nation, lat, lon, population, weight, weight_kind``.
    regions : pandas.DataFrame
        ``area_code, nation, <level>_code, <level>_name`` for every level.
    matrix : TravelMatrix
        Rows ``matrix.area_codes``, columns ``matrix.unit_ids``.
    """
    area_codes = np.asarray(matrix.area_codes).astype(str)
    unit_ids = np.asarray(matrix.unit_ids).astype(str)
    demand = demand.set_index(demand["area_code"].astype(str))
    missing = pd.Index(area_codes).difference(demand.index)
    if len(missing):
        raise BuildMissingError(
            f"The travel matrix names {len(missing)} areas that are not in demand.parquet "
            f"(e.g. {missing[0]}); it is out of date:",
            settings.build_dir, "epu-mapper travel build",
        )
    demand = demand.loc[area_codes].reset_index(drop=True)
    regions = (
        regions.set_index(regions["area_code"].astype(str)).reindex(area_codes).reset_index(drop=True)
    )
    by_id = units.set_index(units["unit_id"].astype(str))
    unknown_units = [u for u in unit_ids if u not in by_id.index]
    if unknown_units:
        raise BuildMissingError(
            f"The travel matrix names units that are not in the directory ({', '.join(unknown_units[:3])}); "
            "it is out of date:",
            settings.build_dir, "epu-mapper travel build",
        )
    mapped = by_id.loc[unit_ids].reset_index(drop=True)
    mapped["area_index"] = _nearest_area_index(
        pd.to_numeric(mapped["lat"], errors="coerce").to_numpy(float),
        pd.to_numeric(mapped["lon"], errors="coerce").to_numpy(float),
        demand,
    )
    states = np.hstack([hrs.week_states(mapped), hrs.bank_holiday_states(mapped)]).astype(np.int8)
    minutes = cov.clean_minutes(matrix.minutes)
    return Context(
        settings=settings,
        units=units,
        mapped=mapped,
        demand=demand,
        regions=regions,
        matrix=matrix,
        minutes=minutes,
        order=cov.sort_order(minutes),
        by_unit=cov.unit_major(minutes),
        states=states,
        weights=pd.to_numeric(demand["weight"], errors="coerce").fillna(0).to_numpy(np.float64),
        reach=sc.reach_matrix(minutes, settings.reach_minutes),
        manifest=manifest or {},
        hospitals=_placed_hospitals(hospitals, demand),
    )


#: Columns of :attr:`Context.hospitals` (``hospitals.parquet``) the queries use.
HOSPITAL_COLUMNS = ["site_code", "name", "organisation", "postcode", "lat", "lon", "area_index"]


def _placed_hospitals(hospitals: pd.DataFrame | None, demand: pd.DataFrame) -> pd.DataFrame:
    """Acute sites with ``area_index`` (their nearest demand row); empty when not built."""
    if hospitals is None:
        return pd.DataFrame(columns=HOSPITAL_COLUMNS)
    h = hospitals.reset_index(drop=True)
    h["area_index"] = _nearest_area_index(
        pd.to_numeric(h["lat"], errors="coerce").to_numpy(float),
        pd.to_numeric(h["lon"], errors="coerce").to_numpy(float), demand,
    )
    return h


@functools.lru_cache(maxsize=2)
def _load_context_cached(settings: Settings, _stamp: tuple) -> Context:
    from epu_mapper.travel import load_matrix
    from epu_mapper.units import load_units

    build = settings.build_dir
    demand = store.read_built("demand.parquet", settings, "The demand table")
    regions = store.read_built("regions.parquet", settings, "The regions table")
    units = load_units(settings=settings)
    mapped = units[units["mappable"].astype(bool)]
    matrix = load_matrix(settings, demand=demand, units=mapped)
    manifest = store.read_json_dict(build / "manifest.json", "The build manifest")
    hospitals = (store.read_built("hospitals.parquet", settings, "The hospitals table")
                 if (build / "hospitals.parquet").exists() else None)
    return build_context(settings, units, demand, regions, matrix, manifest, hospitals)


def load_context(settings: Settings | None = None) -> Context:
    """Load units, demand, regions and the travel matrix; compute week states (cached).

    Raises
    ------
    BuildMissingError
        When a built table is missing (the message names the command that builds it).
    """
    settings = settings or get_settings()
    return _load_context_cached(settings, build_stamp(settings))


def build_stamp(settings: Settings) -> tuple:
    """Modification times of the context's inputs, so a rebuilt table is picked up.

    The cache key of :func:`load_context`, and of the app's caches built on the context.
    """
    paths = [
        settings.build_dir / "demand.parquet",
        settings.build_dir / "regions.parquet",
        settings.build_dir / "manifest.json",
        settings.units_csv,
        *sorted((settings.build_dir / "travel").glob("matrix_*.json")),
    ]
    out = []
    for p in paths:
        try:
            out.append((str(p), p.stat().st_mtime_ns))
        except OSError:
            out.append((str(p), None))
    return tuple(out)
