"""`epu-mapper units list` on a small real-row fixture."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from epu_mapper import cli

FIX = Path(__file__).parent / "fixtures" / "units"
SMALL = FIX / "valid_small.csv"  # RCX70 (England, PH off), S314H (Scotland), GSTT (no site)


def test_list_plain(capsys):
    assert cli.main(["units", "list", "--path", str(SMALL)]) == 0
    out = capsys.readouterr().out
    assert "RCX70" in out and "S314H" in out and "(site not named)" in out
    assert out.strip().endswith("3 unit(s)")


def test_list_nation_filter(capsys):
    assert cli.main(["units", "list", "--path", str(SMALL), "--nation", "Scotland"]) == 0
    out = capsys.readouterr().out
    assert "S314H" in out and "RCX70" not in out and "1 unit(s)" in out


def test_list_open_at_st_andrews_day_json(capsys):
    # Monday 30 Nov 2026 10:00: St Andrew's Day is a bank holiday in Scotland only.
    assert cli.main(["units", "list", "--path", str(SMALL), "--open-at", "2026-11-30T10:00",
                     "--json"]) == 0
    rows = {r["unit_id"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows["RCX70"]["state"] == "open"
    assert rows["S314H"]["state"] == "unknown"  # 'PH unknown' in Scotland on St Andrew's Day
    assert rows["guys-and-st-thomas-nhs-foundation-trust"]["state"] == "open"  # scan hours Mo-Fr
    assert rows["S314H"]["next_opening"] == "2026-12-01T08:30"


def test_list_open_at_saturday_counts(capsys):
    assert cli.main(["units", "list", "--path", str(SMALL), "--open-at", "2026-06-13T10:00"]) == 0
    out = capsys.readouterr().out
    assert "open 1, closed 1, unknown 1" in out  # S314H open Sat, RCX70 off, GSTT unknown


def test_list_aware_time_is_converted(capsys):
    # 07:30 UTC on Monday 30 March 2026 is 08:30 BST: RCX70 (08:00-17:30) is open.
    assert cli.main(["units", "list", "--path", str(SMALL), "--open-at", "2026-03-30T07:30+00:00",
                     "--json", "--nation", "England"]) == 0
    rows = {r["unit_id"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows["RCX70"]["state"] == "open"


def test_list_skips_bad_rows_with_warning(capsys):
    assert cli.main(["units", "list", "--path", str(FIX / "html_in_name.csv")]) == 0
    out, err = capsys.readouterr()
    assert "2 unit(s)" in out
    assert "warning: skipped row:" in err and "html_in_name.csv:3: unit_name:" in err


@pytest.mark.parametrize(("argv", "needle"), [
    (["units", "list", "--path", str(SMALL), "--open-at", "next tuesday"], "not an ISO date-time"),
    (["units", "list", "--path", str(FIX / "empty.csv")], "empty.csv:1: (file):"),
    (["units", "list", "--path", str(FIX / "missing.csv")], "no such file"),
    (["units"], "SUBCOMMAND"),
])
def test_list_errors_exit_2_without_traceback(argv, needle, capsys):
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert needle in err and "Traceback" not in err


def test_bad_nation_choice_exits_2(capsys):
    with pytest.raises(SystemExit) as exc:  # argparse rejects it before any work
        cli.main(["units", "list", "--nation", "Alba"])
    assert exc.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


@pytest.mark.integration
def test_list_real_directory(real_settings, capsys):
    assert cli.main(["units", "list", "--open-at", "2026-11-30T10:00", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == 94
    states = {r["unit_id"]: r["state"] for r in rows}
    assert states["REP01"] == "open" and states["saint-marys-hospital"] == "open"  # 24/7
    assert states["RCX70"] == "open"  # England: St Andrew's Day is not a holiday there
    assert states["A111H"] == "unknown"  # no hours published
