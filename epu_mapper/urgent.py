"""The urgent route for a patient.

The right helpline for her nation and the nearest acute hospital (pure; no I/O).

Helplines (wording checked against the services' own pages, 2026):

* England: NHS 111 — free, 24 hours (nhs.uk/111: "call 111 if … you think you need to go to A&E
  or another NHS urgent care service").
* Wales: NHS 111 Wales — free on 111, 24 hours, across every Welsh health board since 2022
  (111.wales.nhs.uk: "urgent health concerns that cannot wait").
* Scotland: NHS 24 on 111 — free, day or night (nhs24.scot; NHS Lothian "Right care":
  "Call NHS 24 free on 111 … for immediate advice when your GP surgery … is closed").
* Northern Ireland: no 111 service. When the GP surgery is closed, the GP Out-of-Hours
  service; each area's provider has its own single telephone number (HSCNI GP Out-of-Hours
  service standards, gpoutofhours.hscni.net: "GP Out-of-Hours is available when your GP
  surgery is closed … Each GP Out-of-Hours provider is accessed via a single telephone
  number"). We hold no per-area numbers, so none is shown: the text points to nidirect.

Everywhere: 999 in a life-threatening emergency.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

#: nation -> helpline facts (``name``, ``phone`` or None, ``when``, ``source``).
HELPLINES: dict[str, dict[str, Any]] = {
    "England": {
        "name": "NHS 111", "phone": "111",
        "when": "free, 24 hours: when it is urgent but not life-threatening",
        "source": "https://www.nhs.uk/nhs-services/urgent-and-emergency-care-services/when-to-use-111/",
    },
    "Wales": {
        "name": "NHS 111 Wales", "phone": "111",
        "when": "free, 24 hours: for urgent health concerns that cannot wait",
        "source": "https://111.wales.nhs.uk/",
    },
    "Scotland": {
        "name": "NHS 24", "phone": "111",
        "when": "free, day or night: when your GP surgery is closed and you are too ill to wait",
        "source": "https://www.nhs24.scot/",
    },
    "Northern Ireland": {
        "name": "GP Out-of-Hours", "phone": None,
        "when": "when your GP surgery is closed and it cannot wait; each area has its own number "
                "(your GP surgery's answerphone or nidirect gives it)",
        "source": "https://gpoutofhours.hscni.net/service-standards-for-gp-out-of-hours/",
    },
}
EMERGENCY_NUMBER = "999"


def helpline(nation: str | None) -> dict[str, Any]:
    """The helpline for a nation (``nation`` included); England's when the nation is unknown.

    Parameters
    ----------
    nation : str or None
        ``England``, ``Wales``, ``Scotland`` or ``Northern Ireland``.

    Returns
    -------
    dict
        ``nation, name, phone`` (None for Northern Ireland), ``when, source`` and
        ``nation_known`` (False when ``nation`` was not one of the four).
    """
    known = nation in HELPLINES
    key = nation if known else "England"
    return {"nation": key, **HELPLINES[str(key)], "nation_known": bool(known)}


def nearest_row(minutes: np.ndarray) -> int:
    """Index of the smallest finite travel time (-1 when none is finite).

    Parameters
    ----------
    minutes : numpy.ndarray
        Travel minutes (NaN/inf = unreachable).
    """
    m = np.asarray(minutes, dtype=float)
    ok = np.isfinite(m)
    if not ok.any():
        return -1
    return int(np.flatnonzero(ok)[np.argmin(m[ok])])


def nearer_hospital(
    likely: pd.DataFrame, acute: pd.DataFrame, unit_minutes: float, unit_ids: set[str],
) -> dict[str, Any] | None:
    """The hospital to offer before the nearest listed unit, when one is nearer.

    Parameters
    ----------
    likely : pandas.DataFrame
        Likely EPU sites with travel: ``site_id, name, minutes`` (+ any columns).
    acute : pandas.DataFrame
        Acute hospitals with travel: ``site_id, name, unit_id`` (the directory unit on that
        site, ``""`` when none), ``minutes``.
    unit_minutes : float
        Minutes to the nearest listed unit (NaN/inf when none is reachable).
    unit_ids : set of str
        Units shown in the answer (an acute site hosting one of them is not "nearer").

    Returns
    -------
    dict or None
        The likely site with the smallest time below ``unit_minutes`` (``kind`` =
        ``likely_site``), else the nearest acute hospital below it that hosts no shown unit
        (``kind`` = ``acute_hospital``); its row as a dict. None when the listed unit is
        nearest.
    """
    other = (acute[~acute["unit_id"].astype(str).isin(unit_ids)] if "unit_id" in acute else acute)
    pick = nearer_pick(likely["minutes"].to_numpy(float), other["minutes"].to_numpy(float),
                       unit_minutes)
    if pick is None:
        return None
    kind, i = pick
    df = likely if kind == "likely_site" else other
    return {**df.iloc[i].to_dict(), "kind": kind}


def nearer_pick(likely_minutes: np.ndarray, acute_minutes: np.ndarray,
                unit_minutes: float) -> tuple[str, int] | None:
    """The rule of :func:`nearer_hospital` on travel times alone.

    Parameters
    ----------
    likely_minutes : numpy.ndarray
        Minutes to the likely EPU sites (NaN/inf = unreachable).
    acute_minutes : numpy.ndarray
        Minutes to the acute hospitals hosting no shown unit.
    unit_minutes : float
        Minutes to the reference unit (NaN/inf when none is reachable).

    Returns
    -------
    tuple or None
        ``("likely_site", i)`` for the nearest likely site below ``unit_minutes``, else
        ``("acute_hospital", i)`` for the nearest such acute hospital; None when the unit is
        nearest. ``i`` indexes the array given.
    """
    limit = float(unit_minutes) if np.isfinite(unit_minutes) else np.inf
    for kind, minutes in (("likely_site", likely_minutes), ("acute_hospital", acute_minutes)):
        i = nearest_row(minutes) if len(minutes) else -1
        if i >= 0 and float(minutes[i]) < limit:
            return kind, i
    return None
