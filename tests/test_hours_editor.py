"""The hours editor: simple form <-> OSM opening_hours, plain-words errors, and the widget."""

from __future__ import annotations

from datetime import datetime, time

import pytest
from streamlit.testing.v1 import AppTest

from epu_mapper import hours
from epu_mapper.ui.hours_spec import (
    Period,
    WeekSpec,
    describe,
    from_osm,
    plain_error,
    spec_problems,
    to_osm,
)

WEEKDAYS = (0, 1, 2, 3, 4)


def test_weekdays_with_bank_holidays_closed():
    spec = WeekSpec((Period(WEEKDAYS, time(8), time(17, 30)),), bank_holidays="closed")
    assert to_osm(spec) == "Mo-Fr 08:00-17:30; PH off"


def test_two_sets_on_the_same_days_both_count():
    # a lunch break: two OSM rules for Mo-Fr would let the second replace the first
    spec = WeekSpec((Period(WEEKDAYS, time(13), time(17)), Period(WEEKDAYS, time(8), time(12))),
                    bank_holidays="as_usual")
    osm = to_osm(spec)
    assert osm == "Mo-Fr 08:00-12:00,13:00-17:00"
    wed = datetime(2026, 11, 25)
    assert hours.state_at(osm, wed.replace(hour=9), "England") == "open"
    assert hours.state_at(osm, wed.replace(hour=12, minute=30), "England") == "closed"
    assert hours.state_at(osm, wed.replace(hour=14), "England") == "open"


def test_days_are_grouped_and_overlapping_sets_merge_per_day():
    spec = WeekSpec((Period((0, 1, 2, 3, 4, 5), time(9), time(17)),
                     Period((5, 6), time(18), time(0))), bank_holidays="unknown")
    assert to_osm(spec) == "Mo-Fr 09:00-17:00; Sa 09:00-17:00,18:00-24:00; Su 18:00-24:00; PH unknown"
    assert to_osm(WeekSpec((Period((0, 2, 4), time(8), time(9)),))) == "Mo,We,Fr 08:00-09:00; PH off"
    assert to_osm(WeekSpec((Period((0, 1, 6), time(8), time(9)),))) == "Mo,Tu,Su 08:00-09:00; PH off"


def test_overnight_and_always():
    osm = to_osm(WeekSpec((Period((4,), time(20), time(8)),), bank_holidays="as_usual"))
    assert osm == "Fr 20:00-08:00"
    assert hours.state_at(osm, datetime(2026, 11, 28, 3), "England") == "open"  # Sat 03:00
    assert to_osm(WeekSpec(always=True)) == "24/7"


def test_incomplete_form_says_what_to_do():
    assert spec_problems(WeekSpec(())) == [
        "Tick at least one day the unit is open, or choose “Open 24 hours”."]
    with pytest.raises(ValueError, match="tick at least one day"):
        to_osm(WeekSpec((Period((), time(9), time(17)),)))
    with pytest.raises(ValueError, match="both 09:00"):
        to_osm(WeekSpec((Period((0,), time(9), time(9)),)))


@pytest.mark.parametrize("osm", [
    "Mo-Fr 08:00-17:30; PH off",
    "Mo-Fr 08:00-12:00,13:00-17:00",
    "Mo-Fr 09:00-17:00; Sa 09:00-17:00,18:00-24:00; Su 18:00-24:00; PH unknown",
    "Fr 20:00-08:00",
    "24/7",
])
def test_round_trip(osm):
    spec = from_osm(osm)
    assert spec is not None
    assert to_osm(spec) == osm


def test_from_osm_applies_rule_precedence_and_rejects_rich_syntax():
    spec = from_osm("Mo-Fr 08:00-18:00; We 10:00-12:00; Fr off")
    assert spec is not None
    assert to_osm(spec) == "Mo,Tu,Th 08:00-18:00; We 10:00-12:00"
    assert from_osm("Jan-Mar Mo 08:00-12:00") is None
    assert from_osm('Mo-Fr 08:00-17:00 "by appointment"') is None
    assert from_osm("") is None
    assert from_osm("not hours") is None


