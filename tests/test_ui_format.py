"""Display helpers: hand-checked strings."""

from __future__ import annotations

import math
from datetime import date, datetime

import numpy as np
import pandas as pd
import pytest

from epu_mapper.ui import format as fmt


def test_md_escape_neutralises_markdown_and_html():
    s = fmt.md_escape("**St Mary's** [x](javascript:alert(1)) <script>")
    assert "<script>" not in s and "&lt;script&gt;" in s
    assert "\\*\\*St Mary's\\*\\*" in s
    assert "\\[x\\]\\(javascript\\:alert\\(1\\)\\)" in s
    assert fmt.md_escape(None) == "" and fmt.md_escape(float("nan")) == ""


@pytest.mark.parametrize(("minutes", "approx", "want"), [
    (23.4, False, "23 min"), (23.6, True, "about 24 min (estimate)"),
    (math.inf, False, "no route"), (np.nan, True, "no route"), (None, False, "no route"),
])
def test_fmt_minutes(minutes, approx, want):
    assert fmt.fmt_minutes(minutes, approx) == want


def test_fmt_km_and_state():
    assert fmt.fmt_km(12.345) == "12.3 km"
    assert fmt.fmt_km(12.345, True) == "about 12.3 km"
    assert fmt.fmt_km(np.nan) == ""
    assert fmt.fmt_state("open") == "Open now"
    assert fmt.fmt_state("weird") == "Hours unknown"


def test_fmt_when_relative():
    now = datetime(2026, 11, 25, 22, 0)  # a Wednesday
    assert fmt.fmt_when(datetime(2026, 11, 25, 23, 0), now) == "today 23:00"
    assert fmt.fmt_when(datetime(2026, 11, 26, 8, 0), now) == "tomorrow 08:00"
    assert fmt.fmt_when(datetime(2026, 11, 30, 8, 30), now) == "Mon 30 Nov 08:30"
    assert fmt.fmt_when(None, now) == "not known"
    assert fmt.fmt_when(pd.NaT, now) == "not known"
    aware = pd.Timestamp("2026-06-01 07:00", tz="UTC")  # 08:00 BST
    assert fmt.fmt_when(aware) == "Mon 1 Jun 08:00"


def test_fmt_weeks_and_referral():
    assert fmt.fmt_weeks(6, 16) == "6–16 weeks"
    assert fmt.fmt_weeks(None, 20) == "up to 20 weeks"
    assert fmt.fmt_weeks(pd.NA, np.nan) == "not stated"
    assert fmt.fmt_self_referral("YES") == "Yes, you can self-refer"
    assert fmt.fmt_self_referral(None) == "Not known"


def test_hour_of_week_and_presets():
    assert fmt.hour_of_week(datetime(2026, 11, 28, 10, 30)) == 5 * 24 + 10  # Saturday
    assert fmt.how_label(0) == "Mon 00:00"
    assert fmt.how_label(167) == "Sun 23:00"
    labels = {p.label: (p.hour_of_week, p.bank_holiday) for p in fmt.PRESETS}
    assert labels["Saturday 10:00"] == (130, False)
    assert labels["Sunday 03:00"] == (147, False)
    assert fmt.how_label(labels["Weekday 20:00"][0]).endswith("20:00")
    assert any(bh for _, bh in labels.values())


def test_stale():
    today = date(2026, 11, 25)
    assert fmt.stale("2026-01", today) is False
    assert fmt.stale("2023", today) is True
    assert fmt.stale("", today) is True
    assert fmt.stale(None, today) is True
    assert fmt.stale("2025-11-30", today) is False
    assert fmt.stale("2025-10", today) is True  # needs re-checking after 12 months


def test_metric_values():
    table = pd.DataFrame({"nice_7day_pass": [True, False], "pct_within_60": [12.5, None],
                          "nice_7day": [True, False]})
    pct = fmt.METRIC_BY_KEY["pct60"]
    assert fmt.metric_values(table, pct).tolist()[0] == 12.5
    assert math.isnan(fmt.metric_values(table, pct).tolist()[1])
    assert fmt.metric_values(table, fmt.METRIC_BY_KEY["nice"]).tolist() == [100.0, 0.0]
    assert fmt.metric_values(table, fmt.METRIC_BY_KEY["median"]).isna().all()
    assert fmt.fmt_metric(87.4, pct) == "87%"
    assert fmt.fmt_metric(np.nan, pct) == "no data"


def test_safe_url():
    assert fmt.safe_url("https://www.nhs.uk/x?y=1") == "https://www.nhs.uk/x?y=1"
    assert fmt.safe_url("http://example.org") == "http://example.org"
    assert fmt.safe_url("javascript:alert(1)") == ""
    assert fmt.safe_url("data:text/html,<b>") == ""
    assert fmt.safe_url('https://x.org/"><script>') == ""
    assert fmt.safe_url(None) == ""


