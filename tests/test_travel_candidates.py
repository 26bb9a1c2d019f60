"""Candidate pairs: straight-line distance, open-state groups, the k-nearest + per-group rule."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from epu_mapper.travel.candidates import (
    DEFAULT_K,
    EARTH_RADIUS_KM,
    candidate_mask,
    haversine_km,
    open_state_groups,
    straight_km_matrix,
)


def test_haversine_one_degree_of_latitude():
    # one degree along a meridian = R * pi / 180
    np.testing.assert_allclose(haversine_km(52.0, -1.0, 53.0, -1.0), EARTH_RADIUS_KM * np.pi / 180, rtol=1e-12)
    assert haversine_km(52.0, -1.0, 52.0, -1.0) == 0.0


def test_haversine_symmetric_and_nan():
    a = haversine_km(51.5, -0.12, 55.95, -3.19)  # London - Edinburgh ~ 534 km
    assert 520 < a < 545
    assert a == haversine_km(55.95, -3.19, 51.5, -0.12)
    assert np.isnan(haversine_km(np.nan, 0.0, 1.0, 1.0))


def test_straight_km_matrix_shape():
    d = straight_km_matrix(np.array([0.0, 1.0]), np.array([0.0, 0.0]),
                           np.array([0.0, 2.0, 3.0]), np.array([0.0, 0.0, 0.0]))
    assert d.shape == (2, 3)
    assert d[0, 0] == 0.0
    np.testing.assert_allclose(d[1, 1], EARTH_RADIUS_KM * np.pi / 180, rtol=1e-12)


# 5 origins on a line of latitude 0, 3 units at lon 0, 1, 2 (degrees)
O_LAT = np.zeros(5)
O_LON = np.array([0.0, 0.4, 1.1, 1.9, 2.5])
D_LAT = np.zeros(3)
D_LON = np.array([0.0, 1.0, 2.0])


def test_k_at_least_n_keeps_every_pair():
    assert candidate_mask(O_LAT, O_LON, D_LAT, D_LON, k=3).all()
    assert candidate_mask(O_LAT, O_LON, D_LAT, D_LON).all()  # default k = 100 > 3
    assert DEFAULT_K >= 100


def test_k1_keeps_only_nearest():
    m = candidate_mask(O_LAT, O_LON, D_LAT, D_LON, k=1)
    expected = np.array([[1, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1], [0, 0, 1]], dtype=bool)
    np.testing.assert_array_equal(m, expected)


def test_per_group_adds_the_nearest_of_each_group():
    groups = np.array([0, 0, 1])  # unit 2 has a different open pattern
    m = candidate_mask(O_LAT, O_LON, D_LAT, D_LON, k=1, groups=groups, per_group=1)
    # every origin keeps its nearest unit plus unit 2 (the only one of group 1),
    # and the nearest of group 0 (unit 0 or 1)
    assert m[:, 2].all()
    np.testing.assert_array_equal(m[0], [True, False, True])
    np.testing.assert_array_equal(m[2], [False, True, True])
    np.testing.assert_array_equal(m[4], [False, True, True])


def test_origin_without_coordinates_keeps_every_pair():
    m = candidate_mask(np.array([np.nan, 0.0]), np.array([np.nan, 0.0]), D_LAT, D_LON, k=1)
    assert m[0].all() and m[1].sum() == 1


def test_open_state_groups():
    week = np.array([[1, 0, 0], [1, 0, 0], [1, -1, 0], [1, 0, 0]], dtype=np.int8)
    labels = open_state_groups(week)
    assert labels[0] == labels[1] == labels[3]
    assert labels[2] != labels[0]  # unknown is not closed
    labels = open_state_groups(week, extra=np.array(["England", "England", "England", "Scotland"]))
    assert labels[0] == labels[1] and labels[3] != labels[0]
    bh = np.array([[0], [1], [0], [0]], dtype=np.int8)
    labels = open_state_groups(week, bh)
    assert labels[0] != labels[1]


@st.composite
def _sites(draw):
    """Areas and units over Great Britain, units in open-state groups with 24-hour patterns."""
    lat, lon = st.floats(50, 56), st.floats(-5, 1)
    n_areas = draw(st.integers(1, 30))
    n_units = draw(st.integers(2, 25))
    n_groups = draw(st.integers(1, 6))
    return (
        draw(hnp.arrays(np.float64, n_areas, elements=lat)),
        draw(hnp.arrays(np.float64, n_areas, elements=lon)),
        draw(hnp.arrays(np.float64, n_units, elements=lat)),
        draw(hnp.arrays(np.float64, n_units, elements=lon)),
        draw(hnp.arrays(np.int64, n_units, elements=st.integers(0, n_groups - 1))),
        draw(hnp.arrays(np.bool_, (n_groups, 24))),
    )


@settings(max_examples=60, deadline=None)
@given(sites=_sites(), k=st.integers(1, 4))
def test_pruning_never_loses_the_nearest_open_unit(sites, k):
    """For any hour, the straight-line-nearest open unit survives pruning (per_group >= 1)."""
    o_lat, o_lon, d_lat, d_lon, groups, pattern = sites
    open_ = pattern[groups]  # (n_units, 24): each group has one open pattern
    dist = straight_km_matrix(o_lat, o_lon, d_lat, d_lon)
    mask = candidate_mask(o_lat, o_lon, d_lat, d_lon, k=k, groups=groups, per_group=1)
    for h in range(24):
        if not open_[:, h].any():
            continue
        full = np.where(open_[:, h][None, :], dist, np.inf).min(axis=1)
        pruned = np.where(open_[:, h][None, :] & mask, dist, np.inf).min(axis=1)
        np.testing.assert_array_equal(full, pruned)


def test_completion_mask_by_hand():
    from epu_mapper.travel.candidates import completion_mask

    # one origin, 3 units in one group; unit 0 routed at 30 min
    mask = np.array([[True, False, False]])
    minutes = np.array([[30.0, np.nan, np.nan]])
    # lower bounds at 120 km/h: 20 km -> 10 min (could beat 30: route), 80 km -> 40 min (cannot)
    straight = np.array([[10.0, 20.0, 80.0]])
    extra = completion_mask(mask, minutes, straight, groups=np.array([0, 0, 0]))
    np.testing.assert_array_equal(extra, [[False, True, False]])
    # in separate groups nothing is needed: each group's only unit is its own best
    extra = completion_mask(np.array([[True, True, True]]), minutes, straight, groups=np.array([0, 1, 2]))
    assert not extra.any()
    # an unreachable best (NaN) means every unit of the group must be tried
    extra = completion_mask(mask, np.array([[np.nan, 0, 0]]), straight, groups=np.array([0, 0, 0]))
    np.testing.assert_array_equal(extra, [[False, True, True]])
