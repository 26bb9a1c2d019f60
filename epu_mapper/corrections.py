"""Suggested corrections to the directory: validation and application (pure; no I/O).

A submission is checked with the directory's own rules (:func:`epu_mapper.units.check_row`
on the unit as it would be after the change: hours must parse, phone numbers look like
phone numbers, gestation weeks in range, an http(s) source URL, no HTML, no control
characters), plus limits of its own: size limits per field and in total, and no
free text that a spreadsheet would run as a formula (``=HYPERLINK(…)``, ``+``, ``-``,
``@`` first). A submission that fails any check raises :class:`SubmissionError`
naming every problem; it is never stored.

Kinds
-----
``correction``
    Changes to a listed unit: ``opening_hours``, ``phone``, ``self_referral``,
    ``min_weeks``, ``max_weeks``, or ``closed`` (``"true"``: the unit has closed for
    good). Accepting it (:func:`apply_correction`) writes the values, recomputes
    ``hours_status`` from the hours (``hours_kind`` is cleared when the hours change:
    the new source has not said what kind they are), and sets ``source_url`` and
    ``source_seen``; a closure removes the unit's row (the audit keeps it).
``new_unit``
    "Tell us about a unit we don't list": ``unit_name``, ``hospital``, ``town``,
    ``postcode``, ``phone``, ``opening_hours``. It is a lead for a maintainer (a unit
    needs a site, coordinates and a code before it can be listed), so it can be
    rejected or kept pending but never accepted straight into the directory.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from epu_mapper.errors import EpuMapperError
from epu_mapper.hours import UNKNOWN, week_states_for
from epu_mapper.units import SELF_REFERRAL, check_row

CORRECTION_FIELDS = ("opening_hours", "phone", "self_referral", "min_weeks", "max_weeks", "closed")
NEW_UNIT_FIELDS = ("unit_name", "hospital", "town", "postcode", "phone", "opening_hours")
#: How the person knows (stored key -> label shown in the form).
RELATIONS = {
    "staff": "I work at this unit or its hospital",
    "patient": "I am a patient or a relative and was told by the unit",
    "charity": "I work for a charity or support group",
    "website": "I read it on the unit's or the trust's own web page",
    "other": "Other (say how in the note)",
}
#: Longest accepted value of each field, in characters.
LIMITS = {
    "unit_id": 80, "opening_hours": 300, "phone": 40, "self_referral": 12, "min_weeks": 2,
    "max_weeks": 2, "closed": 5, "unit_name": 120, "hospital": 120, "town": 80, "postcode": 10,
    "source_url": 500, "relation": 20, "note": 1000,
}
MAX_TOTAL = 2500
_FREE_TEXT = ("note", "unit_name", "hospital", "town")
_FORMULA_RE = re.compile(r"^[\s\"']*[=+\-@\t\r]")


class SubmissionError(EpuMapperError):
    """A submission failed validation; ``problems`` lists ``(field, message)`` pairs."""

    def __init__(self, problems: list[tuple[str, str]]):
        self.problems = problems
        super().__init__("the submission was not stored:\n" + "\n".join(f"  {f}: {m}" for f, m in problems))


@dataclass(frozen=True)
class Submission:
    """A validated submission, ready to store.

    ``fields`` holds only the proposed values that differ from the directory;
    ``base`` the directory's values of those fields at submission time.
    """

    kind: str
    unit_id: str | None
    fields: dict[str, str]
    base: dict[str, str]
    source_url: str
    relation: str
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def hours_status(opening_hours: str) -> str:
    """``verified`` (every hour of the week known), ``partial`` or ``unknown``."""
    if not opening_hours.strip():
        return "unknown"
    week = week_states_for([opening_hours])[0]
    if not (week == UNKNOWN).any():
        return "verified"
    return "partial" if (week != UNKNOWN).any() else "unknown"


def _clean(form: dict[str, Any]) -> dict[str, str]:
    out = {}
    for key, value in form.items():
        if value is None:
            continue
        if isinstance(value, bool):
            value = "true" if value else ""
        out[str(key)] = str(value).strip()
    return out


def _size_problems(form: dict[str, str]) -> list[tuple[str, str]]:
    problems = []
    total = sum(len(v) for v in form.values())
    if total > MAX_TOTAL:
        problems.append(("(submission)", f"is {total} characters long; the limit is {MAX_TOTAL}"))
    for key, value in form.items():
        limit = LIMITS.get(key)
        if limit is None:
            problems.append((key, "is not a field of this form"))
        elif len(value) > limit:
            problems.append((key, f"is {len(value)} characters long; the limit is {limit}"))
    return problems


def _text_problems(key: str, value: str, probe: dict[str, str]) -> list[tuple[str, str]]:
    """Free text under the directory's plain-text rules (HTML, control characters) + formulas."""
    if _FORMULA_RE.match(value):
        return [(key, "must not start with =, +, - or @ (it would run as a spreadsheet formula)")]
    row = {**probe, "access_notes": value}
    return [(key, m) for c, m in check_row(row) if c == "access_notes"]


def _check_relation_and_source(form: dict[str, str], required_source: bool) -> list[tuple[str, str]]:
    problems = []
    if form.get("relation", "") not in RELATIONS:
        problems.append(("relation", f"say how you know: one of {', '.join(RELATIONS)}"))
    if required_source and not form.get("source_url"):
        problems.append(("source_url", "is needed: the web page (or other public source) that shows the change"))
    return problems