def test_describe_in_plain_words():
    assert describe("Mo-Fr 08:00-17:30; PH off") == (
        "Monday to Friday 08:00 to 17:30; closed on bank holidays")
    assert describe("Mo-Fr 08:00-12:00,13:00-17:00") == (
        "Monday to Friday 08:00 to 12:00 and 13:00 to 17:00")
    assert describe("Sa,Su 18:00-24:00") == "Saturday, Sunday 18:00 to midnight"
    assert describe(None) == "Hours not published"
    assert describe("24/7") == "Open 24 hours, every day"


@pytest.mark.parametrize(("text", "words"), [
    ("Mon-Fri 08:00-17:00", "not “Mon”"),
    ("Monday 8-5", "not “Monday”"),
    ("Mo-Fr 08:00-17:00; SH off", "School holidays"),
    ("Mo-Fr 8am-5pm", "24-hour clock"),
    ("Mo-Fr 08:00-17:75", "“17:75” is not a time of day"),
    ("Mo-Fr 08.30-17.00", "colon"),
    ("Mo-Fr 08:00–17:00", "plain hyphen"),
    ("Mo-Fr 8-17", "hours and minutes"),
    ("whenever", "We could not read these hours"),
])
def test_plain_errors(text, words):
    msg = plain_error(text)
    assert msg is not None
    assert words in msg
    assert "For example: Mo-Fr 08:00-17:30" in msg
    assert "expected" not in msg and "weeknum" not in msg and "-->" not in msg


def test_valid_input_has_no_error():
    assert plain_error("Mo-Fr 08:00-17:30; PH off") is None
    assert plain_error("") is not None


# --------------------------------------------------------------------------- the widget


def _editor_script(initial: str = "Mo-Fr 09:00-17:00; PH off") -> None:
    import streamlit as st

    from epu_mapper.ui.hours_editor import hours_editor

    st.session_state["out"] = hours_editor("t", initial=st.session_state.get("init", initial))


def _run(initial: str | None = None) -> AppTest:
    at = AppTest.from_function(_editor_script, default_timeout=30)
    if initial is not None:
        at.session_state["init"] = initial
    at.run()
    assert not at.exception
    return at


def test_widget_reads_the_current_hours_into_checkboxes_and_times():
    at = _run("Mo-Fr 08:00-12:00,13:00-17:00; PH off")
    assert at.session_state["out"] == "Mo-Fr 08:00-12:00,13:00-17:00; PH off"
    assert at.selectbox(key="t_n").value == 2
    assert at.checkbox(key="t_d0_0").value and not at.checkbox(key="t_d0_5").value
    assert at.time_input(key="t_s1").value == time(13)
    assert at.radio(key="t_bank").value == "closed"


def test_widget_ticking_a_day_and_changing_a_time_changes_the_output():
    at = _run()
    at.checkbox(key="t_d0_5").check()
    at.time_input(key="t_e0").set_value(time(18, 30))
    at.radio(key="t_bank").set_value("as_usual")
    at.run()
    assert at.session_state["out"] == "Mo-Sa 09:00-18:30"
    assert "Monday to Saturday 09:00 to 18:30" in at.caption[-1].value.replace("\\", "")


def test_widget_unticking_every_day_is_a_plain_message():
    at = _run("Mo 09:00-17:00")
    at.checkbox(key="t_d0_0").uncheck()
    at.run()
    assert at.session_state["out"] is None
    assert "tick at least one day" in at.error[0].value


def test_widget_advanced_syntax_with_plain_error():
    at = _run('Mo-Fr 08:00-17:00 "by appointment"')  # not in the simple form
    assert at.toggle(key="t_adv").value is True
    assert at.session_state["out"] == 'Mo-Fr 08:00-17:00 "by appointment"'
    at.text_input(key="t_raw").input("Mon-Fri 9-5")
    at.run()
    assert at.session_state["out"] is None
    assert "not “Mon”" in at.error[0].value and "expected" not in at.error[0].value
