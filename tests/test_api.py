"""The API facade on the hand-checkable 3 units x 5 areas fixture (offline, no build folder).

The fixture (tests/_tiny.py, same numbers as tests/test_coverage.py): U0 is a Scottish unit
(Mo-Fr 09-17, PH off) so that St Andrew's Day closes it for the English areas around it, U1 is
24/7, U2 has unknown hours. U0's hours are scan hours and U1's a phone line's; U0 and U2 publish
an out-of-hours pathway. A fourth directory unit has no site and is not in the matrix.
"""

from __future__ import annotations

import functools
import os
from datetime import datetime

import numpy as np
import pandas as pd
import pytest
from _tiny import AREA_CODES, ORIGIN, stub_nearest, tiny_context

from epu_mapper import api
from epu_mapper.api import context as api_context
from epu_mapper.api import find as api_find
from epu_mapper.errors import BuildMissingError, EpuMapperError
from epu_mapper.settings import Settings


@pytest.fixture
def ctx(tmp_path):
    # demand and regions in reverse order: build_context must realign them to the matrix rows
    return tiny_context(tmp_path, shuffled=True)


def test_context_alignment(ctx):
    assert ctx.demand.area_code.tolist() == AREA_CODES
    assert ctx.regions.area_code.tolist() == AREA_CODES
    assert ctx.mapped.unit_id.tolist() == ["U0", "U1", "U2"]
    assert ctx.mapped.area_index.tolist() == [0, 4, 1]
    assert ctx.states.shape == (3, 192)
    assert ctx.states[:, 10].tolist() == [1, 1, -1]
    assert ctx.states[:, 168 + 10].tolist() == [0, 1, -1]  # bank holiday: PH off


def test_gaps_typical_hour(ctx):
    df = api.gaps(ctx, "icb", hour_of_week=3)
    assert df.region_code.tolist() == ["R1", "R2"]
    assert df.region_name.tolist() == ["ICB one", "ICB two"]
    assert df.weight.tolist() == [6, 9] and df.population.tolist() == [60, 90]
    assert df.units_in_region.tolist() == [2, 1]
    assert df.median_minutes.tolist() == [70, 25]
    assert df.p90_minutes.tolist() == [100, np.inf]
    assert df.pct_within_60.tolist() == pytest.approx([100 / 6, 500 / 9])
    assert df.hours_covered.tolist() == pytest.approx([248 / 6, 1000 / 9])
    assert df.nice_7day.tolist() == pytest.approx([100 / 6, 500 / 9])
    assert df.nice_7day_pass.tolist() == [False, False]
    assert df.median_minutes_any_unit.tolist() == [10, 25]  # R1: 5 (w2), 10 (w1), 30 (w3)
    assert df.attrs["when"] == "Mon 03:00" and df.attrs["slot"] == 3
    ineq = df.attrs["inequality"]
    assert ineq["median_ratio_worst_best"] == pytest.approx(70 / 25)
    assert ineq["pct60_ratio_best_worst"] == pytest.approx((500 / 9) / (100 / 6))
    # UK Gini over the finite times 25 (w5), 50 (w1), 70 (w2), 100 (w3): sum over pairs of
    # w_i w_j |x_i - x_j| = 2070; W = 11; sum w x = 615
    assert ineq["gini_minutes_uk"] == pytest.approx(2070 / (11 * 615))
    assert ineq["pct_no_open_unit_uk"] == pytest.approx(100 * 4 / 15)
    assert df.gini_minutes.tolist() == pytest.approx([370 / (6 * 490), 0])
    assert df.pct_within_30.tolist() == pytest.approx([0, 500 / 9])
    assert df.pct_within_90.tolist() == pytest.approx([50, 500 / 9])
    assert df.pct_all_week_within.tolist() == pytest.approx([100 / 6, 500 / 9])
    assert df.pct_within_weekday_day.tolist() == pytest.approx([50, 100])
    assert df.pct_within_bank_holiday.tolist() == pytest.approx([100 / 6, 500 / 9])


def test_gaps_range_gives_both_bounds(ctx):
    df = api.gaps(ctx, "icb", hour_of_week=3, policy="range")
    assert df.median_minutes_exclude.tolist() == [70, 25]
    assert df.median_minutes_always.tolist() == [20, 25]  # R1 always: 20, 5, 30 (w 1, 2, 3)
    assert (df.pct_within_60_always >= df.pct_within_60_exclude).all()
    assert set(df.attrs["inequality"]) == {"exclude", "always"}


