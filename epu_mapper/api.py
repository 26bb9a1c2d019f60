"""The facade the Streamlit app and the CLI share.

Everything here loads the built tables once (:func:`load_context`) and calls the pure cores
(:mod:`epu_mapper.coverage`, :mod:`epu_mapper.scenarios`, :mod:`epu_mapper.hours`). Results are
DataFrames/dataclasses with documented columns; user mistakes raise
:class:`~epu_mapper.errors.EpuMapperError` subclasses with a plain message.

Weights
-------
Every population statistic is weighted by ``demand.weight``: women aged 15–44 where known
(Scotland: Census 2022 exact; England & Wales: 0.5 × persons 15–44, an estimate), and the
all-ages population estimate for Northern Ireland (no female 15–44 count is available there).
``weight_kind`` says which weight a row used (``"mixed: …"`` when a region mixes them).

Times
-----
A naive datetime (or ISO string without offset) is UK local time; an aware one is converted
to Europe/London.
"""

from __future__ import annotations

import functools
import json
import time as _time
from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from epu_mapper import coverage as cov
from epu_mapper import hours as hrs
from epu_mapper import scenarios as sc
from epu_mapper import store
from epu_mapper.errors import BuildMissingError, EpuMapperError
from epu_mapper.settings import NATIONS, TIMEZONE, Settings, get_settings

LEVELS: tuple[str, ...] = ("nation", "nhs_region", "icb", "lhb", "scot_hb", "hsct", "lad")
GAPS_POLICIES: tuple[str, ...] = (*cov.POLICIES, "range")
DEFAULT_EXTENSION = "Sa,Su 09:00-17:00"
_TZ = ZoneInfo(TIMEZONE)


class CoverageArgumentError(EpuMapperError):
    """A bad argument to a coverage query (level, time, unit id, hours, policy)."""


# --------------------------------------------------------------------------- argument parsing


def parse_when(value: datetime | date | str | None) -> datetime:
    """A moment as naive UK local time.

    Parameters
    ----------
    value : datetime, date, str or None
        ``None`` = now; a naive datetime or an ISO string without offset is UK local time;
        with an offset (or ``Z``) it is converted to Europe/London. A date means 00:00.

    Raises
    ------
    CoverageArgumentError
        When the string is not an ISO 8601 date/time.
    """
    if value is None:
        return datetime.now(_TZ).replace(tzinfo=None, microsecond=0)
    if isinstance(value, str):
        text = value.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        try:
            value = datetime.fromisoformat(text)
        except ValueError:
            raise CoverageArgumentError(
                f"cannot read the time {value!r}: use ISO 8601, e.g. 2026-11-29T03:00 "
                "(UK local time) or 2026-11-29T03:00+00:00"
            ) from None
    if isinstance(value, datetime):
        return hrs.to_local(value)
    if isinstance(value, date):
        return datetime.combine(value, datetime.min.time())
    raise CoverageArgumentError(f"cannot read the time {value!r}")


def check_level(level: str) -> str:
    """Validate a region level name."""
    if level not in LEVELS:
        raise CoverageArgumentError(f"unknown level {level!r}; choose one of: {', '.join(LEVELS)}")
    return level


def check_policy(policy: str, allowed: tuple[str, ...] = cov.POLICIES) -> str:
    """Validate an unknown-hours policy name."""
    if policy not in allowed:
        raise CoverageArgumentError(
            f"unknown policy {policy!r}; choose one of: {', '.join(allowed)}"
        )
    return policy


# --------------------------------------------------------------------------- context


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
    matrix: object
    minutes: np.ndarray
    order: np.ndarray
    states: np.ndarray
    weights: np.ndarray
    reach: np.ndarray
    manifest: dict = field(default_factory=dict)
    _cache: dict = field(default_factory=dict, repr=False)

    @property
    def reach_minutes(self) -> float:
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
            self._cache[key] = cov.nearest_open(self.minutes, self.open_mask(policy, flt), self.order)
        return self._cache[key]

    def nearest_any(self, flt: tuple[bool, float | None] | None = None) -> cov.NearestOpen:
        """Nearest eligible unit regardless of hours (one column, cached)."""
        key = ("any", flt)
        if key not in self._cache:
            self._cache[key] = cov.nearest_open(
                self.minutes, self.eligible(flt)[:, None], self.order
            )
        return self._cache[key]

    def groups(self, level: str) -> tuple[np.ndarray, np.ndarray]:
        """``(codes (n_areas,), region_codes)`` for a level (cached)."""
        key = ("groups", level)
        if key not in self._cache:
            code_col = "nation" if level == "nation" else f"{check_level(level)}_code"
            self._cache[key] = cov.group_codes(self.regions[code_col])
        return self._cache[key]

    def weight_vector(self, weight: str = "women") -> np.ndarray:
        """Area weights: ``women`` = ``demand.weight`` (women 15–44 where available, NI all
        ages); ``population`` = all-ages population everywhere (comparable across nations)."""
        if weight == "women":
            return self.weights
        if weight == "population":
            if "population" not in self._cache:
                self._cache["population"] = (
                    pd.to_numeric(self.demand["population"], errors="coerce").fillna(0).to_numpy(float)
                )
            return self._cache["population"]
        raise CoverageArgumentError(f"unknown weight {weight!r}; choose 'women' or 'population'")

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
    """Row of the nearest demand point for each site (equirectangular distance; -1 without xy)."""
    dlat = np.radians(demand["lat"].to_numpy(float))
    dlon = np.radians(demand["lon"].to_numpy(float))
    out = np.full(len(lat), -1, dtype=np.int64)
    for i, (la, lo) in enumerate(zip(np.radians(lat), np.radians(lon), strict=True)):
        if np.isnan(la) or np.isnan(lo):
            continue
        x = (dlon - lo) * np.cos((dlat + la) / 2)
        out[i] = int(np.argmin(x * x + (dlat - la) ** 2))
    return out


def build_context(
    settings: Settings,
    units: pd.DataFrame,
    demand: pd.DataFrame,
    regions: pd.DataFrame,
    matrix: object,
    manifest: dict | None = None,
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
        states=states,
        weights=pd.to_numeric(demand["weight"], errors="coerce").fillna(0).to_numpy(np.float64),
        reach=sc.reach_matrix(minutes, settings.reach_minutes),
        manifest=manifest or {},
    )


