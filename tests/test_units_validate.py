"""Directory validation: malformed files give clear file:line: column: errors, never a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from epu_mapper import cli
from epu_mapper.errors import DirectoryValidationError, EpuMapperError
from epu_mapper.postcodes import is_written_postcode
from epu_mapper.units import load_units, summary, validate_units

FIX = Path(__file__).parent / "fixtures" / "units"

#: fixture -> (line, column) of the first problem reported (hand-checked against the file).
MALFORMED = {
    "empty.csv": (1, "(file)"),
    "whitespace_only.csv": (1, "(file)"),
    "header_only.csv": (2, "(file)"),
    "missing_column_source_url.csv": (1, "source_url"),
    "missing_several_columns.csv": (1, "hospital"),
    "semicolon_delimiter.csv": (1, "(file)"),
    "tab_delimiter.csv": (1, "(file)"),
    "duplicate_header_column.csv": (1, "phone"),
    "binary_junk.csv": (1, "(file)"),
    "png_renamed.csv": (3, "(file)"),
    "nul_in_middle.csv": (2, "organisation"),
    "latin1_encoded.csv": (3, "town"),
    "unterminated_quote.csv": (5, "unit_name"),
    "wrong_field_count.csv": (3, "(file)"),
    "quoted_newline_then_bad_row.csv": (5, "nation"),
    "bad_hours_garbage.csv": (3, "opening_hours"),
    "bad_hours_25h.csv": (3, "opening_hours"),
    "bad_hours_school_holidays.csv": (3, "opening_hours"),
    "bad_hours_html.csv": (3, "opening_hours"),
    "bad_hours_status.csv": (3, "hours_status"),
    "status_without_hours.csv": (3, "hours_status"),
    "bad_hours_kind.csv": (3, "hours_kind"),
    "swapped_latlon.csv": (3, "lat"),
    "latlon_outside_uk.csv": (3, "lat"),
    "lat_not_number.csv": (3, "lat"),
    "lon_missing_half.csv": (3, "lon"),
    "postcode_lowercase.csv": (3, "postcode"),
    "postcode_invalid.csv": (3, "postcode"),
    "duplicate_ids.csv": (4, "unit_id"),
    "empty_unit_id.csv": (3, "unit_id"),
    "unit_id_with_spaces.csv": (3, "unit_id"),
    "html_in_name.csv": (3, "unit_name"),
    "html_entity_in_name.csv": (3, "unit_name"),
    "script_in_notes.csv": (3, "access_notes"),
    "control_char_in_name.csv": (3, "unit_name"),
    "min_gt_max_weeks.csv": (3, "min_weeks"),
    "weeks_not_number.csv": (3, "max_weeks"),
    "missing_url.csv": (3, "source_url"),
    "url_not_http.csv": (3, "source_url"),
    "bad_nation.csv": (3, "nation"),
    "bad_self_referral.csv": (3, "self_referral"),
    "bad_mappable.csv": (3, "mappable"),
    "bad_source_seen.csv": (3, "source_seen"),
    "bad_phone.csv": (2, "phone"),
    "bad_site_code.csv": (3, "site_code"),
    "utf16_encoded.csv": (1, "(file)"),
    "xlsx_renamed.csv": (1, "(file)"),
    "verified_with_unknown_days.csv": (3, "hours_status"),
}
VALID = ["valid_small.csv", "valid_welsh_gaelic.csv", "valid_quoted_newline.csv", "valid_bom_crlf.csv"]


def test_fixture_inventory_matches_disk():
    on_disk = {p.name for p in FIX.glob("*.csv")}
    assert set(MALFORMED) | set(VALID) == on_disk
    assert len(MALFORMED) >= 30


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_cli_validate_reports_malformed_file(name, capsys):
    path = FIX / name
    rc = cli.main(["units", "validate", str(path)])
    out, err = capsys.readouterr()
    assert rc == 2
    assert "Traceback" not in out + err
    line, column = MALFORMED[name]
    first = err.splitlines()[0]
    assert first.startswith(f"{path}:{line}: {column}: "), first
    assert len(first) > len(f"{path}:{line}: {column}: ") + 10  # a real message follows


@pytest.mark.parametrize("name", VALID)
def test_cli_validate_accepts_valid_file(name, capsys):
    rc = cli.main(["units", "validate", str(FIX / name)])
    out, err = capsys.readouterr()
    assert rc == 0, err
    assert "OK, 3 units" in out
    assert "England 2" in out and "Scotland 1" in out
    assert "verified 2" in out and "partial 1" in out


def test_subprocess_no_traceback_on_binary_and_missing(tmp_path):
    for target in (FIX / "binary_junk.csv", tmp_path / "does-not-exist.csv", tmp_path):
        proc = subprocess.run([sys.executable, "-m", "epu_mapper", "units", "validate", str(target)],
                              capture_output=True, text=True, timeout=60, check=False)
        assert proc.returncode == 2
        assert "Traceback" not in proc.stderr + proc.stdout
        assert str(target) in proc.stderr


def test_welsh_and_gaelic_letters_are_kept_intact():
    df, problems = validate_units(FIX / "valid_welsh_gaelic.csv")
    assert problems == []
    names = set(df["unit_name"])
    assert any("ŵ ŷ" in n for n in names)
    assert any("Tràth" in n for n in names)
    assert "Rathad Mòr, Dùn Èideann" in set(df["address"])


def test_one_bad_row_never_loses_the_others():
    df, problems = validate_units(FIX / "swapped_latlon.csv")
    assert len(problems) == 1 and "swapped" in problems[0].message
    assert sorted(df["unit_id"]) == ["RCX70", "guys-and-st-thomas-nhs-foundation-trust"]


def test_duplicate_keeps_first_and_names_its_line():
    df, problems = validate_units(FIX / "duplicate_ids.csv")
    assert list(df["unit_id"]).count("RCX70") == 1
    assert "first used on line 2" in problems[0].message


def test_quoted_newline_line_numbers_are_physical():
    df, problems = validate_units(FIX / "valid_quoted_newline.csv")
    assert problems == []
    assert "first line of the notes\nsecond line of the notes" in set(df["access_notes"])


def test_types_of_valid_rows():
    df, _ = validate_units(FIX / "valid_small.csv")
    assert df["lat"].dtype == "float64" and df["min_weeks"].dtype == "Int64"
    assert df["mappable"].dtype == bool
    gstt = df.set_index("unit_id").loc["guys-and-st-thomas-nhs-foundation-trust"]
    assert not gstt["mappable"] and pd.isna(gstt["lat"]) and gstt["postcode"] == ""


def test_validate_accepts_a_dataframe_with_csv_line_numbers():
    base = pd.read_csv(FIX / "valid_small.csv", dtype=str, keep_default_na=False)
    base.loc[2, "nation"] = "Mars"
    df, problems = validate_units(base, name="frame")
    assert [str(p).split(":")[:3] for p in problems] == [["frame", "4", " nation"]]
    assert len(df) == 2


def test_load_units_attaches_problems_and_strict_raises():
    df = load_units(FIX / "html_in_name.csv")
    assert len(df) == 2
    assert [p.column for p in df.attrs["problems"]] == ["unit_name"]
    with pytest.raises(DirectoryValidationError) as exc:
        load_units(FIX / "html_in_name.csv", strict=True)
    assert "html_in_name.csv:3: unit_name:" in str(exc.value)
    with pytest.raises(DirectoryValidationError):
        load_units(FIX / "empty.csv")  # nothing loadable at all
    with pytest.raises(EpuMapperError):
        load_units(FIX / "nope.csv")


@pytest.mark.parametrize(("pc", "ok"), [
    ("SW17 0QT", True), ("EC1A 1BB", True), ("W1A 0AX", True), ("M1 1AE", True), ("B33 8TH", True),
    ("CR2 6XH", True), ("DN55 1PT", True), ("GIR 0AA", True), ("BT63 5QQ", True), ("ZE1 0TB", True),
    ("sw17 0qt", False), ("SW170QT", False), ("SW17  0QT", False), ("Q1 1AA", False),
    ("SW17 0CI", False), ("12345", False), ("", False),
])
def test_directory_postcode_format(pc, ok):
    assert is_written_postcode(pc) is ok


@pytest.mark.integration
def test_committed_directory_is_valid(real_settings, capsys):
    path = Path(__file__).resolve().parent.parent / "data" / "units.csv"
    rc = cli.main(["units", "validate", str(path)])
    _out, err = capsys.readouterr()
    assert rc == 0, err
    df = load_units(path, strict=True)
    assert len(df) == 94
    s = summary(df)
    assert s["nation"] == {"England": 77, "Wales": 1, "Scotland": 12, "Northern Ireland": 4}
    assert sum(s["hours_status"].values()) == 94
    assert s["mappable"]["false"] == 10  # the 10 reference rows naming a trust but no site
    assert df["source_url"].str.match(r"^https?://").all()


@pytest.mark.integration
def test_loaded_directory_round_trips_through_validation(real_settings):
    df = load_units(Path(__file__).resolve().parent.parent / "data" / "units.csv")
    again, problems = validate_units(df)
    assert problems == []
    pd.testing.assert_frame_equal(again, df.reset_index(drop=True))
