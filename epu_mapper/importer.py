"""Merge a reference table into the directory (``epu-mapper units import``).

``data/units.csv`` is the directory's source of truth, maintained in the repository
(reviewed corrections land there). A reference file (the format of
``../shared/data/epu_reference.csv``) is converted with the rules of
:mod:`epu_mapper.convert` and *merged* into it, never copied over it:

* a unit whose ``unit_id`` is not in the directory is **added**;
* a field that is unknown in the directory (empty, or ``unknown`` for
  ``self_referral``) and known in the reference is **changed** (filled in);
* a field known in both and different is **kept**: a directory value is a
  reviewed value and is never overwritten unless the maintainer names the unit
  (``--take UNIT_ID``) or the field (``--take UNIT_ID:FIELD``);
* everything else is **left** as it is, including units that are only in the
  directory.

Some fields move together: ``hours_status`` follows ``opening_hours`` (the status
describes the hours), and ``lon``, ``geocode_method`` and ``mappable`` follow
``lat`` (a site is one fact). :func:`merge_reference` is pure;
:func:`import_reference` is the I/O edge.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from epu_mapper.convert import UNIT_COLUMNS, convert_reference, read_reference, units_to_csv_text
from epu_mapper.errors import DirectoryValidationError, EpuMapperError

#: Fields that follow a leading field: taken or kept with it, never reported alone.
FOLLOWERS = {
    "opening_hours": ("hours_status",),
    "lat": ("lon", "geocode_method", "mappable"),
}
_FOLLOWING = {f for fs in FOLLOWERS.values() for f in fs}
#: Values that mean "unknown" besides the empty string.
_UNKNOWN = {"self_referral": "unknown"}

ADD, CHANGE, KEEP, LEAVE = "add", "change", "keep", "leave"


@dataclass(frozen=True)
class FieldChange:
    """One line of an import report.

    ``action`` is ``add`` (a new unit; ``field`` is empty), ``change`` (a field
    filled in or taken from the reference), ``keep`` (the directory's reviewed
    value differs from the reference and is kept) or ``leave`` (the unit is
    unchanged; ``field`` is empty).
    """

    unit_id: str
    action: str
    field: str = ""
    old: str = ""
    new: str = ""

    def __str__(self) -> str:
        if self.action == ADD:
            return f"add     {self.unit_id}: {self.new}"
        if self.action == LEAVE:
            return f"leave   {self.unit_id}: {self.new}"
        if self.action == CHANGE:
            return f"change  {self.unit_id}: {self.field}: {self.old!r} -> {self.new!r}"
        return (f"keep    {self.unit_id}: {self.field}: {self.old!r} (reviewed; the reference says "
                f"{self.new!r}; use --take {self.unit_id}:{self.field} to take it)")


def _known(field: str, value: str) -> bool:
    return value.strip() != "" and value != _UNKNOWN.get(field)


def _takes(take: Iterable[str]) -> tuple[set[str], set[tuple[str, str]]]:
    units: set[str] = set()
    fields: set[tuple[str, str]] = set()
    for item in take:
        uid, _, field = item.partition(":")
        if field:
            if field not in UNIT_COLUMNS or field in _FOLLOWING or field == "unit_id":
                raise EpuMapperError(f"--take {item}: {field!r} is not a field that can be taken "
                                     f"(one of {', '.join(c for c in UNIT_COLUMNS if c not in _FOLLOWING)})")
            fields.add((uid, field))
        else:
            units.add(uid)
    return units, fields


def _merge_row(uid: str, old: dict[str, str], new: dict[str, str], take_all: bool,
               take_fields: set[tuple[str, str]]) -> tuple[dict[str, str], list[FieldChange]]:
    out = dict(old)
    report: list[FieldChange] = []
    for field in UNIT_COLUMNS:
        if field == "unit_id" or field in _FOLLOWING:
            continue
        group = (field, *FOLLOWERS.get(field, ()))
        if old[field] == new[field]:
            continue  # followers are facts about the leader: an equal leader leaves them
        forced = take_all or (uid, field) in take_fields
        if forced or not _known(field, old[field]):
            if not _known(field, new[field]) and not forced:
                continue  # the reference knows no more than the directory
            for f in group:
                out[f] = new[f]
            report.append(FieldChange(uid, CHANGE, field, old[field], new[field]))
        else:
            report.append(FieldChange(uid, KEEP, field, old[field], new[field]))
    return out, report


def merge_reference(directory: pd.DataFrame, incoming: pd.DataFrame,
                    take: Iterable[str] = ()) -> tuple[pd.DataFrame, list[FieldChange]]:
    """Merge converted reference rows into the directory.

    Parameters
    ----------
    directory : pandas.DataFrame
        The directory as strings (every :data:`~epu_mapper.convert.UNIT_COLUMNS`).
    incoming : pandas.DataFrame
        The reference converted by :func:`~epu_mapper.convert.convert_reference`
        (same columns, strings).
    take : iterable of str
        ``UNIT_ID`` (take every differing field of that unit from the reference) or
        ``UNIT_ID:FIELD`` (take that field).

    Returns
    -------
    merged : pandas.DataFrame
        :data:`~epu_mapper.convert.UNIT_COLUMNS` as strings, sorted by ``unit_id``.
    report : list of FieldChange
        One entry per added unit, per changed or kept field, and one ``leave`` per
        unit left as it was, in ``unit_id`` order.
    """
    take_units, take_fields = _takes(take)
    cols = list(UNIT_COLUMNS)
    old_rows = {r["unit_id"]: r for r in directory.loc[:, cols].fillna("").astype(str).to_dict("records")}
    new_rows = {r["unit_id"]: r for r in incoming.loc[:, cols].fillna("").astype(str).to_dict("records")}
    unknown = (take_units | {u for u, _ in take_fields}) - set(old_rows) - set(new_rows)
    if unknown:
        raise EpuMapperError(f"--take: no unit {', '.join(sorted(unknown))} in the directory or the reference")
    merged: dict[str, dict[str, str]] = {}
    report: list[FieldChange] = []
    for uid in sorted(set(old_rows) | set(new_rows)):
        if uid not in old_rows:
            merged[uid] = new_rows[uid]
            name = new_rows[uid]["unit_name"]
            place = new_rows[uid]["hospital"] or new_rows[uid]["organisation"]
            report.append(FieldChange(uid, ADD, new=f"{name}, {place}" if place else name))
            continue
        if uid not in new_rows:
            merged[uid] = old_rows[uid]
            report.append(FieldChange(uid, LEAVE, new="not in the reference"))
            continue
        row, changes = _merge_row(uid, old_rows[uid], new_rows[uid], uid in take_units, take_fields)
        merged[uid] = row
        report.extend(changes or [FieldChange(uid, LEAVE, new="the same as the reference")])
    out = pd.DataFrame(list(merged.values()), columns=cols)
    return out.sort_values("unit_id", kind="stable").reset_index(drop=True), report


def counts(report: list[FieldChange]) -> dict[str, int]:
    """Units added, fields changed, fields kept, units left (for the summary line)."""
    return {a: sum(c.action == a for c in report) for a in (ADD, CHANGE, KEEP, LEAVE)}


def read_directory(path: Path) -> pd.DataFrame:
    """The directory CSV as strings (I/O edge); every column of the file kept as written."""
    path = Path(path)
    if not path.is_file():
        raise EpuMapperError(f"{path}: no such file")
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise EpuMapperError(f"{path}: cannot read the directory ({exc})") from None
    missing = [c for c in UNIT_COLUMNS if c not in df.columns]
    if missing:
        raise EpuMapperError(f"{path}: missing column(s) {', '.join(missing)}; run `epu-mapper units validate`")
    return df


def import_reference(reference: Path, directory: Path, dry_run: bool = False,
                     take: Iterable[str] = ()) -> list[FieldChange]:
    """Merge ``reference`` into the ``directory`` file and write it atomically.

    The merged directory must pass :func:`~epu_mapper.units.validate_units`;
    nothing is written otherwise (or with ``dry_run``).

    Raises
    ------
    DirectoryValidationError
        The merged directory would not be valid (every problem listed).
    """
    from epu_mapper.store import write_text
    from epu_mapper.units import validate_units

    incoming = convert_reference(read_reference(reference), file=str(reference))
    current = read_directory(directory)
    merged, report = merge_reference(current, incoming, take)
    _, problems = validate_units(merged, name=f"{directory} (merged)")
    if problems:
        raise DirectoryValidationError(problems)
    if not dry_run and any(c.action in (ADD, CHANGE) for c in report):
        write_text(Path(directory), units_to_csv_text(merged))
    return report