@functools.lru_cache(maxsize=2)
def _load_context_cached(settings: Settings, stamp: tuple) -> Context:
    from epu_mapper.travel import load_matrix
    from epu_mapper.units import load_units

    build = settings.build_dir
    demand = store.read_built("demand.parquet", settings, "The demand table")
    regions = store.read_built("regions.parquet", settings, "The regions table")
    units = load_units(settings=settings)
    mapped = units[units["mappable"].astype(bool)]
    matrix = load_matrix(settings, demand=demand, units=mapped)
    manifest_path = build / "manifest.json"
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
    return build_context(settings, units, demand, regions, matrix, manifest)


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
    """Modification times of the context's inputs, so a rebuilt table is picked up (the cache
    key of :func:`load_context`, and of the app's caches built on the context)."""
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


# --------------------------------------------------------------------------- helpers


@dataclass(frozen=True)
class NationHoliday:
    """Hour ``hour`` of a bank holiday in ``nation`` only (falling on a Monday): that nation's
    units follow their bank-holiday rules, the other nations' units an ordinary Monday."""

    nation: str
    hour: int


def _slot_column(
    ctx: Context, when: datetime | NationHoliday, policy: str, flt=None
) -> np.ndarray:
    """``bool (n_units, 1)`` open mask at a real moment (bank holidays by each unit's nation)."""
    if isinstance(when, NationHoliday):
        in_nation = (ctx.mapped["nation"].astype(str) == when.nation).to_numpy()
        h = when.hour
        states = np.where(in_nation, ctx.states[:, cov.BANK_HOLIDAY_OFFSET + h], ctx.states[:, h])
        assumed = ~in_nation & (9 <= h < 17)
        mask = cov.open_mask(states[:, None], policy, assumed[:, None])
        return mask & ctx.eligible(flt)[:, None]
    day = when.date()
    key = ("day_states", day)
    if key not in ctx._cache:
        ctx._cache[key] = hrs.day_states(ctx.mapped, day)
    states = ctx._cache[key][:, when.hour : when.hour + 1]
    nations = ctx.mapped["nation"].astype(str).to_numpy()
    holiday = np.array([hrs.is_bank_holiday(day, n) for n in nations])
    assumed = (day.weekday() < 5) & (9 <= when.hour < 17) & ~holiday
    return cov.open_mask(states, policy, assumed[:, None]) & ctx.eligible(flt)[:, None]


def _resolve_slot(
    ctx: Context, at, hour_of_week: int | None, bank_holiday: bool | str
) -> tuple[str, int | None, datetime | NationHoliday | None]:
    """Decide which time a query is about: ``(label, standard slot or None, moment or None)``.

    ``bank_holiday`` True = the UK-wide typical bank-holiday day (slots 168–191); a nation name =
    a bank holiday in that nation only (:class:`NationHoliday`)."""
    if isinstance(bank_holiday, str):
        if bank_holiday not in NATIONS:
            raise CoverageArgumentError(
                f"unknown nation {bank_holiday!r} for a bank holiday; choose one of: {', '.join(NATIONS)}"
            )
        if hour_of_week is None or at is not None:
            raise CoverageArgumentError("a nation's bank holiday needs hour_of_week (the hour of that day)")
        try:
            h = int(hour_of_week)
        except (TypeError, ValueError):
            raise CoverageArgumentError(f"hour must be a whole number, got {hour_of_week!r}") from None
        if not 0 <= h < cov.HOURS_PER_WEEK:
            raise CoverageArgumentError(f"bank-holiday hour must be 0..23 (or 0..167), got {h}")
        h %= 24
        label = f"{bank_holiday} bank holiday {h:02d}:00 (a Monday; other nations' units as usual)"
        return label, None, NationHoliday(bank_holiday, h)
    if hour_of_week is not None:
        if at is not None:
            raise CoverageArgumentError("give either a time (at) or an hour of the week, not both")
        try:
            h = int(hour_of_week)
        except (TypeError, ValueError):
            raise CoverageArgumentError(f"hour of week must be a whole number, got {hour_of_week!r}") from None
        if bank_holiday:
            # the hour of the bank-holiday day; an hour of the week (0..167) gives its hour of day
            if not 0 <= h < cov.HOURS_PER_WEEK:
                raise CoverageArgumentError(f"bank-holiday hour must be 0..23 (or 0..167), got {h}")
            slot = cov.BANK_HOLIDAY_OFFSET + h % 24
        else:
            if not 0 <= h < cov.HOURS_PER_WEEK:
                raise CoverageArgumentError(f"hour of week must be 0..167, got {h}")
            slot = h
        return cov.slot_table().loc[slot, "label"], slot, None
    if bank_holiday:
        raise CoverageArgumentError("bank_holiday needs hour_of_week (the hour of the bank-holiday day)")
    when = parse_when(at)
    return when.strftime("%a %Y-%m-%d %H:%M"), None, when


def _nearest_at(
    ctx: Context, slot: int | None, when: datetime | None, policy: str, flt=None
) -> np.ndarray:
    if slot is not None:
        return ctx.nearest_week(policy, flt).minutes[:, slot]
    mask = _slot_column(ctx, when, policy, flt)
    return cov.nearest_open(ctx.minutes, mask, ctx.order).minutes[:, 0]


def _weight_kinds(ctx: Context, g: np.ndarray, n: int) -> np.ndarray:
    kinds = ctx.demand["weight_kind"].astype(str).to_numpy()
    out = np.empty(n, dtype=object)
    df = pd.DataFrame({"g": g, "k": kinds})
    df = df[df.g >= 0]
    for gi, ks in df.groupby("g")["k"].unique().items():
        ks = sorted(ks)
        out[gi] = ks[0] if len(ks) == 1 else "mixed: " + ", ".join(ks)
    return out


def _region_frame(ctx: Context, level: str) -> pd.DataFrame:
    """Region identity and size columns at a level (cached; returns a copy)."""
    key = ("region_frame", level)
    if key not in ctx._cache:
        ctx._cache[key] = _region_frame_uncached(ctx, level)
    return ctx._cache[key].copy()


