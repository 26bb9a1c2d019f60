"""Coverage, what-if and ranking invariants on the real UK data and build folder."""

from __future__ import annotations

import json

import numpy as np
import pytest

from epu_mapper import api, cli
from epu_mapper import coverage as cov
from epu_mapper import hours as hrs
from epu_mapper.api.regional import _slot_column
from epu_mapper.errors import PostcodeError

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def ctx(real_settings):
    return api.load_context(real_settings)


def test_context_is_complete(ctx):
    n_areas, n_units = ctx.minutes.shape
    assert n_areas == len(ctx.demand) == len(ctx.regions) > 40_000
    assert n_units == len(ctx.mapped) == int(ctx.units["mappable"].sum())
    assert (ctx.regions["area_code"].to_numpy() == ctx.demand["area_code"].to_numpy()).all()
    assert ctx.states.shape == (n_units, cov.N_SLOTS)


@pytest.mark.parametrize("policy", ["always", "exclude"])
def test_fast_path_equals_naive_on_real_data(ctx, policy):
    mask = ctx.open_mask(policy)
    slow = cov.nearest_open_naive(ctx.minutes, mask)
    for fast in (cov.nearest_open(ctx.minutes, mask, ctx.order), ctx.nearest_week(policy)):
        np.testing.assert_array_equal(fast.minutes, slow.minutes)
        np.testing.assert_array_equal(fast.unit, slow.unit)


@pytest.mark.parametrize("extra", ["Sa,Su 09:00-17:00", "24/7", "Mo-Fr 17:00-22:00"])
def test_coverage_never_falls_when_hours_grow(ctx, extra):
    rng = np.random.default_rng(5)
    picks = rng.choice(len(ctx.mapped), size=6, replace=False)
    base = ctx.nearest_week("exclude").minutes
    for i in picks:
        uid = ctx.mapped.at[i, "unit_id"]
        old = ctx.mapped.at[i, "opening_hours"]
        new = hrs.combine_hours(old or None, extra)
        states = ctx.states.copy()
        states[i] = np.hstack([hrs.week_states_for([new]), hrs.bank_holiday_states_for([new])])[0]
        grown = cov.nearest_open(ctx.minutes, cov.open_mask(states, "exclude"), ctx.order).minutes
        assert (grown <= base).all(), uid
        res = api.whatif(ctx, {uid: extra})
        assert res.totals["person_hours_week_lost"] == 0, uid
        assert (res.by_hour["after_weight"] >= res.by_hour["before_weight"] - 1e-6).all()
        # the what-if's gains equal a full recompute of "within reach"
        full_gain = ctx.weights @ ((grown <= 60) & ~(base <= 60))
        np.testing.assert_allclose(res.by_hour["newly_covered"], full_gain, rtol=1e-9, atol=1e-6)


def test_always_policy_bounds_exclude(ctx):
    ex = ctx.nearest_week("exclude").minutes
    wd = ctx.nearest_week("weekday").minutes
    al = ctx.nearest_week("always").minutes
    assert (al <= wd).all() and (wd <= ex).all()
    df = api.gaps(ctx, "nhs_region", hour_of_week=5 * 24 + 12, policy="range")
    assert (df.pct_within_60_always >= df.pct_within_60_exclude).all()
    assert (df.median_minutes_always <= df.median_minutes_exclude).all()
    assert (df.hours_covered_always >= df.hours_covered_exclude).all()


def test_24_7_units_give_full_week_coverage_around_them(ctx):
    always_open = np.flatnonzero((ctx.states == cov.OPEN).all(axis=1))
    assert always_open.size >= 1, "the directory lists 24/7 units (e.g. Liverpool Women's)"
    near = ctx.reach[:, always_open].any(axis=1)
    assert near.sum() > 100
    within = ctx.nearest_week("exclude").minutes <= ctx.reach_minutes
    assert within[near].all()
    g = np.where(near, 0, -1)
    ws = cov.week_summary(ctx.nearest_week("exclude").minutes, ctx.weights, g, 1)
    assert ws.hours_per_week_within[0] == pytest.approx(168) and ws.nice_7day_pct[0] == pytest.approx(100)
    # and the nearest open time never exceeds the time to the nearest 24/7 unit
    to_247 = ctx.minutes[:, always_open].min(axis=1)
    assert (ctx.nearest_week("exclude").minutes <= to_247[:, None]).all()


