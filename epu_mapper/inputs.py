"""Guards for what people type: shortened echoes, a date window, hours that can only add.

Pure functions (no I/O); the CLI and the API call them at their edges.

Decisions
---------
* **Echoes are short.** An input quoted in an error is cut to :data:`ECHO_CHARS`
  characters and says how long it was, so a 300,000-character paste gives a
  one-line error.
* **Dates from 1900 to 2200.** Opening hours, bank holidays and the UK time zone
  are meaningless far outside today; a moment outside :data:`YEARS` is refused
  with a clear error (Python's date arithmetic overflows at year 1 and 9999).
* **Adding hours only adds.** A rule given to "add" that marks time ``off``,
  ``closed`` or ``unknown``, or a ``||`` fallback rule (which marks every time not
  otherwise matched), is refused: it would take time away. Replacing hours is a
  separate, explicit choice (``--replace``).
"""

from __future__ import annotations

import re
from datetime import date, datetime
from pathlib import Path

import numpy as np

from epu_mapper.errors import EpuMapperError

#: Characters of an input echoed in an error message.
ECHO_CHARS = 60
#: The years a moment may fall in (inclusive).
YEARS = (1900, 2200)

_QUOTED = re.compile(r'"[^"]*"')
_REMOVING = re.compile(r"\b(off|closed|unknown)\b", re.IGNORECASE)


def shorten(value: object, limit: int = ECHO_CHARS) -> str:
    """``repr`` of an input, cut to ``limit`` characters for echoing in a one-line message.

    Parameters
    ----------
    value : object
        What the person typed.
    limit : int
        Characters kept.

    Returns
    -------
    str
        ``'abc'`` for short text; ``'abcdef…' (123,456 characters)`` for long text.
    """
    text = str(value)
    if len(text) <= limit:
        return repr(text)
    return f"{text[:limit]!r}… ({len(text):,} characters)"


def one_line(message: str, limit: int = 400) -> str:
    """Every line of ``message`` cut to about ``limit`` characters (head and tail kept).

    Parameters
    ----------
    message : str
        An error message (one or more lines).
    limit : int
        Longest line kept whole.

    Returns
    -------
    str
        The message with each over-long line shortened in the middle.
    """
    out = []
    for line in message.splitlines() or [""]:
        if len(line) > limit:
            head, tail = line[: limit - 100], line[-80:]
            line = f"{head} … [{len(line) - len(head) - len(tail):,} characters left out] … {tail}"
        out.append(line)
    return "\n".join(out)


def check_year(when: datetime | date, what: str = "the time") -> None:
    """Refuse a moment outside :data:`YEARS`.

    Parameters
    ----------
    when : datetime or date
        The moment (any time zone).
    what : str
        How to name it in the message (e.g. ``"--at"``).

    Raises
    ------
    EpuMapperError
        When its year is before 1900 or after 2200.
    """
    if not YEARS[0] <= when.year <= YEARS[1]:
        raise EpuMapperError(
            f"{what}: {when.isoformat()[:25]} is outside the supported years "
            f"{YEARS[0]}-{YEARS[1]}; give a date in that range, e.g. 2026-11-30T10:00"
        )


def parse_moment(text: str, what: str = "the time") -> datetime:
    """An ISO 8601 date-time inside :data:`YEARS` (``Z`` accepted for UTC).

    Parameters
    ----------
    text : str
        What was typed.
    what : str
        How to name it in messages.

    Returns
    -------
    datetime
        Naive or aware, as written.

    Raises
    ------
    EpuMapperError
        When it is not ISO 8601 or falls outside :data:`YEARS`.
    """
    raw = str(text).strip()
    if raw.endswith(("Z", "z")):
        raw = raw[:-1] + "+00:00"
    try:
        when = datetime.fromisoformat(raw)
    except ValueError:
        raise EpuMapperError(f"{what}: {shorten(text)} is not an ISO date-time "
                             "(e.g. 2026-11-30T10:00)") from None
    check_year(when, what)
    return when


def additive_rule_problem(extra: str) -> str | None:
    """Why ``extra`` cannot be *added* to opening hours (None when it only adds).

    Parameters
    ----------
    extra : str
        OSM opening_hours rules to add (already syntax-checked).

    Returns
    -------
    str or None
        A message when a rule marks time off / closed / unknown or is a ``||`` fallback.
    """
    bare = _QUOTED.sub('""', str(extra))
    if "||" in bare:
        return "a '||' fallback rule marks every other time (it would blank hours a unit has)"
    hit = _REMOVING.search(bare)
    if hit:
        return f"{hit.group(1).lower()!r} takes time away, it does not add any"
    return None


def removed_slots(before: np.ndarray, after: np.ndarray, open_code: int = 1) -> np.ndarray:
    """Slots where ``after`` has less than ``before``: open lost, or known state made unknown.

    Parameters
    ----------
    before, after : numpy.ndarray
        int8 states (open 1, closed 0, unknown -1), the same shape.
    open_code : int
        The open state's code.

    Returns
    -------
    numpy.ndarray
        bool, the same shape: True where time was taken away.
    """
    lost_open = (before == open_code) & (after != open_code)
    changed_to_other = (before != open_code) & (after != open_code) & (after != before)
    return lost_open | changed_to_other


def check_pbf(path: str | Path, what: str = "--pbf") -> Path:
    """An existing OpenStreetMap PBF extract, checked by its first bytes.

    A PBF file starts with a 4-byte length and a ``BlobHeader`` whose type is
    ``OSMHeader``; anything else (a text file, HTML saved from a browser, XML ``.osm``)
    is refused before the road-network build reads it.

    Parameters
    ----------
    path : str or Path
        The file given.
    what : str
        How to name it in messages.

    Returns
    -------
    Path

    Raises
    ------
    EpuMapperError
        When it does not exist, is a folder, cannot be read or is not a PBF file.
    """
    p = Path(path).expanduser()
    if not p.exists():
        raise EpuMapperError(f"{what}: {shorten(str(p))} does not exist")
    if p.is_dir():
        raise EpuMapperError(f"{what}: {shorten(str(p))} is a folder, expected an .osm.pbf file")
    try:
        with open(p, "rb") as fh:
            head = fh.read(64)
    except OSError as exc:
        raise EpuMapperError(f"{what}: cannot read {shorten(str(p))} ({exc.strerror})") from None
    if len(head) < 16 or b"OSMHeader" not in head[4:32]:
        raise EpuMapperError(f"{what}: {shorten(str(p))} is not an OpenStreetMap PBF extract "
                             "(download one, e.g. from download.geofabrik.de, *.osm.pbf)")
    return p