def _region_frame_uncached(ctx: Context, level: str) -> pd.DataFrame:
    g, uniq = ctx.groups(level)
    name_col = "nation" if level == "nation" else f"{level}_name"
    first = pd.DataFrame({"g": g, "name": ctx.regions[name_col].to_numpy(),
                          "nation": ctx.regions["nation"].to_numpy()})
    first = first[first.g >= 0].drop_duplicates("g").set_index("g").sort_index()
    pop = cov._group_sums(pd.to_numeric(ctx.demand["population"], errors="coerce").fillna(0), g, len(uniq))
    n_areas = np.bincount(g[g >= 0], minlength=len(uniq))
    unit_area = ctx.mapped["area_index"].to_numpy()
    ug = np.where(unit_area >= 0, g[np.clip(unit_area, 0, None)], -1)
    n_units = np.bincount(ug[ug >= 0], minlength=len(uniq))
    return pd.DataFrame(
        {
            "level": level,
            "region_code": uniq.astype(str),
            "region_name": first["name"].reindex(range(len(uniq))).to_numpy(),
            "nation": first["nation"].reindex(range(len(uniq))).to_numpy(),
            "n_areas": n_areas,
            "population": pop[:, 0],
            "weight": cov._group_sums(ctx.weights, g, len(uniq))[:, 0],
            "weight_kind": _weight_kinds(ctx, g, len(uniq)),
            "units_in_region": n_units,
        }
    )


# --------------------------------------------------------------------------- gaps


GAPS_STAT_COLUMNS = (
    "median_minutes", "p90_minutes", "pct_within_30", "pct_within_60", "pct_within_90",
    "pct_no_open_unit", "gini_minutes", "hours_covered", "pct_all_week_within",
    "pct_within_weekday_day", "pct_within_evening", "pct_within_night", "pct_within_weekend",
    "pct_within_bank_holiday", "nice_7day", "nice_7day_pass",
)


def _gaps_one(ctx: Context, level: str, slot, when, policy: str, flt=None) -> pd.DataFrame:
    g, uniq = ctx.groups(level)
    values = _nearest_at(ctx, slot, when, policy, flt)
    st = cov.slot_statistics(values, ctx.weights, g, len(uniq), ctx.settings.travel_bands)
    ws = cov.week_summary(ctx.nearest_week(policy, flt).minutes, ctx.weights, g, len(uniq),
                          reach=ctx.reach_minutes)
    ws = ws.rename(columns={"hours_per_week_within": "hours_covered", "nice_7day_pct": "nice_7day"})
    out = pd.concat([st.drop(columns="weight"), ws], axis=1)
    return out.reset_index(drop=True)


def gaps(
    ctx: Context,
    level: str,
    at: datetime | str | None = None,
    hour_of_week: int | None = None,
    bank_holiday: bool | str = False,
    policy: str = "exclude",
    self_referral: bool = False,
    weeks: float | None = None,
) -> pd.DataFrame:
    """Regional access statistics at one time, plus whole-week summaries.

    Parameters
    ----------
    ctx : Context
    level : str
        One of :data:`LEVELS`.
    at : datetime or str, optional
        A real moment (its date's bank holidays by each unit's nation). Default: now.
    hour_of_week : int, optional
        A typical-week slot 0…167 (Monday 00:00 = 0) instead of ``at``; with
        ``bank_holiday=True`` the hour 0…23 of the typical bank-holiday day (an hour of the
        week is taken modulo 24).
    bank_holiday : bool or str
        True: the typical bank-holiday day on which every unit follows its own nation's
        bank-holiday rules (slots 168–191; e.g. Christmas Day). A nation name (``"Scotland"``):
        a bank holiday in that nation only, on a Monday — e.g. St Andrew's Day — so units of
        other nations keep their Monday hours.
    policy : {"exclude", "weekday", "always", "range"}
        ``range`` computes ``exclude`` and ``always`` and returns every statistic twice, with
        suffixes ``_exclude`` (only known-open units: coverage lower bound) and ``_always``
        (unknown hours counted open: upper bound).
    self_referral, weeks
        Count only units accepting self-referral (``yes``) / serving that gestation week
        (units with an unknown limit are kept), as in :func:`nearest`.

    Returns
    -------
    pandas.DataFrame
        One row per region: ``level, region_code, region_name, nation, n_areas, population,
        weight, weight_kind, units_in_region`` and the statistics (all weighted by ``weight``):

        * at the chosen time: ``median_minutes``, ``p90_minutes`` (weighted lower quantiles of
          minutes to the nearest open unit; ``inf`` = none routed), ``pct_within_30/60/90``,
          ``pct_no_open_unit``, ``gini_minutes`` (Gini over areas with an open unit);
        * over the typical week: ``hours_covered`` (mean hours/week with an open unit within
          60 min), ``pct_all_week_within`` (% with one within 60 min at all 168 h),
          ``pct_within_<band>`` (% of population-hours covered in each band: weekday_day
          Mo–Fr 09–17, evening Mo–Fr 17–22, night 22–08, weekend Sa–Su 08–22, bank_holiday),
          ``nice_7day`` (% living where a unit within 60 min is open at some time on each of the
          7 days) and ``nice_7day_pass`` (``nice_7day >= 99``);
        * ``median_minutes_any_unit``: weighted median minutes to the nearest unit at all.

        ``df.attrs``: ``level, when`` (label), ``at`` (ISO UK local time, None for a typical-week
        slot), ``slot`` (0…191 or None for a real moment), ``policy, filters, reach_minutes,
        engine, approximate, travel_caption`` (:func:`travel_caption`), ``inequality``
        (``median_ratio_worst_best``, ``pct60_ratio_best_worst``, ``gini_minutes_uk``
        per policy).
    """
    check_level(level)
    check_policy(policy, GAPS_POLICIES)
    flt = _filters(self_referral, weeks)
    label, slot, when = _resolve_slot(ctx, at, hour_of_week, bank_holiday)
    base = _region_frame(ctx, level)
    g, uniq = ctx.groups(level)
    anyq = cov.weighted_quantiles(ctx.nearest_any(flt).minutes[:, 0], ctx.weights, g, len(uniq), [0.5])
    base["median_minutes_any_unit"] = anyq[0, :, 0]
    policies = ("exclude", "always") if policy == "range" else (policy,)
    inequality = {}
    parts = [base]
    for p in policies:
        stats = _gaps_one(ctx, level, slot, when, p, flt)
        values = _nearest_at(ctx, slot, when, p, flt)
        finite = stats["median_minutes"].to_numpy(float)
        inequality[p] = {
            "median_ratio_worst_best": _json_float(cov.worst_best_ratio(finite)),
            "pct60_ratio_best_worst": _json_float(cov.worst_best_ratio(stats["pct_within_60"])),
            "gini_minutes_uk": _json_float(cov.weighted_gini(values, ctx.weights)[0]),
            "pct_no_open_unit_uk": _json_float(
                100 * float(ctx.weights[np.isinf(values)].sum() / ctx.weights.sum())
            ),
        }
        if policy == "range":
            stats = stats.add_suffix(f"_{p}")
        parts.append(stats)
    out = pd.concat(parts, axis=1)
    out.attrs.update(
        level=level, when=label,
        at=when.isoformat(timespec="minutes") if isinstance(when, datetime) else None,
        slot=slot, policy=policy, reach_minutes=ctx.reach_minutes,
        filters={"self_referral": bool(self_referral), "weeks": weeks},
        engine=getattr(ctx.matrix, "engine", None),
        approximate=bool(getattr(ctx.matrix, "approximate", False)),
        travel_caption=travel_caption(ctx),
        inequality=inequality if policy == "range" else inequality[policy],
    )
    return out


