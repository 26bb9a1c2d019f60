"""Reference table (``epu_reference.csv``) -> the project's directory (``data/units.csv``).

Pure functions on DataFrames plus the reader of the reference (:func:`read_reference`).
``data/units.csv`` is the source of truth: ``epu-mapper units import`` converts a
reference with these rules and merges it in (:mod:`epu_mapper.importer`).

Rules (facts only; empty = unknown, never a guess)
--------------------------------------------------
``opening_hours``
    Each day column (``mon`` … ``sun``) is ``HH:MM-HH:MM`` windows joined by ``;``
    (written as OSM time lists ``08:00-12:00,13:00-17:00``), ``closed`` (``off``)
    or empty (``unknown``). Days with the same value are grouped in weekday
    order (``Mo-Fr``, ``Sa,Su``, ``Mo,Tu,Th,Fr``); ``bank_holidays`` becomes
    ``PH off`` / ``PH 09:00-12:30`` / ``PH unknown``. Every day open all day and
    bank holidays open all day is written ``24/7``. Nothing known at all (7 days
    and bank holidays empty) gives an empty string.
``hours_status``
    ``verified`` when all 7 day columns are known (hours or ``closed``),
    ``partial`` when some are, ``unknown`` when none are. Bank holidays do not
    count towards the status.
``hours_kind``
    Read from ``access_notes`` only, and only for rows with some known day;
    first match wins, otherwise empty:

    1. ``scan`` — the notes say the hours *are* scan / ultrasound times
       (``hours given are scan hours``, ``hours are ultrasound appointment times``);
    2. ``phone triage`` — the notes say the hours are telephone-line hours;
    3. ``walk-in`` — the notes describe a walk-in / drop-in service
       (``walk-in service``, ``walk-in self-referral``, ``walk-in gynae A&E``,
       ``drop-in and wait``); negated mentions (``not walk-in``, ``no walk-ins``) do not count;
    4. ``door`` — the notes state opening (``open 7 days``, ``open Monday…``,
       ``opening times 08:00…``, ``Open 24 hours``).
``out_of_hours``
    The clauses of ``access_notes`` (split at ``;`` and sentence ends) that
    describe where to go when the unit is closed: they mention out of hours /
    OOH / outside … hours / evenings / nights / weekends / "when … closed", or
    they send people to A&E / ED / a ward / NHS 111 with a routing verb (go,
    attend, seen, triaged, contact, call, admitted…). Clauses listing who may
    refer (``referral by GP, midwife, A&E``) are not pathways. Joined with ``; ``.
``unit_id``
    ``site_code`` when known; otherwise a slug of the hospital (or, with no
    hospital, the organisation). If two rows would share an id, each gets
    ``-<slug of unit_name>`` appended, then a short hash of its identity
    (name, hospital, organisation, address, source URL) if still shared: ids do
    not depend on row order.
``postcode``
    ``site_postcode`` if present, else ``postcode``; upper case, one space.
``mappable``
    ``true`` when the row has coordinates (``geocode_method`` is not ``unmatched``).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from pathlib import Path

import pandas as pd

from epu_mapper.errors import EpuMapperError, Problem

DAY_COLUMNS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_ABBR = ("Mo", "Tu", "We", "Th", "Fr", "Sa", "Su")

REFERENCE_COLUMNS = (
    "unit_name", "hospital", "organisation", "nation", "town", "address", "postcode", "phone",
    *DAY_COLUMNS, "bank_holidays", "self_referral", "min_weeks", "max_weeks", "access_notes",
    "source_url", "source_seen", "site_code", "site_postcode", "lat", "lon", "geocode_method",
)

UNIT_COLUMNS = (
    "unit_id", "unit_name", "hospital", "organisation", "nation", "town", "address", "postcode",
    "lat", "lon", "geocode_method", "mappable", "phone", "opening_hours", "hours_status",
    "hours_kind", "self_referral", "min_weeks", "max_weeks", "out_of_hours", "access_notes",
    "source_url", "source_seen", "site_code",
)

_WINDOW_RE = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-4]):([0-5]\d)$")


class ReferenceError(EpuMapperError):
    """The reference table cannot be converted; the message lists every problem."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


