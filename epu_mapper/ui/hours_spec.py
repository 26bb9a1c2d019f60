"""Weekly opening hours as people enter them.

Weekly opening hours as people enter them (days + opening and closing times), converted to and from
OpenStreetMap ``opening_hours`` strings, with error messages in plain words.

Pure module (no Streamlit, no I/O); the widget is :mod:`epu_mapper.ui.hours_editor`.

The simple form is a list of :class:`Period` (some days, one opening time, one closing time)
plus what happens on bank holidays. :func:`to_osm` merges the periods day by day, so two
periods on the same day both count (``Mo-Fr 08:00-12:00,13:00-17:00``), unlike two OSM
rules for the same day, where the later one replaces the earlier one. :func:`from_osm`
reads the same simple subset back (and returns ``None`` for anything richer, which the
editor then keeps in its advanced, raw-syntax field).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import time

from epu_mapper.hours import check_hours

OSM_DAYS = ("Mo", "Tu", "We", "Th", "Fr", "Sa", "Su")
DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
#: What happens on bank holidays: editor choice -> OSM rule appended (``""`` = same as usual).
BANK_HOLIDAYS = {
    "closed": "PH off",
    "as_usual": "",
    "unknown": "PH unknown",
}
BANK_HOLIDAY_WORDS = {
    "closed": "Closed on bank holidays",
    "as_usual": "Same hours on bank holidays",
    "unknown": "Bank holiday hours not known",
}
EXAMPLE = "Mo-Fr 08:00-17:30; Sa 09:00-12:00; PH off"


@dataclass(frozen=True)
class Period:
    """Open on ``days`` (0 = Monday) from ``start`` to ``end``.

    ``end`` at or before ``start`` runs past midnight into the next day; ``end`` of 00:00 is
    midnight at the end of the day.
    """

    days: tuple[int, ...]
    start: time
    end: time


@dataclass(frozen=True)
class WeekSpec:
    """The simple form: periods, bank-holiday rule, or open around the clock."""

    periods: tuple[Period, ...] = ()
    bank_holidays: str = "closed"
    always: bool = False


def _hhmm(t: time) -> str:
    return f"{t.hour:02d}:{t.minute:02d}"


def _range_text(p: Period) -> str:
    if p.start == p.end == time(0):
        return "00:00-24:00"
    end = "24:00" if p.end == time(0) else _hhmm(p.end)
    return f"{_hhmm(p.start)}-{end}"


def _days_text(days: tuple[int, ...]) -> str:
    """``(0,1,2,3,4,6)`` -> ``"Mo-Fr,Su"`` (runs of three or more become ranges)."""
    out: list[str] = []
    run: list[int] = []
    for d in sorted(set(days)) + [99]:
        if run and d == run[-1] + 1:
            run.append(d)
            continue
        if run:
            if len(run) >= 3:
                out.append(f"{OSM_DAYS[run[0]]}-{OSM_DAYS[run[-1]]}")
            else:
                out.extend(OSM_DAYS[x] for x in run)
        run = [d]
    return ",".join(out)


def spec_problems(spec: WeekSpec) -> list[str]:
    """Plain-words reasons the simple form cannot be used (empty when it can)."""
    if spec.always:
        return []
    problems = []
    if not spec.periods:
        problems.append("Tick at least one day the unit is open, or choose “Open 24 hours”.")
    for i, p in enumerate(spec.periods, start=1):
        which = f"Set of hours {i}" if len(spec.periods) > 1 else "The hours"
        if not p.days:
            problems.append(f"{which}: tick at least one day.")
        if p.start == p.end and p.start != time(0):
            problems.append(f"{which}: the opening and closing times are both "
                            f"{_hhmm(p.start)}. Choose a closing time after the opening time.")
    if spec.bank_holidays not in BANK_HOLIDAYS:
        problems.append("Choose what happens on bank holidays.")
    return problems


def to_osm(spec: WeekSpec) -> str:
    """The OSM ``opening_hours`` string for the simple form.

    Parameters
    ----------
    spec : WeekSpec
        Periods (days, opening and closing time) and the bank-holiday choice.

    Returns
    -------
    str
        e.g. ``"Mo-Fr 08:00-17:30; Sa 09:00-12:00; PH off"``; ``"24/7"`` when open always.

    Raises
    ------
    ValueError
        With a plain-words message when the form is incomplete (:func:`spec_problems`).
    """
    problems = spec_problems(spec)
    if problems:
        raise ValueError(" ".join(problems))
    if spec.always:
        return "24/7"
    per_day: dict[int, list[str]] = {d: [] for d in range(7)}
    for p in sorted(spec.periods, key=lambda q: (q.start, q.end)):
        text = _range_text(p)
        for d in p.days:
            if text not in per_day[d]:
                per_day[d].append(text)
    groups: dict[tuple[str, ...], list[int]] = {}
    for d in range(7):
        if per_day[d]:
            groups.setdefault(tuple(per_day[d]), []).append(d)
    rules = [f"{_days_text(tuple(days))} {','.join(ranges)}"
             for ranges, days in sorted(groups.items(), key=lambda kv: kv[1][0])]
    ph = BANK_HOLIDAYS[spec.bank_holidays]
    if ph:
        rules.append(ph)
    return "; ".join(rules)


_DAY_ITEM = re.compile(r"^(Mo|Tu|We|Th|Fr|Sa|Su)(?:-(Mo|Tu|We|Th|Fr|Sa|Su))?$")
_RANGE = re.compile(r"^([01]\d|2[0-4]):([0-5]\d)-([01]\d|2[0-4]):([0-5]\d)$")


def _parse_days(text: str) -> list[int] | None:
    days: list[int] = []
    for item in text.split(","):
        m = _DAY_ITEM.match(item.strip())
        if not m:
            return None
        a = OSM_DAYS.index(m.group(1))
        b = OSM_DAYS.index(m.group(2)) if m.group(2) else a
        span = range(a, b + 1) if b >= a else [*range(a, 7), *range(b + 1)]
        days.extend(span)
    return days


def _parse_ranges(text: str) -> list[tuple[time, time]] | None:
    out = []
    for item in text.split(","):
        m = _RANGE.match(item.strip())
        if not m:
            return None
        h1, m1, h2, m2 = (int(g) for g in m.groups())
        if h1 == 24 or (h2 == 24 and m2):
            return None
        out.append((time(h1, m1), time(0) if h2 == 24 else time(h2, m2)))
    return out


def _day_rule(rule: str) -> tuple[list[int], list[tuple[time, time]]] | None:
    """The days and time ranges of one ``<days> <ranges>`` rule (None when not that simple)."""
    parts = rule.split(None, 1)
    if len(parts) != 2:
        return None
    days = _parse_days(parts[0])
    if days is None:
        return None
    if parts[1].strip() in ("off", "closed"):
        return list(days), []
    ranges = _parse_ranges(parts[1].replace(" ", ""))
    return None if ranges is None else (list(days), ranges)


def from_osm(expr: str | None) -> WeekSpec | None:
    """Read an OSM string back into the simple form (``None`` when it holds more than that).

    ``None`` when the string uses more than the simple form can hold (months, week numbers,
    comments, ``unknown`` days…).

    Rules are applied in order with OSM's precedence (a later rule replaces the earlier hours
    of the days it names). Without a ``PH`` rule bank holidays are ``"as_usual"``.
    """
    if expr is None or not str(expr).strip():
        return None
    text = str(expr).strip()
    if check_hours(text) is not None:
        return None
    if text == "24/7":
        return WeekSpec(always=True, bank_holidays="as_usual")
    per_day: dict[int, list[tuple[time, time]]] = {d: [] for d in range(7)}
    bank = "as_usual"
    for rule in (r.strip() for r in text.split(";")):
        if not rule:
            continue
        if rule in ("PH off", "PH closed"):
            bank = "closed"
            continue
        if rule == "PH unknown":
            bank = "unknown"
            continue
        day_rule = _day_rule(rule)
        if day_rule is None:
            return None
        days, ranges = day_rule
        for d in days:
            per_day[d] = list(ranges)
    by_range: dict[tuple[time, time], list[int]] = {}
    for d in range(7):
        for r in per_day[d]:
            by_range.setdefault(r, []).append(d)
    periods = tuple(Period(tuple(days), a, b) for (a, b), days in
                    sorted(by_range.items(), key=lambda kv: (kv[1][0], kv[0])))
    if not periods:
        return None
    return WeekSpec(periods=periods, bank_holidays=bank)


def describe(expr: str | None) -> str:
    """Plain words for a simple OSM string.

    ``"Monday to Friday 08:00 to 17:30; closed on bank holidays"``; the raw string when it is not in
    the simple form; ``"Hours not published"`` when empty.
    """
    spec = from_osm(expr)
    if expr is None or not str(expr).strip():
        return "Hours not published"
    if spec is None:
        return str(expr).strip()
    if spec.always:
        return "Open 24 hours, every day"
    parts = []
    per_days: dict[tuple[int, ...], list[Period]] = {}
    for p in spec.periods:
        per_days.setdefault(p.days, []).append(p)
    for days, periods in per_days.items():
        times = " and ".join(
            f"{_hhmm(p.start)} to {'midnight' if p.end == time(0) else _hhmm(p.end)}"
            for p in periods)
        parts.append(f"{_days_words(days)} {times}")
    bank = {"closed": "closed on bank holidays", "unknown": "bank holiday hours not known",
            "as_usual": ""}[spec.bank_holidays]
    if bank:
        parts.append(bank)
    return "; ".join(parts)


def _days_words(days: tuple[int, ...]) -> str:
    text = _days_text(days)
    for short, full in zip(OSM_DAYS, DAY_NAMES, strict=True):
        text = re.sub(rf"\b{short}\b", full, text)
    return text.replace("-", " to ").replace(",", ", ")


_LONG_DAY = re.compile(r"\b(mon|tue|tues|wed|thu|thur|thurs|fri|sat|sun)(day)?s?\b", re.IGNORECASE)


def plain_error(expr: str | None) -> str | None:
    """``None`` when ``expr`` can be used, else what is wrong in plain words.

    ``None`` when ``expr`` can be used, else what is wrong in plain words (never the parser's own
    message).
    """
    if expr is None or not str(expr).strip():
        return "Enter the opening hours, for example: " + EXAMPLE
    text = str(expr).strip()
    if check_hours(text) is None:
        return None
    hints = []
    long_day = _LONG_DAY.search(text)
    if long_day:
        hints.append(f"Write days as two letters (Mo, Tu, We, Th, Fr, Sa, Su), not "
                     f"“{long_day.group(0)}”.")
    if re.search(r"\b(SH|school)\b", text, re.IGNORECASE):
        hints.append("School holidays cannot be used here; describe the usual week and bank "
                     "holidays (PH) only.")
    if re.search(r"[ap]\.?m\b", text, re.IGNORECASE):
        hints.append("Use the 24-hour clock (17:30, not 5:30pm).")
    for token in re.findall(r"\b\d{1,2}:\d{2}\b", text):
        h, m = (int(x) for x in token.split(":"))
        if h > 48 or m > 59:
            hints.append(f"“{token}” is not a time of day.")
    if re.search(r"(?<![\d:])\d{1,2}(?!\d|:)\s*-\s*\d", text) and not hints:
        hints.append("Write times with hours and minutes, like 08:00-17:30.")
    if re.search(r"\d\.\d{2}", text):
        hints.append("Separate hours and minutes with a colon (08:30, not 08.30).")
    if re.search(r"\d\s*(–|—|\bto\b)\s*\d", text):
        hints.append("Join the opening and closing time with a plain hyphen: 08:00-17:30.")
    if not hints:
        hints.append("We could not read these hours.")
    return " ".join(hints) + " For example: " + EXAMPLE