def travel_caption(ctx: Context) -> str:
    """One line for users on what the context's area-to-unit travel times are.

    Parameters
    ----------
    ctx : Context

    Returns
    -------
    str
        The travel matrix's own caption (its provenance, written when it was built: for the
        straight-line estimate the calibrated
        :meth:`~epu_mapper.travel.estimate.EstimateParams.caption`, which states the typical
        error in minutes); for an estimate matrix without one, the caption of
        :data:`~epu_mapper.travel.estimate.CALIBRATED`; else the road-routing caption.
    """
    m = ctx.matrix
    caption = str((getattr(m, "provenance", None) or {}).get("caption") or "")
    if caption:
        return caption
    if bool(getattr(m, "approximate", False)):
        from epu_mapper.travel import CALIBRATED

        return CALIBRATED.caption()
    return "road travel time by car (OSRM)"


def _filters(self_referral: bool, weeks: float | None) -> tuple[bool, float | None] | None:
    """Normalised, hashable unit filters (None = no filter)."""
    if weeks is not None:
        try:
            weeks = float(weeks)
        except (TypeError, ValueError):
            raise CoverageArgumentError(f"gestation weeks must be a number, got {weeks!r}") from None
        if not 0 <= weeks <= 45:
            raise CoverageArgumentError(f"gestation weeks must be between 0 and 45, got {weeks:g}")
    if not self_referral and weeks is None:
        return None
    return (bool(self_referral), weeks)


def _json_float(x) -> float | None:
    x = float(x)
    return None if not np.isfinite(x) else x


# --------------------------------------------------------------------------- regions & small areas


def regions(ctx: Context, level: str) -> pd.DataFrame:
    """Pick list of regions at a level: ``region_code, region_name, nation`` sorted by code."""
    return _region_frame(ctx, check_level(level))[["region_code", "region_name", "nation"]]


def _region_rows(ctx: Context, level: str, region_code: str) -> np.ndarray:
    g, uniq = ctx.groups(check_level(level))
    pos = np.searchsorted(uniq, str(region_code))
    if pos >= len(uniq) or uniq[pos] != str(region_code):
        raise CoverageArgumentError(
            f"no {level} region with code {region_code!r} (see `regions(ctx, {level!r})`)"
        )
    return np.flatnonzero(g == pos)


def small_areas(
    ctx: Context,
    level: str,
    region_code: str,
    hour_of_week: int | None = None,
    bank_holiday: bool | str = False,
    policy: str = "exclude",
    at: datetime | str | None = None,
    self_referral: bool = False,
    weeks: float | None = None,
) -> pd.DataFrame:
    """Small areas of one region with their nearest open unit at one time.

    ``at`` (a real moment) or ``hour_of_week``/``bank_holiday`` as in :func:`gaps` (default now);
    ``self_referral``/``weeks`` filter the units as in :func:`nearest`.

    Returns
    -------
    pandas.DataFrame
        ``area_code, area_name, lat, lon, population, weight, weight_kind, minutes, km,
        unit_id, unit_name, minutes_any_unit, any_unit_id`` (``minutes`` inf and ``unit_id``
        empty when no open unit was routed). ``attrs["when"]`` labels the time.
    """
    check_policy(policy)
    flt = _filters(self_referral, weeks)
    rows = _region_rows(ctx, level, region_code)
    label, slot, when = _resolve_slot(
        ctx, at if (at is not None or hour_of_week is not None) else None, hour_of_week, bank_holiday
    )
    if slot is not None:
        res = ctx.nearest_week(policy, flt)
        mins, unit = res.minutes[rows, slot], res.unit[rows, slot]
    else:
        mask = _slot_column(ctx, when, policy, flt)
        res = cov.nearest_open(ctx.minutes[rows], mask, ctx.order[rows])
        mins, unit = res.minutes[:, 0], res.unit[:, 0]
    anyr = ctx.nearest_any(flt)
    ids = ctx.mapped["unit_id"].to_numpy(object)
    names = ctx.mapped["unit_name"].to_numpy(object)
    ok = unit >= 0
    km = np.full(rows.size, np.nan, dtype=np.float64)
    km[ok] = np.asarray(ctx.matrix.km)[rows[ok], unit[ok]]
    d = ctx.demand.iloc[rows]
    out = pd.DataFrame(
        {
            "area_code": d["area_code"].to_numpy(),
            "area_name": d["area_name"].to_numpy(),
            "lat": d["lat"].to_numpy(),
            "lon": d["lon"].to_numpy(),
            "population": d["population"].to_numpy(),
            "weight": d["weight"].to_numpy(),
            "weight_kind": d["weight_kind"].to_numpy(),
            "minutes": mins.astype(float),
            "km": km,
            "unit_id": np.where(ok, ids[np.clip(unit, 0, None)], ""),
            "unit_name": np.where(ok, names[np.clip(unit, 0, None)], ""),
            "minutes_any_unit": anyr.minutes[rows, 0].astype(float),
            "any_unit_id": np.where(anyr.unit[rows, 0] >= 0, ids[np.clip(anyr.unit[rows, 0], 0, None)], ""),
        }
    )
    out.attrs.update(when=label, policy=policy)
    return out


@dataclass
class LocalResult:
    """One region's units, weekly timetable and coverage by hour (see :func:`local`)."""

    units: pd.DataFrame
    week: np.ndarray
    coverage_by_hour: pd.DataFrame
    hospitals_without_unit: pd.DataFrame


