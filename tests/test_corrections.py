"""Pure rules of suggested corrections: validation with the directory's rules and application to a row."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from epu_mapper.corrections import (
    LIMITS,
    SubmissionError,
    apply_correction,
    hours_status,
    validate_correction,
    validate_new_unit,
)
from epu_mapper.importer import read_directory
from epu_mapper.units import check_row

REPO_UNITS = Path(__file__).resolve().parent.parent / "data" / "units.csv"


@pytest.fixture(scope="module")
def row() -> dict[str, str]:
    """The real directory row of Queen Elizabeth Hospital King's Lynn (RCX70)."""
    return read_directory(REPO_UNITS).set_index("unit_id").loc["RCX70"].to_dict() | {"unit_id": "RCX70"}


def _form(**kw):
    return {"unit_id": "RCX70", "source_url": "https://www.qehkl.nhs.uk/epu", "relation": "staff", **kw}


def test_hours_status():
    assert hours_status("Mo-Fr 08:00-17:30; Sa,Su off; PH off") == "verified"
    assert hours_status("Mo-Fr 08:00-17:30; Sa,Su unknown; PH unknown") == "partial"
    assert hours_status("Mo-Su unknown") == "unknown"
    assert hours_status("") == "unknown"


def test_only_changed_fields_are_kept_with_their_base(row):
    sub = validate_correction(_form(opening_hours="Mo-Fr 08:00-18:00; Sa,Su off; PH off",
                                    phone=row["phone"], self_referral="conditional"), row)
    assert sub.fields == {"opening_hours": "Mo-Fr 08:00-18:00; Sa,Su off; PH off", "self_referral": "conditional"}
    assert sub.base == {"opening_hours": row["opening_hours"], "self_referral": row["self_referral"]}
    assert (sub.kind, sub.unit_id, sub.relation) == ("correction", "RCX70", "staff")


def test_nothing_to_change_and_missing_source(row):
    with pytest.raises(SubmissionError, match="nothing to change"):
        validate_correction(_form(phone=row["phone"]), row)
    with pytest.raises(SubmissionError) as exc:
        validate_correction({"unit_id": "RCX70", "phone": "01553 000000", "relation": "nobody"}, row)
    fields = {f for f, _ in exc.value.problems}
    assert {"source_url", "relation"} <= fields


def test_unknown_form_fields_and_sizes(row):
    with pytest.raises(SubmissionError, match="not a field of this form"):
        validate_correction(_form(phone="01553 000000", lat="51.0"), row)
    with pytest.raises(SubmissionError, match=f"the limit is {LIMITS['phone']}"):
        validate_correction(_form(phone="0" * 41), row)


def test_formula_like_free_text_is_refused(row):
    for text in ("=1+1", "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)", '  "=HYPERLINK("x")'):
        with pytest.raises(SubmissionError, match="spreadsheet formula"):
            validate_correction(_form(phone="01553 000000", note=text), row)
    assert validate_correction(_form(phone="01553 000000", note="open 9-5, not 8-4"), row).note


def test_apply_correction_sets_source_and_status(row):
    new = apply_correction(row, {"opening_hours": "Mo-Fr 08:00-18:00; Sa,Su unknown; PH off"},
                           "https://www.qehkl.nhs.uk/epu", date(2026, 11, 30))
    assert new["opening_hours"] == "Mo-Fr 08:00-18:00; Sa,Su unknown; PH off"
    assert new["hours_status"] == "partial" and new["hours_kind"] == ""
    assert (new["source_url"], new["source_seen"]) == ("https://www.qehkl.nhs.uk/epu", "2026-11-30")
    assert check_row(new) == []
    assert {k for k in row if row[k] != new[k]} == {"opening_hours", "hours_status", "source_url", "source_seen"}
    assert apply_correction(row, {"closed": "true"}, "https://a.nhs.uk/x", date(2026, 11, 30)) is None
    phone_only = apply_correction(row, {"phone": "01553 000000"}, "https://a.nhs.uk/x", date(2026, 11, 30))
    assert phone_only["hours_kind"] == row["hours_kind"] and phone_only["hours_status"] == row["hours_status"]


def test_new_unit_report(row):
    sub = validate_new_unit({"unit_name": "Early Pregnancy Unit", "hospital": "Somewhere General",
                             "postcode": "PE30 4ET", "relation": "charity"}, row)
    assert sub.kind == "new_unit" and sub.unit_id is None and sub.source_url == ""
    assert sub.fields == {"unit_name": "Early Pregnancy Unit", "hospital": "Somewhere General",
                          "postcode": "PE30 4ET"}
    with pytest.raises(SubmissionError) as exc:
        validate_new_unit({"unit_name": "<i>EPU</i>", "postcode": "XX99 XXX", "relation": "charity",
                           "town": "=cmd"}, row)
    assert {f for f, _ in exc.value.problems} == {"unit_name", "postcode", "town"}
    with pytest.raises(SubmissionError, match="unit_name: is needed"):
        validate_new_unit({"relation": "charity"}, row)
