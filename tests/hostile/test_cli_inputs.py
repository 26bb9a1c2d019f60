"""Hostile values in every CLI slot: exit 0 or 2, one short clear message, never a traceback.

Hand-picked inputs (the issue's reproducers, formula and markup text, far dates, huge pastes,
control characters, path tricks) and seeded random ones are fed to each slot of the commands
that take free text. For each: the command either answers (exit 0) or prints a message of
at most a few short lines starting ``epu-mapper`` and exits 2; a Python exception escaping
``cli.main`` fails the test.
"""

from __future__ import annotations

import random

import pytest

from epu_mapper import cli

pytestmark = pytest.mark.integration

HAND_PICKED = [
    "", " ", "off", "closed", "unknown", "Mo-Su off", "PH", "PH off", "24/7",
    'Sa,Su 09:00-17:00 || "by appointment"', 'Mo 10:00-12:00 "![t](http://x.example/a.png)"',
    "=HYPERLINK(\"http://evil.example\",\"x\")", "+1+1", "-1+cmd|' /C calc'!A0", "@SUM(A1:A9)",
    "<script>alert(1)</script>", "**bold** _it_ [link](javascript:alert(1))", "$x^2$", ":red[x]",
    "9999-12-25T10:00", "0001-01-01T00:00Z", "1899-12-31T23:59", "2201-01-01T00:00",
    "2026-02-30T10:00", "2026-03-29T01:30", "2026-10-25T01:30", "2026-11-30T10:00+14:00",
    "2026-11-30T25:00", "now", "-1", "0", "1e309", "nan", "inf", "-0", "168", "99999999999999999999",
    "../../etc/passwd", "/dev/zero", "C:\\Windows\\system32", "%s%s%s%n", "{0.__class__}", "' OR 1=1 --",
    "SW1A 1AA", "sw1a1aa", "BT48 6DQ", "GIR 0AA", "ZZ99 9ZZ", "LE15 6RB" * 20,
    "\u202eLE15 6RB", "ＬＥ１５ ６ＲＢ", "\x1b[31mred\x1b[0m", "line1\nline2", "tab\there", "\r",
    "x" * 5_000, "Mo-Fr " + "09:00-10:00," * 2_000, "é" * 120_000,
]


def _random_inputs(n: int, seed: int = 15) -> list[str]:
    rnd = random.Random(seed)
    alphabet = ("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 -:;,|\"'=+@<>/\\"
                "\t\u00e9\u0175\u4e2d\U0001f600\u200b")
    out = []
    for _ in range(n):
        length = rnd.choice([1, 3, 8, 20, 60, 300])
        out.append("".join(rnd.choice(alphabet) for _ in range(length)))
    return out


INPUTS = HAND_PICKED + _random_inputs(30)

#: command templates: "{}" is replaced by the hostile value
SLOTS = {
    "postcode": ["postcode", "{}"],
    "nearest-postcode": ["nearest", "{}", "--at", "2026-11-30T10:00", "--limit", "3"],
    "nearest-at": ["nearest", "LE15 6RB", "--at", "{}", "--limit", "3"],
    "nearest-weeks": ["nearest", "LE15 6RB", "--at", "2026-11-30T10:00", "--weeks", "{}"],
    "gaps-at": ["gaps", "--at", "{}"],
    "units-open-at": ["units", "list", "--open-at", "{}"],
    "whatif-hours": ["whatif", "--unit", "RTK01", "--hours", "{}"],
    "whatif-unit": ["whatif", "--unit", "{}", "--hours", "Sa 10:00-12:00"],
}


def _check(argv: list[str], capsys) -> tuple[int, str, str]:
    try:
        rc = cli.main(argv)
    except SystemExit as exc:  # argparse refusing an argument
        rc = exc.code
    out, err = capsys.readouterr()
    assert rc in (0, 2), (argv[:3], rc, err[-300:])
    assert "Traceback" not in out + err and "internal error" not in err, err[-300:]
    if rc == 2:
        lines = err.strip().splitlines()
        assert lines, "exit 2 without a message"
        assert lines[-1].startswith(("epu-mapper", "usage:")) or "error:" in lines[-1]
        assert len(lines) <= 4, lines[:5]
        assert all(len(line) <= 600 for line in lines), max(len(x) for x in lines)
    return rc, out, err


