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


def _with_travel(ctx: Context, sites: pd.DataFrame, lat: float, lon: float, nation: str | None) -> pd.DataFrame:
    from epu_mapper.travel import from_point

    if sites.empty:
        out = sites.copy()
        for col in ("minutes", "km", "engine", "approximate"):
            out[col] = pd.Series(dtype=object)
        return out
    key = ("acute_query", id(sites))
    if key not in ctx._cache:  # the few columns from_point reads, built once per table
        ctx._cache[key] = pd.DataFrame({"unit_id": sites["site_id"].to_numpy(),
                                        "lat": sites["lat"].to_numpy(), "lon": sites["lon"].to_numpy(),
                                        "nation": sites["nation"].to_numpy()})
    tp = from_point(lat, lon, ctx._cache[key], settings=ctx.settings, origin_nation=nation)
    minutes = tp["minutes"].to_numpy(float)
    # nearest first, equal times by site id, unreachable (NaN) last
    order = np.lexsort((sites["site_id"].to_numpy(dtype=str), minutes))
    out = sites.iloc[order].copy()
    out["minutes"] = minutes[order]
    out["km"] = tp["km"].to_numpy(float)[order]
    out["engine"] = tp["engine"].to_numpy()[order]
    out["approximate"] = tp["approximate"].to_numpy(bool)[order]
    return out


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
    acute = acute_sites(ctx)
    if lat is None or lon is None or not np.isfinite(float(lat)) or not np.isfinite(float(lon)):
        acute = acute.iloc[0:0]
        lat = lon = float("nan")
    t = _with_travel(ctx, acute, float(lat), float(lon), nation)
    reachable = t[np.isfinite(pd.to_numeric(t["minutes"], errors="coerce").to_numpy(float))]
    likely = reachable[reachable["unit_id"].eq("")]
    likely_out = likely.head(int(limit)).reindex(columns=LIKELY_COLS).reset_index(drop=True)
    ae = None
    if not reachable.empty:
        ae = {**_record(reachable.iloc[0], AE_KEYS), "note": AE_NOTE}
    urgent = {"nation": nation, "helpline": urg.helpline(nation),
              "emergency_number": urg.EMERGENCY_NUMBER, "a_and_e": ae}
    ref = reference_minutes(units)
    shown = set(units["unit_id"].astype(str)) if not units.empty else set()
    near = urg.nearer_hospital(likely, reachable, ref, shown)
    if near is not None:
        near = {**_record(near, LIKELY_COLS), "kind": near["kind"],
                "unit_minutes": ref if np.isfinite(ref) else None}
    return likely_out, urgent, near