def test_gaps_real_calendar_st_andrews_day(ctx):
    # Monday 23 Nov 2026 10:00: the Scottish unit U0 is open
    normal = api.gaps(ctx, "lad", at="2026-11-23T10:00")
    # Monday 30 Nov 2026 (St Andrew's Day, a Scottish bank holiday): U0 closed (PH off)
    holiday = api.gaps(ctx, "lad", at="2026-11-30T10:00")
    # L1 = A0 (w1), A1 (w2): normal nearest 10, 40; holiday nearest U1 50, 70
    assert normal.median_minutes.tolist()[0] == 40
    assert holiday.median_minutes.tolist()[0] == 70
    # with an offset: 10:00Z in November is 10:00 UK time
    same = api.gaps(ctx, "lad", at="2026-11-30T10:00:00+00:00")
    assert same.median_minutes.tolist() == holiday.median_minutes.tolist()


def test_gaps_bank_holiday_slot(ctx):
    df = api.gaps(ctx, "icb", hour_of_week=10, bank_holiday=True)
    assert df.attrs["slot"] == 178 and df.attrs["when"] == "Bank holiday 10:00"
    assert df.median_minutes.tolist() == [70, 25]  # only U1 (24/7) open


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"level": "county"}, "unknown level"),
        ({"level": "icb", "at": "next tuesday"}, "cannot read the time"),
        ({"level": "icb", "hour_of_week": 168}, "0..167"),
        ({"level": "icb", "hour_of_week": 3, "at": "2026-01-01T00:00"}, "not both"),
        ({"level": "icb", "hour_of_week": 3, "policy": "maybe"}, "unknown policy"),
    ],
)
def test_gaps_bad_arguments(ctx, kwargs, message):
    with pytest.raises(EpuMapperError, match=message):
        api.gaps(ctx, **kwargs)


def test_regions_small_areas_and_local(ctx):
    assert api.regions(ctx, "icb").region_code.tolist() == ["R1", "R2"]
    sa = api.small_areas(ctx, "icb", "R2", hour_of_week=3)
    assert sa.area_code.tolist() == AREA_CODES[3:]
    assert sa.minutes.tolist() == [np.inf, 25]
    assert sa.unit_id.tolist() == ["", "U1"]
    assert sa.km.tolist()[1] == pytest.approx(37.5)
    assert sa.minutes_any_unit.tolist() == [20, 25]
    loc = api.local(ctx, "icb", "R2")
    assert set(loc.units.unit_id) == {"U0", "U1"}  # U1 inside; U0 nearest for A3
    assert loc.units.set_index("unit_id").in_region.to_dict() == {"U0": False, "U1": True}
    assert loc.week.shape == (2, 168)
    cbh = loc.coverage_by_hour
    assert len(cbh) == 192
    assert cbh.loc[3, "pct_within_60"] == pytest.approx(500 / 9)
    assert cbh.loc[10, "pct_within_60"] == pytest.approx(100)
    with pytest.raises(EpuMapperError, match="no icb region"):
        api.small_areas(ctx, "icb", "R9", hour_of_week=3)


def test_whatif_weekend_extension(ctx):
    res = api.whatif(ctx, {"U0": "Sa,Su 09:00-17:00"}, level="icb")
    assert res.changes.hours_after.tolist() == ["Mo-Fr 09:00-17:00, Sa,Su 09:00-17:00; PH off"]
    assert res.totals["person_hours_week_gained"] == 96
    assert res.totals["population_newly_within_any_hour"] == 6
    assert res.totals["person_hours_bank_holiday_gained"] == 0
    assert res.totals["areas_affected"] == 3
    reg = res.by_region.set_index("region_code")
    assert reg.newly_covered.to_dict() == {"R1": 32, "R2": 64}
    assert reg.loc["R1", "before_pct"] == pytest.approx(100 * 248 / (6 * 168))
    assert reg.loc["R1", "after_pct"] == pytest.approx(100 * 280 / (6 * 168))
    sat10 = res.by_hour.loc[5 * 24 + 10]
    assert sat10.newly_covered == 6 and sat10.after_weight - sat10.before_weight == 6
    assert len(res.by_region_hour) == 2 * 16