@pytest.mark.parametrize("slot", sorted(SLOTS))
def test_hostile_values_in_cli_slots(slot, capsys):
    for value in INPUTS:
        argv = [value if a == "{}" else a for a in SLOTS[slot]]
        _check(argv, capsys)


# --- the reproducers ------------------------------------------------------------------


@pytest.mark.parametrize("hours", ["off", "closed", "unknown", "Mo-Su off",
                                   'Sa,Su 09:00-17:00 || "by appointment"'])
def test_whatif_add_never_removes_hours(hours, capsys):
    rc, out, err = _check(["whatif", "--unit", "RTK01", "--hours", hours], capsys)
    assert rc == 2 and "--replace" in err and "lost" not in out


def test_whatif_add_that_adds_reports_no_loss(capsys):
    rc, out, _ = _check(["whatif", "--unit", "RTK01", "--hours", "Sa 10:00-12:00", "--json"], capsys)
    assert rc == 0 and '"unit_id": "RTK01"' in out


def test_whatif_replace_still_may_remove(capsys):
    rc, _, _ = _check(["whatif", "--unit", "RTK01", "--hours", "Mo-Su off", "--replace"], capsys)
    assert rc == 0


def test_rank_with_nothing_to_add_says_no_unit_gains(capsys):
    """Issue #15: ``rank --hours PH`` raised IndexError (the typical week has no bank holiday)."""
    rc, out, _ = _check(["rank", "--hours", "PH", "--k", "3"], capsys)
    assert rc == 0 and out.startswith("no unit gains")


@pytest.mark.parametrize("hours", ["off", "Mo-Su off"])
def test_rank_refuses_removing_rules(hours, capsys):
    rc, _, err = _check(["rank", "--hours", hours], capsys)
    assert rc == 2 and "takes time away" in err


@pytest.mark.parametrize("argv", [
    ["nearest", "LE15 6RB", "--at", "9999-12-25T10:00"],
    ["nearest", "LE15 6RB", "--at", "0001-01-01T00:00Z"],
    ["units", "list", "--open-at", "9999-12-25T10:00"],
    ["gaps", "--at", "2201-01-01T00:00"],
])
def test_far_dates_are_refused_clearly(argv, capsys):
    rc, _, err = _check(argv, capsys)
    assert rc == 2 and "1900-2200" in err


def test_huge_inputs_are_echoed_shortened(capsys):
    for argv in (["gaps", "--at", "x" * 340_000], ["whatif", "--unit", "R" * 100_000, "--hours", "Sa 10:00"],
                 ["nearest", "Q" * 200_000]):
        rc, _, err = _check(argv, capsys)
        assert rc == 2 and len(err) < 800, len(err)


def test_non_pbf_file_is_refused(tmp_path, capsys):
    fake = tmp_path / "england.osm.pbf"
    fake.write_text("<html>not found</html>", encoding="utf-8")
    for argv in (["travel", "network", "--pbf", str(fake)], ["travel", "calibrate", "--pbf", str(fake)]):
        rc, _, err = _check(argv, capsys)
        assert rc == 2 and "not an OpenStreetMap PBF extract" in err


def test_data_status_on_an_empty_folder_exits_2(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("EPU_MAPPER_BUILD", str(tmp_path))
    rc, _, err = _check(["data", "status"], capsys)
    assert rc == 2 and "epu-mapper data build" in err


def test_an_unexpected_error_is_one_line_not_a_traceback(monkeypatch, capsys):
    from epu_mapper.commands import units as units_cmd

    def boom(_args):
        raise RuntimeError("x" * 10_000)

    monkeypatch.setattr(units_cmd, "_validate", boom)
    rc = cli.main(["units", "validate", "data/units.csv"])
    err = capsys.readouterr().err
    assert rc == 2 and err.startswith("epu-mapper: internal error (RuntimeError: ")
    assert len(err.strip().splitlines()) == 1 and len(err) < 600
    monkeypatch.setenv("EPU_MAPPER_DEBUG", "1")
    with pytest.raises(RuntimeError):
        cli.main(["units", "validate", "data/units.csv"])
