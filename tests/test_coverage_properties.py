"""Property tests: the fast nearest-open path equals the brute force on random directories."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from epu_mapper import coverage as cov

# Small integer-ish minutes make ties frequent; inf/NaN stand for skipped/unreachable pairs.
_minute = st.one_of(
    st.integers(0, 8).map(float), st.just(np.inf), st.just(np.nan), st.floats(0, 300, width=32)
)


@st.composite
def directories(draw):
    n_areas = draw(st.integers(1, 12))
    n_units = draw(st.integers(1, 9))
    n_slots = draw(st.integers(1, 30))
    minutes = draw(hnp.arrays(np.float32, (n_areas, n_units), elements=_minute))
    states = draw(hnp.arrays(np.int8, (n_units, n_slots), elements=st.sampled_from([-1, 0, 1])))
    policy = draw(st.sampled_from(["exclude", "always"]))
    top_k = draw(st.integers(1, 10))
    return minutes, states, policy, top_k


@settings(max_examples=300, deadline=None)
@given(directories())
def test_fast_path_equals_brute_force(case):
    minutes, states, policy, top_k = case
    clean = cov.clean_minutes(minutes)
    is_open = cov.open_mask(states, policy)
    fast = cov.nearest_open(clean, is_open, top_k=top_k)
    rows = cov.nearest_open(clean, is_open, top_k=top_k, by_unit=cov.unit_major(clean))
    slow = cov.nearest_open_naive(clean, is_open)
    for res in (fast, rows):  # the order path and the unit-row scan
        np.testing.assert_array_equal(res.minutes, slow.minutes)
        np.testing.assert_array_equal(res.unit, slow.unit)
    # and the answer really is an open unit at that time, at that distance
    a, s = np.nonzero(fast.unit >= 0)
    u = fast.unit[a, s]
    assert is_open[u, s].all()
    np.testing.assert_array_equal(clean[a, u], fast.minutes[a, s])


@settings(max_examples=150, deadline=None)
@given(directories())
def test_more_open_units_never_increase_minutes(case):
    minutes, states, _, top_k = case
    clean = cov.clean_minutes(minutes)
    low = cov.nearest_open(clean, cov.open_mask(states, "exclude"), top_k=top_k).minutes
    mid = cov.nearest_open(clean, cov.open_mask(states, "weekday", assumed=True), top_k=top_k).minutes
    high = cov.nearest_open(clean, cov.open_mask(states, "always"), top_k=top_k).minutes
    assert (high <= low).all() and (mid <= low).all() and (high <= mid).all()


@settings(max_examples=150, deadline=None)
@given(
    hnp.arrays(np.float64, st.integers(1, 25), elements=st.floats(0, 500)),
    st.data(),
)
def test_weighted_quantile_matches_expanded_sample(values, data):
    """Integer weights behave like repeated observations: compare with a sorted expansion."""
    n = values.size
    weights = np.array(data.draw(st.lists(st.integers(0, 4), min_size=n, max_size=n)), float)
    q = data.draw(st.sampled_from([0.1, 0.5, 0.9, 1.0]))
    got = cov.weighted_quantiles(values, weights, np.zeros(n, np.int64), 1, [q])[0, 0, 0]
    sample = np.sort(np.repeat(values, weights.astype(int)))
    if sample.size == 0:
        assert np.isnan(got)
    else:
        expected = sample[int(np.ceil(q * sample.size)) - 1]
        assert got == expected


def _gini_by_definition(x: np.ndarray, w: np.ndarray) -> float:
    """``Σ_i Σ_j w_i w_j |x_i − x_j| / (2 W² μ)`` over the finite, positively weighted areas."""
    keep = np.isfinite(x) & (w > 0)
    x, w = x[keep], w[keep]
    total = w.sum()
    if x.size == 0 or total == 0:
        return float("nan")
    mean = (w * x).sum() / total
    if mean == 0:
        return float("nan")
    return float((w[:, None] * w[None, :] * np.abs(x[:, None] - x[None, :])).sum()
                 / (2 * total**2 * mean))


@st.composite
def _gini_cases(draw):
    n = draw(st.integers(1, 30))
    values = draw(hnp.arrays(np.float64, n, elements=st.one_of(
        st.integers(0, 6).map(float), st.floats(0, 400), st.just(np.inf))))
    weights = draw(hnp.arrays(np.float64, n, elements=st.one_of(
        st.just(0.0), st.integers(1, 5).map(float), st.floats(0.01, 2000))))
    n_groups = draw(st.integers(1, 3))
    group = draw(hnp.arrays(np.int64, n, elements=st.integers(-1, n_groups - 1)))
    return values, weights, group, n_groups


@settings(max_examples=300, deadline=None)
@given(_gini_cases())
def test_weighted_gini_equals_its_quadratic_definition(case):
    values, weights, group, n_groups = case
    got = cov.weighted_gini(values, weights, group, n_groups)
    for g in range(n_groups):
        sel = group == g
        expected = _gini_by_definition(values[sel], weights[sel])
        if np.isnan(expected):
            assert np.isnan(got[g])
        else:
            assert got[g] == pytest.approx(expected, rel=1e-9, abs=1e-9)
    # without groups, every area is in one group
    whole = _gini_by_definition(values, weights)
    alone = cov.weighted_gini(values, weights)[0]
    assert (np.isnan(alone) and np.isnan(whole)) or alone == pytest.approx(whole, rel=1e-9, abs=1e-9)
