"""Scenario effects in plain words."""

from __future__ import annotations

import pandas as pd

from epu_mapper.ui import scenario_text as sc


def _by_hour(gains: dict[int, float], losses: dict[int, float] | None = None) -> pd.DataFrame:
    losses = losses or {}
    return pd.DataFrame({"hour_of_week": range(192),
                         "newly_covered": [gains.get(h, 0.0) for h in range(192)],
                         "no_longer_covered": [losses.get(h, 0.0) for h in range(192)]})


def test_people_rounding():
    assert sc.people(12437.2) == "12,400"
    assert sc.people(987.6) == "988"
    assert sc.people(0.2) == "0" and sc.people(None) == "0" and sc.people(float("nan")) == "0"
    assert sc.people(1_234_567) == "1,230,000"


def test_weekend_gain_in_words():
    sat = 5 * 24
    gains = {sat + h: 12437.0 for h in range(9, 17)}
    gains.update({sat + 24 + h: 800.0 for h in (9, 10)})  # Sunday
    gains[170] = 99.0  # bank-holiday slots are not part of the typical week
    lines = sc.effect_sentences(_by_hour(gains), {"population_newly_within_any_hour": 13001})
    assert lines == [
        "13,000 more women within 60 minutes of an open unit at some time of the week.",
        "12,400 more women within 60 minutes on Saturdays (09:00–17:00).",
        "800 more women within 60 minutes on Sundays (09:00–11:00).",
    ]


def test_losses_and_peaks():
    mon = {h: float(h * 100) for h in range(18, 21)}  # 1,800 / 1,900 / 2,000
    lines = sc.effect_sentences(_by_hour(mon, {2 * 24 + 8: 50.0}),
                                {"population_newly_within_any_hour": 2000})
    assert lines[1] == "Up to 2,000 more women within 60 minutes on Mondays (18:00–21:00)."
    assert lines[2] == "50 fewer women within 60 minutes on Wednesdays (08:00–09:00)."


def test_no_change():
    assert sc.effect_sentences(_by_hour({}), {})[0].startswith("No change")


def test_difference_frame_and_edges():
    reg = pd.DataFrame({"region_code": ["A", "B"], "region_name": ["Alpha", "Beta"],
                        "before_pct": [50.0, 70.0], "after_pct": [53.5, 70.0]})
    frame = sc.difference_frame(reg)
    assert frame["value"].tolist() == [3.5, 0.0]
    assert frame["text"].tolist() == ["Alpha: +3.50 points", "Beta: +0.00 points"]
    assert sc.difference_edges(frame["value"]) == sc.GAIN_EDGES
    assert sc.difference_edges(pd.Series([1.0, -1.0])) == sc.CHANGE_EDGES


def test_totals_table_is_one_row_of_fixed_labels_and_numbers():
    table = sc.totals_table({"population_newly_within_any_hour": 12437.4,
                             "person_hours_week_gained": 80000.0,
                             "person_hours_week_lost": float("nan")})
    assert table.splitlines() == [
        ("| People newly within 60 min at some hour | Person-hours gained per week "
         "| Person-hours lost per week |"),
        "| ---: | ---: | ---: |",
        "| **12,437** | **80,000** | not known |"]
    # a total the what-if does not report is 0
    assert sc.totals_table({}).splitlines()[2] == "| **0** | **0** | **0** |"