def coverage_by_hour(ctx: Context, level: str, region_code: str, policy: str = "exclude") -> pd.DataFrame:
    """Coverage of one region's population at each of the 192 standard slots.

    Returns
    -------
    pandas.DataFrame
        ``hour_of_week`` (slot 0…191: 168+ = bank-holiday day), ``kind, day, hour, label, band,
        median_minutes, p90_minutes, pct_within_30, pct_within_60, pct_within_90,
        pct_no_open_unit``.
    """
    check_policy(policy)
    rows = _region_rows(ctx, level, region_code)
    m = ctx.nearest_week(policy).minutes[rows]
    w = ctx.weights[rows]
    grp = np.zeros(rows.size, dtype=np.int64)
    q = cov.weighted_quantiles(m, w, grp, 1, [0.5, 0.9])
    out = cov.slot_table().rename(columns={"slot": "hour_of_week"})
    out["median_minutes"] = q[0, 0]
    out["p90_minutes"] = q[1, 0]
    for b in ctx.settings.travel_bands:
        out[f"pct_within_{b}"] = 100 * cov.within_share(m, w, grp, 1, b)[0]
    total = w.sum()
    out["pct_no_open_unit"] = 100 * (np.isinf(m) * w[:, None]).sum(axis=0) / total if total else np.nan
    return out


def gaps_by_hour(ctx: Context, level: str, policy: str = "exclude") -> pd.DataFrame:
    """Every region of a level at every one of the 192 standard slots (long table, cached).

    Returns
    -------
    pandas.DataFrame
        ``region_code, region_name, hour_of_week`` (0…191; 168+ = bank-holiday day), ``label,
        median_minutes, p90_minutes, pct_within_30, pct_within_60, pct_within_90,
        pct_no_open_unit`` (weighted as in :func:`gaps`), sorted by region then hour.
    """
    check_level(level)
    check_policy(policy)
    key = ("gaps_by_hour", level, policy)
    if key not in ctx._cache:
        g, uniq = ctx.groups(level)
        m = ctx.nearest_week(policy).minutes
        w = ctx.weights
        n = len(uniq)
        q = cov.weighted_quantiles(m, w, g, n, [0.5, 0.9])  # (2, n, 192)
        slots = cov.slot_table()
        names = _region_frame(ctx, level)["region_name"].to_numpy()
        out = pd.DataFrame(
            {
                "region_code": np.repeat(uniq.astype(str), cov.N_SLOTS),
                "region_name": np.repeat(names, cov.N_SLOTS),
                "hour_of_week": np.tile(slots["slot"].to_numpy(), n),
                "label": np.tile(slots["label"].to_numpy(), n),
                "median_minutes": q[0].reshape(-1),
                "p90_minutes": q[1].reshape(-1),
            }
        )
        for b in ctx.settings.travel_bands:
            out[f"pct_within_{b}"] = 100 * cov.within_share(m, w, g, n, b).reshape(-1)
        none = cov._group_sums(np.isinf(m) * w[:, None], g, n)
        total = cov._group_sums(w, g, n)
        with np.errstate(invalid="ignore", divide="ignore"):
            out["pct_no_open_unit"] = (100 * none / total).reshape(-1)
        ctx._cache[key] = out
    return ctx._cache[key].copy()


_LOCAL_UNIT_COLS = [
    "unit_id", "unit_name", "hospital", "opening_hours", "hours_status", "hours_kind",
    "self_referral", "source_url", "source_seen", "phone", "lat", "lon",
]


def local(ctx: Context, level: str, region_code: str, policy: str = "exclude") -> LocalResult:
    """Units in or serving a region, their weekly states, and the region's coverage by hour.

    ``units`` holds the mappable units whose site lies in the region (``in_region`` True) and
    those that are the nearest unit (at any hour) of at least one of its small areas; ``week``
    is their ``int8 (n, 168)`` typical week in the same row order. ``hospitals_without_unit``
    lists acute sites (``hospitals.parquet``) in the region with no directory unit at the same
    site code or postcode (empty when that table is not built).
    """
    rows = _region_rows(ctx, level, region_code)
    g, _ = ctx.groups(level)
    region_g = g[rows[0]]
    unit_area = ctx.mapped["area_index"].to_numpy()
    in_region = (unit_area >= 0) & (g[np.clip(unit_area, 0, None)] == region_g)
    serving = np.zeros(len(ctx.mapped), dtype=bool)
    nearest_units = ctx.nearest_any().unit[rows, 0]
    serving[nearest_units[nearest_units >= 0]] = True
    pick = np.flatnonzero(in_region | serving)
    units = ctx.mapped.iloc[pick][[c for c in _LOCAL_UNIT_COLS if c in ctx.mapped.columns]].copy()
    units["in_region"] = in_region[pick]
    units = units.reset_index(drop=True)
    week = ctx.states[pick, : cov.HOURS_PER_WEEK]
    hospitals = _hospitals_without_unit(ctx, rows)
    return LocalResult(units, week, coverage_by_hour(ctx, level, region_code, policy), hospitals)


def _hospitals_without_unit(ctx: Context, rows: np.ndarray) -> pd.DataFrame:
    cols = ["site_code", "name", "organisation", "postcode", "lat", "lon"]
    path = ctx.settings.build_dir / "hospitals.parquet"
    if not path.exists():
        return pd.DataFrame(columns=cols)
    key = ("hospitals",)
    if key not in ctx._cache:
        h = pd.read_parquet(path)
        h = h.reset_index(drop=True)
        h["area_index"] = _nearest_area_index(
            pd.to_numeric(h["lat"], errors="coerce").to_numpy(float),
            pd.to_numeric(h["lon"], errors="coerce").to_numpy(float), ctx.demand,
        )
        ctx._cache[key] = h
    h = ctx._cache[key]
    inside = h[h["area_index"].isin(rows)]
    site_codes = set(ctx.units.get("site_code", pd.Series(dtype=str)).dropna().astype(str))
    postcodes = set(ctx.units.get("postcode", pd.Series(dtype=str)).dropna().astype(str))
    no_unit = ~(inside["site_code"].astype(str).isin(site_codes) | inside["postcode"].astype(str).isin(postcodes))
    return inside.loc[no_unit, [c for c in cols if c in inside.columns]].reset_index(drop=True)


# --------------------------------------------------------------------------- nearest


