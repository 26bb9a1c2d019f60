"""Reading a CSV file record by record, so that one malformed row never loses another.

Python's :mod:`csv` reader stops at the first syntax error, and a quote that is
never closed swallows every later row into one cell. This reader parses each
record on its own (RFC 4180: comma-separated, ``"`` quotes, ``""`` inside quotes,
a quoted cell may run over several lines), and when a record is malformed it
reports it and carries on at the **next physical line**. A record that spans
several lines is accepted only when it parses cleanly into the expected number of
cells; otherwise its first line is reported and reading resumes on the line after.

Faults reported per record (``line`` is the physical line where it starts,
header = 1): a quote never closed, characters after a closing quote, a quote
inside an unquoted cell, a cell over :data:`MAX_CELL` characters, a wrong number
of cells, bytes that are not UTF-8, NUL bytes. Faults of the whole file (empty,
UTF-16, a ZIP/Excel workbook, a binary file) are reported once at its line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: Longest cell accepted (the limit of Python's csv module, kept for compatibility).
MAX_CELL = 131_072

_QUOTED = re.compile(r'"((?>[^"]+|"")*+)"')
_PLAIN = re.compile(r'[^,"\r\n]*')
_EOL = re.compile(r"\r\n|\n|\r")
_BAD_BYTE = re.compile(r"[\udc80-\udcff]")


@dataclass(frozen=True)
class Record:
    """One parsed record: ``line`` (physical, 1-based) and its cells (``ok``) or why it is malformed.

    ``cell`` is the 0-based index of the cell where the fault was found (``None`` for
    the whole record).
    """

    line: int
    cells: list[str]
    error: str | None = None
    cell: int | None = None


def decode(raw: bytes) -> tuple[str | None, int, str]:
    r"""Text of a CSV file, with undecodable bytes kept as surrogates for per-row reporting.

    Parameters
    ----------
    raw : bytes
        The file's bytes.

    Returns
    -------
    text : str or None
        The text (UTF-8, BOM removed; a byte that is not UTF-8 becomes a lone
        surrogate ``\udc80``–``\udcff``), or None when the whole file is unreadable.
    line : int
        Where the whole-file fault is (when ``text`` is None).
    message : str
        The whole-file fault (when ``text`` is None), else ``""``.
    """
    if not raw.strip():
        return None, 1, "the file is empty (expected a CSV header row)"
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return None, 1, "the file is UTF-16 encoded; save it as UTF-8 CSV"
    if raw.startswith(b"PK\x03\x04"):
        return None, 1, "this is a ZIP / Excel workbook, not a CSV; export it as CSV UTF-8"
    first_line = raw.split(b"\n", 1)[0]
    nuls = raw.count(b"\x00")
    if nuls and (b"\x00" in first_line or nuls > max(8, len(raw) // 100)):
        line = raw[: raw.index(b"\x00")].count(b"\n") + 1
        return None, line, "contains NUL bytes: this is a binary file, not a UTF-8 CSV"
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    text = raw.decode("utf-8", errors="surrogateescape")
    bad = _BAD_BYTE.search(text.split("\n", 1)[0])
    if bad:
        return None, 1, (f"the header is not UTF-8 text (byte 0x{ord(bad.group(0)) - 0xDC00:02x}); "
                         "save the file as UTF-8 CSV")
    return text, 0, ""


def _cell_fault(value: str) -> str | None:
    if len(value) > MAX_CELL:
        return f"the cell is {len(value):,} characters long (the limit is {MAX_CELL:,})"
    bad = _BAD_BYTE.search(value)
    if bad:
        return (f"byte 0x{ord(bad.group(0)) - 0xDC00:02x} is not UTF-8 text; "
                "save the file as UTF-8 CSV")
    if "\x00" in value:
        return "contains a NUL byte"
    return None


def _parse(text: str, pos: int) -> tuple[list[str], int, str | None, int | None]:
    """Parse one record from ``pos``: cells, end position, error, index of the faulty cell."""
    cells: list[str] = []
    n = len(text)
    while True:
        i = len(cells)
        if pos < n and text[pos] == '"':
            m = _QUOTED.match(text, pos)
            if m is None:
                return cells, n, "a quote opens this cell but is never closed", i
            value = m.group(1).replace('""', '"')
            pos = m.end()
            if pos < n and text[pos] not in ",\r\n":
                if _EOL.search(value):
                    return cells, pos, ("a quote opens this cell but is not closed on its line "
                                        "(check quotes)"), i
                return cells, pos, (f"characters after the closing quote ({text[pos:pos + 10]!r}); "
                                    "a quoted cell must end at the quote"), i
        else:
            plain = _PLAIN.match(text, pos)  # always matches (possibly empty)
            assert plain is not None
            value, pos = plain.group(0), plain.end()
            if pos < n and text[pos] == '"':
                return cells, pos, ("a quote inside an unquoted cell; quote the whole cell and "
                                    "double the quotes inside it"), i
        fault = _cell_fault(value)
        if fault:
            return cells, pos, fault, i
        cells.append(value)
        if pos >= n:
            return cells, n, None, None
        if text[pos] == ",":
            pos += 1
            continue
        eol = _EOL.match(text, pos)
        return cells, eol.end() if eol else pos, None, None


def read_records(text: str, width: int | None = None) -> tuple[list[str] | None, list[Record]]:
    """Header and records of CSV text, recovering after every malformed record.

    Parameters
    ----------
    text : str
        The CSV text (as returned by :func:`decode`).
    width : int, optional
        Expected number of cells per record (default: the header's).

    Returns
    -------
    header : list of str or None
        The header's cells (None when the header itself is malformed).
    records : list of Record
        Every non-blank record after the header, in order; ``error`` set for the
        malformed ones (a malformed header is returned as a record at line 1).
    """
    starts = [0] + [m.end() for m in _EOL.finditer(text)]
    line_of = {p: k + 1 for k, p in enumerate(starts)}
    records: list[Record] = []
    header: list[str] | None = None
    k = 0  # index into starts (physical line - 1)
    while k < len(starts) and starts[k] < len(text):
        pos = starts[k]
        if header is None and text[pos:].strip() == "":
            break
        cells, end, error, cell = _parse(text, pos)
        if header is None:
            if error:
                return None, [Record(k + 1, cells, error, cell)]
            header = cells
            width = width or len(header)
        elif error is None and not any(c.strip() for c in cells):
            pass  # blank line
        elif error is None and len(cells) != width:
            error = f"expected {width} cells, found {len(cells)} (check commas and quotes)"
            records.append(Record(k + 1, cells, error, None))
        else:
            records.append(Record(k + 1, cells, error, cell))
        if error is not None:
            k += 1  # a malformed record (even one spanning lines): resume on the next physical line
        else:
            k = line_of[end] - 1 if end < len(text) else len(starts)
    return header, records
