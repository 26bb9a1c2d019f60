"""Hospitals beside the directory in a patient's answer.

Likely EPU sites, the nearest acute hospital (A&E) and the helpline for her nation
(:func:`patient_extras`, used by :func:`nearest`).

The tables are ``build/acute_sites.parquet`` and ``build/likely_sites.parquet`` (rule:
:mod:`epu_mapper.sites`); without them (an older build) the answer simply has no hospitals and
the helpline still shows.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from epu_mapper import store
from epu_mapper import urgent as urg
from epu_mapper.api.context import Context

#: Columns of :attr:`NearestResult.likely_sites` (travel fields as for units).
LIKELY_COLS = [
    "site_id", "name", "organisation", "nation", "postcode", "phone", "evidence", "minutes", "km",
    "engine", "approximate", "lat", "lon",
]
#: Keys of ``urgent["a_and_e"]``.
AE_KEYS = ["site_id", "name", "organisation", "postcode", "phone", "unit_id", "minutes", "km",
           "engine", "approximate", "lat", "lon"]
#: How many likely sites a patient answer lists.
LIKELY_LIMIT = 5
AE_NOTE = ("the nearest acute general hospital; our sources do not say which hospitals have a "
           "24-hour emergency department, so check before you travel, or call 999")


def acute_sites(ctx: Context) -> pd.DataFrame:
    """``acute_sites.parquet`` (empty with its columns when not built), cached on the context.

    Parameters
    ----------
    ctx : Context

    Returns
    -------
    pandas.DataFrame
        ``site_id, name, site_code, organisation, nation, postcode, lat, lon, phone, source,
        evidence, unit_id`` (``""`` = no directory unit), ``match, match_km`` and region columns.
    """
    key = ("acute_sites",)
    if key not in ctx._cache:
        path = ctx.settings.build_dir / "acute_sites.parquet"
        if path.exists():
            df = store.read_built("acute_sites.parquet", ctx.settings, "The acute hospital sites table")
        else:
            from epu_mapper.sites import MATCH_COLUMNS, SITE_COLUMNS

            df = pd.DataFrame(columns=SITE_COLUMNS + MATCH_COLUMNS)
        keep = list(dict.fromkeys(["site_id", "unit_id", *LIKELY_COLS[:7], "lat", "lon"]))
        df = df.reindex(columns=keep)
        df["unit_id"] = df["unit_id"].fillna("").astype(str)
        for col in keep:  # plain NumPy columns: row selection per query stays fast
            df[col] = df[col].astype(float) if col in ("lat", "lon") else df[col].astype(object)
        ctx._cache[key] = df.reset_index(drop=True)
    return ctx._cache[key]


def _acute_arrays(ctx: Context) -> tuple[dict[str, np.ndarray], pd.DataFrame]:
    """:func:`acute_sites` as NumPy arrays, and the few columns :func:`from_point` reads (cached).

    A query reads a few rows of each; building these once keeps pandas out of the hot path.
    """
    key = ("acute_arrays",)
    if key not in ctx._cache:
        sites = acute_sites(ctx)
        arrays = {c: sites[c].to_numpy(dtype=float if c in ("lat", "lon") else object)
                  for c in sites.columns}
        query = pd.DataFrame({"unit_id": sites["site_id"].to_numpy(), "lat": arrays["lat"],
                              "lon": arrays["lon"], "nation": sites["nation"].to_numpy()})
        ctx._cache[key] = (arrays, query)
    return ctx._cache[key]


def _travel_from(
    ctx: Context, lat: float, lon: float, nation: str | None
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Reachable acute sites nearest first, and every site's travel columns.

    Returns
    -------
    (rows, travel)
        ``rows``: positions in :func:`acute_sites` of the reachable sites, nearest first (equal
        times by site id); ``travel``: ``minutes, km, engine, approximate`` arrays in that order.
    """
    from epu_mapper.travel import from_point

    arrays, query = _acute_arrays(ctx)
    n = len(query)
    if n == 0 or not (np.isfinite(lat) and np.isfinite(lon)):
        empty = np.zeros(n, dtype=float)
        return np.zeros(0, dtype=np.int64), {"minutes": empty, "km": empty,
                                             "engine": np.zeros(n, dtype=object),
                                             "approximate": np.zeros(n, dtype=bool)}
    tp = from_point(lat, lon, query, settings=ctx.settings, origin_nation=nation)
    travel = {"minutes": tp["minutes"].to_numpy(float), "km": tp["km"].to_numpy(float),
              "engine": tp["engine"].to_numpy(), "approximate": tp["approximate"].to_numpy(bool)}
    minutes = travel["minutes"]
    order = np.lexsort((arrays["site_id"].astype(str), minutes))  # NaN sorts last
    return order[np.isfinite(minutes[order])], travel


