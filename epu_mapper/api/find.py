"""Where can I go from this postcode: :func:`nearest`."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import pandas as pd

from epu_mapper import coverage as cov
from epu_mapper import hours as hrs
from epu_mapper.api.args import CoverageArgumentError, check_weeks, parse_when
from epu_mapper.api.context import Context


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
    likely_sites : pandas.DataFrame
        The nearest acute hospitals with no directory record (an EPU there is likely, not
        known): ``site_id, name, organisation, nation, postcode, phone, evidence, minutes, km,
        engine, approximate, lat, lon`` (:mod:`epu_mapper.api.hospitals`).
    urgent : dict
        ``nation``, ``helpline`` (name, phone, when, source for her nation),
        ``emergency_number`` and ``a_and_e`` (the nearest acute hospital by travel time).
    nearer : dict or None
        A hospital nearer than the unit the answer sends her to (the nearest open unit, else
        the nearest listed), to be shown first; None when the listed unit is nearest.
    """

    origin: dict
    units: pd.DataFrame
    excluded: dict
    caption: str = ""
    likely_sites: pd.DataFrame = field(default_factory=pd.DataFrame)
    urgent: dict = field(default_factory=dict)
    nearer: dict | None = None


_NEAREST_COLS = [
    "unit_id", "unit_name", "hospital", "state", "next_opening", "minutes", "km", "engine",
    "approximate", "phone", "self_referral", "min_weeks", "max_weeks", "weeks_unknown",
    "access_notes", "source_url", "source_seen", "lat", "lon", "opening_hours", "hours_status",
    "hours_kind", "out_of_hours",
]
#: Directory text columns a result carries; an older directory without them reads as unknown.
_NEAREST_TEXT_COLS = ("hours_kind", "out_of_hours")
#: Directory columns a result reads from ``ctx.mapped`` (``nation`` for the hours' holidays).
_MAPPED_COLS = [
    "unit_id", "unit_name", "hospital", "phone", "self_referral", "min_weeks", "max_weeks",
    "access_notes", "source_url", "source_seen", "lat", "lon", "opening_hours", "hours_status",
    *_NEAREST_TEXT_COLS, "nation",
]


def _mapped_arrays(ctx: Context) -> dict[str, pd.api.extensions.ExtensionArray]:
    """:data:`_MAPPED_COLS` of ``ctx.mapped`` as arrays (cached; dtypes kept)."""
    key = ("mapped_arrays",)
    if key not in ctx._cache:
        m = ctx.mapped.reindex(columns=_MAPPED_COLS)
        for col in _NEAREST_TEXT_COLS:  # an older directory without them reads as unknown
            m[col] = m[col].astype(object).fillna("").astype(str)
        ctx._cache[key] = {col: m[col].array for col in _MAPPED_COLS}
    return ctx._cache[key]


def _unit_filters(
    ctx: Context, self_referral: bool, weeks: float | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(keep_self_referral, keep_weeks, weeks_unknown)`` over ``ctx.mapped`` (cached)."""
    key = ("unit_filters", bool(self_referral), weeks)
    if key not in ctx._cache:
        m = ctx.mapped
        keep_sr, _ = cov.unit_filter(m["self_referral"], m["min_weeks"], m["max_weeks"],
                                     require_self_referral=self_referral)
        keep_wk, weeks_unknown = cov.unit_filter(m["self_referral"], m["min_weeks"],
                                                 m["max_weeks"], weeks=weeks)
        ctx._cache[key] = (keep_sr, keep_wk, weeks_unknown)
    return ctx._cache[key]


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

    weeks = check_weeks(weeks)
    if limit is not None and int(limit) < 1:
        raise CoverageArgumentError("limit must be at least 1")
    when = parse_when(at)
    origin = _lookup_postcode(ctx, postcode)
    mapped = ctx.mapped
    keep_sr, keep_wk, weeks_unknown = _unit_filters(ctx, self_referral, weeks)
    keep = keep_sr & keep_wk
    tp = from_point(float(origin["lat"]), float(origin["lon"]), mapped, settings=ctx.settings,
                    origin_nation=origin.get("nation") or origin.get("regions", {}).get("nation"))
    minutes = tp["minutes"].to_numpy(dtype=float)
    # A unit with no travel time (e.g. across the Irish Sea) is not an option; it is counted.
    reachable = np.isfinite(minutes)
    rows = np.flatnonzero(keep & reachable)
    # nearest first; equal times by unit id (the order a sort on [minutes, unit_id] gives)
    rows = rows[np.lexsort((mapped["unit_id"].to_numpy(dtype=str)[rows], minutes[rows]))]
    if limit is not None:
        rows = rows[: int(limit)]
    cols = {col: arr[rows] for col, arr in _mapped_arrays(ctx).items()}
    # states of the shown units only: each is an opening-hours evaluation
    states = hrs.states_at(pd.DataFrame({c: cols[c] for c in ("opening_hours", "nation")}), when)
    state = [hrs.STATE_NAMES[int(c)] for c in states]
    now_iso = when.isoformat(timespec="minutes")
    next_opening = [
        _iso(hrs.next_opening(h, when, n)) if st != "open" else now_iso
        for h, n, st in zip(cols["opening_hours"], cols["nation"], state, strict=True)
    ]
    cols.update(
        minutes=minutes[rows], km=tp["km"].to_numpy(dtype=float)[rows],
        engine=tp["engine"].to_numpy()[rows], approximate=tp["approximate"].to_numpy(dtype=bool)[rows],
        state=np.array(state, dtype=object), weeks_unknown=weeks_unknown[rows],
        next_opening=pd.Series(next_opening, dtype=object),
    )
    df = pd.DataFrame({col: cols[col] for col in _NEAREST_COLS})  # one construction, no inserts
    origin["when"] = when.isoformat(timespec="minutes")
    excluded = {
        "no_site": int((~ctx.units["mappable"].astype(bool)).sum()),
        "self_referral": int((~keep_sr).sum()),
        "weeks": int((keep_sr & ~keep_wk).sum()),
        "unreachable": int((keep & ~reachable).sum()),
    }
    from epu_mapper.api.hospitals import patient_extras

    shown = df
    likely, urgent, nearer = patient_extras(ctx, origin, shown)
    return NearestResult(origin, shown, excluded, caption=_travel_caption(df, tp),
                         likely_sites=likely, urgent=urgent, nearer=nearer)


def _travel_caption(shown: pd.DataFrame, tp: pd.DataFrame) -> str:
    """What the travel figures of the shown units are (see :attr:`NearestResult.caption`)."""
    from epu_mapper.travel.caption import shown_caption

    return shown_caption(shown["engine"], tp.attrs.get("osm_timestamp"))


def _iso(x: datetime | None) -> str | None:
    return None if x is None else x.replace(tzinfo=None).isoformat(timespec="minutes")