@pytest.mark.parametrize("level", api.LEVELS)
def test_gaps_every_level(ctx, level):
    df = api.gaps(ctx, level, at="2026-11-29T03:00")
    expected = ctx.regions["nation" if level == "nation" else f"{level}_code"].dropna().nunique()
    assert len(df) == expected and df.region_code.is_unique
    for c in ("pct_within_30", "pct_within_60", "pct_within_90", "nice_7day", "pct_no_open_unit"):
        assert df[c].between(0, 100).all(), c
    assert (df.pct_within_30 <= df.pct_within_60).all() and (df.pct_within_60 <= df.pct_within_90).all()
    assert df.hours_covered.between(0, 168).all()
    assert (df.median_minutes <= df.p90_minutes).all()
    assert (df.median_minutes_any_unit <= df.median_minutes).all()
    total = df.weight.sum()
    if level == "nation":
        assert total == pytest.approx(ctx.weights.sum())


def test_st_andrews_day_closes_scottish_units(ctx):
    scot = (ctx.mapped["nation"] == "Scotland").to_numpy()
    normal = _slot_column(ctx, api.parse_when("2026-11-23T11:00"), "exclude")[:, 0]
    holiday = _slot_column(ctx, api.parse_when("2026-11-30T11:00"), "exclude")[:, 0]
    assert (holiday[~scot] == normal[~scot]).all()  # an ordinary Monday elsewhere
    # the real directory: Scottish units open on the Monday before St Andrew's Day, none on it
    assert holiday[scot].sum() < normal[scot].sum()


def test_rank_gains_are_greedy_and_consistent(ctx):
    df = api.rank(ctx, k=5)
    assert len(df) == 5 and df.unit_id.is_unique
    assert (np.diff(df.gain_person_hours) <= 1e-6).all()
    np.testing.assert_allclose(df.cumulative_person_hours, df.gain_person_hours.cumsum())
    # the first pick's gain is exactly what the what-if reports for that unit alone
    first = api.whatif(ctx, {df.unit_id[0]: api.DEFAULT_EXTENSION})
    assert first.totals["person_hours_week_gained"] == pytest.approx(df.gain_person_hours[0])


def test_nearest_real_postcode(ctx):
    res = api.nearest(ctx, "LE15 6RB", at="2026-11-29T03:00", limit=None)
    m = res.units.minutes.to_numpy()
    # the Northern Ireland units have no road link; Great Britain's island units without a
    # same-day fixed link or sourced car ferry (the water rule, data/crossings.csv) are left out too
    from epu_mapper.travel.point import from_point

    n_ni = int((ctx.mapped["nation"] == "Northern Ireland").sum())
    fp = from_point(res.origin["lat"], res.origin["lon"], ctx.mapped, router=None)
    n_sea = int(fp["reason"].astype("string").str.startswith("no same-day link").sum()
                + fp["reason"].astype("string").str.startswith("no fixed link").sum())
    assert n_ni > 0 and res.excluded["unreachable"] == n_ni + n_sea
    assert len(res.units) == len(ctx.mapped) - n_ni - n_sea
    assert np.isfinite(m).all() and (np.diff(m) >= 0).all()
    assert set(res.units.state) <= {"open", "closed", "unknown"}
    assert res.origin["postcode"] == "LE15 6RB"
    with pytest.raises(PostcodeError):
        api.nearest(ctx, "NOT A POSTCODE")


def test_cli_gaps_json_on_real_data(ctx, capsys, monkeypatch):
    monkeypatch.setattr(api, "load_context", lambda settings=None: ctx)
    assert cli.main(["gaps", "--level", "icb", "--at", "2026-11-29T03:00", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert len(doc["regions"]) == 42 and doc["when"] == "Sun 2026-11-29 03:00"
