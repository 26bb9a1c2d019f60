"""``api.equity``, the ``equity`` command, the what-if equity effect and the Equity page on the
hand-checkable fixture of ``tests/_tiny.py`` (offline).

At Sunday 03:00 (hour 147, unknown hours closed) only U1 (24/7) is open: minutes A0 50, A1 70,
A2 100, A3 none, A4 25; weights 1-5. Deprivation quintiles A0-A4 = 1, 1, 3, 5, 5, so 1/3 of the
most deprived fifth's women (A0) and 5/9 of the least deprived fifth's (A4) are within 60 min.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from _tiny import AREA_CODES, tiny_context

from epu_mapper import api, cli, store
from epu_mapper.commands import equity as equity_cmd
from epu_mapper.ui.equity_text import (
    chart_frame,
    display_table,
    effect_lines,
    fmt_minutes_text,
    gap_sentence,
)


def write_area_equity(build_dir) -> None:
    store.write_parquet(build_dir / "area_equity.parquet", pd.DataFrame({
        "area_code": AREA_CODES, "nation": "England", "dep_index": "IMD 2025",
        "dep_rank": [10.0, 20, 50, 90, 99], "dep_decile": np.int8([1, 2, 5, 9, 10]),
        "dep_quintile": np.int8([1, 1, 3, 5, 5]), "dep_approximate": False,
        "core20": [True, True, False, False, False], "uk_decile": np.int8([1, 2, 5, 9, 10]),
        "uk_quintile": np.int8([1, 1, 3, 5, 5]), "uk_approximate": False,
        "hh_total": 100.0, "hh_no_car": [10.0, 60, 30, 40, 20],
        "pct_no_car": [10.0, 60, 30, 40, 20], "no_car_quintile": np.int8([1, 5, 3, 4, 2]),
        "high_no_car": [False, True, False, False, False],
    }))


@pytest.fixture
def ctx(tmp_path):
    write_area_equity(tmp_path)
    return tiny_context(tmp_path)


def _row(df, region, group, band="selected"):
    return df[(df.region_code == region) & (df.group == group) & (df.band == band)].iloc[0]


def test_equity_by_deprivation_by_hand(ctx):
    res = api.equity(ctx, "nhs_region", hour_of_week=147)
    bg = res.by_group
    assert _row(bg, "Y1", 1)["pct_within_60"] == pytest.approx(100 / 3)
    assert _row(bg, "Y1", 5)["pct_within_60"] == pytest.approx(500 / 9)
    assert _row(bg, "Y1", 1)["median_minutes"] == 70  # weights 1 (50 min), 2 (70 min)
    assert np.isnan(_row(bg, "Y1", 2)["pct_within_60"])  # nobody in quintile 2
    s = res.summary[(res.summary.band == "selected")].iloc[0]
    assert s["gap_pct_within_60"] == pytest.approx(100 / 3 - 500 / 9)
    # quintile weights sum to the region's weight, in every band
    for _, part in bg.groupby("band"):
        assert part["weight"].sum() == pytest.approx(15.0)
    assert set(bg["band"]) == {"selected", "week", "weekday_day", "evening", "night", "weekend",
                               "bank_holiday"}
    assert res.attrs["weight_kind"] == "women aged 15-44 (female_15_44_estimate)"


def test_equity_by_core20_and_car(ctx):
    core = api.equity(ctx, "nhs_region", hour_of_week=147, by="core20").by_group
    assert _row(core, "Y1", 1)["weight"] == 3 and _row(core, "Y1", 2)["weight"] == 12
    car = api.equity(ctx, "nhs_region", hour_of_week=147, by="car").by_group
    # group 1 = highest no-car fifth = A1 (70 min): nobody within 60
    assert _row(car, "Y1", 1)["weight"] == 2 and _row(car, "Y1", 1)["pct_within_60"] == 0


def test_double_disadvantage_list(ctx):
    dd = api.equity(ctx, "lad", hour_of_week=147).double_disadvantage
    # A1: quintile 1, highest no-car fifth, 70 min at night
    assert dd["area_code"].tolist() == [AREA_CODES[1]]
    assert dd.loc[0, "night_median_minutes"] == 70 and dd.loc[0, "region_name"] == "LA one"


def test_bad_grouping_is_a_message(ctx):
    with pytest.raises(api.CoverageArgumentError, match="unknown grouping"):
        api.equity(ctx, "nation", hour_of_week=1, by="income")


def test_whatif_reports_the_equity_effect(ctx):
    res = api.whatif(ctx, {"U0": "24/7"})
    eq = res.totals["equity"]
    # A1 (quintile 1, U0 at 40 min) and A3 (quintile 5, U0 at 20 min) gain
    assert eq["newly_within_any_hour_by_quintile"] == {"1": 2.0, "2": 0.0, "3": 0.0, "4": 0.0,
                                                       "5": 4.0}
    lines = effect_lines(eq)
    assert "2 women aged 15–44" in lines[0] and "least deprived fifth: 4" in lines[0]


def test_whatif_without_the_equity_table_says_nothing(tmp_path):
    res = api.whatif(tiny_context(tmp_path), {"U0": "24/7"})
    assert res.totals["equity"] is None
    assert effect_lines(None) == []


def test_equity_command_json_and_csv(ctx, monkeypatch, capsys):
    monkeypatch.setattr(equity_cmd, "_context", lambda: (api, ctx))
    assert cli.main(["equity", "--level", "icb", "--hour-of-week", "147", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["by"] == "deprivation" and out["directory"] == "known"
    assert out["at"] is None and out["slot"] == 147
    assert {"by_group", "summary", "double_disadvantage"} <= set(out)
    assert cli.main(["equity", "--level", "lad", "--double-disadvantage", "--csv",
                     "--hour-of-week", "3"]) == 0
    csv = capsys.readouterr().out.splitlines()
    assert csv[0].startswith("area_code,area_name") and len(csv) == 2
    assert cli.main(["equity", "--level", "nation", "--by", "car", "--at", "2026-11-29T03:00"]) == 0
    assert "highest no-car fifth" in capsys.readouterr().out


def test_equity_command_bad_input_exits_2(ctx, monkeypatch, capsys):
    monkeypatch.setattr(equity_cmd, "_context", lambda: (api, ctx))
    assert cli.main(["equity", "--hour-of-week", "999"]) == 2
    assert "0..167" in capsys.readouterr().err
    # no likely sites built in the fixture: a message naming the build, not a traceback
    assert cli.main(["equity", "--hour-of-week", "3", "--directory", "with-likely"]) == 2
    assert "epu-mapper" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        cli.main(["equity", "--by", "income"])
    assert exc.value.code == 2


def test_page_helpers(ctx):
    res = api.equity(ctx, "icb", hour_of_week=147)
    frame = chart_frame(res.by_group, "R2", "median")
    sel = frame[frame["band_label"] == "at the chosen time"]
    assert frame["band_label"].iloc[0] == "at the chosen time" and len(sel) == 5
    # R2's least deprived fifth: A3 (no open unit, weight 4), A4 (25 min, weight 5) -> 25
    assert sel["value"].tolist()[4] == 25 and sel["value"].isna().sum() == 4
    table = display_table(res.by_group)
    assert set(table.columns) >= {"region", "group", "% within 60 min", "median minutes"}
    assert table["median minutes"].tolist()[:3] == ["70", "–", "100"]
    assert fmt_minutes_text(np.inf) == "no open unit"
    s = res.summary[(res.summary.band == "selected") & (res.summary.region_code == "R1")].iloc[0]
    # R1: quintile 1 (A0, A1) 1/3 within 60, quintile 5 empty -> no comparison
    assert gap_sentence(s, "deprivation") == ("ICB one, at the chosen time: not enough women in "
                                             "both groups to compare.")
    nat = api.equity(ctx, "nation", hour_of_week=147).summary.iloc[0]
    assert "22.2 points less likely" in gap_sentence(nat, "deprivation")
