"""Opening-hours model: bank holidays per nation, DST, 24/7, overnight, unknown, grids."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from epu_mapper import hours as H
from epu_mapper.hours import CLOSED, OPEN, UNKNOWN

LONDON = ZoneInfo("Europe/London")
WEEKDAYS_PH_OFF = "Mo-Fr 08:00-17:30; Sa,Su off; PH off"


# ----------------------------------------------------------------- bank holidays by nation


def test_bank_holiday_calendars_differ_by_nation():
    eng = H.bank_holidays("England", 2026)
    sct = H.bank_holidays("Scotland", 2026)
    nir = H.bank_holidays("Northern Ireland", 2026)
    wls = H.bank_holidays("Wales", [2026])
    assert date(2026, 11, 30) in sct and date(2026, 11, 30) not in eng
    assert date(2026, 1, 2) in sct and date(2026, 1, 2) not in eng
    assert date(2026, 3, 17) in nir and date(2026, 3, 17) not in eng
    assert date(2026, 7, 13) in nir and date(2026, 7, 13) not in sct  # Boyne (observed)
    assert date(2026, 4, 6) in eng and date(2026, 4, 6) not in sct  # Easter Monday
    assert date(2026, 8, 3) in sct and date(2026, 8, 31) in eng and date(2026, 8, 31) not in sct
    assert eng == wls
    with pytest.raises(H.HoursError):
        H.bank_holidays("Atlantis", 2026)


def test_st_andrews_day_open_in_england_closed_in_scotland():
    when = datetime(2026, 11, 30, 10, 0)  # Monday, St Andrew's Day
    assert when.weekday() == 0
    assert H.state_at(WEEKDAYS_PH_OFF, when, "England") == "open"
    assert H.state_at(WEEKDAYS_PH_OFF, when, "Wales") == "open"
    assert H.state_at(WEEKDAYS_PH_OFF, when, "Scotland") == "closed"
    # and the next opening in Scotland is Tuesday morning
    assert H.next_opening(WEEKDAYS_PH_OFF, when, "Scotland") == datetime(2026, 12, 1, 8, 0)
    assert H.next_opening(WEEKDAYS_PH_OFF, when, "England") == when


def test_second_of_january_scotland_only():
    when = datetime(2026, 1, 2, 9, 0)  # Friday
    assert H.state_at(WEEKDAYS_PH_OFF, when, "England") == "open"
    assert H.state_at(WEEKDAYS_PH_OFF, when, "Scotland") == "closed"
    # 1 January is a bank holiday everywhere
    for nation in ("England", "Scotland", "Wales", "Northern Ireland"):
        assert H.state_at(WEEKDAYS_PH_OFF, datetime(2026, 1, 1, 9), nation) == "closed"


def test_st_patricks_day_northern_ireland():
    when = datetime(2026, 3, 17, 12, 0)  # Tuesday
    assert H.state_at(WEEKDAYS_PH_OFF, when, "Northern Ireland") == "closed"
    assert H.state_at(WEEKDAYS_PH_OFF, when, "England") == "open"


def test_easter_monday_england_not_scotland():
    when = datetime(2026, 4, 6, 12, 0)
    assert H.state_at(WEEKDAYS_PH_OFF, when, "England") == "closed"
    assert H.state_at(WEEKDAYS_PH_OFF, when, "Scotland") == "open"


def test_ph_hours_and_ph_unknown():
    s = "Mo-Fr 08:30-16:00; Sa,Su 08:30-13:30; PH 08:30-13:30"  # Gloucestershire Royal (RTE03)
    bh = datetime(2026, 5, 25, 12)  # Spring bank holiday, Monday
    assert H.state_at(s, bh, "England") == "open"
    assert H.state_at(s, bh.replace(hour=15), "England") == "closed"
    assert H.state_at(s, bh.replace(day=18, hour=15), "England") == "open"  # ordinary Monday
    u = "Mo-Fr 09:00-17:00; Sa,Su unknown; PH unknown"
    assert H.state_at(u, bh, "England") == "unknown"
    assert H.state_at(u, bh.replace(day=18), "England") == "open"


def test_ph_in_a_day_list():
    s = "Mo-Fr 09:00-17:00; Sa,PH 10:00-12:00"
    assert H.state_at(s, datetime(2026, 5, 25, 11), "England") == "open"
    assert H.state_at(s, datetime(2026, 5, 25, 9, 30), "England") == "closed"
    assert H.state_at(s, datetime(2026, 5, 18, 9, 30), "England") == "open"
    assert H.state_at(s, datetime(2026, 5, 30, 11), "England") == "open"


def test_day_states_uses_each_units_nation():
    units = pd.DataFrame({"opening_hours": [WEEKDAYS_PH_OFF] * 3,
                          "nation": ["England", "Scotland", "Northern Ireland"]})
    grid = H.day_states(units, date(2026, 11, 30))
    assert grid.shape == (3, 24) and grid.dtype == np.int8
    assert grid[0, 10] == OPEN and grid[1, 10] == CLOSED and grid[2, 10] == OPEN
    assert (grid[1] == CLOSED).all()
    paddy = H.day_states(units, date(2026, 3, 17))
    assert paddy[0, 10] == OPEN and paddy[2, 10] == CLOSED


def test_bank_holiday_grid():
    units = pd.DataFrame({
        "opening_hours": [WEEKDAYS_PH_OFF, "24/7", "Mo-Su 00:00-24:00; PH unknown",
                          "Mo-Fr 09:00-16:30; Sa,Su 09:00-12:30; PH 09:00-12:30", ""],
        "nation": ["England", "Scotland", "England", "England", "Wales"],
    })
    g = H.bank_holiday_states(units)
    assert g.shape == (5, 24)
    assert (g[0] == CLOSED).all()
    assert (g[1] == OPEN).all()
    assert (g[2] == UNKNOWN).all()
    assert g[3].tolist() == [CLOSED] * 9 + [OPEN] * 4 + [CLOSED] * 11
    assert (g[4] == UNKNOWN).all()


# ----------------------------------------------------------------- DST


def test_dst_spring_forward_aware_times():
    # 29 March 2026: clocks go forward at 01:00 GMT.
    fri_before = datetime(2026, 3, 27, 7, 30, tzinfo=UTC)  # 07:30 GMT -> closed
    mon_after = datetime(2026, 3, 30, 7, 30, tzinfo=UTC)  # 08:30 BST -> open
    assert H.state_at(WEEKDAYS_PH_OFF, fri_before, "England") == "closed"
    assert H.state_at(WEEKDAYS_PH_OFF, mon_after, "England") == "open"
    nxt = H.next_opening(WEEKDAYS_PH_OFF, datetime(2026, 3, 28, 20, 0, tzinfo=UTC), "England")
    assert nxt == datetime(2026, 3, 30, 8, 0, tzinfo=LONDON)
    assert nxt.astimezone(UTC) == datetime(2026, 3, 30, 7, 0, tzinfo=UTC)


def test_dst_fall_back_aware_times():
    # 25 October 2026: clocks go back at 02:00 BST.
    fri_before = datetime(2026, 10, 23, 7, 30, tzinfo=UTC)  # 08:30 BST -> open
    mon_after = datetime(2026, 10, 26, 7, 30, tzinfo=UTC)  # 07:30 GMT -> closed
    assert H.state_at(WEEKDAYS_PH_OFF, fri_before, "England") == "open"
    assert H.state_at(WEEKDAYS_PH_OFF, mon_after, "England") == "closed"
    nxt = H.next_opening(WEEKDAYS_PH_OFF, mon_after, "England")
    assert nxt.astimezone(UTC) == datetime(2026, 10, 26, 8, 0, tzinfo=UTC)


def test_dst_days_grid_is_wall_clock():
    # ',' (additional rule) keeps Saturday's spill into Sunday; a ';' Su rule would replace it.
    s = "Sa 22:00-02:00, Su 01:00-03:00"
    units = pd.DataFrame({"opening_hours": [s], "nation": ["England"]})
    spring = H.day_states(units, date(2026, 3, 29))[0]
    autumn = H.day_states(units, date(2026, 10, 25))[0]
    # 01:00 does not exist on 29 March; the grid still reports the rule for 01:00 wall-clock.
    assert spring[:4].tolist() == [OPEN, OPEN, OPEN, CLOSED]
    assert autumn[:4].tolist() == [OPEN, OPEN, OPEN, CLOSED]
    # 00:30 UTC on 25 Oct is 01:30 BST, 01:30 UTC is 01:30 GMT: both open (same wall clock).
    assert H.state_at(s, datetime(2026, 10, 25, 0, 30, tzinfo=UTC), "England") == "open"
    assert H.state_at(s, datetime(2026, 10, 25, 1, 30, tzinfo=UTC), "England") == "open"
    assert H.state_at(s, datetime(2026, 10, 25, 3, 30, tzinfo=UTC), "England") == "closed"


# ----------------------------------------------------------------- 24/7, overnight, unknown


def test_twenty_four_seven():
    for s in ("24/7", "Mo-Su 00:00-24:00; PH 00:00-24:00"):
        assert (H.week_states_for([s]) == OPEN).all()
        assert H.state_at(s, datetime(2026, 12, 25, 3), "Scotland") == "open"
        t = datetime(2026, 6, 13, 3, 17)
        assert H.next_opening(s, t, "England") == t


def test_overnight_window():
    s = "Fr 22:00-02:00"
    assert H.state_at(s, datetime(2026, 6, 12, 21, 59), "England") == "closed"
    assert H.state_at(s, datetime(2026, 6, 12, 23, 0), "England") == "open"
    assert H.state_at(s, datetime(2026, 6, 13, 1, 59), "England") == "open"
    assert H.state_at(s, datetime(2026, 6, 13, 2, 0), "England") == "closed"
    w = H.week_states_for([s])[0]
    open_hours = np.flatnonzero(w == OPEN).tolist()
    assert open_hours == [4 * 24 + 22, 4 * 24 + 23, 5 * 24 + 0, 5 * 24 + 1]
    # Sunday night spills into Monday 00:00-02:00 of the same typical week
    w = H.week_states_for(["Su 22:00-02:00"])[0]
    assert np.flatnonzero(w == OPEN).tolist() == [0, 1, 166, 167]
    assert H.next_opening(s, datetime(2026, 6, 8, 12), "England") == datetime(2026, 6, 12, 22)


def test_unknown_is_a_third_state():
    assert H.state_at("", datetime(2026, 6, 8, 12), "England") == "unknown"
    assert H.state_at(None, datetime(2026, 6, 8, 12), "England") == "unknown"
    assert H.next_opening("", datetime(2026, 6, 8, 12), "England") is None
    s = "Mo-Fr unknown; Sa,Su off; PH unknown"
    assert H.state_at(s, datetime(2026, 6, 8, 12), "England") == "unknown"
    assert H.state_at(s, datetime(2026, 6, 13, 12), "England") == "closed"
    assert H.next_opening(s, datetime(2026, 6, 8, 12), "England") is None
    w = H.week_states_for(["", s, float("nan")])
    assert (w[0] == UNKNOWN).all() and (w[2] == UNKNOWN).all()
    assert (w[1, : 5 * 24] == UNKNOWN).all() and (w[1, 5 * 24:] == CLOSED).all()


def test_week_states_shape_dtype_and_finer_steps():
    units = pd.DataFrame({"opening_hours": [WEEKDAYS_PH_OFF, "Mo 08:30-09:00"],
                          "nation": ["England", "Wales"]})
    g = H.week_states(units)
    assert g.shape == (2, 168) and g.dtype == np.int8
    # Monday 08:00-17:00 open (state at the start of each hour), 17:00 open, 18:00 closed
    assert g[0, :24].tolist() == [CLOSED] * 8 + [OPEN] * 10 + [CLOSED] * 6
    assert (g[1] == CLOSED).all()  # 08:30-09:00 starts no hour
    fine = H.week_states(units, step_minutes=15)
    assert fine.shape == (2, 672)
    assert fine[1, 8 * 4 + 2] == OPEN and fine[1, 8 * 4 + 1] == CLOSED
    with pytest.raises(H.HoursError):
        H.week_states(units, step_minutes=7)
    with pytest.raises(H.HoursError):
        H.week_states(pd.DataFrame({"opening_hours": []}))


def test_states_at_vector():
    units = pd.DataFrame({"opening_hours": [WEEKDAYS_PH_OFF, "", "24/7"],
                          "nation": ["Scotland", "England", "Wales"]})
    assert H.states_at(units, datetime(2026, 11, 30, 10)).tolist() == [CLOSED, UNKNOWN, OPEN]


# ----------------------------------------------------------------- what-if helpers


def test_combine_hours_adds_weekend_keeps_weekdays_and_ph():
    base = "Mo-Fr 08:00-17:30; Sa,Su unknown; PH off"
    combined = H.combine_hours(base, "Sa,Su 09:00-17:00")
    assert H.check_hours(combined) is None
    assert H.state_at(combined, datetime(2026, 6, 13, 10), "England") == "open"
    assert H.state_at(combined, datetime(2026, 6, 13, 8), "England") == "unknown"
    assert H.state_at(combined, datetime(2026, 6, 8, 9), "England") == "open"
    assert H.state_at(combined, datetime(2026, 5, 25, 10), "England") == "closed"  # PH off kept


def test_combine_hours_evening_extension_does_not_replace_daytime():
    combined = H.combine_hours("Mo-Fr 08:00-17:30; Sa,Su off; PH off", "Mo-Fr 17:30-20:00")
    g = H.week_states_for([combined])[0]
    assert g[8] == OPEN and g[17] == OPEN and g[19] == OPEN and g[20] == CLOSED
    # a plain ';' would have replaced the daytime hours - the documented pitfall
    g_naive = H.week_states_for(["Mo-Fr 08:00-17:30; Mo-Fr 17:30-20:00"])[0]
    assert g_naive[8] == CLOSED


def test_combine_hours_with_unknown_or_ph_extra():
    c = H.combine_hours("", "Sa 09:00-12:00")
    assert H.state_at(c, datetime(2026, 6, 13, 10), "England") == "open"
    assert H.state_at(c, datetime(2026, 6, 8, 10), "England") == "unknown"
    c2 = H.combine_hours("Mo-Fr 08:00-17:30; PH off", "PH 10:00-14:00")
    assert H.state_at(c2, datetime(2026, 5, 25, 11), "England") == "open"
    assert H.state_at(c2, datetime(2026, 5, 25, 9), "England") == "closed"
    with pytest.raises(H.HoursError):
        H.combine_hours("Mo-Fr 08:00-17:30", "whenever")


def test_check_hours_messages():
    assert H.check_hours("") is None
    assert H.check_hours("Mo-Fr 08:00-17:30; Sa,Su unknown; PH off") is None
    assert "not a valid" in H.check_hours("Mo-Fr 8am-5pm")
    assert "SH" in H.check_hours("Mo-Fr 09:00-17:00; SH off")


# ----------------------------------------------------------------- properties

_DAYS = ["Mo", "Tu", "We", "Th", "Fr", "Sa", "Su", "Mo-Fr", "Sa,Su", "Mo-Su", "Tu-Th", "PH"]


@st.composite
def _times(draw):
    a = draw(st.integers(0, 47)) * 30
    b = draw(st.integers(1, 48)) * 30
    if a == b:
        b = (a + 30) % 1440 or 1440
    fmt = lambda m: f"{m // 60:02d}:{m % 60:02d}"
    return f"{fmt(a)}-{fmt(b)}"


@st.composite
def _rule(draw):
    day = draw(st.sampled_from(_DAYS))
    kind = draw(st.sampled_from(["time", "time", "off", "unknown", "time2"]))
    if kind == "time":
        return f"{day} {draw(_times())}"
    if kind == "time2":
        return f"{day} {draw(_times())},{draw(_times())}"
    return f"{day} {kind}"


_rules = st.lists(_rule(), min_size=1, max_size=4).map("; ".join)


@settings(max_examples=60, deadline=None)
@given(expr=_rules, hour=st.integers(0, 167), minute=st.sampled_from([0]))
def test_week_grid_agrees_with_point_queries(expr, hour, minute):
    grid = H.week_states_for([expr])[0]
    when = datetime.combine(H.REFERENCE_MONDAY, datetime.min.time()) + timedelta(hours=hour)
    assert H.STATE_NAMES[int(grid[hour])] == H.state_at(expr, when, "England")


@settings(max_examples=60, deadline=None)
@given(expr=_rules, day=st.dates(date(2025, 12, 20), date(2027, 1, 10)),
       nation=st.sampled_from(["England", "Wales", "Scotland", "Northern Ireland"]),
       hour=st.integers(0, 23))
def test_day_grid_agrees_with_point_queries(expr, day, nation, hour):
    grid = H.day_states_for([expr], [nation], day)[0]
    when = datetime.combine(day, datetime.min.time()) + timedelta(hours=hour)
    assert H.STATE_NAMES[int(grid[hour])] == H.state_at(expr, when, nation)


@settings(max_examples=40, deadline=None)
@given(expr=_rules, start=st.integers(0, 167 * 60))
def test_next_opening_is_open_and_nothing_open_before(expr, start):
    t0 = datetime.combine(H.REFERENCE_MONDAY, datetime.min.time()) + timedelta(minutes=start)
    nxt = H.next_opening(expr, t0, "England")
    if nxt is None:
        return
    assert nxt >= t0
    assert H.state_at(expr, nxt, "England") == "open"
    # nothing open at t0 (unless nxt == t0) nor at any half-hour mark between t0 and nxt
    if nxt > t0:
        assert H.state_at(expr, t0, "England") != "open"
    t = t0.replace(minute=(t0.minute // 30) * 30) + timedelta(minutes=30)
    while t < nxt:
        assert H.state_at(expr, t, "England") != "open"
        t += timedelta(minutes=30)


_extra = st.builds(lambda d, t: f"{d} {t}",
                   st.sampled_from(["Mo", "Fr", "Sa", "Su", "Sa,Su", "Mo-Fr", "Mo-Su"]), _times())


@settings(max_examples=60, deadline=None)
@given(existing=_rules, extra=_extra)
def test_combine_hours_only_adds_open_time(existing, extra):
    combined = H.combine_hours(existing, extra)
    before, added, after = H.week_states_for([existing, extra, combined])
    assert (after[added == OPEN] == OPEN).all()  # the extension is open
    assert (after[before == OPEN] == OPEN).all()  # nothing that was open closes
    rest = added != OPEN
    assert (after[rest] == before[rest]).all()  # everything else keeps its state (incl. unknown)


def test_library_does_not_know_uk_nation_holidays_so_we_resolve_ph():
    """Pins the opening-hours-py behaviour that hours.py works around."""
    from opening_hours import OpeningHours, State

    raw = OpeningHours("Mo-Fr 08:00-17:30; PH off")
    assert raw.state(datetime(2026, 12, 25, 10))[0] == State.OPEN  # PH never matches without a calendar
    assert raw.state(datetime(2026, 6, 13, 10))[0] == State.CLOSED
    assert OpeningHours("Sa,Su unknown").state(datetime(2026, 6, 13, 10))[0] == State.UNKNOWN
    # ours: Christmas Day is a bank holiday in every nation
    for nation in H.NATION_SUBDIV:
        assert H.state_at("Mo-Fr 08:00-17:30; PH off", datetime(2026, 12, 25, 10), nation) == "closed"
