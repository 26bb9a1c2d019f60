"""CLI `gaps`, `nearest`, `whatif`, `rank` on the offline 3 units x 5 areas fixture."""

from __future__ import annotations

import io
import json

import pandas as pd
import pytest
from _tiny import stub_nearest, tiny_context

from epu_mapper import api, cli


@pytest.fixture
def ctx(tmp_path):
    return tiny_context(tmp_path, shuffled=True)


@pytest.fixture
def run(ctx, monkeypatch, capsys):
    monkeypatch.setattr(api, "load_context", lambda settings=None: ctx)

    def _run(*argv: str) -> tuple[int, str, str]:
        try:
            code = cli.main(list(argv))
        except SystemExit as exc:  # argparse rejects the arguments itself
            code = exc.code
        out = capsys.readouterr()
        return code, out.out, out.err

    return _run


def test_gaps_json_shape(run):
    code, out, err = run("gaps", "--level", "icb", "--hour-of-week", "3", "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert {"level", "when", "at", "slot", "policy", "filters", "reach_minutes", "engine",
            "approximate", "inequality", "weight_note", "regions"} <= set(doc)
    assert doc["level"] == "icb" and doc["slot"] == 3 and doc["policy"] == "exclude"
    assert doc["at"] is None and doc["when"] == "Mon 03:00"
    r1, r2 = doc["regions"]
    assert r1["region_code"] == "R1" and r1["median_minutes"] == 70
    assert r2["p90_minutes"] is None  # infinite: no open unit routed for the top 10 %
    assert r2["pct_no_open_unit"] == pytest.approx(400 / 9)
    assert r1["nice_7day_pass"] is False


def test_gaps_csv_and_range(run):
    code, out, _ = run("gaps", "--level", "icb", "--hour-of-week", "3", "--csv", "--policy", "range")
    assert code == 0
    df = pd.read_csv(io.StringIO(out))
    assert df.region_code.tolist() == ["R1", "R2"]
    assert df.median_minutes_exclude.tolist() == [70, 25]
    assert df.median_minutes_always.tolist() == [20, 25]


def test_gaps_at_with_offset_and_text(run):
    code, out, _ = run("gaps", "--level", "lad", "--at", "2026-11-30T10:00Z")
    assert code == 0
    assert "lad at Mon 2026-11-30 10:00" in out and "L1" in out
    # 12:00+02:00 is 10:00 UTC = 10:00 UK time in November
    code, out, _ = run("gaps", "--level", "lad", "--at", "2026-11-30T12:00+02:00", "--json")
    assert code == 0 and json.loads(out)["at"] == "2026-11-30T10:00"
    # summer: a naive time is UK local (BST), 09:30Z is 10:30 BST
    code, out, _ = run("gaps", "--level", "lad", "--at", "2026-07-01T09:30Z", "--json")
    assert json.loads(out)["at"] == "2026-07-01T10:30"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["gaps", "--level", "county"], "invalid choice"),
        (["gaps", "--at", "29/11/2026"], "cannot read the time"),
        (["gaps", "--hour-of-week", "200"], "0..167"),
        (["gaps", "--at", "2026-11-29T03:00", "--hour-of-week", "3"], "not allowed with"),
        (["gaps", "--bank-holiday"], "needs hour_of_week"),
        (["whatif", "--unit", "NOPE", "--hours", "24/7"], "no unit with id"),
        (["whatif", "--unit", "U0", "--hours", "Sa 99:00-100:00"], "hours for U0"),
        (["whatif", "--unit", "U0", "--unit", "U1", "--hours", "24/7", "--hours", "24/7",
          "--hours", "24/7"], "one --hours per --unit"),
        (["rank", "--k", "0"], "at least 1"),
        (["nearest", "AB1 2CD", "--weeks", "99"], "between 0 and 45"),
    ],
)
def test_bad_arguments_exit_2_without_traceback(run, argv, message):
    code, out, err = run(*argv)
    assert code == 2
    assert message in err
    assert "Traceback" not in err and out == ""


def test_bad_arguments_messages(run, capsys):
    for argv, message in [
        (["gaps", "--at", "29/11/2026"], "cannot read the time"),
        (["whatif", "--unit", "NOPE", "--hours", "24/7"], "no unit with id"),
        (["whatif", "--unit", "U3", "--hours", "24/7"], "no site coordinates"),
        (["gaps", "--hour-of-week", "200"], "0..167"),
    ]:
        code, _, err = run(*argv)
        assert code == 2 and message in err and err.startswith("epu-mapper: ")
    with pytest.raises(SystemExit) as exc:
        cli.main(["gaps", "--level", "county"])
    assert exc.value.code == 2 and "invalid choice" in capsys.readouterr().err


