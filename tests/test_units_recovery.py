"""The directory reader recovers row by row: one injected fault loses exactly the faulty row."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from epu_mapper import cli
from epu_mapper.csvrows import MAX_CELL, read_records
from epu_mapper.units import load_units, validate_units

UNITS = Path(__file__).resolve().parent.parent / "data" / "units.csv"
RAW = UNITS.read_bytes()
LINES = RAW.splitlines(keepends=True)  # single-line records (checked below)
ROWS = list(csv.reader(io.StringIO(RAW.decode("utf-8"), newline="")))
HEADER, DATA = ROWS[0], ROWS[1:]
CLEAN, CLEAN_PROBLEMS = validate_units(UNITS)
FAULTS = ("unterminated", "after_quote", "bare_quote", "extra_cell", "missing_cell", "long_cell",
          "bad_byte", "nul")
_SAFE_TEXT = st.text(st.characters(blacklist_characters=',"\r\n', blacklist_categories=("Cs",)),
                     min_size=1, max_size=20)


def _cell(value: str) -> str:
    if any(ch in value for ch in ',"\r\n'):
        return '"' + value.replace('"', '""') + '"'
    return value


def _row_bytes(cells: list[str]) -> bytes:
    return (",".join(cells) + "\n").encode("utf-8")


def _inject(kind: str, cells: list[str], col: int, text: str, pos: int) -> bytes:
    """The bytes of one directory row carrying the fault ``kind`` in cell ``col``."""
    out = [_cell(c) for c in cells]
    value = cells[col]
    if kind == "unterminated":
        out[col] = '"' + value.replace('"', '""')
    elif kind == "after_quote":
        out[col] = '"' + value.replace('"', '""') + '"' + text
    elif kind == "bare_quote":
        out[col] = text + '"' + text
    elif kind == "extra_cell":
        out.insert(col, _cell(text))
    elif kind == "missing_cell":
        del out[col]
    elif kind == "long_cell":
        out[col] = "x" * (MAX_CELL + 1 + pos)
    else:
        raw = value.encode("utf-8")
        cut = min(pos, len(raw))
        while cut and (raw[cut] & 0xC0) == 0x80 if cut < len(raw) else False:
            cut -= 1  # never split a UTF-8 sequence
        bad = b"\x00" if kind == "nul" else (b"\xff", b"\xfe", b"\x80", b"\xc3(")[pos % 4]
        encoded = [c.encode("utf-8") for c in out]
        encoded[col] = raw[:cut] + bad + raw[cut:]
        return b",".join(encoded) + b"\n"
    return _row_bytes(out)


def test_the_real_directory_is_clean_and_one_line_per_record():
    assert CLEAN_PROBLEMS == [] and len(CLEAN) == len(DATA) == len(LINES) - 1 >= 90


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(kind=st.sampled_from(FAULTS), row=st.integers(0, len(DATA) - 1),
       col=st.integers(0, len(HEADER) - 1), text=_SAFE_TEXT, pos=st.integers(0, 40))
def test_one_fault_in_one_row_loses_exactly_that_row(tmp_path_factory, kind, row, col, text, pos):
    lines = list(LINES)
    lines[row + 1] = _inject(kind, DATA[row], col, text, pos)
    path = tmp_path_factory.mktemp("faulty") / "units.csv"
    path.write_bytes(b"".join(lines))
    df = load_units(path)  # the app's and the CLI's reader (validate_units plus attached problems)
    lost = set(CLEAN["unit_id"]) - set(df["unit_id"])
    assert lost == {DATA[row][0]}, (kind, row, col)
    assert len(df) == len(CLEAN) - 1
    problems = df.attrs["problems"]
    assert problems and {p.line for p in problems} == {row + 2}, [str(p) for p in problems]
    assert all(str(p).startswith(f"{path}:{row + 2}: ") for p in problems)


@pytest.mark.parametrize("row", [0, 39, len(DATA) - 1])
def test_over_long_cell_reproducer(tmp_path, row, capsys):
    """Issue #15: one cell over 131,072 characters kept 7 of 93 rows (0 when first) and said 'check quotes'."""
    lines = list(LINES)
    lines[row + 1] = _inject("long_cell", DATA[row], 20, "", 0)
    path = tmp_path / "units.csv"
    path.write_bytes(b"".join(lines))
    df = load_units(path)
    assert len(df) == len(CLEAN) - 1
    rc = cli.main(["units", "validate", str(path)])
    err = capsys.readouterr().err
    assert rc == 2
    first = err.splitlines()[0]
    assert first.startswith(f"{path}:{row + 2}: {HEADER[20]}: ")
    assert "131,073 characters long" in first and "quote" not in first
    assert len(first) < 300


def test_stray_character_after_closing_quote_reproducer(tmp_path, capsys):
    """Issue #15: a stray character after a closing quote on line 41 kept 39 of 93 valid units."""
    lines = list(LINES)
    quoted = next(i for i, c in enumerate(DATA[39]) if "," in c)
    lines[40] = _inject("after_quote", DATA[39], quoted, "x", 0)
    path = tmp_path / "units.csv"
    path.write_bytes(b"".join(lines))
    assert len(load_units(path)) == len(CLEAN) - 1
    assert cli.main(["units", "validate", str(path)]) == 2
    first = capsys.readouterr().err.splitlines()[0]
    assert first.startswith(f"{path}:41: {HEADER[quoted]}: malformed CSV: characters after the closing quote")


def test_quoted_newline_record_and_a_later_fault(tmp_path):
    """A legitimate multi-line record is kept while an unterminated quote further down loses only its row."""
    cells = list(DATA[3])
    cells[20] = "first line\nsecond line"
    lines = list(LINES)
    lines[4] = _row_bytes([_cell(c) for c in cells])
    lines[10] = _inject("unterminated", DATA[9], 1, "", 0)
    path = tmp_path / "units.csv"
    path.write_bytes(b"".join(lines))
    df, problems = validate_units(path)
    assert "first line\nsecond line" in set(df["access_notes"])
    assert set(CLEAN["unit_id"]) - set(df["unit_id"]) == {DATA[9][0]}
    assert [(p.line, p.column) for p in problems] == [(12, "unit_name")]  # line 11 + the extra physical line


@pytest.mark.parametrize(("text", "expect"), [
    ('a,b\n1,2\n', [(2, ["1", "2"], None)]),
    ('a,b\n"1\n2",3\n4,5\n', [(2, ["1\n2", "3"], None), (4, ["4", "5"], None)]),
    ('a,b\n"1,2\n3,4\n', [(2, [], "never closed"), (3, ["3", "4"], None)]),
    ('a,b\n1"x,2\n3,4\n', [(2, [], "quote inside an unquoted cell"), (3, ["3", "4"], None)]),
    ('a,b\r\n1,2\r\n\r\n3,4', [(2, ["1", "2"], None), (4, ["3", "4"], None)]),
    ('a,b\n1,2,3\n"x""y",4\n', [(2, ["1", "2", "3"], "expected 2 cells"), (3, ['x"y', "4"], None)]),
])
def test_read_records_cases(text, expect):
    header, records = read_records(text)
    assert header == ["a", "b"]
    got = [(r.line, r.cells if r.error is None or "expected" in r.error else [], r.error) for r in records]
    assert [(g[0], g[1]) for g in got] == [(e[0], e[1]) for e in expect]
    for g, e in zip(got, expect, strict=True):
        assert (g[2] is None) == (e[2] is None) and (e[2] is None or e[2] in g[2])