# --------------------------------------------------------------------------- hours


def day_spec(cell: str) -> str | None:
    """OSM spec for one day cell.

    Parameters
    ----------
    cell : str
        ``HH:MM-HH:MM`` windows joined by ``;``, ``closed``, or empty.

    Returns
    -------
    str or None
        ``"08:00-12:00,13:00-17:00"``, ``"off"``, or ``None`` for unknown.

    Raises
    ------
    ValueError
        When the cell is none of these.
    """
    text = (cell or "").strip()
    if not text:
        return None
    if text.lower() == "closed":
        return "off"
    windows = [w.strip() for w in text.split(";") if w.strip()]
    for w in windows:
        m = _WINDOW_RE.match(w)
        if not m:
            raise ValueError(f"expected HH:MM-HH:MM windows joined by ';', 'closed' or empty, got {text!r}")
        if m.group(3) == "24" and m.group(4) != "00":
            raise ValueError(f"time past 24:00 in {text!r}")
        if w[:5] == w[6:]:
            raise ValueError(f"empty window {w!r}")
    return ",".join(windows)


def _day_list(days: list[int]) -> str:
    """``[0,1,2,3,4]`` -> ``Mo-Fr``; ``[5,6]`` -> ``Sa,Su``; ``[0,1,3,4]`` -> ``Mo,Tu,Th,Fr``."""
    parts, run = [], [days[0]]
    for d in days[1:]:
        if d == run[-1] + 1:
            run.append(d)
        else:
            parts.append(run)
            run = [d]
    parts.append(run)
    out = []
    for r in parts:
        if len(r) >= 3:
            out.append(f"{DAY_ABBR[r[0]]}-{DAY_ABBR[r[-1]]}")
        else:
            out.extend(DAY_ABBR[d] for d in r)
    return ",".join(out)


def osm_hours(days: list[str], bank_holidays: str) -> tuple[str, str]:
    """Build the OSM string and status from 7 day cells and the bank-holiday cell.

    Parameters
    ----------
    days : list of str
        Seven cells, Monday first (reference format).
    bank_holidays : str
        ``closed``, hours, or empty.

    Returns
    -------
    (opening_hours, hours_status)
    """
    specs = [day_spec(c) for c in days]
    ph = day_spec(bank_holidays)
    known = sum(s is not None for s in specs)
    status = "verified" if known == 7 else "partial" if known else "unknown"
    if known == 0 and ph is None:
        return "", status
    if all(s == "00:00-24:00" for s in specs) and ph == "00:00-24:00":
        return "24/7", status
    groups: dict[str, list[int]] = {}
    for i, s in enumerate(specs):
        groups.setdefault(s if s is not None else "unknown", []).append(i)
    rules = [f"{_day_list(ds)} {spec}" for spec, ds in groups.items()]
    rules.append(f"PH {ph if ph is not None else 'unknown'}")
    return "; ".join(rules), status


# --------------------------------------------------------------------------- notes


_SCAN_RE = re.compile(
    r"hours (?:given )?are (?:the )?(?:scan|ultrasound)|scan hours|ultrasound appointment times", re.IGNORECASE
)
_PHONE_RE = re.compile(r"hours (?:given )?are (?:the )?(?:tele)?phone[- ]line hours", re.IGNORECASE)
_WALKIN_RE = re.compile(
    r"(?<!not )(?<!no )\b(?:walk-in|drop-in) (?:service|self-referral|gynae)|drop-in and wait", re.IGNORECASE
)
_DOOR_RE = re.compile(
    r"\bopen(?:ing times)?\s+(?:\d|24 hours|seven days|monday|mon\b|7 days)", re.IGNORECASE
)


def hours_kind(notes: str, has_hours: bool) -> str:
    """What the hours describe, from the notes (see module docstring); empty if unsaid."""
    if not has_hours or not notes:
        return ""
    for kind, rx in (("scan", _SCAN_RE), ("phone triage", _PHONE_RE), ("walk-in", _WALKIN_RE),
                     ("door", _DOOR_RE)):
        if rx.search(notes):
            return kind
    return ""


