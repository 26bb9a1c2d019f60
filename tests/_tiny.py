"""The hand-checkable 3 units x 5 areas fixture shared by the coverage, scenario, api, CLI and app
tests (a helper module, not a test file: pytest does not collect it).

Travel minutes (inf = pair skipped, NaN = unreachable)::

            U0 (Mo-Fr 09-17)  U1 (24/7)  U2 (unknown)
    A0            10             50          20        weight 1, region R1
    A1            40             70           5        weight 2, region R1
    A2            80            100          30        weight 3, region R1
    A3            20            inf         NaN        weight 4, region R2
    A4            95             25         200        weight 5, region R2

Bank-holiday day: U0 closed, U1 open, U2 unknown.

In the directory (:func:`units`) U0 is a Scottish unit (Mo-Fr 09-17, PH off) so that St Andrew's
Day closes it for the English areas around it, U1 is 24/7, U2 has unknown hours; U0's hours are
scan hours and U1's a phone line's; U0 and U2 publish an out-of-hours pathway (U2's with Markdown
and HTML that must be shown literally). A fourth directory unit, U3, has no site and is not in
the matrix.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from epu_mapper import api
from epu_mapper import coverage as cov
from epu_mapper.api import find as api_find
from epu_mapper.settings import Settings
from epu_mapper.travel import TravelMatrix

INF, NAN = np.inf, np.nan
MINUTES = np.array(
    [
        [10, 50, 20],
        [40, 70, 5],
        [80, 100, 30],
        [20, INF, NAN],
        [95, 25, 200],
    ],
    dtype=np.float32,
)
WEIGHTS = np.array([1, 2, 3, 4, 5], dtype=float)
REGION = np.array(["R1", "R1", "R1", "R2", "R2"])
AREA_CODES = ["E01000001", "E01000002", "E01000003", "E01000004", "E01000005"]
LATS = [52.0, 52.1, 52.2, 52.3, 52.4]
UNIT_IDS = ["U0", "U1", "U2"]

#: Where the stubbed postcode lookup puts every postcode: area A1.
ORIGIN = {"postcode": "AB1 2CD", "lat": LATS[1], "lon": -1.0, "precision": "unit",
          "area": AREA_CODES[1], "note": ""}  # the keys api.nearest always gives


def fake_from_point(lat, lon, units, settings=None, **kw) -> pd.DataFrame:
    """``travel.from_point`` stand-in: area A1's times (40, 70, 5 min; 30, 60, 4 km), estimated."""
    return pd.DataFrame({"unit_id": units.unit_id, "minutes": np.float32([40, 70, 5]),
                         "km": np.float32([30, 60, 4]), "engine": "estimate", "approximate": True})


def stub_nearest(monkeypatch) -> None:
    """Make :func:`api.nearest` offline: any postcode is at :data:`ORIGIN`, times from
    :func:`fake_from_point`."""
    from epu_mapper import travel

    monkeypatch.setattr(api_find, "_lookup_postcode", lambda c, pc: dict(ORIGIN))
    monkeypatch.setattr(travel, "from_point", fake_from_point)


def fixture_states() -> np.ndarray:
    """``int8 (3, 192)`` open states: U0 Mo-Fr 09-17 (closed on the bank-holiday day), U1
    always open, U2 unknown."""
    states = np.zeros((3, cov.N_SLOTS), dtype=np.int8)
    for day in range(5):
        states[0, day * 24 + 9 : day * 24 + 17] = cov.OPEN
    states[1, :] = cov.OPEN
    states[2, :] = cov.UNKNOWN
    return states


