"""Which directory entries need re-checking, and the data-quality counts (pure; no I/O).

A unit **needs re-checking** when its ``source_seen`` is missing or older than
:data:`STALE_MONTHS` months. ``source_seen`` may be a year (``2023``), a month
(``2023-11``) or a day (``2023-11-08``); a year or month is read as its *last* day,
so a unit is never called stale on the strength of a date we do not have
(``2025`` is stale only from 1 January 2027 on).
"""

from __future__ import annotations

import calendar
import math
import re
from datetime import date
from typing import Any

import pandas as pd

STALE_MONTHS = 12
_SEEN_RE = re.compile(r"^(\d{4})(?:-(\d{2}))?(?:-(\d{2}))?$")
QUALITY_COLUMNS = ("verified", "partial", "unknown", "needs re-checking", "units")


def seen_date(text: Any) -> date | None:
    """The latest day a ``source_seen`` value can mean, or ``None`` when missing or unreadable."""
    if text is None or (isinstance(text, float) and math.isnan(text)):
        return None
    m = _SEEN_RE.match(str(text).strip())
    if not m:
        return None
    year = int(m.group(1))
    month = int(m.group(2) or 12)
    try:
        day = int(m.group(3) or calendar.monthrange(year, month)[1])
        return date(year, month, day)
    except ValueError:
        return None


def _months_before(today: date, months: int) -> date:
    y, m = divmod(today.year * 12 + today.month - 1 - months, 12)
    return date(y, m + 1, min(today.day, calendar.monthrange(y, m + 1)[1]))


def is_stale(seen: Any, today: date, months: int = STALE_MONTHS) -> bool:
    """True when ``seen`` is missing or more than ``months`` months before ``today``."""
    when = seen_date(seen)
    return when is None or when < _months_before(today, months)


def needs_rechecking(source_seen: pd.Series, today: date, months: int = STALE_MONTHS) -> pd.Series:
    """Vectorised :func:`is_stale` over a ``source_seen`` column (bool Series, same index)."""
    cutoff = _months_before(today, months)
    seen = source_seen.map(seen_date)
    return seen.map(lambda d: d is None or d < cutoff).astype(bool)


def stale_by(units: pd.DataFrame, by: str, today: date, months: int = STALE_MONTHS) -> pd.DataFrame:
    """Units and units needing re-checking per value of ``by`` (e.g. ``nation``, ``icb``).

    Parameters
    ----------
    units : pandas.DataFrame
        Columns ``source_seen`` and ``by``.

    Returns
    -------
    pandas.DataFrame
        Columns ``by``, ``units``, ``needs re-checking``; most stale first, then by name.
    """
    flag = needs_rechecking(units["source_seen"], today, months)
    out = (pd.DataFrame({by: units[by].fillna("").astype(str), "stale": flag})
           .groupby(by, sort=True)["stale"].agg(["size", "sum"]).reset_index())
    out.columns = [by, "units", "needs re-checking"]
    out["units"] = out["units"].astype(int)
    out["needs re-checking"] = out["needs re-checking"].astype(int)
    return out.sort_values(["needs re-checking", by], ascending=[False, True], kind="stable").reset_index(drop=True)


def quality_by_nation(units: pd.DataFrame, today: date, nations: tuple[str, ...] | None = None,
                      months: int = STALE_MONTHS) -> pd.DataFrame:
    """The About page's data-quality table: per nation, units by ``hours_status`` and stale.

    Parameters
    ----------
    units : pandas.DataFrame
        Columns ``nation``, ``hours_status``, ``source_seen``.
    nations : tuple of str, optional
        Row order (default: the nations present, sorted); a nation with no unit gets zeros.

    Returns
    -------
    pandas.DataFrame
        Index ``nation`` plus a ``UK`` total row; columns :data:`QUALITY_COLUMNS`
        (``needs re-checking`` overlaps the three hours columns: it is about the date of
        the source, not the hours).
    """
    order = list(nations) if nations else sorted(units["nation"].unique())
    stale = needs_rechecking(units["source_seen"], today, months)
    rows = []
    for nation in order:
        sel = units["nation"] == nation
        status = units.loc[sel, "hours_status"]
        rows.append({"nation": nation,
                     **{s: int((status == s).sum()) for s in ("verified", "partial", "unknown")},
                     "needs re-checking": int(stale[sel].sum()), "units": int(sel.sum())})
    out = pd.DataFrame(rows, columns=["nation", *QUALITY_COLUMNS]).set_index("nation")
    out.loc["UK"] = out.sum(axis=0)
    return out.astype(int)


def stale_warning(units: pd.DataFrame, today: date, months: int = STALE_MONTHS) -> str | None:
    """One line for ``units validate``: how many units need re-checking, by nation; None if none."""
    flag = needs_rechecking(units["source_seen"], today, months)
    if not flag.any():
        return None
    missing = int(units["source_seen"].map(seen_date).isna().sum())
    by_nation = units.loc[flag, "nation"].value_counts().sort_index()
    parts = ", ".join(f"{n} {c}" for n, c in by_nation.items())
    return (f"warning: {int(flag.sum())} of {len(units)} unit(s) need re-checking (source_seen missing "
            f"for {missing}, or older than {months} months): {parts}")
