"""The EPU directory (``data/units.csv``): schema, loading and validation.

The schema is documented in ``docs/architecture.md`` (Units directory). Every
problem is reported as a :class:`~epu_mapper.errors.Problem`
(``file:line: column: message``, ``line`` = physical line in the CSV, header = 1,
a record with a quoted newline is reported at the line where it starts).

One bad row never loses the others: :func:`validate_units` returns the valid
rows *and* the problems; :func:`load_units` (used by the app and the CLI) does
the same and attaches the problems to the frame as ``df.attrs["problems"]``.

Decisions
---------
* Welsh / Gaelic / Irish letters (``ŵ``, ``ŷ``, ``à``, ``ò``) are ordinary text
  and valid everywhere.
* HTML markup in a text field (``<b>``, ``<script>``, ``&lt;``) is an **error**
  (the row is rejected): the directory is plain text shown in a web page.
* Coordinates must lie in the UK box (lat 49.8…60.95, lon −8.7…1.8); a pair that
  fits only when swapped is reported as "lat and lon look swapped".
* ``postcode`` must be a UK postcode written as upper case with one space
  (``SW17 0QT``); ``GIR 0AA`` is accepted.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import pandas as pd

from epu_mapper.convert import UNIT_COLUMNS
from epu_mapper.csvrows import decode, read_records
from epu_mapper.csvsafe import formula_prefix
from epu_mapper.errors import DirectoryValidationError, EpuMapperError, Problem
from epu_mapper.hours import UNKNOWN, check_hours, week_states_for
from epu_mapper.postcodes import is_written_postcode
from epu_mapper.settings import NATIONS, Settings, get_settings

REQUIRED_COLUMNS = UNIT_COLUMNS
HOURS_STATUS = ("verified", "partial", "unknown")
HOURS_KINDS = ("", "door", "walk-in", "scan", "phone triage")
SELF_REFERRAL = ("yes", "no", "conditional", "unknown")
TEXT_COLUMNS = (
    "unit_name", "hospital", "organisation", "town", "address", "phone", "out_of_hours",
    "access_notes",
)

UK_LAT = (49.8, 60.95)
UK_LON = (-8.7, 1.8)

_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,79}$")
_SITE_RE = re.compile(r"^[A-Z0-9]{3,8}$")
_URL_RE = re.compile(r"^https?://[^\s/?#]+\.[^\s/?#]+(?:[/?#]\S*)?$", re.IGNORECASE)
_SEEN_RE = re.compile(r"^\d{4}(?:-(?:0[1-9]|1[0-2])(?:-(?:0[1-9]|[12]\d|3[01]))?)?$")
_HTML_RE = re.compile(r"<\s*/?\s*[A-Za-z!][^>]*>|&(?:lt|gt|amp|nbsp|quot|#\d+|#x[0-9a-f]+);", re.IGNORECASE)
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_PHONE_RE = re.compile(r"^[0-9+() ]+(?:\s*(?:ext\.?|x)\s*[0-9/ ]+)?$", re.IGNORECASE)
FILE_COLUMN = "(file)"


# --------------------------------------------------------------------------- reading


def _records(text: str, name: str) -> tuple[list[str] | None, list[tuple[int, list[str]]], list[Problem]]:
    """Header, ``(start_line, cells)`` of the well-formed records, and a problem per malformed one."""
    header, records = read_records(text)
    problems: list[Problem] = []
    good: list[tuple[int, list[str]]] = []
    cols = header or []
    for rec in records:
        if rec.error is None:
            good.append((rec.line, rec.cells))
            continue
        col = cols[rec.cell] if rec.cell is not None and rec.cell < len(cols) else FILE_COLUMN
        problems.append(Problem(name, rec.line, col, f"malformed CSV: {rec.error}"))
    if header is not None:
        header = [f.strip() for f in header]
    return header, good, problems


def _header_problems(header: list[str], name: str) -> list[Problem]:
    problems = []
    if len(header) == 1 and any(d in header[0] for d in (";", "\t", "|")):
        delim = next(d for d in (";", "\t", "|") if d in header[0])
        shown = {"\t": "tab"}.get(delim, repr(delim))
        return [Problem(name, 1, FILE_COLUMN,
                        f"the header is one column separated by {shown}: the directory must be "
                        "comma-separated")]
    seen = set()
    for col in header:
        if col in seen:
            problems.append(Problem(name, 1, col, "column appears twice in the header"))
        seen.add(col)
    for col in REQUIRED_COLUMNS:
        if col not in header:
            problems.append(Problem(name, 1, col, "required column is missing"))
    return problems


# --------------------------------------------------------------------------- row checks


def _float(text: str) -> float | None:
    try:
        v = float(text)
    except ValueError:
        return None
    return v if math.isfinite(v) else None


def _int(text: str) -> int | None:
    return int(text) if re.fullmatch(r"\d{1,2}", text) else None


def _in_uk(lat: float, lon: float) -> bool:
    return UK_LAT[0] <= lat <= UK_LAT[1] and UK_LON[0] <= lon <= UK_LON[1]


def check_row(row: dict[str, str]) -> list[tuple[str, str]]:
    """Problems of one directory row as ``(column, message)`` pairs.

    Parameters
    ----------
    row : dict
        Every :data:`REQUIRED_COLUMNS` key, values as strings (empty = unknown).

    Returns
    -------
    list of (column, message); empty when the row is valid.
    """
    return [
        problem
        for check in (_check_identity, _check_postcode, _check_site, _check_hours, _check_weeks,
                      _check_source)
        for problem in check(row)
    ]


def _check_identity(row: dict[str, str]) -> list[tuple[str, str]]:
    """Id, name, free text and nation."""
    out: list[tuple[str, str]] = []
    uid = row["unit_id"].strip()
    if not uid:
        out.append(("unit_id", "is empty; every unit needs an id"))
    elif not _ID_RE.match(uid):
        out.append(("unit_id", f"{uid!r} must be letters, digits and '-' only"))
    if not row["unit_name"].strip():
        out.append(("unit_name", "is empty"))
    for col in (*TEXT_COLUMNS, "source_url", "opening_hours"):
        val = row[col]
        if _CONTROL_RE.search(val):
            out.append((col, "contains control characters"))
        elif col in TEXT_COLUMNS and _HTML_RE.search(val):
            tag = _HTML_RE.search(val).group(0)
            out.append((col, f"contains HTML markup ({tag!r}); the directory is plain text"))
    if row["nation"] not in NATIONS:
        out.append(("nation", f"{row['nation']!r} is not one of {', '.join(NATIONS)}"))
    return out


def _check_postcode(row: dict[str, str]) -> list[tuple[str, str]]:
    """The postcode, written as Royal Mail writes it."""
    out: list[tuple[str, str]] = []
    pc = row["postcode"]
    if pc and not is_written_postcode(pc):
        compact = re.sub(r"\s+", "", pc.upper())
        canon = f"{compact[:-3]} {compact[-3:]}" if len(compact) >= 5 else compact
        if is_written_postcode(canon):
            out.append(("postcode", f"{pc!r} must be written as {canon!r} (upper case, one space)"))
        else:
            out.append(("postcode", f"{pc!r} is not a UK postcode"))
    return out


def _check_site(row: dict[str, str]) -> list[tuple[str, str]]:
    """Coordinates inside the UK, and the ``mappable`` flag agreeing with them."""
    out: list[tuple[str, str]] = []
    lat_s, lon_s = row["lat"].strip(), row["lon"].strip()
    has_xy = False
    if lat_s or lon_s:
        lat, lon = _float(lat_s), _float(lon_s)
        if not lat_s or not lon_s:
            out.append(("lat" if not lat_s else "lon", "one coordinate is given without the other"))
        elif lat is None:
            out.append(("lat", f"{lat_s!r} is not a number"))
        elif lon is None:
            out.append(("lon", f"{lon_s!r} is not a number"))
        elif not _in_uk(lat, lon):
            if _in_uk(lon, lat):
                out.append(("lat", f"({lat_s}, {lon_s}) is outside the UK: lat and lon look swapped"))
            elif not UK_LAT[0] <= lat <= UK_LAT[1]:
                out.append(("lat", f"{lat_s} is outside the UK (latitude {UK_LAT[0]} to {UK_LAT[1]})"))
            else:
                out.append(("lon", f"{lon_s} is outside the UK (longitude {UK_LON[0]} to {UK_LON[1]})"))
        else:
            has_xy = True
    mappable = row["mappable"].strip().lower()
    if mappable not in ("true", "false"):
        out.append(("mappable", f"{row['mappable']!r} must be 'true' or 'false'"))
    elif mappable == "true" and not has_xy and not (lat_s or lon_s):
        out.append(("mappable", "is true but the unit has no lat/lon"))
    return out


def _check_hours(row: dict[str, str]) -> list[tuple[str, str]]:
    """Opening hours, their status and kind, and self-referral."""
    out: list[tuple[str, str]] = []
    oh = row["opening_hours"]
    msg = check_hours(oh) if not _CONTROL_RE.search(oh) else None
    if msg:
        out.append(("opening_hours", msg))
    status = row["hours_status"]
    if status not in HOURS_STATUS:
        out.append(("hours_status", f"{status!r} must be one of {', '.join(HOURS_STATUS)}"))
    elif not oh.strip() and status != "unknown":
        out.append(("hours_status", f"is {status!r} but opening_hours is empty"))
    elif oh.strip() and not msg and status in ("verified", "unknown"):
        week = week_states_for([oh])[0]
        if status == "verified" and (week == UNKNOWN).any():
            out.append(("hours_status", "is 'verified' but opening_hours leaves some hours unknown"))
        elif status == "unknown" and (week != UNKNOWN).any():
            out.append(("hours_status", "is 'unknown' but opening_hours gives known hours"))
    if row["hours_kind"] not in HOURS_KINDS:
        kinds = ", ".join(k for k in HOURS_KINDS if k)
        out.append(("hours_kind", f"{row['hours_kind']!r} must be empty or one of {kinds}"))
    if row["self_referral"] not in SELF_REFERRAL:
        allowed = ", ".join(SELF_REFERRAL)
        out.append(("self_referral", f"{row['self_referral']!r} must be one of {allowed}"))
    return out


def _check_weeks(row: dict[str, str]) -> list[tuple[str, str]]:
    """Gestation limits: whole weeks 1–45, min not above max."""
    out: list[tuple[str, str]] = []
    weeks = {}
    for col in ("min_weeks", "max_weeks"):
        val = row[col].strip()
        if val:
            n = _int(val)
            if n is None or not 0 < n <= 45:
                out.append((col, f"{val!r} must be a whole number of weeks from 1 to 45"))
            else:
                weeks[col] = n
    if len(weeks) == 2 and weeks["min_weeks"] > weeks["max_weeks"]:
        lo, hi = weeks["min_weeks"], weeks["max_weeks"]
        out.append(("min_weeks", f"min_weeks {lo} is greater than max_weeks {hi}"))
    return out


def _check_source(row: dict[str, str]) -> list[tuple[str, str]]:
    """Source URL and date, phone and site code."""
    out: list[tuple[str, str]] = []
    url = row["source_url"].strip()
    if not url:
        out.append(("source_url", "is empty; every unit needs the URL of its source"))
    elif not _URL_RE.match(url):
        out.append(("source_url", f"{url[:80]!r} is not an http(s) URL"))
    seen = row["source_seen"].strip()
    if seen and not _SEEN_RE.match(seen):
        out.append(("source_seen", f"{seen!r} must be YYYY, YYYY-MM or YYYY-MM-DD"))
    phone = row["phone"].strip()
    if phone and not _HTML_RE.search(phone) and (
        not _PHONE_RE.match(phone) or len(re.sub(r"\D", "", phone)) < 6
    ):
        out.append(("phone", f"{phone!r} is not a phone number"))
    sc = row["site_code"].strip()
    if sc and not _SITE_RE.match(sc):
        out.append(("site_code", f"{sc!r} is not an ODS / Scottish site code"))
    return out


def _typed(rows: list[dict[str, str]]) -> pd.DataFrame:
    """Typed frame of valid rows (strings stay strings, '' = unknown)."""
    df = pd.DataFrame(rows, columns=list(REQUIRED_COLUMNS))
    df = df.astype({c: str for c in REQUIRED_COLUMNS}) if len(df) else df.astype(object)
    for c in ("lat", "lon"):
        df[c] = pd.to_numeric(df[c].replace("", None), errors="coerce").astype("float64")
    for c in ("min_weeks", "max_weeks"):
        df[c] = pd.to_numeric(df[c].replace("", None), errors="coerce").astype("Int64")
    df["mappable"] = df["mappable"].astype(str).str.lower().eq("true")
    return df.reset_index(drop=True)


# --------------------------------------------------------------------------- public API


def validate_text(text: str, name: str = "<units>") -> tuple[pd.DataFrame, list[Problem]]:
    """Validate directory CSV text. See :func:`validate_units`."""
    header, records, problems = _records(text, name)
    if header is None:
        return _typed([]), problems or [Problem(name, 1, FILE_COLUMN, "the file is empty")]
    head_problems = _header_problems(header, name)
    if head_problems:
        return _typed([]), head_problems + problems
    if not records and not problems:
        return _typed([]), [Problem(name, 2, FILE_COLUMN,
                                    "the file has a header but no unit rows")]
    index = {c: i for i, c in enumerate(header)}
    valid: list[dict[str, str]] = []
    warnings: list[Problem] = []
    first_line: dict[str, int] = {}
    for line, fields in records:
        row = {c: fields[index[c]] for c in REQUIRED_COLUMNS}
        row_problems = check_row(row)
        uid = row["unit_id"].strip()
        if uid and uid in first_line:
            first = first_line[uid]
            row_problems.append(("unit_id", f"duplicate id {uid!r} (first used on line {first})"))
        if row_problems:
            problems.extend(Problem(name, line, c, m) for c, m in row_problems)
        else:
            first_line[uid] = line
            valid.append({c: row[c].strip() for c in REQUIRED_COLUMNS})
            warnings.extend(Problem(name, line, c, m) for c, m in row_warnings(row))
    df = _typed(valid)
    df.attrs["warnings"] = warnings
    return df, sorted(problems, key=lambda p: p.line)


def row_warnings(row: dict[str, str]) -> list[tuple[str, str]]:
    """Warnings (not errors) about one valid row, as ``(column, message)`` pairs.

    A text cell a spreadsheet would run as a formula (``=HYPERLINK(...)``,
    ``+1+1``, ``@SUM(...)``) is kept, and every CSV export neutralises it
    (:mod:`epu_mapper.csvsafe`); the warning asks the editor to check it.
    ``phone`` is exempt (``+44 ...`` is a normal way to write a number).

    Parameters
    ----------
    row : dict
        Every :data:`REQUIRED_COLUMNS` key, values as strings.

    Returns
    -------
    list of (column, message)
    """
    out = []
    for col in TEXT_COLUMNS:
        if col != "phone" and formula_prefix(row[col].strip()):
            msg = (f"begins with {row[col].strip()[:1]!r}: a spreadsheet would run it as a "
                   "formula (CSV exports add a leading apostrophe); check the text")
            out.append((col, msg))
    return out


def validate_units(source: pd.DataFrame | str | Path, name: str | None = None
                   ) -> tuple[pd.DataFrame, list[Problem]]:
    """Check a directory and return its valid rows and every problem found.

    Parameters
    ----------
    source : pandas.DataFrame or path
        A directory file, or a frame with the :data:`REQUIRED_COLUMNS` (line numbers
        are then row position + 2, as if written to CSV).
    name : str, optional
        File name used in problems (default: the path, or ``<units>``).

    Returns
    -------
    valid : pandas.DataFrame
        The valid rows, columns :data:`REQUIRED_COLUMNS`: ``lat``/``lon`` float
        (NaN = no site), ``min_weeks``/``max_weeks`` Int64, ``mappable`` bool,
        all other columns str (``""`` = unknown).
    problems : list of Problem
        Every problem, in line order (``file:line: column: message``). Warnings about
        kept rows (:func:`row_warnings`) are in ``valid.attrs["warnings"]``.

    Raises
    ------
    EpuMapperError
        When the path does not exist or cannot be read.
    """
    if isinstance(source, pd.DataFrame):
        frame = source.copy()
        for c in REQUIRED_COLUMNS:
            if c in frame.columns:
                frame[c] = frame[c].map(_cell_text)
        return validate_text(frame.to_csv(index=False, lineterminator="\n"), name or "<units>")
    path = Path(source)
    label = name or str(source)
    if not path.exists():
        raise EpuMapperError(f"{label}: no such file")
    if path.is_dir():
        raise EpuMapperError(f"{label}: is a folder, expected a CSV file")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise EpuMapperError(f"{label}: cannot read ({exc.strerror})") from None
    text, line, message = decode(raw)
    if text is None:
        return _typed([]), [Problem(label, line, FILE_COLUMN, message)]
    return validate_text(text, label)


def _cell_text(v: object) -> str:
    if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)):
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def load_units(path: str | Path | None = None, strict: bool = False,
               settings: Settings | None = None) -> pd.DataFrame:
    """Load the directory: every valid row, problems attached.

    Parameters
    ----------
    path : path, optional
        Default ``settings.units_csv`` (``data/units.csv``; env ``EPU_MAPPER_UNITS``).
    strict : bool, default False
        Raise :class:`~epu_mapper.errors.DirectoryValidationError` on any problem.
    settings : Settings, optional

    Returns
    -------
    pandas.DataFrame
        Columns as :func:`validate_units`; ``df.attrs["problems"]`` lists the
        problems of the rows that were left out (empty list when none).

    Raises
    ------
    DirectoryValidationError
        ``strict`` and any problem, or no valid row at all.
    """
    settings = settings or get_settings()
    path = Path(path) if path is not None else settings.units_csv
    df, problems = validate_units(path)
    if problems and (strict or df.empty):
        raise DirectoryValidationError(problems)
    df.attrs["problems"] = problems
    return df


def summary(df: pd.DataFrame) -> dict[str, dict[str, int]]:
    """Counts of units per nation and per ``hours_status`` (for the CLI and the app)."""
    return {
        "nation": {n: int((df["nation"] == n).sum()) for n in NATIONS},
        "hours_status": {s: int((df["hours_status"] == s).sum()) for s in HOURS_STATUS},
        "mappable": {"true": int(df["mappable"].sum()), "false": int((~df["mappable"]).sum())},
    }
