"""Patient wording on the Find page: relative to the chosen time, plain words, safe links."""

from __future__ import annotations

from datetime import datetime

import pandas as pd

from epu_mapper import hours
from epu_mapper.ui import patient_text as pt

WEEKDAY = "Mo-Fr 08:00-17:30; PH off"
SUN_0200 = datetime(2026, 11, 29, 2, 0)  # a Sunday
WED_1000 = datetime(2026, 11, 25, 10, 0)


def test_chosen_sunday_night_names_monday_not_today():
    assert pt.status_line("closed", WEEKDAY, "England", SUN_0200, is_now=False) == (
        "Closed, opens Monday 08:00")
    assert pt.status_line("closed", WEEKDAY, "England", SUN_0200, is_now=True) == (
        "Closed, opens tomorrow 08:00")


def test_open_until_closing_time():
    assert pt.status_line("open", WEEKDAY, "England", WED_1000, is_now=True) == (
        "Open now, until 17:30")
    assert pt.status_line("open", WEEKDAY, "England", WED_1000, is_now=False) == (
        "Open at that time, until 17:30")
    assert pt.status_line("open", "24/7", "England", WED_1000, is_now=True) == "Open now, 24 hours"
    assert pt.status_line("open", "Fr 20:00-08:00", "England",
                          datetime(2026, 11, 27, 23, 0), is_now=False) == (
        "Open at that time, until Saturday 08:00")


def test_bank_holiday_and_unknown():
    # Christmas Day 2026 is a Friday: closed, next opening Monday 28 Dec is also a bank
    # holiday (substitute Boxing Day) in England, so Tuesday
    xmas = datetime(2026, 12, 25, 10, 0)
    assert pt.status_line("closed", WEEKDAY, "England", xmas, is_now=False) == (
        "Closed, opens Tuesday 08:00")
    assert pt.status_line("unknown", "", "England", WED_1000, is_now=True) == "Hours not published"
    assert pt.status_line("unknown", "Mo-Fr unknown", "England", WED_1000, is_now=True).startswith(
        "Hours not known")


def test_next_change_and_expiry():
    assert hours.next_change(WEEKDAY, WED_1000, "England") == datetime(2026, 11, 25, 17, 30)
    assert hours.next_change(WEEKDAY, SUN_0200, "England") == datetime(2026, 11, 30, 8, 0)
    assert hours.next_change("24/7", WED_1000, "England") is None
    assert hours.next_change("", WED_1000, "England") is None
    units = pd.DataFrame({"opening_hours": [WEEKDAY, "Mo-Su 09:00-12:00", ""],
                          "nation": ["England", "Wales", "Scotland"]})
    assert pt.expires_at(units, WED_1000) == datetime(2026, 11, 25, 12, 0)
    assert pt.expires_at(units.iloc[[2]], WED_1000) is None


def test_distance_travel_and_links():
    assert pt.distance_text(8.0467) == "5.0 miles (8.0 km)"
    assert pt.distance_text(1.0, approximate=True) == "about 0.6 miles (1.0 km)"
    assert pt.distance_text(None) == ""
    assert pt.travel_text(19.6) == "20 minutes by car"
    assert pt.travel_text(float("inf")) == ""
    assert pt.tel_href("0116 258 4567") == "tel:+441162584567"
    assert pt.tel_href("+44 (0)1162 584567") is None  # "(0)" leaves 12 digits: not guessed
    assert pt.tel_href("01234 567890 / 01234 567891") == "tel:+441234567890"
    assert pt.tel_href("020 8333 3000 ext 48710") == "tel:+442083333000"
    assert pt.tel_href("javascript:alert(1)") is None
    assert pt.tel_href(None) is None
    assert pt.phone_label("01234 567890 or 01234 567891") == "01234 567890"
    url = pt.directions_url(52.6, -0.7, 52.5, -1.1)
    assert url.startswith("https://www.openstreetmap.org/directions?")
    assert "52.60000,-0.70000%3B52.50000,-1.10000" in url


def test_plain_referral_weeks_and_confidence():
    assert pt.referral_text("yes") == "You can refer yourself: call the unit."
    assert pt.referral_text(None).startswith("Call first")
    assert pt.weeks_text(6, 16) == "Sees you from 6 to 16 weeks pregnant."
    assert pt.weeks_text(None, None) == "Ask which weeks of pregnancy they see."
    assert pt.confidence_line(WEEKDAY, "verified", "https://www.uhl-tr.nhs.uk/epu",
                              "2026-03-04") == "Hours checked on an NHS website in March 2026."
    assert pt.confidence_line(WEEKDAY, "partial", "https://www.thornegazette.co.uk/x",
                              "2023") == ("Hours found on a public web page in 2023, but not "
                                          "complete: call before you go.")
    assert pt.confidence_line("", "unknown", "", "") == (
        "We could not find published hours: call before you go.")


def test_pick_shown_nearest_few_plus_open_within_reach():
    units = pd.DataFrame({"minutes": [5, 10, 20, 30, 55, 80],
                          "state": ["closed", "closed", "closed", "open", "open", "open"]})
    assert pt.pick_shown(units).tolist() == [True, True, True, True, True, False]
    assert pt.pick_shown(units, few=1, reach=40).tolist() == [True, False, False, True, False,
                                                               False]
    assert pt.found_text(1) == "1 unit found" and pt.found_text(4) == "4 units found"