def test_unit_label():
    assert fmt.unit_label("Early Pregnancy Unit", "Hinchingbrooke Hospital") == (
        "Hinchingbrooke Hospital — Early Pregnancy Unit")
    assert fmt.unit_label("St Mary's EPU", "St Mary's") == "St Mary's EPU"
    assert fmt.unit_label(None, "H") == "H"
    assert fmt.unit_label(np.nan, None) == "unnamed unit"


def test_hours_kind_and_when_closed_helpers():
    from epu_mapper.ui.format import fmt_hours_kind, hours_kind_note, when_closed_text

    assert fmt_hours_kind("scan") == "Scan appointment hours"
    assert fmt_hours_kind("phone triage") == "Phone line hours"
    assert fmt_hours_kind("door") == "Opening hours"
    assert fmt_hours_kind("") == fmt_hours_kind(None) == fmt_hours_kind("odd") == "Not stated"
    assert "scan appointment hours" in hours_kind_note("scan")
    assert "phone line" in hours_kind_note("phone triage")
    assert hours_kind_note("door") == hours_kind_note("walk-in") == hours_kind_note("") == ""
    assert when_closed_text("closed", " Call 111 ") == "Call 111"
    assert when_closed_text("unknown", "Call 111") == "Call 111"
    assert when_closed_text("open", "Call 111") == ""
    assert when_closed_text("closed", None) == when_closed_text("closed", "  ") == ""


def test_bank_holiday_file_part():
    from epu_mapper.ui.format import bank_holiday_file_part

    assert bank_holiday_file_part(False) == ""
    assert bank_holiday_file_part(True) == "_bh"
    assert bank_holiday_file_part("Northern Ireland") == "_bh_northern_ireland"


def test_position_note_says_how_roughly_a_postcode_was_placed():
    assert fmt.position_note({"note": "", "precision": "unit"}) == ""
    assert fmt.position_note({"note": None, "precision": "postcode"}) == ""
    assert fmt.position_note({"note": "", "precision": "sector"}) == (
        "Approximate position (located by sector).")
    note = "placed at the centre of its postcode sector LE15 6."
    assert fmt.position_note({"note": note, "precision": "sector"}) == (
        f"Approximate position: {note}")


def test_excluded_note_counts_each_reason_in_order():
    assert fmt.excluded_note({"no_site": 0, "self_referral": 0, "weeks": 0, "unreachable": 0}) == ""
    text = fmt.excluded_note({"no_site": 4, "self_referral": 2, "weeks": 1, "unreachable": 3})
    assert text == ("2 units left out (no self-referral); 1 left out (weeks pregnant outside "
                    "their limits); 3 cannot be reached by road from here; 4 directory entries "
                    "have no known site and cannot be placed.")
    assert fmt.excluded_note({"unreachable": 5}) == "5 cannot be reached by road from here."


LOCAL_UNITS = pd.DataFrame({
    "unit_name": ["EPU", "Early Pregnancy Unit", "Gynae Ward 5"],
    "hospital": ["Alpha Hospital", "Beta Hospital", None],
    "in_region": [True, False, True],
    "opening_hours": ["Mo-Fr 08:00-17:00", "", None],
    "hours_status": ["verified", "unknown", "partial"],
    "hours_kind": ["door", "", None],
    "self_referral": ["yes", "unknown", "conditional"],
    "phone": ["0116 258 5111", None, ""],
    "source_url": ["https://example.nhs.uk/epu", "javascript:alert(1)", None],
    "source_seen": ["2026-10-01", "2024", None],
})


def test_local_data_gaps_lists_units_by_missing_or_stale_information():
    gaps = fmt.local_data_gaps(LOCAL_UNITS, date(2026, 11, 30))
    assert gaps == {
        "Hours not published": ["Beta Hospital — Early Pregnancy Unit"],
        "Hours partly known": ["Gynae Ward 5"],
        "Undated or old source": ["Beta Hospital — Early Pregnancy Unit", "Gynae Ward 5"],
    }


def test_local_units_table_is_plain_text():
    table = fmt.local_units_table(LOCAL_UNITS, date(2026, 11, 30))
    assert table["where"].tolist() == ["in region", "nearest for some areas", "in region"]
    assert table["opening hours"].tolist() == ["Mo-Fr 08:00-17:00", "not known", "not known"]
    assert table["source"].tolist() == ["https://example.nhs.uk/epu", "", ""]
    assert table["source read"].tolist() == ["2026-10-01", "2024", "not recorded"]
    assert table["stale or undated"].tolist() == ["", "yes", "yes"]
    assert table["phone"].tolist() == ["0116 258 5111", "", ""]
    assert table["hospital"].tolist() == ["Alpha Hospital", "Beta Hospital", ""]