def _site_rows(arrays: dict[str, np.ndarray], travel: dict[str, np.ndarray], rows: np.ndarray,
               columns: list[str]) -> pd.DataFrame:
    """``columns`` of the sites at positions ``rows`` (travel columns from ``travel``).

    The sites' text columns stay plain objects and ``lat``/``lon`` floats, as in
    :func:`acute_sites`.
    """
    text = [c for c in columns if c not in travel and c not in ("lat", "lon")]
    block = np.empty((len(rows), len(text)), dtype=object)
    for j, c in enumerate(text):
        block[:, j] = arrays[c][rows]
    parts = {c: (travel[c] if c in travel else arrays[c])[rows] for c in columns if c not in text}
    # one object block for the text, then the typed columns; a single concat, no inserts
    out = pd.concat([pd.DataFrame(block, columns=text, dtype=object), pd.DataFrame(parts)], axis=1)
    return out[columns]


def _site_record(arrays: dict[str, np.ndarray], travel: dict[str, np.ndarray], row: int,
                 columns: list[str]) -> dict[str, Any]:
    """One site as a dict of ``columns`` (NaN -> None, NumPy scalars -> Python)."""
    return _record({c: (travel[c] if c in travel else arrays[c])[row] for c in columns}, columns)


def _record(row: pd.Series | dict, keys: list[str]) -> dict[str, Any]:
    get = row.get
    out = {}
    for k in keys:
        v = get(k)
        if isinstance(v, float | np.floating) and not np.isfinite(v):
            v = None
        out[k] = v.item() if isinstance(v, np.generic) else v
    return out


def reference_minutes(units: pd.DataFrame) -> float:
    """Minutes to the unit the answer sends her to: the nearest open unit, else the nearest listed.

    Parameters
    ----------
    units : pandas.DataFrame
        The answer's units (``state``, ``minutes``), nearest first.

    Returns
    -------
    float
        ``inf`` when no unit is listed.
    """
    if units.empty:
        return float("inf")
    minutes = pd.to_numeric(units["minutes"], errors="coerce").to_numpy(float)
    is_open = units["state"].to_numpy(dtype=object) == "open"
    pick = minutes[is_open] if is_open.any() else minutes
    return float(np.nanmin(pick)) if np.isfinite(pick).any() else float("inf")


def patient_extras(
    ctx: Context, origin: dict, units: pd.DataFrame, limit: int = LIKELY_LIMIT,
) -> tuple[pd.DataFrame, dict[str, Any], dict[str, Any] | None]:
    """Likely sites, the urgent route and the nearer hospital for one patient answer.

    Parameters
    ----------
    ctx : Context
    origin : dict
        ``lat, lon`` and ``nation`` (or ``regions["nation"]``) of the postcode.
    units : pandas.DataFrame
        The units shown (``unit_id, state, minutes``), nearest first.
    limit : int
        Likely sites listed.

    Returns
    -------
    likely_sites : pandas.DataFrame
        :data:`LIKELY_COLS`, nearest first (reachable sites only).
    urgent : dict
        ``nation``, ``helpline`` (:func:`epu_mapper.urgent.helpline`), ``emergency_number``
        (``"999"``) and ``a_and_e``: the nearest acute hospital by travel time (:data:`AE_KEYS`
        plus ``note``), None when none is reachable.
    nearer : dict or None
        A likely site (``kind`` = ``likely_site``), or an acute hospital hosting no shown unit
        (``acute_hospital``), nearer than the reference unit (:func:`reference_minutes`):
        :data:`LIKELY_COLS` keys plus ``kind`` and ``unit_minutes``; None when the listed unit
        is nearest.
    """
    nation = origin.get("nation") or (origin.get("regions") or {}).get("nation")
    lat, lon = origin.get("lat"), origin.get("lon")
    if lat is None or lon is None or not np.isfinite(float(lat)) or not np.isfinite(float(lon)):
        lat = lon = float("nan")  # no site is reachable from an unplaced postcode
    rows, travel = _travel_from(ctx, float(lat), float(lon), nation)
    arrays, _ = _acute_arrays(ctx)
    unit_of = arrays["unit_id"]
    likely_rows = rows[unit_of[rows] == ""]
    likely_out = _site_rows(arrays, travel, likely_rows[: int(limit)], LIKELY_COLS)
    ae = None
    if len(rows):
        ae = {**_site_record(arrays, travel, int(rows[0]), AE_KEYS), "note": AE_NOTE}
    urgent = {"nation": nation, "helpline": urg.helpline(nation),
              "emergency_number": urg.EMERGENCY_NUMBER, "a_and_e": ae}
    ref = reference_minutes(units)
    shown = set(units["unit_id"].astype(str)) if not units.empty else set()
    # the nearer-hospital rule only ever reads the nearest candidate of each kind
    other = rows[~np.isin(unit_of[rows].astype(str), list(shown))]
    minutes = travel["minutes"]
    pick = urg.nearer_pick(minutes[likely_rows], minutes[other], ref)
    near = None
    if pick is not None:
        site = (likely_rows if pick[0] == "likely_site" else other)[pick[1]]
        near = {**_site_record(arrays, travel, int(site), LIKELY_COLS), "kind": pick[0],
                "unit_minutes": ref if np.isfinite(ref) else None}
    return likely_out, urgent, near