@dataclass
class NearestResult:
    """Answer to "where can I go from this postcode?".

    Attributes
    ----------
    origin : dict
        ``postcode, lat, lon, precision, area`` (and ``when``: the UK local time used).
    units : pandas.DataFrame
        Ordered by minutes (NaN last): ``unit_id, unit_name, hospital, state
        (open/closed/unknown at that time), next_opening (ISO, UK local; None when no definite
        opening within 21 days), minutes, km, engine, approximate, phone, self_referral,
        min_weeks, max_weeks, weeks_unknown, access_notes, source_url, source_seen, lat, lon,
        opening_hours, hours_status, hours_kind`` (what the hours describe: ``door`` /
        ``walk-in`` / ``scan`` / ``phone triage``; ``""`` = not stated) and ``out_of_hours``
        (the directory's text on where to go when the unit is closed; ``""`` = none).
    excluded : dict
        Counts of units left out: ``no_site`` (not mappable), ``self_referral``, ``weeks``.
    caption : str
        One line for users on what the travel figures are: when any returned unit's time is
        the straight-line estimate, the travel layer's calibrated caption
        (:meth:`~epu_mapper.travel.estimate.EstimateParams.caption`: "approximate travel
        time …, typically within N minutes …"); else the road-routing caption; ``""`` when
        no unit is returned.
    """

    origin: dict
    units: pd.DataFrame
    excluded: dict
    caption: str = ""


_NEAREST_COLS = [
    "unit_id", "unit_name", "hospital", "state", "next_opening", "minutes", "km", "engine",
    "approximate", "phone", "self_referral", "min_weeks", "max_weeks", "weeks_unknown",
    "access_notes", "source_url", "source_seen", "lat", "lon", "opening_hours", "hours_status",
    "hours_kind", "out_of_hours",
]
#: Directory text columns a result carries; an older directory without them reads as unknown.
_NEAREST_TEXT_COLS = ("hours_kind", "out_of_hours")


def _lookup_postcode(ctx: Context, postcode: str) -> dict:
    from epu_mapper import postcodes as pcs

    d = pcs.lookup_postcode(postcode, settings=ctx.settings).to_dict()
    d["area"] = d.get("area_code")
    return d


def nearest(
    ctx: Context,
    postcode: str,
    at: datetime | str | None = None,
    self_referral: bool = False,
    weeks: float | None = None,
    limit: int | None = 10,
) -> NearestResult:
    """Units ordered by travel time from a postcode, with their state at a time.

    Parameters
    ----------
    postcode : str
        Any UK postcode (the postcodes module normalises and places it).
    at : datetime or str, optional
        Default now; naive = UK local.
    self_referral : bool
        Keep only units that accept self-referral (``yes``; ``conditional`` is left out).
    weeks : float, optional
        Gestation in weeks; units whose known limits exclude it are left out, units with an
        unknown limit are kept with ``weeks_unknown`` True.
    limit : int or None
        Number of units returned (None = all).

    Raises
    ------
    PostcodeError
        From the postcodes module when the postcode is malformed or unknown.
    """
    from epu_mapper.travel import from_point

    if weeks is not None and not (0 <= float(weeks) <= 45):
        raise CoverageArgumentError(f"gestation weeks must be between 0 and 45, got {weeks}")
    if limit is not None and int(limit) < 1:
        raise CoverageArgumentError("limit must be at least 1")
    when = parse_when(at)
    origin = _lookup_postcode(ctx, postcode)
    mapped = ctx.mapped
    keep_sr, _ = cov.unit_filter(
        mapped["self_referral"], mapped["min_weeks"], mapped["max_weeks"],
        require_self_referral=self_referral,
    )
    keep_wk, weeks_unknown = cov.unit_filter(
        mapped["self_referral"], mapped["min_weeks"], mapped["max_weeks"], weeks=weeks
    )
    keep = keep_sr & keep_wk
    tp = from_point(float(origin["lat"]), float(origin["lon"]), mapped, settings=ctx.settings,
                    origin_nation=origin.get("nation") or origin.get("regions", {}).get("nation"))
    states = hrs.states_at(mapped, when)
    df = mapped.copy()
    for col in _NEAREST_TEXT_COLS:
        df[col] = df[col].fillna("").astype(str) if col in df.columns else ""
    df["minutes"] = tp["minutes"].to_numpy(dtype=float)
    df["km"] = tp["km"].to_numpy(dtype=float)
    df["engine"] = tp["engine"].to_numpy()
    df["approximate"] = tp["approximate"].to_numpy(dtype=bool)
    df["state"] = pd.Series(states).map(hrs.STATE_NAMES).to_numpy()
    df["weeks_unknown"] = weeks_unknown
    # A unit with no travel time (e.g. across the Irish Sea) is not an option; it is counted.
    reachable = np.isfinite(df["minutes"].to_numpy(dtype=float))
    df = df[keep & reachable].sort_values(["minutes", "unit_id"], kind="stable")
    if limit is not None:
        df = df.head(int(limit))
    df["next_opening"] = pd.Series(
        [
            _iso(hrs.next_opening(h, when, n)) if s != "open" else when.isoformat(timespec="minutes")
            for h, n, s in zip(df["opening_hours"], df["nation"], df["state"], strict=True)
        ],
        index=df.index,
        dtype=object,
    )
    origin["when"] = when.isoformat(timespec="minutes")
    excluded = {
        "no_site": int((~ctx.units["mappable"].astype(bool)).sum()),
        "self_referral": int((~keep_sr).sum()),
        "weeks": int((keep_sr & ~keep_wk).sum()),
        "unreachable": int((keep & ~reachable).sum()),
    }
    return NearestResult(origin, df[_NEAREST_COLS].reset_index(drop=True), excluded,
                         caption=_travel_caption(df, tp))


def _travel_caption(shown: pd.DataFrame, tp: pd.DataFrame) -> str:
    """What the travel figures of the shown units are (see :attr:`NearestResult.caption`)."""
    from epu_mapper.travel import CALIBRATED

    if shown.empty:
        return ""
    if bool(shown["approximate"].any()):
        return CALIBRATED.caption()
    return str(tp.attrs.get("caption") or "road travel time by car (OSRM)")


def _iso(x: datetime | None) -> str | None:
    return None if x is None else x.replace(tzinfo=None).isoformat(timespec="minutes")


# --------------------------------------------------------------------------- what-if


