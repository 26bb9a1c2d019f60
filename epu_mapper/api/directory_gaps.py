"""The charities' to-do list: what the directory is missing in each region (:func:`directory_gaps`).

Two kinds of gap, ordered by how many women the missing information affects:

* a **hospital without a record**: a likely EPU site (:mod:`epu_mapper.sites`);
* a **unit whose hours are unknown, partial or stale** (source older than 12 months, or undated).

"Women affected" is the weight (women 15–44) of the small areas whose nearest site — a directory
unit or a likely site, by travel time, whatever the hours — it is: the women for whom the missing
fact matters first.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from epu_mapper.api.args import check_level
from epu_mapper.api.context import Context

GAP_COLUMNS = ["region_code", "region_name", "kind", "id", "name", "organisation", "nation",
               "postcode", "phone", "issue", "source_seen", "women_nearest", "areas_nearest"]
STALE_DAYS = 365


def seen_date(text: object) -> date | None:
    """Return the date a source was read (None when empty or unreadable).

    Accepts ``2019-07-01``, ``2020-04`` (first of the month) or ``2023`` (1 January).
    """
    s = "" if text is None else str(text).strip()
    for fmt, n in (("%Y-%m-%d", 10), ("%Y-%m", 7), ("%Y", 4)):
        if len(s) == n:
            try:
                return pd.to_datetime(s, format=fmt).date()
            except ValueError:
                return None
    return None


def hours_issue(status: str, seen: object, today: date) -> str:
    """Why a unit's hours need checking (``""`` when they do not).

    Parameters
    ----------
    status : str
        ``hours_status``: ``verified`` / ``partial`` / ``unknown``.
    seen : object
        ``source_seen`` text.
    today : date

    Returns
    -------
    str
        ``hours unknown``, ``hours partial`` and/or ``source undated`` / ``source older than 12
        months (YYYY-MM-DD)``, joined with ``; ``.
    """
    parts = []
    if status == "unknown":
        parts.append("hours unknown")
    elif status == "partial":
        parts.append("hours partial")
    d = seen_date(seen)
    if d is None:
        parts.append("source undated")
    elif (today - d).days > STALE_DAYS:
        parts.append(f"source older than 12 months ({d.isoformat()})")
    return "; ".join(parts)


def nearest_site_weights(minutes: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Weight and number of areas whose nearest column (finite minimum) each column is (pure).

    Parameters
    ----------
    minutes : numpy.ndarray
        ``(n_areas, n_sites)``; inf/NaN = no route.
    weights : numpy.ndarray
        ``(n_areas,)``.

    Returns
    -------
    (weight, areas) : tuple of numpy.ndarray
        ``float (n_sites,)`` and ``int (n_sites,)``.
    """
    m = np.where(np.isfinite(minutes), minutes, np.inf)
    best = np.argmin(m, axis=1)
    ok = np.isfinite(m[np.arange(len(m)), best])
    n = m.shape[1]
    w = np.bincount(best[ok], weights=np.asarray(weights, float)[ok], minlength=n)
    a = np.bincount(best[ok], minlength=n)
    return w, a


def directory_gaps(ctx: Context, level: str = "nation", today: date | None = None) -> pd.DataFrame:
    """Per region, the hospitals without a record and the units whose hours need checking.

    Parameters
    ----------
    ctx : Context
        The ``known`` context; the with-likely context (:func:`epu_mapper.api.directory.with_likely`)
        is used when built, else only the directory's units are listed.
    level : str
        Region level of ``region_code``/``region_name`` (the site's own small area).
    today : date, optional
        For staleness (default: today).

    Returns
    -------
    pandas.DataFrame
        :data:`GAP_COLUMNS`: ``kind`` (``hospital without a record`` / ``unit hours``), ``id``
        (site id / unit id), ``issue`` (what is missing), ``women_nearest`` (weight of the areas
        whose nearest site it is) and ``areas_nearest``; ordered by ``women_nearest``
        (largest first). ``df.attrs["with_likely"]`` says whether likely sites were included.
    """
    from epu_mapper.api import directory as dirs

    check_level(level)
    today = today or date.today()
    ext = dirs.with_likely(ctx) if dirs.has_likely(ctx) else ctx
    m = ext.mapped
    women, areas = nearest_site_weights(ext.minutes, ext.weights)
    g, uniq = ext.groups(level)
    name_col = "nation" if level == "nation" else f"{level}_name"
    names = ext.regions[name_col].to_numpy()
    ai = m["area_index"].to_numpy()
    gi = np.where(ai >= 0, g[np.clip(ai, 0, None)], -1)
    region = np.where(gi >= 0, uniq.astype(object)[np.clip(gi, 0, None)], None)
    rname = np.where(gi >= 0, names[np.clip(ai, 0, None)], None)
    likely = (m["likely"].fillna(False).astype(bool).to_numpy() if "likely" in m.columns
              else np.zeros(len(m), dtype=bool))
    issue = np.array([
        "no directory record: an EPU here is likely, not known" if lk
        else hours_issue(str(st), seen, today)
        for lk, st, seen in zip(likely, m["hours_status"].astype(str), m["source_seen"], strict=True)
    ], dtype=object)
    out = pd.DataFrame({
        "region_code": region, "region_name": rname,
        "kind": np.where(likely, "hospital without a record", "unit hours"),
        "id": m["unit_id"].astype(str).to_numpy(),
        "name": np.where(likely, m["hospital"].astype(str), m["hospital"].fillna("").astype(str)
                         + " — " + m["unit_name"].astype(str)),
        "organisation": m.get("organisation", pd.Series("", index=m.index)).fillna("").to_numpy(),
        "nation": m["nation"].to_numpy(), "postcode": m["postcode"].fillna("").to_numpy(),
        "phone": m["phone"].fillna("").to_numpy(),
        "issue": issue,
        "source_seen": np.where(likely, "", m["source_seen"].fillna("").astype(str)),
        "women_nearest": np.round(women, 1), "areas_nearest": areas,
    })
    out = out[out["issue"].ne("")]
    out = out.sort_values(["women_nearest", "id"], ascending=[False, True], kind="stable")
    out = out.reset_index(drop=True)[GAP_COLUMNS]
    out.attrs.update(level=level, with_likely=ext is not ctx, today=today.isoformat(),
                     weight="women 15-44 (demand.weight) of the areas whose nearest site it is")
    return out