def test_whatif_replace_and_errors(ctx):
    res = api.whatif(ctx, {"U1": "Mo-Fr 09:00-17:00"}, mode="replace")
    assert res.totals["person_hours_week_gained"] == 0
    assert res.totals["person_hours_week_lost"] > 0
    with pytest.raises(EpuMapperError, match="no unit with id"):
        api.whatif(ctx, {"NOPE": "24/7"})
    with pytest.raises(EpuMapperError, match="no site coordinates"):
        api.whatif(ctx, {"U3": "24/7"})
    with pytest.raises(EpuMapperError, match="hours for U0"):
        api.whatif(ctx, {"U0": "Sa,Su 25:00-99:00"})


def test_rank(ctx):
    df = api.rank(ctx, k=3)
    assert df.unit_id.tolist() == ["U0", "U2"]
    assert df.gain_person_hours.tolist() == [96, 48]
    assert df.cumulative_person_hours.tolist() == [96, 144]
    with pytest.raises(EpuMapperError, match="at least 1"):
        api.rank(ctx, k=0)


def test_nearest_orders_and_filters(ctx, monkeypatch):
    stub_nearest(monkeypatch)
    res = api.nearest(ctx, "ab12cd", at="2026-11-23T10:00")
    assert res.units.unit_id.tolist() == ["U2", "U0", "U1"]
    assert res.units.state.tolist() == ["unknown", "open", "open"]
    assert res.units.next_opening.tolist() == [None, "2026-11-23T10:00", "2026-11-23T10:00"]
    assert res.units.hours_kind.tolist() == ["", "scan", "phone triage"]
    assert res.units.out_of_hours.tolist() == ["Go to <b>A&E</b> at [H2](javascript:x)",
                                               "Call NHS 24 on 111", ""]
    assert res.excluded["no_site"] == 1
    from epu_mapper.travel import CALIBRATED

    assert res.caption == CALIBRATED.caption()  # estimated times: the calibrated error is stated
    assert f"typically within {CALIBRATED.mae_min:.0f} minutes" in res.caption
    # Saturday night: U0 next opens Monday 09:00
    res = api.nearest(ctx, "ab12cd", at=datetime(2026, 11, 28, 23, 0))
    row = res.units.set_index("unit_id").loc["U0"]
    # U0 is Scottish: Monday 30 Nov 2026 is St Andrew's Day (PH off), so it opens on Tuesday
    assert row.state == "closed" and row.next_opening == "2026-12-01T09:00"
    res = api.nearest(ctx, "ab12cd", self_referral=True)
    assert res.units.unit_id.tolist() == ["U0"] and res.excluded["self_referral"] == 2
    res = api.nearest(ctx, "ab12cd", weeks=18, limit=1)
    assert res.units.unit_id.tolist() == ["U2"] and bool(res.units.weeks_unknown[0])
    assert res.excluded["weeks"] == 1


def test_nearest_without_hours_kind_or_out_of_hours_columns(ctx, monkeypatch):
    """An older directory without the two text columns reads them as unknown (empty)."""
    stub_nearest(monkeypatch)
    ctx.mapped = ctx.mapped.drop(columns=["hours_kind", "out_of_hours"])
    res = api.nearest(ctx, "ab12cd", at="2026-11-23T10:00")
    assert res.units.hours_kind.tolist() == ["", "", ""]
    assert res.units.out_of_hours.tolist() == ["", "", ""]


def test_nearest_caption_follows_the_engine_of_the_shown_units(ctx, monkeypatch):
    from epu_mapper import travel

    monkeypatch.setattr(api_find, "_lookup_postcode", lambda c, pc: dict(ORIGIN))

    def routed(lat, lon, units, settings=None, **kw):
        df = pd.DataFrame({"unit_id": units.unit_id, "minutes": np.float32([40, 70, 5]),
                           "km": np.float32([30, 60, 4]), "engine": ["osrm", "estimate", "osrm"],
                           "approximate": [False, True, False]})
        df.attrs["osm_timestamp"] = "2026-10-01T20:21:02Z"
        return df

    monkeypatch.setattr(travel, "from_point", routed)
    # the two nearest are routed: the routing caption, with the network's OpenStreetMap date
    assert api.nearest(ctx, "ab12cd", limit=2).caption == (
        "road travel time by car (OSRM, free-flow, OpenStreetMap 2026-10-01)")
    # the third (U1) is an estimate: its calibrated error is stated
    assert api.nearest(ctx, "ab12cd").caption == travel.CALIBRATED.caption()


