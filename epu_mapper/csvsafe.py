"""The one CSV writer for every CSV the product hands to a person: spreadsheet-safe.

A spreadsheet opening a CSV runs a cell that begins with ``=``, ``+``, ``-`` or
``@`` as a formula (``=HYPERLINK(...)``, ``-1+cmd|' /C calc'!A0``), and some also
treat a leading tab or carriage return that way. Following the OWASP advice on
CSV injection, such a text cell is written with a leading apostrophe
(``'=HYPERLINK(...)``), which spreadsheets show as text and never evaluate.

Decisions
---------
* **A number stays a number.** Numeric columns are written as numbers, and a
  text cell that is exactly a plain decimal number (``-3``, ``+1.5``, ``-2e-3``)
  is left alone: a spreadsheet reads it as that number, not a formula, and an
  apostrophe would turn minutes or coordinates into text. ``-1+1`` or ``+44 20``
  are not plain numbers and get the apostrophe.
* Column names go through the same rule.
* The directory file itself (``data/units.csv``, written by
  :mod:`epu_mapper.convert`) is an input, not an export, and is written
  verbatim; the validator warns about text cells that a spreadsheet would run
  (:func:`formula_prefix`).

Every CSV export (``--csv`` on the CLI, the app's download buttons) uses
:func:`csv_text`, :func:`csv_bytes` or :func:`write_csv`.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import IO, Any

import pandas as pd

#: Leading characters a spreadsheet may treat as the start of a formula (OWASP).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

_NUMBER_RE = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


def formula_prefix(text: str) -> bool:
    """Whether a spreadsheet could run ``text`` as a formula.

    Parameters
    ----------
    text : str
        A cell's text.

    Returns
    -------
    bool
        True when ``text`` begins with one of :data:`FORMULA_STARTS` and is not a
        plain decimal number.
    """
    return text.startswith(FORMULA_STARTS) and not _NUMBER_RE.fullmatch(text)


def safe_cell(value: Any) -> Any:
    r"""``value`` with a leading apostrophe when it is text a spreadsheet would run.

    Parameters
    ----------
    value : object
        A cell. Only ``str`` values can change; numbers, booleans and missing
        values are returned as they are.

    Returns
    -------
    object
        ``"'" + value`` for formula-like text, else ``value``; carriage returns inside
        text become ``\n`` (so the CSV writer quotes the cell).
    """
    if not isinstance(value, str):
        return value
    if formula_prefix(value):
        value = "'" + value
    # a bare carriage return would not be quoted with "\n" line ends: normalise it to "\n"
    return value.replace("\r\n", "\n").replace("\r", "\n") if "\r" in value else value


def safe_frame(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``df`` whose text cells and column names are spreadsheet-safe.

    Parameters
    ----------
    df : pandas.DataFrame
        Any columns; only object / string columns are rewritten.

    Returns
    -------
    pandas.DataFrame
        Same shape, index and column order; numeric columns untouched.
    """
    out = pd.DataFrame(df, copy=True)
    for i in range(out.shape[1]):
        col = out.iloc[:, i]
        if col.dtype == object or pd.api.types.is_string_dtype(col.dtype):
            out.isetitem(i, col.map(safe_cell, na_action="ignore"))
    out.columns = [safe_cell(str(c)) for c in out.columns]
    return out


def write_csv(df: pd.DataFrame, target: str | Path | IO[str], float_format: str | None = None) -> None:
    r"""Write ``df`` as a spreadsheet-safe CSV (UTF-8, ``\n`` line ends, no index).

    Parameters
    ----------
    df : pandas.DataFrame
        The table to write.
    target : path or text stream
        A file path (written atomically) or an open text stream (e.g. ``sys.stdout``).
    float_format : str, optional
        As :meth:`pandas.DataFrame.to_csv`, e.g. ``"%.4g"``.
    """
    if isinstance(target, str | Path):
        from epu_mapper.store import write_text

        write_text(Path(target), csv_text(df, float_format=float_format))
        return
    safe_frame(df).to_csv(target, index=False, lineterminator="\n", float_format=float_format)


def csv_text(df: pd.DataFrame, float_format: str | None = None) -> str:
    """``df`` as spreadsheet-safe CSV text. See :func:`write_csv`."""
    return safe_frame(df).to_csv(index=False, lineterminator="\n", float_format=float_format)


def csv_bytes(df: pd.DataFrame, float_format: str | None = None) -> bytes:
    """``df`` as spreadsheet-safe UTF-8 CSV bytes, for download buttons. See :func:`write_csv`."""
    return csv_text(df, float_format=float_format).encode("utf-8")