@dataclass
class WhatIfResult:
    """Effect of changing units' hours on the population within reach (60 min by default).

    Attributes
    ----------
    changes : pandas.DataFrame
        ``unit_id, unit_name, hours_before, hours_after``.
    by_hour : pandas.DataFrame
        One row per standard slot: ``hour_of_week`` (0…191; 168+ = bank-holiday day), ``kind,
        label, band, before_weight, after_weight, before_pct, after_pct, newly_covered``
        (weight newly within reach), ``no_longer_covered``.
    by_region : pandas.DataFrame
        At ``level``: ``region_code, region_name, weight, before_pct, after_pct`` (percent of
        population-hours of the typical week within reach), ``newly_covered`` (population-hours
        per typical week gained), ``no_longer_covered``, ``peak_newly_covered`` (largest weight
        newly within reach in any one hour of the week, bank-holiday day included).
    by_region_hour : pandas.DataFrame
        Sparse long table of gains: ``region_code, region_name, hour_of_week, newly_covered``.
    totals : dict
        ``person_hours_week_gained``, ``person_hours_week_lost``, ``person_hours_bank_holiday_gained``,
        ``population_newly_within_any_hour``, ``peak_newly_covered``, ``areas_affected``.
    level, policy : str
    """

    changes: pd.DataFrame
    by_hour: pd.DataFrame
    by_region: pd.DataFrame
    by_region_hour: pd.DataFrame
    totals: dict
    level: str
    policy: str


def _unit_index(ctx: Context, unit_id: str) -> int:
    ids = ctx.mapped["unit_id"].astype(str)
    hit = np.flatnonzero(ids.to_numpy() == str(unit_id))
    if hit.size:
        return int(hit[0])
    if str(unit_id) in set(ctx.units["unit_id"].astype(str)):
        raise CoverageArgumentError(
            f"unit {unit_id!r} has no site coordinates, so it cannot change travel coverage"
        )
    raise CoverageArgumentError(f"no unit with id {unit_id!r} in the directory (see `epu-mapper units list`)")


def _states_for(hours_strings: list[str], nations: list[str]) -> np.ndarray:
    return np.hstack([hrs.week_states_for(hours_strings, nations),
                      hrs.bank_holiday_states_for(hours_strings, nations)]).astype(np.int8)


def _checked_hours(text: str, what: str) -> str:
    msg = hrs.check_hours(text) if str(text).strip() else "empty opening hours"
    if msg:
        raise CoverageArgumentError(f"{what}: {msg}")
    return str(text).strip()


def whatif(
    ctx: Context,
    changes: dict[str, str],
    policy: str = "exclude",
    level: str = "nation",
    mode: str = "add",
    weight: str = "women",
) -> WhatIfResult:
    """Population newly within reach when some units' hours change.

    Parameters
    ----------
    changes : dict
        ``{unit_id: opening_hours}``.
    policy : {"exclude", "weekday", "always"}
        Applied to the unknown hours before and after.
    level : str
        Region level of ``by_region``.
    mode : {"add", "replace"}
        ``add`` (default) overlays the given hours on the unit's existing hours
        (:func:`hours.combine_hours`, e.g. ``"Sa,Su 09:00-17:00"``); ``replace`` uses them as the
        unit's new hours.
    weight : {"women", "population"}
        ``women``: ``demand.weight`` (women 15–44; Northern Ireland all ages, the only figure
        available there); ``population``: all-ages population everywhere.
    """
    check_policy(policy)
    ctx.weight_vector(weight)
    check_level(level)
    if mode not in ("add", "replace"):
        raise CoverageArgumentError(f"mode must be 'add' or 'replace', got {mode!r}")
    if not changes:
        raise CoverageArgumentError("no change given: name at least one unit and its hours")
    idx, before_h, after_h = [], [], []
    for uid, text in changes.items():
        i = _unit_index(ctx, uid)
        text = _checked_hours(text, f"hours for {uid}")
        old = ctx.mapped.at[i, "opening_hours"]
        old = "" if pd.isna(old) else str(old)
        try:
            new = hrs.combine_hours(old or None, text) if mode == "add" else text
        except hrs.HoursError as exc:
            raise CoverageArgumentError(f"hours for {uid}: {exc}") from None
        idx.append(i), before_h.append(old), after_h.append(new)
    nations = ctx.mapped["nation"].astype(str).to_numpy()[idx].tolist()
    states_after = ctx.states.copy()
    states_after[idx] = _states_for(after_h, nations)
    before = ctx.open_mask(policy)
    after = cov.open_mask(states_after, policy)
    core = sc.whatif_core(ctx.reach, before, after)
    return _whatif_result(ctx, core, policy, level, idx, before_h, after_h, weight)


def _whatif_result(
    ctx, core: sc.WhatIfCore, policy, level, idx, before_h, after_h, weight="women"
) -> WhatIfResult:
    w = ctx.weight_vector(weight)
    wr = w[core.rows]
    gained = wr @ core.gained if core.rows.size else np.zeros(cov.N_SLOTS)
    lost = wr @ core.lost if core.rows.size else np.zeros(cov.N_SLOTS)
    key = ("before_weight", policy, weight)
    if key not in ctx._cache:
        within_before = ctx.nearest_week(policy).minutes <= ctx.reach_minutes
        ctx._cache[key] = w @ within_before
    before_w = ctx._cache[key]
    total = w.sum()
    slots = cov.slot_table()
    by_hour = pd.DataFrame(
        {
            "hour_of_week": slots["slot"], "kind": slots["kind"], "label": slots["label"],
            "band": slots["band"], "before_weight": before_w, "after_weight": before_w + gained - lost,
        }
    )
    by_hour["before_pct"] = 100 * by_hour["before_weight"] / total
    by_hour["after_pct"] = 100 * by_hour["after_weight"] / total
    by_hour["newly_covered"] = gained
    by_hour["no_longer_covered"] = lost
    # regions
    g, uniq = ctx.groups(level)
    reg = _region_frame(ctx, level)[["region_code", "region_name", "weight", "population"]]
    if weight == "population":
        reg["weight"] = reg["population"]
    reg = reg.drop(columns="population")
    base_reg = ctx.week_within_by_region(policy, level, weight)  # (n_groups, 192)
    gr = g[core.rows]
    hit = core.gained.any(axis=1)
    gain_reg = cov._group_sums(core.gained[hit] * wr[hit, None], gr[hit], len(uniq))
    hit = core.lost.any(axis=1)
    lost_reg = cov._group_sums(core.lost[hit] * wr[hit, None], gr[hit], len(uniq))
    wk = slice(0, cov.HOURS_PER_WEEK)
    denom = reg["weight"].to_numpy() * cov.HOURS_PER_WEEK
    with np.errstate(invalid="ignore", divide="ignore"):
        reg["before_pct"] = 100 * base_reg[:, wk].sum(axis=1) / denom
        reg["after_pct"] = 100 * (base_reg[:, wk].sum(axis=1) + gain_reg[:, wk].sum(axis=1)
                                  - lost_reg[:, wk].sum(axis=1)) / denom
    reg["newly_covered"] = gain_reg[:, wk].sum(axis=1)
    reg["no_longer_covered"] = lost_reg[:, wk].sum(axis=1)
    reg["peak_newly_covered"] = gain_reg.max(axis=1) if gain_reg.size else 0.0
    gi, si = np.nonzero(gain_reg > 0)
    by_region_hour = pd.DataFrame(
        {
            "region_code": uniq[gi].astype(str),
            "region_name": reg["region_name"].to_numpy()[gi],
            "hour_of_week": si,
            "newly_covered": gain_reg[gi, si],
        }
    )
    changes = pd.DataFrame(
        {
            "unit_id": ctx.mapped["unit_id"].to_numpy()[idx],
            "unit_name": ctx.mapped["unit_name"].to_numpy()[idx],
            "hours_before": before_h,
            "hours_after": after_h,
        }
    )
    totals = {
        "person_hours_week_gained": float(gained[wk].sum()),
        "person_hours_week_lost": float(lost[wk].sum()),
        "person_hours_bank_holiday_gained": float(gained[cov.HOURS_PER_WEEK:].sum()),
        "population_newly_within_any_hour": float(wr[core.gained.any(axis=1)].sum()) if core.rows.size else 0.0,
        "peak_newly_covered": float(gained.max()) if gained.size else 0.0,
        "areas_affected": int(core.rows.size),
    }
    totals["weight"] = weight
    return WhatIfResult(changes, by_hour, reg, by_region_hour, totals, level, policy)


