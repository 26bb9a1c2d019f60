"""Display helpers: plain-text formatting of results, hour-of-week presets, metric specs.

Pure functions (no Streamlit). Everything that comes from data (unit names, notes,
URLs) is treated as untrusted text: :func:`md_escape` neutralises Markdown and
HTML before it reaches ``st.markdown``; tables use ``st.dataframe`` (no HTML).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from epu_mapper.levels import LEVEL_LABELS

DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

STATE_WORDS = {"open": "Open now", "closed": "Closed", "unknown": "Hours unknown"}
STATE_ICONS = {"open": "●", "closed": "○", "unknown": "?"}

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:])")


def md_escape(text: Any) -> str:
    """Escape Markdown/HTML so data prints as literal text in ``st.markdown``.

    ``None``/NaN become an empty string.
    """
    if text is None or (isinstance(text, float) and math.isnan(text)):
        return ""
    s = str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MD_SPECIAL.sub(r"\\\1", s).replace("\n", " ")


def is_missing(value: Any) -> bool:
    """True for ``None``, NaN, NaT, pd.NA and blank strings."""
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def fmt_minutes(minutes: Any, approximate: bool = False) -> str:
    """``"23 min"``, ``"about 23 min (estimate)"`` or ``"no route"`` for NaN/inf."""
    if is_missing(minutes) or not math.isfinite(float(minutes)):
        return "no route"
    m = round(float(minutes))
    return f"about {m} min (estimate)" if approximate else f"{m} min"


def fmt_km(km: Any, approximate: bool = False) -> str:
    """``"12.3 km"`` (``"about …"`` when estimated); empty when unknown."""
    if is_missing(km) or not math.isfinite(float(km)):
        return ""
    return f"about {float(km):.1f} km" if approximate else f"{float(km):.1f} km"


def fmt_state(state: Any) -> str:
    """Plain label for ``open`` / ``closed`` / ``unknown``."""
    return STATE_WORDS.get(str(state), "Hours unknown")


def fmt_when(dt: Any, now: datetime | None = None) -> str:
    """A next-opening time relative to ``now``.

    ``"today 08:00"``, ``"tomorrow 09:00"``, ``"Mon 3 Jun 08:00"``; ``"not known"`` when missing.
    """
    if is_missing(dt):
        return "not known"
    ts = pd.Timestamp(dt)
    if ts.tzinfo is not None:
        ts = ts.tz_convert("Europe/London").tz_localize(None)
    d = ts.to_pydatetime()
    if now is not None:
        if d.date() == now.date():
            return f"today {d:%H:%M}"
        if d.date() == (now + timedelta(days=1)).date():
            return f"tomorrow {d:%H:%M}"
    return f"{DAYS[d.weekday()]} {d.day} {d:%b %H:%M}"


def fmt_pct(value: Any, digits: int = 0) -> str:
    """``"87%"``; ``"no data"`` for NaN."""
    if is_missing(value):
        return "no data"
    return f"{float(value):.{digits}f}%"


def fmt_weeks(min_weeks: Any, max_weeks: Any) -> str:
    """Gestation served, e.g. ``"6–16 weeks"``, ``"up to 20 weeks"``, ``"not stated"``."""
    lo = None if is_missing(min_weeks) else int(min_weeks)
    hi = None if is_missing(max_weeks) else int(max_weeks)
    if lo is None and hi is None:
        return "not stated"
    if lo is None:
        return f"up to {hi} weeks"
    if hi is None:
        return f"from {lo} weeks"
    return f"{lo}–{hi} weeks"


SELF_REFERRAL_WORDS = {
    "yes": "Yes, you can self-refer",
    "no": "No: referral by GP, A&E or midwife",
    "conditional": "Only in some cases (see notes)",
    "unknown": "Not known",
}


def fmt_self_referral(value: Any) -> str:
    """Plain words for the ``self_referral`` column."""
    return SELF_REFERRAL_WORDS.get(str(value).strip().lower(), "Not known")


#: What the published hours of a unit describe (``hours_kind``), in plain words.
HOURS_KIND_WORDS = {
    "door": "Opening hours",
    "walk-in": "Walk-in hours",
    "scan": "Scan appointment hours",
    "phone triage": "Phone line hours",
}

#: Kinds whose hours are not the hours the unit's door is open.
_NOT_DOOR_NOTES = {
    "scan": "These are scan appointment hours, not the hours the unit's door is open.",
    "phone triage": "These are the hours of the unit's phone line (assessment by phone), not "
                    "the hours its door is open.",
}


def fmt_hours_kind(value: Any) -> str:
    """Short label for the ``hours_kind`` column (``"Not stated"`` when empty or unknown)."""
    if is_missing(value):
        return "Not stated"
    return HOURS_KIND_WORDS.get(str(value).strip().lower(), "Not stated")


def hours_kind_note(value: Any) -> str:
    """A warning sentence when the hours are scan or phone-line hours, not door hours; else ``""``."""
    if is_missing(value):
        return ""
    return _NOT_DOOR_NOTES.get(str(value).strip().lower(), "")


def when_closed_text(state: Any, out_of_hours: Any) -> str:
    """The directory's out-of-hours pathway for a unit that is closed or of unknown hours.

    ``""`` when it is open or no pathway is published. Plain text: escape it before Markdown.
    """
    if str(state) == "open" or is_missing(out_of_hours):
        return ""
    return str(out_of_hours).strip()


def fmt_source(url: Any, seen: Any) -> str:
    """``"<url> (read 2024-05)"`` / ``"<url> (date read not recorded)"``."""
    u = "" if is_missing(url) else str(url)
    s = "date read not recorded" if is_missing(seen) else f"read {seen}"
    return f"{u} ({s})" if u else f"no source ({s})"


# ---------------------------------------------------------------------------
# hour of week
# ---------------------------------------------------------------------------


def hour_of_week(dt: datetime) -> int:
    """``day * 24 + hour`` (Monday 0), UK local time."""
    return dt.weekday() * 24 + dt.hour


def how_label(h: int) -> str:
    """``"Wed 11:00"`` for an hour-of-week index."""
    h = int(h) % 168
    return f"{DAYS[h // 24]} {h % 24:02d}:00"


@dataclass(frozen=True)
class Preset:
    """A named moment of the week; ``bank_holiday`` uses a bank-holiday day at ``hour``."""

    label: str
    hour_of_week: int
    bank_holiday: bool = False


#: The issue's presets. "Weekday" is a Wednesday (no Monday/Friday special hours).
PRESETS: tuple[Preset, ...] = (
    Preset("Weekday 11:00", 2 * 24 + 11),
    Preset("Weekday 20:00", 2 * 24 + 20),
    Preset("Saturday 10:00", 5 * 24 + 10),
    Preset("Sunday 03:00", 6 * 24 + 3),
    Preset("Bank holiday 11:00", 0 * 24 + 11, bank_holiday=True),
)


def bank_holiday_file_part(bank_holiday: bool | str) -> str:
    """File-name part for a bank-holiday scope.

    ``""`` (none), ``"_bh"`` (every nation) or ``"_bh_northern_ireland"`` (one nation only).
    """
    if bank_holiday is True:
        return "_bh"
    if isinstance(bank_holiday, str) and bank_holiday.strip():
        return "_bh_" + bank_holiday.strip().lower().replace(" ", "_")
    return ""


@dataclass(frozen=True)
class Metric:
    """A choropleth metric: candidate ``gaps`` columns (first present wins), label, bins."""

    key: str
    columns: tuple[str, ...]
    label: str
    edges: tuple[float, ...]
    higher_is_better: bool
    fmt: str
    unit: str = ""
    hour_dependent: bool = True


METRICS: tuple[Metric, ...] = (
    Metric("pct60", ("pct_within_60",), "% within 60 min of an open unit",
           (0, 20, 40, 60, 80, 90, 100), True, "{:.0f}", "%"),
    Metric("median", ("median_minutes",), "Median minutes to the nearest open unit",
           (0, 20, 30, 45, 60, 90, math.inf), False, "{:.0f}", " min"),
    Metric("hours", ("hours_per_week_within", "hours_covered"), "Hours per week with an open unit within 60 min",
           (0, 20, 40, 60, 84, 120, 168), True, "{:.0f}", " h", hour_dependent=False),
    Metric("nice", ("nice_7day_pct", "nice_7day"), "NICE 7-day test: % with an open unit within 60 min every day",
           (0, 20, 40, 60, 80, 90, 100), True, "{:.0f}", "%", hour_dependent=False),
)
METRIC_BY_KEY = {m.key: m for m in METRICS}

#: Unknown-hours policies of the api (``range`` = both bounds, regional statistics only).
POLICIES = {
    "exclude": "Unknown hours count as closed (a lower bound)",
    "weekday": "Unknown hours assumed Mon–Fri 09:00–17:00",
    "always": "Unknown hours count as open (an upper bound)",
}

RANGE_POLICY = {"range": "Show the range: unknown as closed … unknown as open"}

#: Region level -> label (the one list: :mod:`epu_mapper.levels`).
LEVELS = LEVEL_LABELS


def metric_values(table: pd.DataFrame, metric: Metric, suffix: str = "") -> pd.Series:
    """The metric column as floats (booleans become 0/100); NaN when absent.

    ``suffix`` picks one bound of a ``policy="range"`` table (``"_exclude"``/``"_always"``).
    """
    name = metric_column(table, metric, suffix)
    if name is None:
        return pd.Series(np.nan, index=table.index, dtype=float)
    col = table[name]
    if col.dtype == bool or str(col.dtype) == "boolean":
        return col.astype("float") * 100.0
    return pd.to_numeric(col, errors="coerce").astype(float)


def metric_column(table: pd.DataFrame, metric: Metric, suffix: str = "") -> str | None:
    """The first of ``metric.columns`` (+ ``suffix``) present in ``table`` (``None`` if none)."""
    return next((c + suffix for c in metric.columns if c + suffix in table.columns), None)


def fmt_metric(value: Any, metric: Metric) -> str:
    """A metric value with its unit, ``"no data"`` for NaN, ``"no open unit routed"`` for inf."""
    if is_missing(value):
        return "no data"
    if not math.isfinite(float(value)):
        return "no open unit routed"
    return metric.fmt.format(float(value)) + metric.unit


def stale(seen: Any, today: date) -> bool:
    """True when ``source_seen`` needs re-checking.

    Missing or older than 12 months (:func:`epu_mapper.staleness.is_stale`, the one rule).
    """
    from epu_mapper.staleness import is_stale

    return is_stale(None if is_missing(seen) else seen, today)


_GENERIC = re.compile(r"^(early pregnancy|epau|epu|emergency gyn)", re.IGNORECASE)


def unit_label(unit_name: Any, hospital: Any) -> str:
    """A distinguishing label.

    Many units share a generic name ("Early Pregnancy Unit"), so the hospital comes first when it is
    known: ``"Hinchingbrooke Hospital — EPAU"``.
    """
    name = "" if is_missing(unit_name) else str(unit_name).strip()
    hosp = "" if is_missing(hospital) else str(hospital).strip()
    if hosp and hosp.lower() not in name.lower():
        return f"{hosp} — {name}" if name else hosp
    return name or hosp or "unnamed unit"


def unit_labels(units: pd.DataFrame) -> pd.Series:
    """:func:`unit_label` for each row (columns ``unit_name`` and optional ``hospital``)."""
    hosp = units["hospital"] if "hospital" in units else pd.Series("", index=units.index)
    return pd.Series([unit_label(n, h) for n, h in zip(units["unit_name"], hosp, strict=True)],
                     index=units.index, dtype=object)


def safe_url(url: Any) -> str:
    """``url`` when it is a plain ``http(s)://`` address, else ``""``.

    So a ``javascript:`` or ``data:`` link from the data is never shown.
    """
    if is_missing(url):
        return ""
    u = str(url).strip()
    return u if re.match(r"^https?://[^\s<>\"']+$", u, re.IGNORECASE) else ""


def position_note(origin: Mapping[str, Any]) -> str:
    """How roughly a postcode was placed, for the patient page (``""`` when placed exactly).

    Parameters
    ----------
    origin : mapping
        :attr:`epu_mapper.api.NearestResult.origin`: ``note`` (the postcode module's own
        explanation, ``""`` for an exact postcode) and ``precision`` (``unit``, ``sector``,
        ``district`` or ``ni_sdz``).

    Returns
    -------
    str
        Plain text: escape it before Markdown.
    """
    note, precision = origin.get("note"), origin.get("precision")
    if not is_missing(note):
        return f"Approximate position: {str(note).strip()}"
    if not is_missing(precision) and str(precision) not in {"postcode", "unit"}:
        return f"Approximate position (located by {precision})."
    return ""


def excluded_note(excluded: Mapping[str, int]) -> str:
    """One sentence on the units a patient answer left out, by reason (``""`` when none).

    Parameters
    ----------
    excluded : mapping
        :attr:`epu_mapper.api.NearestResult.excluded`: counts ``self_referral``, ``weeks``,
        ``unreachable`` and ``no_site``.

    Returns
    -------
    str
        Plain text, e.g. ``"3 units left out (no self-referral); 2 cannot be reached by road
        from here."``.
    """
    parts = []
    if excluded.get("self_referral"):
        parts.append(f"{excluded['self_referral']} units left out (no self-referral)")
    if excluded.get("weeks"):
        parts.append(f"{excluded['weeks']} left out (weeks pregnant outside their limits)")
    if excluded.get("unreachable"):
        parts.append(f"{excluded['unreachable']} cannot be reached by road from here")
    if excluded.get("no_site"):
        parts.append(f"{excluded['no_site']} directory entries have no known site and cannot "
                     "be placed")
    return "; ".join(parts) + "." if parts else ""


def local_data_gaps(units: pd.DataFrame, today: date) -> dict[str, list[str]]:
    """The units of a region whose information is missing or stale, by kind.

    Parameters
    ----------
    units : pandas.DataFrame
        :attr:`epu_mapper.api.LocalResult.units`: ``unit_name, hospital, hours_status,
        source_seen``.
    today : datetime.date
        The day staleness is judged on (:func:`stale`).

    Returns
    -------
    dict
        ``{"Hours not published": [...], "Hours partly known": [...], "Undated or old source":
        [...]}``: unit labels (:func:`unit_labels`), in the units' order.
    """
    from epu_mapper.staleness import needs_rechecking

    labels = unit_labels(units)
    status = units["hours_status"].astype(str)
    old = needs_rechecking(units["source_seen"], today)
    return {
        "Hours not published": labels[status == "unknown"].tolist(),
        "Hours partly known": labels[status == "partial"].tolist(),
        "Undated or old source": labels[old].tolist(),
    }


def local_units_table(units: pd.DataFrame, today: date) -> pd.DataFrame:
    """The Local provision page's table of a region's units: plain text columns only.

    Parameters
    ----------
    units : pandas.DataFrame
        :attr:`epu_mapper.api.LocalResult.units`: ``unit_name, hospital, in_region,
        opening_hours, hours_status, hours_kind, self_referral, phone, source_url, source_seen``.
    today : datetime.date
        The day staleness is judged on (:func:`stale`).

    Returns
    -------
    pandas.DataFrame
        ``unit, where, hospital, opening hours, hours, what the hours describe, self-referral,
        phone, source, source read, stale or undated``.
    """
    from epu_mapper.staleness import needs_rechecking

    return pd.DataFrame({
        "unit": unit_labels(units),
        "where": units["in_region"].map({True: "in region", False: "nearest for some areas"}),
        "hospital": units["hospital"].fillna(""),
        "opening hours": units["opening_hours"].fillna("").replace("", "not known"),
        "hours": units["hours_status"].astype(str),
        "what the hours describe": units["hours_kind"].fillna(""),
        "self-referral": units["self_referral"].map(fmt_self_referral),
        "phone": units["phone"].fillna(""),
        "source": units["source_url"].map(safe_url),
        "source read": units["source_seen"].fillna("").astype(str).replace("", "not recorded"),
        "stale or undated": needs_rechecking(units["source_seen"], today).map({True: "yes",
                                                                              False: ""}),
    })