_OOH_STRONG = re.compile(
    r"out[- ]of[- ]hours|\bOOH\b|outside (?:[\w']+ ){0,2}hours|\bevenings?\b|\bnights?\b|"
    r"when (?:the )?(?:EPU|unit|clinic|service)(?: is)? closed|\d\d:\d\d-0[0-8]:\d\d",
    re.IGNORECASE,
)
_OOH_PLACE = re.compile(
    r"\bA&E\b|\bED\b|emergency department|\bward\b|NHS 111|\b111\b|\b999\b|\bweekends?\b", re.IGNORECASE
)
_OOH_VERB = re.compile(
    r"\bgo(?:es)? to\b|\battend|\bseen\b|\btriaged\b|\bcontact\b|\bcall\b|\bvisit\b|"
    r"\badmitted\b|\bsent\b|\bto (?:the )?(?:A&E|ED)\b|\bvia\b|referred directly|\bruns from\b",
    re.IGNORECASE,
)
#: Clauses that list who may refer, note where a site was inferred from, or route by gestation
#: (labour ward / maternity triage) are not out-of-hours pathways.
_NOT_PATHWAY = re.compile(
    r"\breferr(?:al|als|ed) (?:by|from)\b|self-referral or via|referral only \(|^referral|"
    r"\binferred\b|labour ward|maternity triage|^separate unit|^weak source|appointment only via",
    re.IGNORECASE,
)
_CLAUSE_SPLIT = re.compile(r";\s+|(?<=[A-Za-z0-9)])\.\s+(?=[A-Z])")


def out_of_hours(notes: str) -> str:
    """Out-of-hours pathway clauses of the notes (see module docstring); empty if none."""
    if not notes:
        return ""
    keep = []
    for clause in _CLAUSE_SPLIT.split(notes):
        c = clause.strip().rstrip(".")
        if not c or _NOT_PATHWAY.search(c):
            continue
        if _OOH_STRONG.search(c) or (_OOH_PLACE.search(c) and _OOH_VERB.search(c)):
            keep.append(c)
    return "; ".join(keep)


# --------------------------------------------------------------------------- ids etc.


def slugify(text: str, max_len: int = 60) -> str:
    """ASCII slug: lower case, ``-`` between words, cut at a word boundary."""
    norm = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    norm = norm.replace("&", " and ").replace("'", "")
    slug = re.sub(r"[^a-z0-9]+", "-", norm.lower()).strip("-")
    if len(slug) > max_len:
        slug = slug[:max_len].rsplit("-", 1)[0]
    return slug


def normalise_postcode(text: str) -> str:
    """Upper case, single space before the inward code (``sw170qt`` -> ``SW17 0QT``)."""
    compact = re.sub(r"\s+", "", (text or "").upper())
    if len(compact) < 5:
        return compact
    return f"{compact[:-3]} {compact[-3:]}"


def _identity_hash(row: pd.Series) -> str:
    key = "|".join(str(row.get(c, "")) for c in ("unit_name", "hospital", "organisation", "address",
                                                  "source_url"))
    return hashlib.sha1(key.encode("utf-8")).hexdigest()[:6]


def unit_ids(ref: pd.DataFrame) -> pd.Series:
    """Stable ids (see module docstring), independent of row order.

    Parameters
    ----------
    ref : pandas.DataFrame
        Reference columns ``site_code``, ``hospital``, ``organisation``, ``unit_name``
        (+ ``address``, ``source_url`` for the tie-break hash).

    Returns
    -------
    pandas.Series of str, indexed like ``ref``.
    """
    base = [
        (sc.strip() if sc.strip() else slugify(re.split(r"[;(]", h)[0].strip() or o.strip()))
        for sc, h, o in zip(ref["site_code"], ref["hospital"], ref["organisation"], strict=True)
    ]
    ids = pd.Series(base, index=ref.index, dtype=object)
    dup = ids.duplicated(keep=False)
    if dup.any():
        ids[dup] = [f"{b}-{slugify(n, 40)}" for b, n in zip(ids[dup], ref.loc[dup, "unit_name"],
                                                              strict=True)]
        dup = ids.duplicated(keep=False)
        if dup.any():
            ids[dup] = [f"{b}-{_identity_hash(ref.loc[i])}" for i, b in ids[dup].items()]
    if ids.duplicated().any():
        raise ValueError("could not make unit ids unique (identical rows in the reference?)")
    return ids.astype(str)