# --------------------------------------------------------------------------- ranking


def rank(
    ctx: Context,
    k: int = 10,
    hours: str = DEFAULT_EXTENSION,
    policy: str = "exclude",
    weight: str = "women",
) -> pd.DataFrame:
    """Greedy ranking of the ``k`` units whose extension brings the most women within reach.

    Each unit's extension is ``hours`` added to its existing hours (:func:`hours.combine_hours`).
    The objective is population-hours of the typical week (168 h) with an open unit within
    reach; each step picks the unit with the largest marginal gain given the units already
    picked. Units without site coordinates cannot be ranked. ``weight`` as in :func:`whatif`:
    with the default ``women``, Northern Ireland areas count all ages (no female 15–44 figure
    exists there), which favours NI units; ``population`` compares all nations on all ages.

    Returns
    -------
    pandas.DataFrame
        ``step, unit_id, unit_name, hospital, nation, hours_before, hours_after,
        gain_person_hours, gain_population, cumulative_person_hours, hours_added``.
        Fewer than ``k`` rows when no further unit adds anything.
    """
    check_policy(policy)
    w = ctx.weight_vector(weight)
    try:
        k = int(k)
    except (TypeError, ValueError):
        raise CoverageArgumentError(f"k must be a whole number, got {k!r}") from None
    if k < 1:
        raise CoverageArgumentError("k must be at least 1")
    extra = _checked_hours(hours, "extension hours")
    key = ("extended", extra)
    if key not in ctx._cache:
        old = [("" if pd.isna(h) else str(h)) for h in ctx.mapped["opening_hours"]]
        try:
            new = [hrs.combine_hours(h or None, extra) for h in old]
        except hrs.HoursError as exc:
            raise CoverageArgumentError(f"extension hours: {exc}") from None
        ctx._cache[key] = (old, new, _states_for(new, ctx.mapped["nation"].astype(str).tolist()))
    old, new, ext_states = ctx._cache[key]
    ranked = sc.greedy_rank(
        ctx.reach, ctx.open_mask(policy), cov.open_mask(ext_states, policy), w, k=k,
        slots=np.arange(cov.HOURS_PER_WEEK),
    )
    u = ranked["unit"].to_numpy()
    m = ctx.mapped
    out = pd.DataFrame(
        {
            "step": ranked["step"].to_numpy(),
            "unit_id": m["unit_id"].to_numpy()[u],
            "unit_name": m["unit_name"].to_numpy()[u],
            "hospital": m["hospital"].to_numpy()[u],
            "nation": m["nation"].to_numpy()[u],
            "hours_before": np.asarray(old, dtype=object)[u],
            "hours_after": np.asarray(new, dtype=object)[u],
        }
    )
    for c in ("gain_person_hours", "gain_population", "cumulative_person_hours", "hours_added"):
        out[c] = ranked[c].to_numpy()
    out.attrs.update(hours=extra, policy=policy, reach_minutes=ctx.reach_minutes, weight=weight)
    return out


# --------------------------------------------------------------------------- provenance & boundaries


def boundaries(level: str, settings: Settings | None = None) -> dict:
    """The simplified GeoJSON of a level (``build/boundaries/<level>.geojson``)."""
    settings = settings or get_settings()
    path = settings.build_dir / "boundaries" / f"{check_level(level)}.geojson"
    if not path.exists():
        raise BuildMissingError(f"The {level} boundaries", path, "epu-mapper data build")
    return json.loads(path.read_text(encoding="utf-8"))


def provenance(ctx: Context) -> dict:
    """What the figures rest on: build manifest, travel engine, weights and unit counts."""
    m = ctx.matrix
    kinds = ctx.demand.groupby("weight_kind")["weight"].agg(["count", "sum"])
    notes = ctx.demand.drop_duplicates("weight_kind").set_index("weight_kind").get("weight_note")
    return {
        "manifest": ctx.manifest,
        "engine": getattr(m, "engine", None),
        "approximate": bool(getattr(m, "approximate", False)),
        "typical_error_min": getattr(m, "typical_error_min", None),
        "travel_provenance": getattr(m, "provenance", {}),
        "weights": {
            k: {"areas": int(r["count"]), "weight": float(r["sum"]),
                "note": None if notes is None else str(notes.get(k, ""))}
            for k, r in kinds.iterrows()
        },
        "units": {
            "directory": len(ctx.units),
            "mapped": len(ctx.mapped),
            "unmapped": int(len(ctx.units) - len(ctx.mapped)),
            "hours_status": {str(k): int(v) for k, v in ctx.mapped["hours_status"].value_counts().items()},
        },
        "reach_minutes": ctx.reach_minutes,
        "generated": _time.strftime("%Y-%m-%dT%H:%M:%SZ", _time.gmtime()),
    }