def test_gaps_states_what_the_travel_times_are(ctx, tmp_path):
    from epu_mapper import travel

    # an estimate matrix without a caption of its own: the calibrated caption (measured error)
    attrs = api.gaps(ctx, "icb", hour_of_week=10).attrs
    assert attrs["approximate"] is True
    assert attrs["travel_caption"] == api.travel_caption(ctx) == travel.CALIBRATED.caption()
    assert f"typically within {travel.CALIBRATED.mae_min:.0f} minutes" in attrs["travel_caption"]
    # the matrix's own caption (its provenance, as built) wins
    built = tiny_context(tmp_path, provenance={"caption": "as built: typically within 9 minutes"})
    assert api.gaps(built, "icb", hour_of_week=10).attrs["travel_caption"] == (
        "as built: typically within 9 minutes")
    # a routed matrix without a caption: the road-routing caption
    built.matrix.engine, built.matrix.approximate = "osrm", False
    built.matrix.provenance = {"network": {"osm_timestamp": "2026-10-01T20:21:02Z"}}
    assert api.travel_caption(built) == (
        "road travel time by car (OSRM, free-flow, OpenStreetMap 2026-10-01)")


def test_gaps_and_small_areas_with_unit_filters(ctx):
    # self-referral: only U0 ("yes") counts; Monday 10:00 it is open
    df = api.gaps(ctx, "icb", hour_of_week=10, self_referral=True)
    assert df.median_minutes.tolist() == [40, 95]  # R1: 10 (w1), 40 (w2), 80 (w3); R2: 20 (w4), 95 (w5)
    assert df.median_minutes_any_unit.tolist() == [40, 95]
    assert df.attrs["filters"] == {"self_referral": True, "weeks": None}
    # 18 weeks: U0 (max 16) drops out; U1 (24/7) and U2 (unknown limit, unknown hours) stay
    df = api.gaps(ctx, "icb", hour_of_week=10, weeks=18)
    assert df.median_minutes.tolist() == [70, 25]
    sa = api.small_areas(ctx, "icb", "R1", hour_of_week=10, weeks=18)
    assert sa.unit_id.tolist() == ["U1", "U1", "U1"] and sa.any_unit_id.tolist() == ["U2"] * 3
    with pytest.raises(EpuMapperError, match="between 0 and 45"):
        api.gaps(ctx, "icb", hour_of_week=10, weeks=60)


def test_gaps_by_hour_matches_single_hour_queries(ctx):
    long = api.gaps_by_hour(ctx, "icb")
    assert len(long) == 2 * 192
    for slot in (3, 10, 5 * 24 + 10, 178):
        one = api.gaps(ctx, "icb", hour_of_week=slot % 168 if slot < 168 else slot - 168,
                       bank_holiday=slot >= 168)
        rows = long[long.hour_of_week == slot].reset_index(drop=True)
        for col in ("median_minutes", "p90_minutes", "pct_within_60", "pct_no_open_unit"):
            np.testing.assert_allclose(rows[col], one[col], err_msg=f"{slot} {col}")
    r1_mon3 = long[(long.region_code == "R1") & (long.hour_of_week == 3)].iloc[0]
    assert r1_mon3.median_minutes == 70 and r1_mon3.label == "Mon 03:00"


def test_load_context_reloads_when_the_build_changes(tmp_path, monkeypatch):
    settings = Settings(data_dir=None, build_dir=tmp_path, units_csv=tmp_path / "units.csv")
    calls = []

    @functools.lru_cache(maxsize=2)
    def fake(settings, stamp):
        calls.append(stamp)
        return object()

    monkeypatch.setattr(api_context, "_load_context_cached", fake)
    (tmp_path / "demand.parquet").write_bytes(b"x")
    a = api.load_context(settings)
    assert api.load_context(settings) is a and len(calls) == 1  # cached
    os.utime(tmp_path / "demand.parquet", ns=(1, 1))
    assert api.load_context(settings) is not a and len(calls) == 2  # rebuilt -> reloaded


def test_missing_build_names_the_command(tmp_path):
    settings = Settings(data_dir=None, build_dir=tmp_path / "empty", units_csv=tmp_path / "u.csv")
    with pytest.raises(BuildMissingError, match="epu-mapper data build"):
        api.load_context(settings)


