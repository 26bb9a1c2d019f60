"""Needs re-checking: source_seen missing or older than 12 months; counts by region and nation."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from epu_mapper import cli
from epu_mapper.staleness import (
    is_stale,
    needs_rechecking,
    quality_by_nation,
    seen_date,
    stale_by,
    stale_warning,
)
from epu_mapper.units import load_units

TODAY = date(2026, 11, 30)
REPO_UNITS = Path(__file__).resolve().parent.parent / "data" / "units.csv"


@pytest.mark.parametrize(("seen", "expected"), [
    ("2026-06-01", False), ("2025-12-01", False), ("2025-11-30", False), ("2025-11-29", True),
    ("2025-12", False), ("2025", False), ("2024", True), ("", True), (None, True), ("undated", True),
    ("2025-02-30", True),  # not a date: unreadable counts as missing
])
def test_is_stale(seen, expected):
    assert is_stale(seen, TODAY) is expected


def test_a_month_is_stale_12_months_after_its_last_day():
    assert is_stale("2025-11", TODAY) is False  # 30 Nov 2025 is exactly 12 months ago
    assert is_stale("2025-11", date(2026, 12, 1)) is True


def test_partial_dates_are_read_as_their_last_day():
    assert seen_date("2025") == date(2025, 12, 31)
    assert seen_date("2024-02") == date(2024, 2, 29)
    assert seen_date("2023-08-31") == date(2023, 8, 31)
    assert seen_date("2023-13") is None


def _units() -> pd.DataFrame:
    return pd.DataFrame({
        "unit_id": list("abcdef"),
        "nation": ["England", "England", "Wales", "Scotland", "Scotland", "Scotland"],
        "icb": ["QMJ", "QMJ", "", "", "", ""],
        "hours_status": ["verified", "unknown", "partial", "unknown", "unknown", "verified"],
        "source_seen": ["2026-10-01", "", "2019", "2026", "2025-06-02", "2025-12-01"],
    })


def test_needs_rechecking_vectorised_matches_scalar():
    u = _units()
    flags = needs_rechecking(u["source_seen"], TODAY)
    assert flags.tolist() == [is_stale(s, TODAY) for s in u["source_seen"]] == [
        False, True, True, False, True, False]


def test_quality_by_nation_and_region():
    q = quality_by_nation(_units(), TODAY, nations=("England", "Wales", "Scotland", "Northern Ireland"))
    assert q.loc["England"].to_dict() == {"verified": 1, "partial": 0, "unknown": 1, "needs re-checking": 1,
                                          "units": 2}
    assert q.loc["Scotland", "needs re-checking"] == 1 and q.loc["Northern Ireland", "units"] == 0
    assert q.loc["UK"].to_dict() == {"verified": 2, "partial": 1, "unknown": 3, "needs re-checking": 3, "units": 6}
    by = stale_by(_units(), "nation", TODAY)
    assert by.to_dict("records")[0] == {"nation": "England", "units": 2, "needs re-checking": 1}
    assert by["needs re-checking"].sum() == 3
    line = stale_warning(_units(), TODAY)
    assert line.startswith("warning: 3 of 6 unit(s) need re-checking (source_seen missing for 1")
    assert "England 1, Scotland 1, Wales 1" in line


def test_real_directory_counts():
    units = load_units(REPO_UNITS)
    q = quality_by_nation(units, TODAY, nations=("England", "Wales", "Scotland", "Northern Ireland"))
    missing = int((units["source_seen"] == "").sum())
    assert q.loc["UK", "units"] == len(units)
    assert q.loc["UK", "needs re-checking"] >= missing > 0
    assert q.loc["UK", ["verified", "partial", "unknown"]].sum() == len(units)


def test_units_validate_warns_about_stale_units(capsys):
    assert cli.main(["units", "validate", str(REPO_UNITS)]) == 0
    out = capsys.readouterr()
    assert "OK," in out.out and "need re-checking" in out.err and "--stale" in out.err
    assert cli.main(["units", "validate", str(REPO_UNITS), "--stale"]) == 0
    err = capsys.readouterr().err
    assert err.count("needs re-checking:") >= int((load_units(REPO_UNITS)["source_seen"] == "").sum())