# --------------------------------------------------------------------------- conversion


def convert_reference(ref: pd.DataFrame, file: str = "<reference>") -> pd.DataFrame:
    """Convert the reference table into directory rows.

    Parameters
    ----------
    ref : pandas.DataFrame
        All :data:`REFERENCE_COLUMNS` as strings (empty = unknown).
    file : str
        Name used in error messages.

    Returns
    -------
    pandas.DataFrame
        :data:`UNIT_COLUMNS`, all strings, sorted by ``unit_id``.

    Raises
    ------
    ReferenceError
        Missing columns or unreadable day cells (every problem listed, line =
        physical CSV line assuming one line per row, header = 1).
    """
    missing = [c for c in REFERENCE_COLUMNS if c not in ref.columns]
    if missing:
        raise ReferenceError([Problem(file, 1, c, "required column is missing") for c in missing])
    ref = ref.fillna("").astype(str)
    problems: list[Problem] = []
    hours, status, kinds, ooh = [], [], [], []
    for pos, (_, row) in enumerate(ref.iterrows()):
        line = pos + 2
        cells = []
        for col in (*DAY_COLUMNS, "bank_holidays"):
            try:
                day_spec(row[col])
                cells.append(row[col])
            except ValueError as exc:
                problems.append(Problem(file, line, col, str(exc)))
                cells.append("")
        oh, st = osm_hours(cells[:7], cells[7])
        hours.append(oh)
        status.append(st)
        kinds.append(hours_kind(row["access_notes"], st != "unknown"))
        ooh.append(out_of_hours(row["access_notes"]))
    if problems:
        raise ReferenceError(problems)

    out = pd.DataFrame(index=ref.index)
    out["unit_id"] = unit_ids(ref)
    for col in ("unit_name", "hospital", "organisation", "nation", "town", "address"):
        out[col] = ref[col].str.strip()
    pc = ref["site_postcode"].str.strip().where(ref["site_postcode"].str.strip() != "",
                                                ref["postcode"].str.strip())
    out["postcode"] = pc.map(normalise_postcode)
    out["lat"] = ref["lat"].str.strip()
    out["lon"] = ref["lon"].str.strip()
    out["geocode_method"] = ref["geocode_method"].str.strip()
    has_xy = (out["lat"] != "") & (out["lon"] != "") & (out["geocode_method"] != "unmatched")
    out["mappable"] = has_xy.map({True: "true", False: "false"})
    out["phone"] = ref["phone"].str.strip()
    out["opening_hours"] = hours
    out["hours_status"] = status
    out["hours_kind"] = kinds
    sr = ref["self_referral"].str.strip().str.lower()
    out["self_referral"] = sr.where(sr != "", "unknown")
    out["min_weeks"] = ref["min_weeks"].str.strip()
    out["max_weeks"] = ref["max_weeks"].str.strip()
    out["out_of_hours"] = ooh
    out["access_notes"] = ref["access_notes"].str.strip()
    out["source_url"] = ref["source_url"].str.strip()
    out["source_seen"] = ref["source_seen"].str.strip()
    out["site_code"] = ref["site_code"].str.strip()
    return out.loc[:, list(UNIT_COLUMNS)].sort_values("unit_id", kind="stable").reset_index(drop=True)


def read_reference(path: Path) -> pd.DataFrame:
    """Read the reference CSV as strings (I/O edge)."""
    path = Path(path)
    if not path.is_file():
        raise EpuMapperError(f"reference table not found: {path}")
    try:
        return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise EpuMapperError(f"{path}: cannot read the reference table ({exc})") from None


def units_to_csv_text(units: pd.DataFrame) -> str:
    r"""The directory as CSV text (UTF-8, ``\n`` line ends, minimal quoting)."""
    return units.to_csv(index=False, lineterminator="\n")
