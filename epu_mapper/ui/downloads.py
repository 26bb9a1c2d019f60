"""Downloads that say what they are.

File names with level, time, policy and build date, the same facts as columns, and one rule for
values that have no number (pure, no Streamlit).

Infinite or undefined values (no open unit routed, no people in a region) are empty cells in
CSV and ``null`` in JSON, in every download.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd

from epu_mapper.csvsafe import csv_bytes


def slug(text: Any) -> str:
    """``"Weekday 11:00"`` -> ``"weekday-1100"`` (lower case, ASCII letters/digits/hyphens)."""
    s = re.sub(r"[^a-z0-9]+", "-", str(text).lower().replace(":", "")).strip("-")
    return s or "none"


def build_date(manifest: dict | None) -> str:
    """The build's date ``YYYY-MM-DD`` from the manifest's ``built_at`` (``"unknown"``)."""
    built = (manifest or {}).get("built_at")
    m = re.match(r"^(\d{4}-\d{2}-\d{2})", str(built or ""))
    return m.group(1) if m else "unknown"


def download_name(kind: str, level: str, when: str, policy: str, built: str, ext: str) -> str:
    """``epu_gaps_nhs_region_weekday-1100_range_built-2026-11-30.csv``."""
    return f"epu_{kind}_{level}_{slug(when)}_{policy}_built-{built}.{ext}"


def with_context(table: pd.DataFrame, **facts: Any) -> pd.DataFrame:
    """``table`` with ``facts`` as leading columns and every ±inf as missing.

    Parameters
    ----------
    table : pandas.DataFrame
        Any columns.
    **facts
        Scalars repeated on every row (e.g. ``level``, ``time_of_week``, ``policy``,
        ``build_date``), placed first in the given order.

    Returns
    -------
    pandas.DataFrame
        A copy; float columns have ``inf``/``-inf`` replaced by NaN (empty in CSV, ``null``
        in JSON).
    """
    out = table.copy()
    for col in out.columns:
        if pd.api.types.is_float_dtype(out[col].dtype):
            out[col] = out[col].mask(np.isinf(out[col].to_numpy(dtype=float)))
    for i, (name, value) in enumerate(facts.items()):
        if name in out.columns:
            out = out.drop(columns=[name])
        out.insert(i, name, value)
    return out


def csv_download(table: pd.DataFrame) -> bytes:
    """Spreadsheet-safe CSV bytes (missing -> empty cell) of a :func:`with_context` table."""
    return csv_bytes(table)
