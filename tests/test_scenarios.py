"""Hand-checkable tests of the pure what-if and greedy ranking (the tests/_tiny.py fixture)."""

from __future__ import annotations

import numpy as np
import pytest
from _tiny import MINUTES, WEIGHTS, fixture_states
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from epu_mapper import coverage as cov
from epu_mapper import scenarios as sc

WEEKEND_DAY = np.array([d * 24 + h for d in (5, 6) for h in range(9, 17)])


def _extended(states: np.ndarray, unit: int) -> np.ndarray:
    out = states.copy()
    out[unit, WEEKEND_DAY] = cov.OPEN
    return out


def test_reach_matrix_treats_nan_and_inf_as_out_of_reach():
    r = sc.reach_matrix(MINUTES)
    assert r.tolist() == [
        [True, True, True],
        [True, False, True],
        [False, False, True],
        [True, False, False],
        [False, True, False],
    ]


def test_whatif_weekend_extension_by_hand():
    states = fixture_states()
    reach = sc.reach_matrix(MINUTES)
    before = cov.open_mask(states, "exclude")
    after = cov.open_mask(_extended(states, 0), "exclude")
    res = sc.whatif_core(reach, before, after)
    assert res.changed_units.tolist() == [0]
    assert res.rows.tolist() == [0, 1, 3]  # areas within 60 min of U0
    gained_rows = res.rows[res.gained.any(axis=1)]
    assert gained_rows.tolist() == [1, 3]  # A0 already had U1 (24/7)
    assert set(np.flatnonzero(res.gained.any(axis=0))) == set(WEEKEND_DAY)
    assert float(WEIGHTS[res.rows] @ res.gained.sum(axis=1)) == (2 + 4) * 16
    assert not res.lost.any()


def test_whatif_cutting_hours_loses_coverage():
    states = fixture_states()
    cut = states.copy()
    cut[1, :] = cov.CLOSED  # the 24/7 unit closes
    reach = sc.reach_matrix(MINUTES)
    res = sc.whatif_core(reach, cov.open_mask(states, "exclude"), cov.open_mask(cut, "exclude"))
    assert res.rows.tolist() == [0, 4]
    lost_hours = dict(zip(res.rows.tolist(), res.lost.sum(axis=1).tolist(), strict=True))
    # A0 keeps U0 on weekday days (40 h of 192 slots), loses the other 152; A4 loses all 192
    assert lost_hours == {0: 152, 4: 192}
    assert not res.gained.any()


def test_whatif_no_change():
    m = cov.open_mask(fixture_states(), "exclude")
    res = sc.whatif_core(sc.reach_matrix(MINUTES), m, m)
    assert res.rows.size == 0 and res.gained.shape == (0, m.shape[1])


def test_greedy_rank_by_hand():
    states = fixture_states()
    reach = sc.reach_matrix(MINUTES)
    base = cov.open_mask(states, "exclude")
    ext = np.stack([cov.open_mask(_extended(states, u), "exclude")[u] for u in range(3)])
    ranked = sc.greedy_rank(reach, base, ext, WEIGHTS, k=3, slots=np.arange(168))
    # step 1: U0 adds A1 (w 2) + A3 (w 4) x 16 h = 96; U2 would add A1 + A2 = 80; U1 nothing.
    # step 2: U2 now adds only A2: 3 x 16 = 48. Step 3: nothing left -> stop.
    assert ranked.unit.tolist() == [0, 2]
    assert ranked.gain_person_hours.tolist() == [96, 48]
    assert ranked.gain_population.tolist() == [6, 3]
    assert ranked.cumulative_person_hours.tolist() == [96, 144]
    assert ranked.hours_added.tolist() == [16, 16]
    with pytest.raises(ValueError, match="k must be at least 1"):
        sc.greedy_rank(reach, base, ext, WEIGHTS, k=0)


@settings(max_examples=100, deadline=None)
@given(st.data())
def test_whatif_matches_full_recompute(data):
    n_areas = data.draw(st.integers(1, 10))
    n_units = data.draw(st.integers(1, 6))
    n_slots = data.draw(st.integers(1, 12))
    minutes = data.draw(hnp.arrays(np.float32, (n_areas, n_units),
                                   elements=st.sampled_from([5.0, 30.0, 59.0, 60.0, 61.0, np.inf])))
    before = data.draw(hnp.arrays(bool, (n_units, n_slots)))
    after = data.draw(hnp.arrays(bool, (n_units, n_slots)))
    reach = sc.reach_matrix(minutes)
    res = sc.whatif_core(reach, before, after)
    full_before = cov.nearest_open_naive(minutes, before).minutes <= 60
    full_after = cov.nearest_open_naive(minutes, after).minutes <= 60
    gained = np.zeros_like(full_before)
    lost = np.zeros_like(full_before)
    gained[res.rows] = res.gained
    lost[res.rows] = res.lost
    np.testing.assert_array_equal(gained, full_after & ~full_before)
    np.testing.assert_array_equal(lost, full_before & ~full_after)
