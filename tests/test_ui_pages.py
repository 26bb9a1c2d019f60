"""Pure helpers of the pages, on hand-checkable tables."""

from __future__ import annotations

import numpy as np
import pandas as pd

from epu_mapper.ui import find_results
from epu_mapper.ui.pages import gaps, local


def test_ranked_table_worst_first_and_range():
    table = pd.DataFrame({
        "region_code": ["A", "B", "C"], "region_name": ["Alpha", "Beta", "Gamma"],
        "weight": [10.0, 20.0, 30.0],
        "pct_within_60_exclude": [80.0, 20.0, np.nan], "pct_within_60_always": [90.0, 60.0, 70.0],
        "median_minutes": [30.0, 70.0, np.inf],
    })
    ranked = gaps.ranked_table(table, "pct60", policy="range")
    assert ranked["region"].tolist() == ["Beta", "Alpha", "Gamma"]  # lowest % first, NaN last
    assert list(ranked.columns[:4]) == ["rank", "region", gaps.LOWER, gaps.UPPER]
    assert ranked["rank"].tolist() == [1, 2, 3]
    assert ranked[gaps.UPPER].tolist() == [60.0, 90.0, 70.0]
    ranked = gaps.ranked_table(table, "median")
    assert ranked["region"].tolist()[0] == "Gamma"  # no open unit routed: the worst
    assert ranked["people counted"].tolist() == [30.0, 20.0, 10.0]


def test_timetable_long():
    units = pd.DataFrame({"unit_name": ["EPU", "EPAU"], "hospital": ["H1", "H2"]})
    week = np.zeros((2, 168), dtype=np.int8)
    week[0, 9] = 1  # Monday 09:00 open
    week[1, :] = -1  # unknown all week
    long = local.timetable_long(units, week)
    assert len(long) == 2 * 168
    row = long[(long["unit"] == "H1 — EPU") & (long["hour_of_week"] == 9)].iloc[0]
    assert (row["day"], row["hour"], row["state"]) == ("Mon", 9, "Open")
    assert set(long[long["unit"] == "H2 — EPAU"]["state"]) == {"Hours unknown"}
    assert long[(long["unit"] == "H1 — EPU")]["state"].value_counts()["Closed"] == 167


def test_results_table_plain_text():
    units = pd.DataFrame({
        "unit_name": ["EPU"], "hospital": ["H1"], "state": ["closed"],
        "opening_hours": ["Mo-Fr 08:00-17:00"], "nation": ["England"],
        "minutes": [12.4], "km": [9.95],
        "approximate": [True], "phone": [None], "self_referral": ["conditional"],
        "source_url": ["javascript:alert(1)"], "source_seen": [""], "hours_kind": [""],
        "out_of_hours": [""],
    })
    out = find_results.results_table(units, pd.Timestamp("2026-11-25 22:00").to_pydatetime(), True)
    row = out.iloc[0]
    assert row["unit"] == "H1 — EPU"
    assert row["status"] == "Closed, opens tomorrow 08:00"
    assert row["travel"] == "about 12 minutes by car"
    assert row["distance"] == "about 6.2 miles (9.9 km)"
    assert row["self-referral"] == "Only in some cases (see notes)"
    assert "source" not in out.columns  # the patient table carries no source links
    out = find_results.results_table(units, pd.Timestamp("2026-11-25 22:00").to_pydatetime(), False)
    assert out.iloc[0]["status"] == "Closed, opens Thursday 08:00"


def test_the_results_announcement_script_writes_only_safe_text():
    script = find_results.announce_script("3 units found</script><img src=x onerror=alert(1)>", 7)
    # only letters, digits, spaces, commas and full stops reach the page: no tag, no quote
    assert script.count("</script>") == 1 and "<img" not in script
    assert "live.textContent = '3 units foundscriptimg srcx onerroralert1'" in script
    assert "/* search 7 */" in script and find_results.RESULTS_ID in script
    assert "scrollIntoView" in script and "aria-live" in script
    # it stops moving the page as soon as the person scrolls, taps or types
    assert all(event in script for event in ("'wheel'", "'touchstart'", "'keydown'"))


def test_the_about_facts_follow_the_build(monkeypatch):
    """The About page's cached facts are keyed by the build stamp: a rebuilt (or damaged)
    build shows its own facts, not the last build's (the key once had a leading underscore,
    which Streamlit leaves out of the cache key)."""
    from epu_mapper import api
    from epu_mapper.ui import common
    from epu_mapper.ui.pages import about

    about._facts.clear()
    current = {"ctx": "build one"}
    monkeypatch.setattr(common, "context", lambda: current["ctx"])
    monkeypatch.setattr(api, "provenance", lambda ctx: {"built_from": ctx})
    assert about._facts("stamp one")["built_from"] == "build one"
    current["ctx"] = "build two"
    assert about._facts("stamp two")["built_from"] == "build two"
    assert about._facts("stamp one")["built_from"] == "build one"  # still cached for its stamp
    about._facts.clear()