def _row_problems(row: dict[str, str], keys: set[str]) -> list[tuple[str, str]]:
    """The directory's rules on a candidate row, reported for the submitted fields only."""
    weeks = {"min_weeks", "max_weeks"}
    return [(c, m) for c, m in check_row(row) if c in keys or (c in weeks and keys & weeks)]


def validate_correction(form: dict[str, Any], current: dict[str, str]) -> Submission:
    """Validate a correction of the listed unit ``current`` (its directory row, strings).

    Parameters
    ----------
    form : dict
        ``unit_id``, ``source_url``, ``relation``, optional ``note`` and any of
        :data:`CORRECTION_FIELDS` (empty or missing = no change).
    current : dict
        The unit's directory row (every directory column, strings).

    Returns
    -------
    Submission

    Raises
    ------
    SubmissionError
        Every problem, or "nothing to change".
    """
    f = _clean(form)
    problems = _size_problems(f)
    if problems:
        raise SubmissionError(problems)
    problems = _check_relation_and_source(f, required_source=True)
    if f.get("note"):
        problems += _text_problems("note", f["note"], current)
    if f.get("self_referral") and f["self_referral"] not in SELF_REFERRAL:
        problems.append(("self_referral", f"must be one of {', '.join(SELF_REFERRAL)}"))
    closed = f.get("closed", "")
    if closed not in ("", "true", "false"):
        problems.append(("closed", "must be true or empty"))
    proposed = {k: f[k] for k in CORRECTION_FIELDS if k != "closed" and f.get(k)}
    changes = {k: v for k, v in proposed.items() if v != current.get(k, "")}
    if closed == "true":
        changes = {"closed": "true"}
    if not changes and not problems:
        problems.append(("(submission)", "nothing to change: every value given is already in the directory"))
    candidate = {**current, **{k: v for k, v in changes.items() if k != "closed"},
                 "source_url": f.get("source_url", "")}
    if "opening_hours" in changes:
        candidate["hours_status"] = hours_status_safe(changes["opening_hours"])
    problems += _row_problems(candidate, {*changes, "source_url"})
    if problems:
        raise SubmissionError(problems)
    base = {k: current.get(k, "") for k in changes if k != "closed"}
    if "closed" in changes:
        base["closed"] = "false"
    return Submission("correction", current["unit_id"], changes, base, f["source_url"], f["relation"],
                      f.get("note", ""))


def hours_status_safe(opening_hours: str) -> str:
    """:func:`hours_status`, or ``unknown`` when the hours do not parse (reported elsewhere)."""
    try:
        return hours_status(opening_hours)
    except EpuMapperError:
        return "unknown"


def validate_new_unit(form: dict[str, Any], probe: dict[str, str]) -> Submission:
    """Validate "a unit we don't list".

    Parameters
    ----------
    form : dict
        ``unit_name`` (required), ``hospital``, ``town``, ``postcode``, ``phone``,
        ``opening_hours``, ``source_url`` (optional here), ``relation``, ``note``.
    probe : dict
        Any valid directory row: the new values are checked as if they were its values.

    Returns
    -------
    Submission
        ``kind="new_unit"``, ``unit_id`` None.
    """
    f = _clean(form)
    problems = _size_problems(f)
    if problems:
        raise SubmissionError(problems)
    problems = _check_relation_and_source(f, required_source=False)
    if not f.get("unit_name"):
        problems.append(("unit_name", "is needed (the unit's name as the hospital writes it)"))
    for key in _FREE_TEXT:
        if f.get(key):
            problems += _text_problems(key, f[key], probe)
    candidate = dict(probe)
    given = {k: f[k] for k in NEW_UNIT_FIELDS if f.get(k)}
    for key in ("postcode", "phone", "opening_hours"):
        if key in given:
            candidate[key] = given[key]
    if "opening_hours" in given:
        candidate["hours_status"] = hours_status_safe(given["opening_hours"])
    if f.get("source_url"):
        candidate["source_url"] = f["source_url"]
    keys: set[str] = {k for k in ("postcode", "phone", "opening_hours") if k in given}
    if f.get("source_url"):
        keys.add("source_url")
    problems += _row_problems(candidate, keys)
    if problems:
        raise SubmissionError(problems)
    return Submission("new_unit", None, given, {}, f.get("source_url", ""), f["relation"], f.get("note", ""))


def apply_correction(row: dict[str, str], fields: dict[str, str], source_url: str,
                     seen: date) -> dict[str, str] | None:
    """The unit's directory row after an accepted correction (``None``: the unit has closed).

    Parameters
    ----------
    row : dict
        The current directory row (strings).
    fields : dict
        The correction's ``fields`` (:data:`CORRECTION_FIELDS`).
    source_url : str
        The correction's source; becomes the row's ``source_url``.
    seen : datetime.date
        The day the reviewer checked the source; becomes ``source_seen`` (``YYYY-MM-DD``).

    Returns
    -------
    dict or None
    """
    if fields.get("closed") == "true":
        return None
    out = dict(row)
    for key, value in fields.items():
        if key in CORRECTION_FIELDS and key != "closed":
            out[key] = value
    if "opening_hours" in fields and fields["opening_hours"] != row.get("opening_hours"):
        out["hours_status"] = hours_status(fields["opening_hours"])
        out["hours_kind"] = ""
    out["source_url"] = source_url
    out["source_seen"] = seen.isoformat()
    return out
