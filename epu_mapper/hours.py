"""Opening hours: evaluation, UK bank holidays per nation, weekly grids.

Pure module (no files, no Streamlit). Opening hours are OpenStreetMap
``opening_hours`` strings (e.g. ``Mo-Fr 08:00-17:30; Sa,Su unknown; PH off``)
evaluated with `opening-hours-py`_; bank holidays come from `holidays`_
(``holidays.UK(subdiv=ENG|WLS|SCT|NIR)``), because each UK nation has its own.

States
------
``OPEN = 1``, ``CLOSED = 0``, ``UNKNOWN = -1`` (``int8``). ``unknown`` is a third
state, never folded into closed here (the coverage layer chooses a policy).

How bank holidays (``PH``) are evaluated
----------------------------------------
opening-hours-py only knows country-level holidays (and none for the UK nations),
so the ``PH`` selector is resolved here, per nation:

* on a date that is **not** a bank holiday in the unit's nation, ``PH`` is
  removed from every rule (a rule selecting only ``PH`` is dropped);
* on a date that **is** a bank holiday, ``PH`` is replaced by that date's weekday
  (``PH off`` on Monday 30 Nov 2026 becomes ``Mo off``), so the rule takes
  the usual OSM precedence: a later ``;`` rule replaces earlier rules for the
  days it selects. ``PH off`` written last therefore closes the whole day.

Times
-----
Every grid is in UK local **wall-clock** time (Europe/London). Hour-of-week index
``h = day * 24 + hour`` with day 0 = Monday. A cell holds the state at the
*start* of its slot (``HH:00`` for hourly grids). On the spring-forward Sunday
the 01:00 wall-clock hour does not exist; its cell still reports what the rule
says for 01:00 (the grid is about the sign on the door, not elapsed time). On the
autumn fall-back Sunday 01:00 happens twice; both occurrences have the same
state, shown once. Timezone-aware datetimes are converted to Europe/London
first; naive datetimes are taken as UK local time.

Limitations (documented, tested where it matters): a window that runs past
midnight out of a bank holiday into a normal day (``PH 22:00-02:00``) is cut at
midnight; school holidays (``SH``) and other variable-date selectors beyond
``PH`` are rejected by :func:`check_hours`.

.. _opening-hours-py: https://pypi.org/project/opening-hours-py/
.. _holidays: https://pypi.org/project/holidays/
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays as _holidays
import numpy as np
import pandas as pd
from opening_hours import (  # type: ignore[attr-defined]  # ParserError is missing from its stubs
    OpeningHours,
    ParserError,
    State,
)

from epu_mapper.errors import EpuMapperError
from epu_mapper.settings import NATIONS, TIMEZONE

OPEN: int = 1
CLOSED: int = 0
UNKNOWN: int = -1

STATE_NAMES = {OPEN: "open", CLOSED: "closed", UNKNOWN: "unknown"}
_STATE_CODE = {State.OPEN: OPEN, State.CLOSED: CLOSED, State.UNKNOWN: UNKNOWN}

#: ``holidays`` subdivision code of each nation.
NATION_SUBDIV = {
    "England": "ENG",
    "Wales": "WLS",
    "Scotland": "SCT",
    "Northern Ireland": "NIR",
}
assert set(NATION_SUBDIV) == set(NATIONS)

#: A week with no bank holiday in any UK nation and no DST change (Mon 8 – Sun 14 June 2026).
#: Rules are weekly, so any such week gives the same "typical week".
REFERENCE_MONDAY = date(2026, 6, 8)
#: How far :func:`next_opening` looks ahead.
NEXT_OPENING_HORIZON_DAYS = 21

_TZ = ZoneInfo(TIMEZONE)
_WEEKDAYS = ("Mo", "Tu", "We", "Th", "Fr", "Sa", "Su")
_DAY_TOKEN = r"(?:Mo|Tu|We|Th|Fr|Sa|Su|PH)"
_SELECTOR_RE = re.compile(
    rf"^\s*({_DAY_TOKEN}(?:\s*-\s*{_DAY_TOKEN})?(?:\s*,\s*{_DAY_TOKEN}(?:\s*-\s*{_DAY_TOKEN})?)*)(?=\s|$)(.*)$",
    re.DOTALL,
)
_SUBRULE_SPLIT_RE = re.compile(rf",\s+(?={_DAY_TOKEN}\b)")
_PH_RE = re.compile(r"\bPH\b")


class HoursError(EpuMapperError, ValueError):
    """An opening_hours string cannot be evaluated (message says why; CLI exit 2)."""


# --------------------------------------------------------------------------- parsing helpers


def _split_rules(expr: str) -> list[str]:
    """Split an expression into ``;`` rules, ignoring separators inside ``"comments"``."""
    rules: list[str] = []
    buf: list[str] = []
    quoted = False
    for ch in expr:
        if ch == '"':
            quoted = not quoted
        if ch == ";" and not quoted:
            rules.append("".join(buf).strip())
            buf = []
        else:
            buf.append(ch)
    rules.append("".join(buf).strip())
    return [r for r in rules if r]


def _has_ph(rule: str) -> bool:
    return bool(_PH_RE.search(re.sub(r'"[^"]*"', "", rule)))


def _rewrite_subrule(subrule: str, holiday_weekday: int | None) -> str | None:
    """Resolve ``PH`` in one (sub)rule; ``None`` when the rule no longer selects anything."""
    if not _has_ph(subrule):
        return subrule
    m = _SELECTOR_RE.match(subrule)
    if not m:
        raise HoursError(f"PH is only supported in a leading day selector (e.g. 'PH off'): {subrule!r}")
    items = [i.strip() for i in m.group(1).split(",")]
    rest = m.group(2)
    out = []
    for item in items:
        if item == "PH":
            if holiday_weekday is not None:
                out.append(_WEEKDAYS[holiday_weekday])
        elif "PH" in item:
            raise HoursError(f"PH cannot be part of a day range: {subrule!r}")
        else:
            out.append(item)
    if not out:
        return None
    return ",".join(out) + rest


def _resolve_ph(expr: str, holiday_weekday: int | None) -> str:
    """Return ``expr`` with ``PH`` resolved for a normal day (``None``) or a holiday on a weekday."""
    rules = []
    for rule in _split_rules(expr):
        if not _has_ph(rule):
            rules.append(rule)
            continue
        rewritten = [_rewrite_subrule(s, holiday_weekday) for s in _SUBRULE_SPLIT_RE.split(rule)]
        subs = [s for s in rewritten if s]
        if subs:
            rules.append(", ".join(subs))
    return "; ".join(rules) if rules else "closed"


@lru_cache(maxsize=4096)
def _compiled(expr: str, holiday_weekday: int | None) -> OpeningHours:
    resolved = _resolve_ph(expr, holiday_weekday)
    try:
        return OpeningHours(resolved)
    except (ParserError, SyntaxError, ValueError) as exc:
        raise HoursError(f"not a valid opening_hours string: {expr!r}") from exc


def _is_blank(expr: object) -> bool:
    return expr is None or (isinstance(expr, float) and np.isnan(expr)) or not str(expr).strip()


def check_hours(expr: str) -> str | None:
    """Check that an opening_hours string can be evaluated here.

    Parameters
    ----------
    expr : str
        An OSM ``opening_hours`` string. Empty means "nothing known" and is valid.

    Returns
    -------
    str or None
        ``None`` when valid, else a one-line message saying what is wrong.
    """
    if _is_blank(expr):
        return None
    expr = str(expr).strip()
    if re.search(r"[\x00-\x08\x0b-\x1f\x7f]", expr):
        return "contains control characters"
    if re.search(r"\bSH\b", re.sub(r'"[^"]*"', "", expr)):
        return "school holidays (SH) are not supported; use day selectors and PH"
    try:
        OpeningHours(expr)
    except (ParserError, SyntaxError, ValueError) as exc:
        first = str(exc).strip().splitlines()[-1].strip(" =") if str(exc).strip() else ""
        detail = f" ({first})" if first else ""
        return f"not a valid OSM opening_hours string: {expr!r}{detail}"
    try:
        _compiled(expr, None)
        _compiled(expr, 0)
    except HoursError as exc:
        return str(exc)
    return None


# --------------------------------------------------------------------------- bank holidays


def _subdiv(nation: str) -> str:
    try:
        return NATION_SUBDIV[nation]
    except KeyError:
        raise HoursError(
            f"unknown nation {nation!r}; expected one of {', '.join(NATION_SUBDIV)}"
        ) from None


@lru_cache(maxsize=64)
def _holiday_calendar(nation: str, year: int) -> dict[date, str]:
    return dict(_holidays.UK(subdiv=_subdiv(nation), years=year).items())


def bank_holidays(nation: str, years: int | Iterable[int]) -> dict[date, str]:
    """Bank holidays of one UK nation.

    Parameters
    ----------
    nation : str
        ``England``, ``Wales``, ``Scotland`` or ``Northern Ireland``.
    years : int or iterable of int

    Returns
    -------
    dict[date, str]
        Date -> holiday name, from ``holidays.UK(subdiv=...)`` (ENG/WLS/SCT/NIR).
    """
    years = [years] if isinstance(years, int) else list(years)
    out: dict[date, str] = {}
    for y in years:
        out.update(_holiday_calendar(nation, int(y)))
    return dict(sorted(out.items()))


def is_bank_holiday(day: date, nation: str) -> bool:
    """True when ``day`` is a bank holiday in ``nation``."""
    return day in _holiday_calendar(nation, day.year)


# --------------------------------------------------------------------------- point queries


def to_local(when: datetime) -> datetime:
    """UK local wall-clock time (naive). Naive input is taken as UK local already."""
    if when.tzinfo is None:
        return when
    return when.astimezone(_TZ).replace(tzinfo=None)


def _variant(day: date, nation: str) -> int | None:
    return day.weekday() if is_bank_holiday(day, nation) else None


def _state_code(expr: object, local: datetime, nation: str) -> int:
    if _is_blank(expr):
        return UNKNOWN
    oh = _compiled(str(expr).strip(), _variant(local.date(), nation))
    return _STATE_CODE[oh.state(local)[0]]


def state_at(opening_hours: str, when: datetime, nation: str) -> str:
    """State of a unit at one moment.

    Parameters
    ----------
    opening_hours : str
        OSM opening_hours string; empty = nothing known (-> ``"unknown"``).
    when : datetime
        Naive = UK local wall-clock time; aware = converted to Europe/London.
    nation : str
        The unit's nation (selects its bank holidays).

    Returns
    -------
    str
        ``"open"``, ``"closed"`` or ``"unknown"``.
    """
    return STATE_NAMES[_state_code(opening_hours, to_local(when), nation)]


def next_opening(opening_hours: str, after: datetime, nation: str) -> datetime | None:
    """The first moment at or after ``after`` when the unit is definitely open.

    Parameters
    ----------
    opening_hours : str
        OSM opening_hours string.
    after : datetime
        Naive = UK local; aware = any zone.
    nation : str
        The unit's nation (bank holidays).

    Returns
    -------
    datetime or None
        ``after`` itself when already open. Naive UK local time for naive input,
        Europe/London-aware for aware input. ``None`` when no definite opening
        within :data:`NEXT_OPENING_HORIZON_DAYS` days (e.g. unknown hours).
    """
    if _is_blank(opening_hours):
        return None
    expr = str(opening_hours).strip()
    local = to_local(after)
    day0 = local.date()
    for k in range(NEXT_OPENING_HORIZON_DAYS + 1):
        day = day0 + timedelta(days=k)
        start = local if k == 0 else datetime.combine(day, time())
        end = datetime.combine(day + timedelta(days=1), time())
        oh = _compiled(expr, _variant(day, nation))
        for a, _b, st, _c in oh.intervals(start, end):
            if st == State.OPEN:
                found = max(a, start)
                if after.tzinfo is not None:
                    return found.replace(tzinfo=_TZ)
                return found
    return None


# --------------------------------------------------------------------------- grids


def _fill(expr: str, holiday_weekday: int | None, start: datetime, n: int, step: int) -> np.ndarray:
    """States of ``n`` slots of ``step`` minutes from ``start`` (state at slot start)."""
    out = np.empty(n, dtype=np.int8)
    oh = _compiled(expr, holiday_weekday)
    end = start + timedelta(minutes=n * step)
    starts_min = np.arange(n) * step
    for a, b, st, _c in oh.intervals(start, end):
        a_min = max((a - start).total_seconds() / 60.0, 0.0)
        b_min = min((b - start).total_seconds() / 60.0, n * step)
        mask = (starts_min >= a_min) & (starts_min < b_min)
        out[mask] = _STATE_CODE[st]
    return out


@lru_cache(maxsize=4096)
def _week_row(expr: str, step: int) -> np.ndarray:
    n = 7 * 24 * 60 // step
    row = _fill(expr, None, datetime.combine(REFERENCE_MONDAY, time()), n, step)
    row.setflags(write=False)
    return row


@lru_cache(maxsize=4096)
def _day_row(expr: str, day: date, holiday: bool, step: int) -> np.ndarray:
    n = 24 * 60 // step
    row = _fill(expr, day.weekday() if holiday else None, datetime.combine(day, time()), n, step)
    row.setflags(write=False)
    return row


def _check_step(step_minutes: int) -> int:
    step = int(step_minutes)
    if step <= 0 or (24 * 60) % step:
        raise HoursError(f"step_minutes must divide a day evenly, got {step_minutes}")
    return step


def _normalise(expr: object) -> str | None:
    return None if _is_blank(expr) else str(expr).strip()


def week_states_for(hours: Sequence[object], step_minutes: int = 60) -> np.ndarray:
    """Typical-week grid for arbitrary opening_hours strings (what-if).

    Parameters
    ----------
    hours : sequence of str
        One OSM opening_hours string per unit; empty/None = nothing known.
    step_minutes : int, default 60
        Slot length; 60 gives 168 hour-of-week columns.

    Returns
    -------
    numpy.ndarray of int8, shape (n, 7 * 24 * 60 / step_minutes)
        ``OPEN``/``CLOSED``/``UNKNOWN`` at the start of each slot, Monday 00:00 first.
    """
    step = _check_step(step_minutes)
    n_cols = 7 * 24 * 60 // step
    out = np.full((len(hours), n_cols), UNKNOWN, dtype=np.int8)
    for i, expr in enumerate(hours):
        e = _normalise(expr)
        if e is not None:
            out[i] = _week_row(e, step)
    return out


def day_states_for(
    hours: Sequence[object], nations: Sequence[str], day: date, step_minutes: int = 60
) -> np.ndarray:
    """Real-calendar grid of one date for arbitrary hours strings.

    Parameters
    ----------
    hours : sequence of str
        OSM opening_hours strings.
    nations : sequence of str
        Nation of each entry (bank holidays differ by nation).
    day : date
        The calendar date (UK local).
    step_minutes : int, default 60

    Returns
    -------
    numpy.ndarray of int8, shape (n, 24 * 60 / step_minutes)
    """
    step = _check_step(step_minutes)
    if isinstance(day, datetime):
        day = day.date()
    if len(hours) != len(nations):
        raise HoursError("hours and nations must have the same length")
    out = np.full((len(hours), 24 * 60 // step), UNKNOWN, dtype=np.int8)
    for i, (expr, nation) in enumerate(zip(hours, nations, strict=True)):
        e = _normalise(expr)
        if e is not None:
            out[i] = _day_row(e, day, is_bank_holiday(day, nation), step)
    return out


def bank_holiday_states_for(
    hours: Sequence[object], weekday: int = 0, step_minutes: int = 60
) -> np.ndarray:
    """Grid of a bank-holiday day (``PH`` rules applied) for arbitrary hours strings.

    Parameters
    ----------
    hours : sequence of str
    weekday : int, default 0
        The weekday the bank holiday falls on (0 = Monday, as most UK ones do).
    step_minutes : int, default 60

    Returns
    -------
    numpy.ndarray of int8, shape (n, 24 * 60 / step_minutes)
    """
    step = _check_step(step_minutes)
    day = REFERENCE_MONDAY + timedelta(days=int(weekday) % 7)
    out = np.full((len(hours), 24 * 60 // step), UNKNOWN, dtype=np.int8)
    for i, expr in enumerate(hours):
        e = _normalise(expr)
        if e is not None:
            out[i] = _day_row(e, day, True, step)
    return out


def _unit_columns(units: pd.DataFrame) -> tuple[list[object], list[str]]:
    missing = {"opening_hours", "nation"} - set(units.columns)
    if missing:
        raise HoursError(f"units table lacks column(s): {', '.join(sorted(missing))}")
    return units["opening_hours"].tolist(), units["nation"].astype(str).tolist()


def week_states(units: pd.DataFrame, step_minutes: int = 60) -> np.ndarray:
    """Typical week (no bank holiday) for every unit.

    Parameters
    ----------
    units : pandas.DataFrame
        Columns ``opening_hours`` (OSM string, empty = unknown) and ``nation``.
    step_minutes : int, default 60

    Returns
    -------
    numpy.ndarray of int8, shape (n_units, 168) for hourly slots
        Row order = ``units`` row order; column ``h = day * 24 + hour``.
    """
    hours, _ = _unit_columns(units)
    return week_states_for(hours, step_minutes)


def bank_holiday_states(units: pd.DataFrame, weekday: int = 0, step_minutes: int = 60) -> np.ndarray:
    """A bank-holiday day for every unit (its ``PH`` rule applied).

    Parameters
    ----------
    units : pandas.DataFrame
        Columns ``opening_hours`` and ``nation``.
    weekday : int, default 0
        Weekday of the holiday (Monday by default).

    Returns
    -------
    numpy.ndarray of int8, shape (n_units, 24)
    """
    hours, _ = _unit_columns(units)
    return bank_holiday_states_for(hours, weekday, step_minutes)


def day_states(units: pd.DataFrame, day: date, step_minutes: int = 60) -> np.ndarray:
    """The real calendar of one date: bank holidays by each unit's nation.

    Parameters
    ----------
    units : pandas.DataFrame
        Columns ``opening_hours`` and ``nation``.
    day : date

    Returns
    -------
    numpy.ndarray of int8, shape (n_units, 24)
    """
    hours, nations = _unit_columns(units)
    return day_states_for(hours, nations, day, step_minutes)


def states_at(units: pd.DataFrame, when: datetime) -> np.ndarray:
    """State of every unit at one moment.

    Parameters
    ----------
    units : pandas.DataFrame
        Columns ``opening_hours`` and ``nation``.
    when : datetime
        Naive = UK local; aware = converted.

    Returns
    -------
    numpy.ndarray of int8, shape (n_units,)
    """
    hours, nations = _unit_columns(units)
    local = to_local(when)
    return np.array([_state_code(h, local, n) for h, n in zip(hours, nations, strict=True)],
                    dtype=np.int8)


# --------------------------------------------------------------------------- what-if


def combine_hours(existing: str | None, extra: str) -> str:
    """Add opening time to a unit's hours without losing what it already opens.

    OSM precedence: a rule after ``;`` *replaces* earlier rules for every day it
    selects (``Mo-Fr 08:00-17:30; Fr 18:00-20:00`` is closed on Friday morning),
    while a rule after ``,`` (the *additional rule* separator) is overlaid on
    top without replacing them. So the extra rules are joined with ``, `` after
    the existing non-bank-holiday rules, and the existing ``PH`` rules are kept
    last so that ``PH off`` still closes bank holidays. ``PH`` rules in ``extra``
    come after those (``;``), so they replace the existing bank-holiday rule.

    Times outside the added window keep their existing state: adding
    ``Sa,Su 09:00-17:00`` to a unit whose weekend is ``unknown`` leaves
    Saturday 08:00 unknown and makes 09:00-17:00 open.

    Parameters
    ----------
    existing : str or None
        The unit's current OSM string (empty = nothing known).
    extra : str
        Rules to add, e.g. ``"Sa,Su 09:00-17:00"``.

    Returns
    -------
    str
        A valid OSM opening_hours string.

    Raises
    ------
    HoursError
        When either string is not valid.
    """
    for label, s in (("existing", existing), ("extra", extra)):
        msg = check_hours(str(s)) if not _is_blank(s) else None
        if msg:
            raise HoursError(f"{label} hours: {msg}")
    if _is_blank(extra):
        return "" if _is_blank(existing) else str(existing).strip()
    extra_rules = _split_rules(str(extra))
    extra_normal = [r for r in extra_rules if not _has_ph(r)]
    extra_ph = [r for r in extra_rules if _has_ph(r)]
    if _is_blank(existing):
        # Nothing known: days outside the extra window stay unknown.
        base_normal, base_ph = ["Mo-Su unknown"], ["PH unknown"]
    else:
        rules = _split_rules(str(existing))
        base_normal = [r for r in rules if not _has_ph(r)]
        base_ph = [r for r in rules if _has_ph(r)]
    head = "; ".join(base_normal)
    added = ", ".join(extra_normal)
    body = f"{head}, {added}" if head and added else (head or added)
    out = "; ".join([x for x in [body, *base_ph, *extra_ph] if x])
    msg = check_hours(out)
    if msg:  # pragma: no cover - guarded by the checks above
        raise HoursError(msg)
    return out


def hour_of_week(when: datetime) -> int:
    """Hour-of-week index (Monday 00:00 = 0) of a moment in UK local time."""
    local = to_local(when)
    return local.weekday() * 24 + local.hour


def next_change(opening_hours: str, after: datetime, nation: str) -> datetime | None:
    """The first moment after ``after`` when the unit's state (open/closed/unknown) changes.

    Parameters
    ----------
    opening_hours : str
        OSM opening_hours string; empty = nothing known (never changes -> ``None``).
    after : datetime
        Naive = UK local; aware = any zone (the answer is then Europe/London-aware).
    nation : str
        The unit's nation (bank holidays).

    Returns
    -------
    datetime or None
        When an open unit closes or a closed unit opens; ``None`` when the state does not
        change within :data:`NEXT_OPENING_HORIZON_DAYS` days (e.g. ``24/7``).
    """
    if _is_blank(opening_hours):
        return None
    expr = str(opening_hours).strip()
    local = to_local(after)
    now_state = _state_code(expr, local, nation)
    day0 = local.date()
    for k in range(NEXT_OPENING_HORIZON_DAYS + 1):
        day = day0 + timedelta(days=k)
        start = local if k == 0 else datetime.combine(day, time())
        end = datetime.combine(day + timedelta(days=1), time())
        for a, _b, st, _c in _compiled(expr, _variant(day, nation)).intervals(start, end):
            if _STATE_CODE[st] != now_state:
                found = max(a, start)
                if found > local:
                    return found.replace(tzinfo=_TZ) if after.tzinfo is not None else found
    return None