def test_nation_specific_bank_holiday(ctx):
    # A Scottish-only bank holiday at 10:00: the Scottish unit U0 follows "PH off" (closed),
    # the English units keep their Monday hours (U1 24/7 open, U2 unknown).
    scot = api.gaps(ctx, "lad", hour_of_week=10, bank_holiday="Scotland")
    uk = api.gaps(ctx, "lad", hour_of_week=10, bank_holiday=True)
    assert scot.median_minutes.tolist() == uk.median_minutes.tolist()  # only U0 differs: closed in both
    # An English-only bank holiday: U0 (Scotland) is open as on any Monday
    eng = api.gaps(ctx, "lad", hour_of_week=10, bank_holiday="England")
    monday = api.gaps(ctx, "lad", hour_of_week=10)
    assert eng.median_minutes.tolist() == monday.median_minutes.tolist()
    assert "England bank holiday 10:00" in eng.attrs["when"]
    # weekday policy: unknown U2 is assumed open on an ordinary Monday 10:00 in England,
    # so on a Scottish bank holiday it counts under "weekday" too
    sa = api.small_areas(ctx, "lad", "L1", hour_of_week=10, bank_holiday="Scotland", policy="weekday")
    assert sa.unit_id.tolist() == ["U2", "U2"] and sa.minutes.tolist() == [20, 5]
    # ... whereas on the UK-wide bank holiday nothing unknown is assumed open: U1 only
    sa = api.small_areas(ctx, "lad", "L1", hour_of_week=10, bank_holiday=True, policy="weekday")
    assert sa.unit_id.tolist() == ["U1", "U1"] and sa.minutes.tolist() == [50, 70]
    with pytest.raises(EpuMapperError, match="unknown nation"):
        api.gaps(ctx, "lad", hour_of_week=10, bank_holiday="Cornwall")


@pytest.mark.parametrize("weeks", ["twelve", float("nan"), -1, 46, float("inf")])
def test_one_gestation_check_for_every_query(ctx, weeks, monkeypatch):
    stub_nearest(monkeypatch)
    for call in (lambda: api.nearest(ctx, "ab12cd", weeks=weeks),
                 lambda: api.gaps(ctx, "icb", hour_of_week=10, weeks=weeks),
                 lambda: api.small_areas(ctx, "icb", "I1", hour_of_week=10, weeks=weeks)):
        with pytest.raises(api.CoverageArgumentError, match="gestation weeks must be"):
            call()
    from epu_mapper.api.args import check_weeks

    assert check_weeks("12") == 12.0 and check_weeks(None) is None


def test_gaps_finds_the_nearest_open_unit_once_per_policy(ctx, monkeypatch):
    from epu_mapper.api import gap_stats

    calls = []
    real = gap_stats._nearest_at

    def counted(*args, **kwargs):
        calls.append(args[3])  # (ctx, slot, when, policy, flt)
        return real(*args, **kwargs)

    monkeypatch.setattr(gap_stats, "_nearest_at", counted)
    api.gaps(ctx, "icb", at="2026-11-25T10:00", policy="range")
    assert sorted(calls) == ["always", "exclude"]


def test_gaps_whole_week_columns_are_computed_once_and_equal_a_fresh_context(ctx, tmp_path):
    """The whole-week statistics do not depend on the hour: after the first query they come
    from the context's cache, equal to what a context that never ran a query computes."""
    import pandas.testing as pdt

    week_cols = ["hours_covered", "pct_all_week_within", "pct_within_weekday_day",
                 "pct_within_night", "nice_7day", "nice_7day_pass"]
    first = api.gaps(ctx, "icb", hour_of_week=3, policy="range", self_referral=True)
    calls: list[str] = []
    real = api_context.cov.week_summary
    api_context.cov.week_summary = lambda *a, **k: calls.append("x") or real(*a, **k)
    try:
        later = api.gaps(ctx, "icb", hour_of_week=100, policy="range", self_referral=True)
    finally:
        api_context.cov.week_summary = real
    assert calls == []  # no recomputation at the new hour
    fresh = api.gaps(tiny_context(tmp_path / "fresh", shuffled=True), "icb", hour_of_week=100,
                     policy="range", self_referral=True)
    cols = [f"{c}_{p}" for c in week_cols for p in ("exclude", "always")]
    pdt.assert_frame_equal(later[cols], fresh[cols])
    pdt.assert_frame_equal(first[cols], later[cols])