def test_whatif_json(run):
    code, out, _ = run("whatif", "--unit", "U0", "--hours", "Sa,Su 09:00-17:00", "--json",
                       "--level", "icb")
    assert code == 0
    doc = json.loads(out)
    assert set(doc) == {"policy", "level", "mode", "directory", "reach_minutes", "changes", "totals", "by_hour",
                        "by_region", "by_region_hour"}
    assert doc["totals"]["person_hours_week_gained"] == 96
    assert len(doc["by_hour"]) == 192
    assert {r["region_code"]: r["newly_covered"] for r in doc["by_region"]} == {"R1": 32, "R2": 64}
    assert doc["changes"][0]["hours_after"].endswith("; PH off")


def test_whatif_csv_and_text(run):
    code, out, _ = run("whatif", "--unit", "U0", "--hours", "Sa,Su 09:00-17:00", "--csv")
    df = pd.read_csv(io.StringIO(out))
    assert code == 0 and len(df) == 192 and df.newly_covered.sum() == 96
    code, out, _ = run("whatif", "--unit", "U0", "--hours", "Sa,Su 09:00-17:00")
    assert code == 0 and "96" in out


def test_rank_json_and_csv(run):
    code, out, _ = run("rank", "--k", "3", "--json")
    doc = json.loads(out)
    assert code == 0 and doc["k"] == 3 and doc["weight"] == "women"
    assert [s["unit_id"] for s in doc["steps"]] == ["U0", "U2"]
    assert [s["gain_person_hours"] for s in doc["steps"]] == [96, 48]
    code, out, _ = run("rank", "--k", "1", "--csv")
    assert pd.read_csv(io.StringIO(out)).unit_id.tolist() == ["U0"]


def test_nearest_json(run, monkeypatch):
    stub_nearest(monkeypatch)
    code, out, _ = run("nearest", "ab12cd", "--at", "2026-11-28T23:00", "--json")
    doc = json.loads(out)
    assert code == 0 and doc["when"] == "2026-11-28T23:00"
    assert [u["unit_id"] for u in doc["units"]] == ["U2", "U0", "U1"]
    u0 = doc["units"][1]
    assert u0["state"] == "closed" and u0["next_opening"] == "2026-12-01T09:00"
    assert {"unit_id", "unit_name", "hospital", "state", "next_opening", "minutes", "km", "engine",
            "approximate", "phone", "self_referral", "source_url"} <= set(u0)
    # where to go when closed, and what the published hours describe
    assert u0["out_of_hours"] == "Call NHS 24 on 111" and u0["hours_kind"] == "scan"
    u2 = doc["units"][0]
    assert u2["out_of_hours"] == "Go to <b>A&E</b> at [H2](javascript:x)" and u2["hours_kind"] == ""
    assert doc["units"][2]["hours_kind"] == "phone triage" and doc["units"][2]["out_of_hours"] == ""
    assert "999" in doc["emergency"]
    from epu_mapper.travel import CALIBRATED

    assert doc["travel_caption"] == CALIBRATED.caption()
    code, out, _ = run("nearest", "ab12cd", "--at", "2026-11-28T23:00")
    assert code == 0 and "when closed: Call NHS 24 on 111" in out
    assert "hours are scan appointment hours" in out and "hours are phone line hours" in out
    code, out, _ = run("nearest", "ab12cd", "--self-referral", "--weeks", "10")
    assert code == 0 and "Unit zero" in out and "Unit two" not in out


def test_gaps_by_hour_csv(run):
    code, out, _ = run("gaps", "--level", "icb", "--by-hour")
    df = pd.read_csv(io.StringIO(out))
    assert code == 0 and len(df) == 2 * 192
    assert df.loc[(df.region_code == "R1") & (df.hour_of_week == 3), "median_minutes"].item() == 70
    code, _, err = run("gaps", "--by-hour", "--hour-of-week", "3")
    assert code == 2 and "--by-hour" in err


def test_gaps_nation_bank_holiday(run):
    code, out, _ = run("gaps", "--level", "lad", "--hour-of-week", "10", "--bank-holiday",
                       "England", "--json")
    doc = json.loads(out)
    assert code == 0 and doc["when"].startswith("England bank holiday 10:00")
    code, out, _ = run("gaps", "--level", "lad", "--hour-of-week", "10", "--bank-holiday", "--json")
    assert code == 0 and json.loads(out)["slot"] == 178
    code, _, err = run("gaps", "--hour-of-week", "10", "--bank-holiday", "Mars")
    assert code == 2 and "unknown nation" in err
