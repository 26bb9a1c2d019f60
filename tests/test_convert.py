"""Reference -> directory rows (the importer's conversion rules): OSM hours, ids, notes, real rows."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pandas as pd
import pytest

from epu_mapper import hours as H
from epu_mapper.convert import (
    REFERENCE_COLUMNS,
    UNIT_COLUMNS,
    ReferenceError,
    convert_reference,
    day_spec,
    hours_kind,
    normalise_postcode,
    osm_hours,
    out_of_hours,
    read_reference,
    slugify,
    unit_ids,
)
from epu_mapper.units import validate_units

SAMPLE = Path(__file__).parent / "fixtures" / "units" / "reference" / "epu_reference_sample.csv"


@pytest.fixture(scope="module")
def sample() -> pd.DataFrame:
    """11 real rows copied from ../shared/data/epu_reference.csv."""
    return convert_reference(read_reference(SAMPLE)).set_index("unit_id")


# ----------------------------------------------------------------- cells and rules


@pytest.mark.parametrize(("cell", "spec"), [
    ("08:00-17:30", "08:00-17:30"),
    ("08:00-12:00;13:00-17:00", "08:00-12:00,13:00-17:00"),
    (" closed ", "off"), ("Closed", "off"), ("", None), ("00:00-24:00", "00:00-24:00"),
    ("22:00-02:00", "22:00-02:00"),
])
def test_day_spec(cell, spec):
    assert day_spec(cell) == spec


@pytest.mark.parametrize("cell", ["9am-5pm", "08:00", "08:00-25:00", "open", "08:00-24:30", "09:00-09:00"])
def test_day_spec_rejects(cell):
    with pytest.raises(ValueError, match=r"HH:MM|past 24:00|empty window"):
        day_spec(cell)


def test_osm_hours_mon_to_wed_only():
    oh, status = osm_hours(["09:00-17:00"] * 3 + ["closed"] * 4, "closed")
    assert (oh, status) == ("Mo-We 09:00-17:00; Th-Su off; PH off", "verified")
    assert H.state_at(oh, datetime(2026, 6, 10, 12), "England") == "open"   # Wednesday
    assert H.state_at(oh, datetime(2026, 6, 11, 12), "England") == "closed"  # Thursday


def test_osm_hours_grouping_and_status():
    assert osm_hours([""] * 7, "") == ("", "unknown")
    assert osm_hours([""] * 7, "closed") == ("Mo-Su unknown; PH off", "unknown")
    assert osm_hours(["00:00-24:00"] * 7, "00:00-24:00") == ("24/7", "verified")
    assert osm_hours(["00:00-24:00"] * 7, "") == ("Mo-Su 00:00-24:00; PH unknown", "verified")
    assert osm_hours(["a"] * 0 + ["08:00-16:00", "08:00-16:00", "closed", "08:00-16:00", "08:00-16:00",
                      "", ""], "") == (
        "Mo,Tu,Th,Fr 08:00-16:00; We off; Sa,Su unknown; PH unknown", "partial")
    oh, st = osm_hours(["22:00-02:00"] + ["closed"] * 6, "")
    assert oh == "Mo 22:00-02:00; Tu-Su off; PH unknown" and st == "verified"
    assert H.check_hours(oh) is None


def test_bad_cells_are_all_reported_with_line_and_column():
    ref = read_reference(SAMPLE)
    ref.loc[1, "mon"] = "9am-5pm"
    ref.loc[4, "bank_holidays"] = "sometimes"
    with pytest.raises(ReferenceError) as exc:
        convert_reference(ref, file="ref.csv")
    msgs = [str(p) for p in exc.value.problems]
    assert msgs[0].startswith("ref.csv:3: mon: ") and msgs[1].startswith("ref.csv:6: bank_holidays: ")


def test_missing_reference_columns():
    with pytest.raises(ReferenceError) as exc:
        convert_reference(pd.DataFrame({"unit_name": ["x"]}))
    assert {p.column for p in exc.value.problems} == set(REFERENCE_COLUMNS) - {"unit_name"}


# ----------------------------------------------------------------- notes


def test_hours_kind_rules():
    assert hours_kind("appointment only; hours are ultrasound appointment times", True) == "scan"
    assert hours_kind("scans Mon-Fri 09:00-16:30 (hours given are scan hours)", True) == "scan"
    assert hours_kind("hours given are telephone line hours", True) == "phone triage"
    assert hours_kind("hours given are telephone-line hours (clinic runs Mon-Fri)", True) == "phone triage"
    assert hours_kind("walk-in self-referral, positive test required", True) == "walk-in"
    assert hours_kind("drop-in and wait system (attend by 16:00)", True) == "walk-in"
    assert hours_kind("GEAU open 7 days 07:30-20:00", True) == "door"
    assert hours_kind("not walk-in; same-day referral system", True) == ""
    assert hours_kind("no walk-ins, appointment required", True) == ""
    assert hours_kind("open access (no GP referral)", True) == ""
    assert hours_kind("hours are ultrasound appointment times", False) == ""  # no hours, no kind
    assert hours_kind("", True) == ""


def test_out_of_hours_extraction():
    n = ("appointment arranged by GP or A&E; seen within 2 working days; "
         "out of hours Women's Health ward 01432 364110")
    assert out_of_hours(n) == "out of hours Women's Health ward 01432 364110"
    assert out_of_hours("referral by GP, community midwife, out-of-hours GP or ED") == ""
    assert out_of_hours("urgent referrals 20:30-08:00 go to Gynaecology Ward via Urgent Care entrance"
                        ) == "urgent referrals 20:30-08:00 go to Gynaecology Ward via Urgent Care entrance"
    assert out_of_hours("22 weeks or more go to Labour Ward") == ""
    assert out_of_hours("nurse-led; scans in Radiology") == ""
    assert out_of_hours("") == ""


def test_slug_and_postcode():
    assert slugify("Guy's and St Thomas' NHS Foundation Trust") == "guys-and-st-thomas-nhs-foundation-trust"
    assert slugify("Ysbyty Gwynedd – Llŷn & Môn") == "ysbyty-gwynedd-llyn-and-mon"
    assert len(slugify("word " * 40)) <= 60
    assert normalise_postcode(" sw170qt ") == "SW17 0QT"
    assert normalise_postcode("PE30  4ET") == "PE30 4ET"


# ----------------------------------------------------------------- ids


def _ref_rows(**cols) -> pd.DataFrame:
    n = len(next(iter(cols.values())))
    base = {c: [""] * n for c in REFERENCE_COLUMNS}
    base.update(cols)
    return pd.DataFrame(base)


def test_duplicate_site_codes_are_disambiguated_independent_of_order():
    ref = _ref_rows(site_code=["RXW01", "RXW01", "RAB12"],
                    unit_name=["Early Pregnancy Unit", "Gynaecology Assessment Unit", "EPU"],
                    hospital=["A", "A", "B"], organisation=["T", "T", "T"])
    ids = unit_ids(ref).tolist()
    assert ids == ["RXW01-early-pregnancy-unit", "RXW01-gynaecology-assessment-unit", "RAB12"]
    rev = unit_ids(ref.iloc[::-1].reset_index(drop=True)).tolist()
    assert rev == ids[::-1]


def test_identical_names_fall_back_to_a_hash():
    ref = _ref_rows(site_code=["", ""], unit_name=["EPU", "EPU"], hospital=["", ""],
                    organisation=["Some Trust", "Some Trust"], source_url=["https://a.nhs.uk", "https://b.nhs.uk"])
    ids = unit_ids(ref)
    assert ids.is_unique and all(i.startswith("some-trust-epu-") for i in ids)
    assert unit_ids(ref.iloc[::-1].reset_index(drop=True)).tolist() == ids.tolist()[::-1]


# ----------------------------------------------------------------- real rows (sample copied from the reference)


def test_real_24_7_units(sample):
    assert sample.loc["REP01", "opening_hours"] == "24/7"  # Liverpool Women's GED
    assert sample.loc["REP01", "hours_kind"] == "walk-in"
    assert sample.loc["RKB01", "opening_hours"] == "Mo-Su 00:00-24:00; PH unknown"  # UHCW, BH not stated
    assert H.state_at("24/7", datetime(2026, 12, 25, 3), "England") == "open"
    assert H.state_at(sample.loc["RKB01", "opening_hours"], datetime(2026, 12, 25, 3), "England") == "unknown"


def test_real_saturday_morning_units(sample):
    s = sample.loc["RJ701", "opening_hours"]  # St George's, walk-in 08:30-11:00 Mon-Sat
    assert s == "Mo-Sa 08:30-11:00; Su off; PH off"
    assert H.state_at(s, datetime(2026, 6, 13, 9), "England") == "open"
    assert H.state_at(s, datetime(2026, 6, 13, 11, 30), "England") == "closed"
    leeds = sample.loc["RR813", "opening_hours"]
    assert leeds == "Mo-Fr 08:30-17:30; Sa 09:00-12:30; Su unknown; PH unknown"
    assert H.state_at(leeds, datetime(2026, 6, 14, 10), "England") == "unknown"


def test_real_unit_closed_on_bank_holidays(sample):
    s = sample.loc["RCX70", "opening_hours"]  # Queen Elizabeth King's Lynn
    assert s == "Mo-Fr 08:00-17:30; Sa,Su off; PH off"
    assert sample.loc["RCX70", "hours_status"] == "verified"
    assert H.state_at(s, datetime(2026, 4, 6, 10), "England") == "closed"  # Easter Monday
    assert H.state_at(s, datetime(2026, 4, 7, 10), "England") == "open"


def test_real_not_on_wednesdays_and_mon_to_wed_only(sample):
    assert sample.loc["RGN90", "opening_hours"] == (
        "Mo,Tu,Th,Fr 08:00-16:00; We off; Sa,Su unknown; PH unknown")
    # Bishop Auckland: the notes say "Monday-Wednesday only (times not stated)" but every day
    # column is empty, so nothing is derived from the note: hours stay unknown.
    assert sample.loc["RXPBA", "opening_hours"] == ""
    assert sample.loc["RXPBA", "hours_status"] == "unknown"
    assert "Monday-Wednesday only" in sample.loc["RXPBA", "access_notes"]


def test_real_hours_kinds_and_pathways(sample):
    assert sample.loc["RRK98", "hours_kind"] == "scan"
    assert sample.loc["RJZ01", "hours_kind"] == "phone triage"
    assert sample.loc["guys-and-st-thomas-nhs-foundation-trust", "hours_kind"] == "scan"
    assert sample.loc["RLQ01", "out_of_hours"] == "out of hours Women's Health ward 01432 364110"
    assert sample.loc["RJZ01", "out_of_hours"].startswith("outside hours NHS 111 or ED")


def test_not_mappable_trust_row_stays(sample):
    g = sample.loc["guys-and-st-thomas-nhs-foundation-trust"]
    assert g["mappable"] == "false" and g["lat"] == "" and g["hospital"] == ""
    assert g["source_url"].startswith("https://guysandstthomas.nhs.uk/")


def test_sample_output_is_valid_and_complete(sample):
    df = sample.reset_index()
    assert list(df.columns) == list(UNIT_COLUMNS)
    valid, problems = validate_units(df)
    assert problems == [] and len(valid) == 11


def test_ids_do_not_depend_on_row_order():
    ref = read_reference(SAMPLE)
    a = convert_reference(ref)
    b = convert_reference(ref.sample(frac=1, random_state=7).reset_index(drop=True))
    pd.testing.assert_frame_equal(a, b)


# ----------------------------------------------------------------- the real reference


@pytest.mark.integration
def test_every_reference_row_and_source_is_kept(real_settings):
    ref = read_reference(real_settings.data_dir.parent / "epu_reference.csv")
    units = convert_reference(ref)
    assert len(units) == len(ref) == 94
    assert sorted(units["source_url"]) == sorted(ref["source_url"].str.strip())
    assert (units["source_url"] != "").all()
    assert (units["mappable"] == "false").sum() == (ref["geocode_method"] == "unmatched").sum() == 10
    assert set(units.loc[units["site_code"] != "", "unit_id"]) == set(ref.loc[ref["site_code"] != "", "site_code"])
    # unknown stays unknown: a day column that is empty in the reference never becomes open/closed
    by_id = units.set_index("unit_id")
    for uid, (_, r) in zip(unit_ids(ref), ref.iterrows(), strict=True):
        if not any(r[c].strip() for c in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")):
            assert by_id.loc[uid, "hours_status"] == "unknown"
            assert "Mo-Su unknown" in by_id.loc[uid, "opening_hours"] or not by_id.loc[uid, "opening_hours"]
    counts = units["hours_status"].value_counts().to_dict()
    assert counts == {"unknown": 54, "partial": 27, "verified": 13}
