"""Argument parsing and validation shared by the API queries: levels, policies, times, filters."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from epu_mapper import coverage as cov
from epu_mapper import hours as hrs
from epu_mapper.errors import EpuMapperError
from epu_mapper.inputs import check_year, shorten
from epu_mapper.levels import LEVELS
from epu_mapper.settings import NATIONS, TIMEZONE

GAPS_POLICIES: tuple[str, ...] = (*cov.POLICIES, "range")
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
                f"cannot read the time {shorten(value)}: use ISO 8601, e.g. 2026-11-29T03:00 "
                "(UK local time) or 2026-11-29T03:00+00:00"
            ) from None
    if isinstance(value, date):
        try:
            check_year(value)
        except EpuMapperError as exc:
            raise CoverageArgumentError(str(exc)) from None
    if isinstance(value, datetime):
        return hrs.to_local(value)
    if isinstance(value, date):
        return datetime.combine(value, datetime.min.time())
    raise CoverageArgumentError(f"cannot read the time {shorten(value)}")


def check_level(level: str) -> str:
    """Validate a region level name."""
    if level not in LEVELS:
        raise CoverageArgumentError(f"unknown level {shorten(level)}; choose one of: {', '.join(LEVELS)}")
    return level


def check_policy(policy: str, allowed: tuple[str, ...] = cov.POLICIES) -> str:
    """Validate an unknown-hours policy name."""
    if policy not in allowed:
        raise CoverageArgumentError(
            f"unknown policy {shorten(policy)}; choose one of: {', '.join(allowed)}"
        )
    return policy


#: Gestation (completed weeks) a query may ask about; the directory's limits lie within it.
MAX_WEEKS = 45


def check_weeks(weeks: object) -> float | None:
    """A gestation in weeks, checked: a number from 0 to :data:`MAX_WEEKS` (None = not given).

    Parameters
    ----------
    weeks : float, int, str or None
        Completed weeks of pregnancy.

    Returns
    -------
    float or None

    Raises
    ------
    CoverageArgumentError
        When it is not a number, or out of range (NaN included).
    """
    if weeks is None:
        return None
    try:
        value = float(weeks)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise CoverageArgumentError(f"gestation weeks must be a number, got {shorten(weeks)}") from None
    if not 0 <= value <= MAX_WEEKS:
        raise CoverageArgumentError(
            f"gestation weeks must be between 0 and {MAX_WEEKS}, got {shorten(weeks)}")
    return value


def _filters(self_referral: bool, weeks: float | None) -> tuple[bool, float | None] | None:
    """Normalised, hashable unit filters (None = no filter)."""
    weeks = check_weeks(weeks)
    if not self_referral and weeks is None:
        return None
    return (bool(self_referral), weeks)


@dataclass(frozen=True)
class NationHoliday:
    """Hour ``hour`` of a bank holiday in ``nation`` only (falling on a Monday).

    That nation's units follow their bank-holiday rules, the other nations' units an ordinary
    Monday.
    """

    nation: str
    hour: int


def _resolve_slot(
    at: datetime | date | str | None, hour_of_week: int | None, bank_holiday: bool | str
) -> tuple[str, int | None, datetime | NationHoliday | None]:
    """Decide which time a query is about: ``(label, standard slot or None, moment or None)``.

    ``bank_holiday`` True = the UK-wide typical bank-holiday day (slots 168–191); a nation name =
    a bank holiday in that nation only (:class:`NationHoliday`).
    """
    if isinstance(bank_holiday, str):
        if bank_holiday not in NATIONS:
            raise CoverageArgumentError(
                f"unknown nation {shorten(bank_holiday)} for a bank holiday; choose one of: {', '.join(NATIONS)}"
            )
        if hour_of_week is None or at is not None:
            raise CoverageArgumentError("a nation's bank holiday needs hour_of_week (the hour of that day)")
        try:
            h = int(hour_of_week)
        except (TypeError, ValueError):
            raise CoverageArgumentError(f"hour must be a whole number, got {shorten(hour_of_week)}") from None
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
            raise CoverageArgumentError(f"hour of week must be a whole number, got {shorten(hour_of_week)}") from None
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
