"""Hand-checkable tests of the pure coverage core: 3 units x 5 areas.

Fixture (minutes; inf = pair skipped, NaN = unreachable)::

            U0 (Mo-Fr 09-17)  U1 (24/7)  U2 (unknown)
    A0            10             50          20        weight 1, region R1
    A1            40             70           5        weight 2, region R1
    A2            80            100          30        weight 3, region R1
    A3            20            inf         NaN        weight 4, region R2
    A4            95             25         200        weight 5, region R2

Bank-holiday day: U0 closed, U1 open, U2 unknown. The fixture lives in ``tests/_tiny.py``
(shared with the scenario, api, CLI and app tests).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from _tiny import INF, MINUTES, REGION, WEIGHTS, fixture_states

from epu_mapper import coverage as cov

MON_03, MON_10, SAT_10 = 3, 10, 5 * 24 + 10


@pytest.fixture
def clean():
    return cov.clean_minutes(MINUTES)


def test_slot_table_and_bands():
    t = cov.slot_table()
    assert len(t) == 192
    assert t.loc[MON_03, "label"] == "Mon 03:00" and t.loc[MON_03, "band"] == "night"
    assert t.loc[SAT_10, "label"] == "Sat 10:00" and t.loc[SAT_10, "band"] == "weekend"
    assert t.loc[170, "label"] == "Bank holiday 02:00" and t.loc[170, "band"] == "bank_holiday"
    assert t.loc[8, "band"] == ""  # Mo 08:00-09:00 is in no band
    bands = cov.time_bands()
    assert [int(m.sum()) for m in bands.values()] == [40, 25, 70, 28, 24]
    week = np.stack([m[:168] for m in bands.values()])
    assert week.sum(axis=0).max() == 1  # the week bands are disjoint


def test_open_mask_policies():
    s = fixture_states()
    ex, wd, al = (cov.open_mask(s, p) for p in ("exclude", "weekday", "always"))
    assert ex[:, MON_10].tolist() == [True, True, False]
    assert ex[:, MON_03].tolist() == [False, True, False]
    assert wd[:, MON_10].tolist() == [True, True, True]
    assert wd[:, MON_03].tolist() == [False, True, False]
    assert wd[:, SAT_10].tolist() == [False, True, False]
    assert wd[:, 168 + 10].tolist() == [False, True, False]  # bank holiday: never assumed
    assert al[:, MON_03].tolist() == [False, True, True]
    with pytest.raises(ValueError, match="unknown policy"):
        cov.open_mask(s, "sometimes")


def test_nearest_open_by_hand(clean):
    s = fixture_states()
    res = cov.nearest_open(clean, cov.open_mask(s, "exclude"), top_k=2)
    assert res.minutes[:, MON_10].tolist() == [10, 40, 80, 20, 25]
    assert res.unit[:, MON_10].tolist() == [0, 0, 0, 0, 1]
    assert res.minutes[:, MON_03].tolist() == [50, 70, 100, INF, 25]
    assert res.unit[:, MON_03].tolist() == [1, 1, 1, -1, 1]
    res = cov.nearest_open(clean, cov.open_mask(s, "always"), top_k=1)
    assert res.minutes[:, MON_03].tolist() == [20, 5, 30, INF, 25]
    assert res.unit[:, MON_03].tolist() == [2, 2, 2, -1, 1]
    res = cov.nearest_open(clean, cov.open_mask(s, "weekday"))
    assert res.minutes[:, MON_10].tolist() == [10, 5, 30, 20, 25]
    assert res.minutes[:, MON_03].tolist() == [50, 70, 100, INF, 25]
    anyu = cov.nearest_any(clean)
    assert anyu.minutes[:, 0].tolist() == [10, 5, 30, 20, 25]
    assert anyu.unit[:, 0].tolist() == [0, 2, 2, 0, 1]


@pytest.mark.parametrize("policy", cov.POLICIES)
@pytest.mark.parametrize("top_k", [1, 2, 3])
def test_fast_equals_naive_on_fixture(clean, policy, top_k):
    m = cov.open_mask(fixture_states(), policy)
    fast = cov.nearest_open(clean, m, top_k=top_k)
    slow = cov.nearest_open_naive(clean, m)
    np.testing.assert_array_equal(fast.minutes, slow.minutes)
    np.testing.assert_array_equal(fast.unit, slow.unit)


def test_ties_go_to_lowest_unit_index():
    m = np.array([[7, 7, 7], [9, 3, 3]], dtype=np.float32)
    is_open = np.array([[True, False], [True, True], [True, True]])
    for r in (cov.nearest_open(m, is_open, top_k=1), cov.nearest_open_naive(m, is_open)):
        assert r.unit.tolist() == [[0, 1], [1, 1]]


def test_unit_filter():
    keep, flagged = cov.unit_filter(
        ["yes", "conditional", "unknown"], [6, None, 5], [16, 20, None], weeks=18
    )
    assert keep.tolist() == [False, True, True]
    assert flagged.tolist() == [False, True, True]
    keep, flagged = cov.unit_filter(["yes", "conditional", ""], [6, None, 5], [16, 20, None],
                                    require_self_referral=True)
    assert keep.tolist() == [True, False, False] and not flagged.any()
    keep, _ = cov.unit_filter(["yes", "yes", "yes"], [6, None, 5], [16, 20, None], weeks=4)
    assert keep.tolist() == [False, True, False]


def test_slot_statistics_by_hand(clean):
    res = cov.nearest_open(clean, cov.open_mask(fixture_states(), "exclude"))
    g, names = cov.group_codes(REGION)
    assert names.tolist() == ["R1", "R2"]
    st = cov.slot_statistics(res.minutes[:, MON_03], WEIGHTS, g, len(names))
    r1, r2 = st.loc[0], st.loc[1]
    # R1: minutes 50, 70, 100 with weights 1, 2, 3
    assert r1.weight == 6
    assert r1.median_minutes == 70 and r1.p90_minutes == 100
    assert r1.pct_within_30 == 0 and r1.pct_within_60 == pytest.approx(100 / 6)
    assert r1.pct_within_90 == pytest.approx(50)
    assert r1.pct_no_open_unit == 0
    assert r1.gini_minutes == pytest.approx(370 / (6 * 490))
    # R2: minutes inf (weight 4), 25 (weight 5)
    assert r2.median_minutes == 25 and r2.p90_minutes == INF
    assert r2.pct_within_30 == pytest.approx(500 / 9)
    assert r2.pct_no_open_unit == pytest.approx(400 / 9)
    assert r2.gini_minutes == 0
    assert cov.worst_best_ratio(st.median_minutes) == pytest.approx(70 / 25)


def test_weighted_quantile_boundaries():
    # exactly half the weight at or below 10: the lower median is 10
    v = np.array([10, 20], dtype=float)
    q = cov.weighted_quantiles(v, np.array([1.0, 1.0]), np.array([0, 0]), 1, [0.5, 0.51, 1.0])
    assert q[:, 0, 0].tolist() == [10, 20, 20]
    # zero-weight group -> NaN; ungrouped rows ignored
    q = cov.weighted_quantiles(v, np.array([0.0, 5.0]), np.array([0, -1]), 1, [0.5])
    assert np.isnan(q[0, 0, 0])


def test_gini_two_points():
    assert cov.weighted_gini(np.array([0.0, 1.0]), np.array([1.0, 1.0]))[0] == pytest.approx(0.5)
    assert cov.weighted_gini(np.array([5.0, 5.0, 5.0]), np.ones(3))[0] == 0
    # weights act as repeated observations
    a = cov.weighted_gini(np.array([1.0, 4.0]), np.array([2.0, 1.0]))[0]
    b = cov.weighted_gini(np.array([1.0, 1.0, 4.0]), np.ones(3))[0]
    assert a == pytest.approx(b)


@pytest.mark.parametrize(
    ("policy", "hours", "all_week", "nice", "bands"),
    [
        (
            "exclude",
            [248 / 6, 1000 / 9],
            [100 / 6, 500 / 9],
            [100 / 6, 500 / 9],
            {"weekday_day": [50, 100], "evening": [100 / 6, 500 / 9], "night": [100 / 6, 500 / 9],
             "weekend": [100 / 6, 500 / 9], "bank_holiday": [100 / 6, 500 / 9]},
        ),
        (
            "always",
            [168, 1000 / 9],
            [100, 500 / 9],
            [100, 500 / 9],
            {"weekday_day": [100, 100], "evening": [100, 500 / 9], "night": [100, 500 / 9],
             "weekend": [100, 500 / 9], "bank_holiday": [100, 500 / 9]},
        ),
    ],
)
def test_week_summary_by_hand(clean, policy, hours, all_week, nice, bands):
    res = cov.nearest_open(clean, cov.open_mask(fixture_states(), policy))
    g, names = cov.group_codes(REGION)
    ws = cov.week_summary(res.minutes, WEIGHTS, g, len(names))
    np.testing.assert_allclose(ws.hours_per_week_within, hours)
    np.testing.assert_allclose(ws.pct_all_week_within, all_week)
    np.testing.assert_allclose(ws.nice_7day_pct, nice)
    for band, expected in bands.items():
        np.testing.assert_allclose(ws[f"pct_within_{band}"], expected, err_msg=band)
    assert ws.nice_7day_pass.tolist() == [policy == "always", False]
    # a lower pass share lets R2 (55.6 %) pass
    ws = cov.week_summary(res.minutes, WEIGHTS, g, len(names), nice_pass_share=0.5)
    expected_pass = [True, True] if policy == "always" else [False, True]
    assert ws.nice_7day_pass.tolist() == expected_pass


def test_nice_seven_day_needs_every_day():
    w = np.zeros((2, 168), dtype=bool)
    w[0, [d * 24 + 12 for d in range(7)]] = True
    w[1, [d * 24 + 12 for d in range(6)]] = True
    assert cov.nice_seven_day(w).tolist() == [True, False]


def test_group_codes_missing_labels():
    codes, uniques = cov.group_codes(pd.Series(["b", None, "a", ""]))
    assert uniques.tolist() == ["a", "b"] and codes.tolist() == [1, -1, 0, -1]
