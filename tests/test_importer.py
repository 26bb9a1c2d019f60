"""`units import`: merging a reference into the directory never silently overwrites a reviewed value."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from epu_mapper import cli
from epu_mapper.convert import convert_reference, read_reference, units_to_csv_text
from epu_mapper.importer import import_reference, merge_reference, read_directory
from epu_mapper.units import validate_units

SAMPLE = Path(__file__).parent / "fixtures" / "units" / "reference" / "epu_reference_sample.csv"


@pytest.fixture
def directory(tmp_path) -> Path:
    """A directory file holding the conversion of the 11-row real sample."""
    path = tmp_path / "units.csv"
    path.write_text(units_to_csv_text(convert_reference(read_reference(SAMPLE))), encoding="utf-8")
    return path


def _reference(tmp_path: Path, **edits) -> Path:
    """The sample reference with cells edited: ``edits[site_code] = {column: value}``."""
    ref = read_reference(SAMPLE)
    for site, cells in edits.items():
        for col, val in cells.items():
            ref.loc[ref["site_code"] == site, col] = val
    path = tmp_path / "ref.csv"
    ref.to_csv(path, index=False)
    return path


def test_same_reference_leaves_every_unit(directory, tmp_path):
    before = directory.read_text(encoding="utf-8")
    report = import_reference(SAMPLE, directory)
    assert {c.action for c in report} == {"leave"} and len(report) == 11
    assert directory.read_text(encoding="utf-8") == before


def test_unknown_field_is_filled_and_status_follows(directory, tmp_path):
    # Bishop Auckland (RXPBA) publishes no hours: a reference that now knows them fills them in.
    days = {d: "09:00-17:00" for d in ("mon", "tue", "wed")} | {d: "closed" for d in ("thu", "fri", "sat", "sun")}
    ref = _reference(tmp_path, RXPBA=days)
    report = import_reference(ref, directory)
    changed = [c for c in report if c.action == "change"]
    assert [(c.unit_id, c.field, c.old) for c in changed] == [("RXPBA", "opening_hours", "")]
    assert changed[0].new == "Mo-We 09:00-17:00; Th-Su off; PH unknown"
    df = read_directory(directory).set_index("unit_id")
    assert df.loc["RXPBA", "opening_hours"] == changed[0].new
    assert df.loc["RXPBA", "hours_status"] == "verified"
    assert validate_units(directory)[1] == []


def test_reviewed_value_is_kept_and_reported(directory, tmp_path):
    # the directory was corrected (reviewed) to a new phone number; the reference still has the old one
    df = read_directory(directory)
    df.loc[df["unit_id"] == "RCX70", "phone"] = "01553 000111"
    directory.write_text(units_to_csv_text(df), encoding="utf-8")
    before = directory.read_text(encoding="utf-8")
    report = import_reference(SAMPLE, directory)
    kept = [c for c in report if c.action == "keep"]
    assert [(c.unit_id, c.field, c.old, c.new) for c in kept] == [("RCX70", "phone", "01553 000111", "01553 613567")]
    assert "reviewed" in str(kept[0]) and "--take RCX70:phone" in str(kept[0])
    assert directory.read_text(encoding="utf-8") == before
    # taking it explicitly is the only way to overwrite it
    import_reference(SAMPLE, directory, take=["RCX70:phone"])
    assert read_directory(directory).set_index("unit_id").loc["RCX70", "phone"] == "01553 613567"


def test_new_unit_is_added_and_directory_only_unit_left(directory, tmp_path):
    ref = read_reference(SAMPLE)
    one = ref[ref["site_code"] == "RCX70"].copy()
    rest = ref[ref["site_code"] != "RCX70"]
    small = tmp_path / "small.csv"
    one.to_csv(small, index=False)
    df = read_directory(directory)
    directory.write_text(units_to_csv_text(df[df["unit_id"] != "RJ701"]), encoding="utf-8")
    report = import_reference(SAMPLE, directory, dry_run=True)
    assert [(c.unit_id, c.action) for c in report if c.action == "add"] == [("RJ701", "add")]
    assert "RJ701" not in read_directory(directory)["unit_id"].tolist()  # dry run wrote nothing
    import_reference(SAMPLE, directory)
    assert "RJ701" in read_directory(directory)["unit_id"].tolist()
    # a reference with fewer units never removes one
    report = import_reference(small, directory)
    left = {c.unit_id for c in report if c.action == "leave" and "not in the reference" in c.new}
    assert left == set(rest.loc[rest["site_code"] != "", "site_code"]) | {"guys-and-st-thomas-nhs-foundation-trust"}
    assert len(read_directory(directory)) == 11


def test_merge_is_pure_and_sorted():
    inc = convert_reference(read_reference(SAMPLE))
    cur = inc.sample(frac=1, random_state=3).iloc[2:]
    merged, report = merge_reference(cur, inc)
    assert merged["unit_id"].tolist() == sorted(inc["unit_id"])
    assert sum(c.action == "add" for c in report) == 2
    pd.testing.assert_frame_equal(merged, inc.reset_index(drop=True))


def test_invalid_merge_writes_nothing(directory, tmp_path, capsys):
    ref = _reference(tmp_path, RCX70={"source_url": "ftp://example.org/x"})
    df = read_directory(directory)
    df.loc[df["unit_id"] == "RCX70", "source_url"] = ""  # unknown in the directory: would be filled
    directory.write_text(units_to_csv_text(df), encoding="utf-8")
    before = directory.read_text(encoding="utf-8")
    rc = cli.main(["units", "import", str(ref), "--units", str(directory)])
    err = capsys.readouterr().err
    assert rc == 2 and "source_url" in err and "http(s)" in err and "Traceback" not in err
    assert directory.read_text(encoding="utf-8") == before


def test_cli_dry_run_report(directory, tmp_path, capsys):
    ref = _reference(tmp_path, RCX70={"phone": "01553 999999"}, RXPBA={"mon": "09:00-12:00"})
    before = directory.read_text(encoding="utf-8")
    assert cli.main(["units", "import", str(ref), "--dry-run", "--units", str(directory)]) == 0
    out = capsys.readouterr().out
    assert "keep    RCX70: phone: '01553 613567'" in out
    assert "change  RXPBA: opening_hours: '' -> 'Mo 09:00-12:00; Tu-Su unknown; PH unknown'" in out
    assert "would write" in out and "1 field(s) changed, 1 reviewed field(s) kept, 9 unit(s) left" in out
    assert directory.read_text(encoding="utf-8") == before


def test_cli_bad_take_and_missing_files(directory, tmp_path, capsys):
    assert cli.main(["units", "import", str(SAMPLE), "--units", str(directory), "--take", "NOPE1"]) == 2
    assert "no unit NOPE1" in capsys.readouterr().err
    assert cli.main(["units", "import", str(SAMPLE), "--units", str(directory), "--take", "RCX70:hours_status"]) == 2
    assert "is not a field that can be taken" in capsys.readouterr().err
    assert cli.main(["units", "import", str(tmp_path / "nope.csv"), "--units", str(directory)]) == 2
    assert "reference table not found" in capsys.readouterr().err


@pytest.mark.integration
def test_committed_directory_holds_everything_the_reference_knows(real_settings, tmp_path):
    """Importing the real reference adds nothing and fills nothing (reviewed values may differ)."""
    copy = tmp_path / "units.csv"
    copy.write_bytes((Path(__file__).resolve().parent.parent / "data" / "units.csv").read_bytes())
    report = import_reference(real_settings.data_dir.parent / "epu_reference.csv", copy, dry_run=True)
    assert not [c for c in report if c.action in ("add", "change")]
    assert len({c.unit_id for c in report}) >= 94