def units() -> pd.DataFrame:
    """The directory: U0-U2 mapped (matrix columns), U3 without a site."""
    return pd.DataFrame(
        {
            "unit_id": ["U0", "U1", "U2", "U3"],
            "unit_name": ["Unit zero", "Unit one", "Unit two", "Unit three"],
            "hospital": ["H0", "H1", "H2", "H3"],
            "nation": ["Scotland", "England", "England", "England"],
            "lat": [LATS[0], LATS[4], LATS[1], np.nan],
            "lon": [-1.0, -1.0, -1.0, np.nan],
            "mappable": [True, True, True, False],
            "phone": ["01", "02", "03", "04"],
            "opening_hours": ["Mo-Fr 09:00-17:00; PH off", "24/7", "", ""],
            "hours_status": ["verified", "verified", "unknown", "unknown"],
            "hours_kind": ["scan", "phone triage", "", ""],
            "self_referral": ["yes", "conditional", "unknown", "yes"],
            "min_weeks": pd.array([6, None, 5, None], dtype="Int64"),
            "max_weeks": pd.array([16, 20, None, None], dtype="Int64"),
            "access_notes": ["", "", "", ""],
            # data text, with Markdown/HTML that must be shown literally
            "out_of_hours": ["Call NHS 24 on 111", "", "Go to <b>A&E</b> at [H2](javascript:x)", ""],
            "source_url": ["https://example.nhs.uk/u0", "https://example.nhs.uk/u1",
                           "https://example.nhs.uk/u2", "https://example.nhs.uk/u3"],
            "source_seen": ["2025", "2025", "", ""],
            "site_code": ["S0", "S1", "S2", ""],
            "postcode": ["AB1 1AA", "AB1 1AB", "AB1 1AC", ""],
        }
    )


def demand(weight_note: str | None = None) -> pd.DataFrame:
    """``demand.parquet``-like rows of the 5 areas (population = 10 x weight)."""
    df = pd.DataFrame(
        {
            "area_code": AREA_CODES,
            "area_name": [f"Area {i}" for i in range(5)],
            "nation": "England",
            "lat": LATS,
            "lon": [-1.0] * 5,
            "population": WEIGHTS * 10,
            "weight": WEIGHTS,
            "weight_kind": "female_15_44_estimate",
        }
    )
    if weight_note is not None:
        df["weight_note"] = weight_note
    return df


def regions() -> pd.DataFrame:
    """``regions.parquet``-like rows: one NHS region, ICBs R1 (A0-A2) / R2 (A3-A4), LADs L1 / L2."""
    return pd.DataFrame(
        {
            "area_code": AREA_CODES,
            "nation": "England",
            "nhs_region_code": "Y1", "nhs_region_name": "Region",
            "icb_code": ["R1", "R1", "R1", "R2", "R2"],
            "icb_name": ["ICB one"] * 3 + ["ICB two"] * 2,
            "lhb_code": None, "lhb_name": None, "scot_hb_code": None, "scot_hb_name": None,
            "hsct_code": None, "hsct_name": None,
            "lad_code": ["L1", "L1", "L2", "L2", "L2"],
            "lad_name": ["LA one"] * 2 + ["LA two"] * 3,
        }
    )


def matrix(provenance: dict | None = None) -> TravelMatrix:
    """The fixture's travel matrix (estimate; km = 1.5 x minutes)."""
    return TravelMatrix(
        minutes=MINUTES.copy(), km=MINUTES.copy() * 1.5, area_codes=np.array(AREA_CODES),
        unit_ids=np.array(UNIT_IDS), engine="estimate", approximate=True,
        provenance={} if provenance is None else provenance, typical_error_min=3.4,
    )


def tiny_context(
    build_dir: Path,
    shuffled: bool = False,
    weight_note: str | None = None,
    provenance: dict | None = None,
) -> api.Context:
    """The api context on the fixture.

    Parameters
    ----------
    build_dir : Path
        The (temporary) build folder of the settings.
    shuffled : bool
        Pass demand and regions in reverse order, so :func:`api.build_context` must realign
        them to the matrix rows.
    weight_note : str, optional
        A ``weight_note`` column for the demand rows.
    provenance : dict, optional
        The matrix provenance (default empty).
    """
    settings = Settings(data_dir=None, build_dir=build_dir, units_csv=build_dir / "units.csv")
    d, r = demand(weight_note), regions()
    if shuffled:
        d, r = d.iloc[::-1], r.iloc[::-1]
    return api.build_context(settings, units(), d, r, matrix(provenance))
