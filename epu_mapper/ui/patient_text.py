"""Patient-facing wording for the Find page (NHS.UK service-finder style), pure functions.

Status lines ("Open now, until 17:30" / "Closed, opens Monday 08:00" / "Hours not
published") are relative to the time the person asked about, not the real clock. Nothing
here speaks of data sources' quality or statistical areas: that stays on the About and
regional pages. Text is plain: escape it before Markdown.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

import pandas as pd

from epu_mapper import hours as hrs
from epu_mapper.ui.format import DAY_NAMES, is_missing

KM_PER_MILE = 1.609344
#: Units shown before "show more": the nearest few, plus any open unit within reach.
FEW = 3
REACH_MINUTES = 60
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December")


def _day_time(when: datetime, ref: datetime, is_now: bool) -> str:
    """``"08:00"`` words for a moment relative to the asked-about time ``ref``.

    For "now" queries the same day is "today", the next "tomorrow"; for a chosen time the
    weekday is named ("Monday 08:00"), with the date when it is a week or more away.
    """
    if is_now and when.date() == ref.date():
        return f"today {when:%H:%M}"
    if is_now and when.date() == (ref + timedelta(days=1)).date():
        return f"tomorrow {when:%H:%M}"
    if (when.date() - ref.date()).days >= 7:
        return f"{DAY_NAMES[when.weekday()]} {when.day} {MONTHS[when.month - 1]} {when:%H:%M}"
    return f"{DAY_NAMES[when.weekday()]} {when:%H:%M}"


def status_line(state: Any, opening_hours: Any, nation: Any, at: datetime,
                is_now: bool) -> str:
    """A unit's state in plain words, for the card.

    ``"Open now, until 17:30"``, ``"Closed, opens Monday 08:00"``, ``"Hours not published"``.

    Parameters
    ----------
    state : str
        ``open`` / ``closed`` / ``unknown`` at ``at`` (from ``api.nearest``).
    opening_hours : str
        The unit's OSM hours (empty = not published).
    nation : str
        The unit's nation (bank holidays).
    at : datetime
        The time asked about (naive UK local).
    is_now : bool
        True when ``at`` is the real current time ("Open now"; "today"/"tomorrow").
    """
    if is_missing(opening_hours):
        return "Hours not published"
    nation = str(nation) if not is_missing(nation) else "England"
    change = hrs.next_change(str(opening_hours), at, nation)
    state = str(state)
    if state == "open":
        head = "Open now" if is_now else "Open at that time"
        if change is None:
            return f"{head}, 24 hours"
        until = f"{change:%H:%M}" if change.date() == at.date() else _day_time(change, at, is_now)
        if until == "00:00":
            until = "midnight"
        return f"{head}, until {until}"
    if state == "closed":
        opening = hrs.next_opening(str(opening_hours), at, nation)
        if opening is None:
            return "Closed, no opening found in the next 3 weeks"
        return f"Closed, opens {_day_time(opening, at, is_now)}"
    return "Hours not known at this time: call before you go"


def expires_at(units: pd.DataFrame, at: datetime) -> datetime | None:
    """When the first of these units opens or closes after ``at``.

    ``None`` when none does within 3 weeks. A "now" answer is valid until then.

    Parameters
    ----------
    units : pandas.DataFrame
        Columns ``opening_hours`` and ``nation``.
    """
    changes = [hrs.next_change(str(h), at, str(n) if not is_missing(n) else "England")
               for h, n in zip(units["opening_hours"], units["nation"], strict=True)
               if not is_missing(h)]
    found = [c for c in changes if c is not None]
    return min(found) if found else None


def distance_text(km: Any, approximate: bool = False) -> str:
    """``"3.1 miles (5.0 km)"``; ``"about …"`` for straight-line estimates; ``""`` unknown."""
    if is_missing(km):
        return ""
    km = float(km)
    miles = km / KM_PER_MILE
    text = f"{miles:.1f} miles ({km:.1f} km)"
    return f"about {text}" if approximate else text


def travel_text(minutes: Any, approximate: bool = False) -> str:
    """``"20 minutes by car"`` / ``"about 20 minutes by car"``; ``""`` when unknown."""
    if is_missing(minutes) or float(minutes) != float(minutes) or float(minutes) == float("inf"):
        return ""
    m = max(1, round(float(minutes)))
    unit = "minute" if m == 1 else "minutes"
    return f"{'about ' if approximate else ''}{m} {unit} by car"


def tel_href(phone: Any) -> str | None:
    """``"tel:+441162584567"`` for a UK phone number as written in the directory.

    ``None`` when it has no usable number. Only digits (and a leading +) reach the link.
    """
    if is_missing(phone):
        return None
    first = re.split(r"[/;]|\bor\b|\bext", str(phone), flags=re.IGNORECASE)[0]
    digits = re.sub(r"[^\d+]", "", first)
    if digits.startswith("+44"):
        digits = "0" + digits[3:]
    digits = digits.replace("+", "")
    if not re.fullmatch(r"0\d{9,10}", digits):
        return None
    return "tel:+44" + digits[1:]


def phone_label(phone: Any) -> str:
    """The first number as written (``"0116 258 4567"``), for the call button."""
    if is_missing(phone):
        return ""
    return re.split(r"[/;]|\bor\b", str(phone))[0].strip()


def directions_url(from_lat: Any, from_lon: Any, lat: float, lon: float) -> str:
    """An OpenStreetMap directions link (by car) from the postcode to the unit."""
    dest = f"{float(lat):.5f},{float(lon):.5f}"
    if is_missing(from_lat) or is_missing(from_lon):
        return f"https://www.openstreetmap.org/?mlat={float(lat):.5f}&mlon={float(lon):.5f}"
    route = quote(f"{float(from_lat):.5f},{float(from_lon):.5f};{dest}", safe=",")
    return f"https://www.openstreetmap.org/directions?engine=fossgis_osrm_car&route={route}"


def referral_text(self_referral: Any) -> str:
    """Who can come, in plain words."""
    value = "" if is_missing(self_referral) else str(self_referral).strip().lower()
    return {
        "yes": "You can refer yourself: call the unit.",
        "no": "You need a referral from your GP, midwife or A&E.",
        "conditional": "You can refer yourself in some cases: call first to check.",
    }.get(value, "Call first to ask whether you need a referral.")


def weeks_text(min_weeks: Any, max_weeks: Any) -> str:
    """Which stage of pregnancy the unit sees, in plain words."""
    lo = None if is_missing(min_weeks) else int(min_weeks)
    hi = None if is_missing(max_weeks) else int(max_weeks)
    if lo is None and hi is None:
        return "Ask which weeks of pregnancy they see."
    if lo is None:
        return f"Sees you up to {hi} weeks pregnant."
    if hi is None:
        return f"Sees you from {lo} weeks pregnant."
    return f"Sees you from {lo} to {hi} weeks pregnant."


_NHS_SITE = re.compile(r"^https?://([^/]+\.)?(nhs\.uk|nhs\.scot|nhs\.wales|hscni\.net|"
                       r"wales\.nhs\.uk|scot\.nhs\.uk|gov\.scot|gov\.uk)(/|$)", re.IGNORECASE)


def _month_year(seen: Any) -> str:
    if is_missing(seen):
        return ""
    m = re.match(r"^(\d{4})(?:-(\d{1,2}))?", str(seen).strip())
    if not m:
        return ""
    if m.group(2) and 1 <= int(m.group(2)) <= 12:
        return f"in {MONTHS[int(m.group(2)) - 1]} {m.group(1)}"
    return f"in {m.group(1)}"


def confidence_line(opening_hours: Any, hours_status: Any, source_url: Any,
                    source_seen: Any) -> str:
    """How sure we are of the hours, in plain words.

    ``"Hours checked on an NHS website in March 2026."`` / ``"We could not find published hours."``.
    """
    if is_missing(opening_hours):
        return "We could not find published hours: call before you go."
    where = ("an NHS website" if not is_missing(source_url) and _NHS_SITE.match(str(source_url))
             else "a public web page")
    when = _month_year(source_seen)
    status = "" if is_missing(hours_status) else str(hours_status).strip().lower()
    if status == "verified":
        return f"Hours checked on {where}{' ' + when if when else ''}."
    return (f"Hours found on {where}{' ' + when if when else ''}, but not complete: "
            "call before you go.")


def pick_shown(units: pd.DataFrame, few: int = FEW, reach: float = REACH_MINUTES) -> pd.Series:
    """Which units to show before "show more".

    The ``few`` nearest, plus every open unit within ``reach`` minutes.

    Parameters
    ----------
    units : pandas.DataFrame
        Ordered by travel time; columns ``minutes`` and ``state``.

    Returns
    -------
    pandas.Series of bool
        True for the rows shown at first (same index as ``units``).
    """
    rank = pd.Series(range(len(units)), index=units.index)
    minutes = pd.to_numeric(units["minutes"], errors="coerce")
    return (rank < few) | ((units["state"] == "open") & (minutes <= reach))


def found_text(n: int) -> str:
    """The live-region announcement: ``"3 units found"``."""
    return f"{n} unit found" if n == 1 else f"{n} units found"
