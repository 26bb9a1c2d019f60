"""``--directory known|with-likely`` and completeness: exact values on the tiny fixture, direction
on the real build."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from _tiny import AREA_CODES, LATS, MINUTES, UNIT_IDS, tiny_context

from epu_mapper import api, sites
from epu_mapper.api import directory as dirs
from epu_mapper.travel import TravelMatrix

SUNDAY_3AM = 6 * 24 + 3
#: The likely site L0 (unknown hours) at area A3: minutes from A0..A4.
L0_MINUTES = np.array([30, 15, 60, 10, 90], dtype=np.float32)


def _likely() -> pd.DataFrame:
    return sites.as_units(pd.DataFrame({
        "site_id": ["L0"], "name": ["Likely General"], "site_code": ["L0"], "organisation": ["T"],
        "nation": ["England"], "postcode": ["AB1 9ZZ"], "lat": [LATS[3]], "lon": [-1.0],
        "phone": [None],
    }))


@pytest.fixture
def ctx(tmp_path):
    c = tiny_context(tmp_path)
    minutes = np.hstack([MINUTES, L0_MINUTES[:, None]])
    m = TravelMatrix(
        minutes=minutes, km=minutes * 1.5, area_codes=np.array(AREA_CODES),
        unit_ids=np.array([*UNIT_IDS, "L0"]), engine="estimate", approximate=True, provenance={},
        typical_error_min=3.0)
    dirs.attach_likely(c, _likely(), m)
    return c


def test_likely_sites_join_with_unknown_hours(ctx):
    ext = dirs.with_likely(ctx)
    row = ext.mapped[ext.mapped["unit_id"] == "L0"].iloc[0]
    assert row["opening_hours"] == "" and row["hours_status"] == "unknown" and row["likely"]
    assert (ext.states[-1] == -1).all()  # never known hours
    assert dirs.with_likely(ctx) is ext  # cached


def test_exact_values_by_directory(ctx):
    def pct(directory, policy):
        df = api.gaps(ctx, "icb", hour_of_week=SUNDAY_3AM, policy=policy, directory=directory)
        return df.set_index("region_code")["pct_within_60"].round(4).to_dict()

    # always: A3 (weight 4) has no unit at all in the directory; L0 is 10 min away.
    assert pct("known", "always") == {"R1": 100.0, "R2": round(100 * 5 / 9, 4)}
    assert pct("with-likely", "always") == {"R1": 100.0, "R2": 100.0}
    # exclude: a likely site never counts as open.
    assert pct("known", "exclude") == pct("with-likely", "exclude") == {
        "R1": round(100 * 1 / 6, 4), "R2": round(100 * 5 / 9, 4)}


def test_default_range_spans_known_exclude_to_with_likely_always(ctx):
    df = api.gaps(ctx, "icb", hour_of_week=SUNDAY_3AM, policy="range").set_index("region_code")
    assert df.attrs["directory"] == {"exclude": "known", "always": "with-likely"}
    assert df.loc["R2", "pct_within_60_exclude"] == pytest.approx(100 * 5 / 9)
    assert df.loc["R2", "pct_within_60_always"] == pytest.approx(100.0)
    assert df.loc["R2", "pct_no_open_unit_always"] == 0.0  # A3 (weight 4) now has L0
    assert df.loc["R2", "pct_no_open_unit_exclude"] == pytest.approx(100 * 4 / 9)
    known = api.gaps(ctx, "icb", hour_of_week=SUNDAY_3AM, policy="range", directory="known")
    assert known.attrs["directory"] == {"exclude": "known", "always": "known"}
    assert known.set_index("region_code").loc["R2", "pct_within_60_always"] == pytest.approx(100 * 5 / 9)


def test_completeness_columns(ctx):
    df = api.gaps(ctx, "icb", hour_of_week=SUNDAY_3AM).set_index("region_code")
    assert df.loc["R1", ["placed_units", "units_known_hours", "likely_sites"]].tolist() == [2, 1, 0]
    assert df.loc["R2", ["placed_units", "units_known_hours", "likely_sites"]].tolist() == [1, 1, 1]
    assert df.loc["R1", "completeness"] == 1.0 and df.loc["R2", "completeness"] == 0.5
    assert not df["incomplete"].any() and not df["no_placed_unit"].any()


def test_region_counts_rule():
    out = dirs.region_counts(np.array([0, 0, 1, -1]), np.array([True, False, False, True]),
                             np.array([1, 1, 1, 2, 2]), 4)
    assert out["placed_units"].tolist() == [2, 1, 0, 0]
    assert out["units_known_hours"].tolist() == [1, 0, 0, 0]
    assert out["likely_sites"].tolist() == [0, 3, 2, 0]
    np.testing.assert_allclose(out["completeness"], [1.0, 0.25, 0.0, np.nan])
    assert out["no_placed_unit"].tolist() == [False, False, True, True]
    assert out["incomplete"].tolist() == [False, True, True, True]


def test_whatif_and_rank_take_the_directory(ctx):
    res = api.whatif(ctx, {"L0": "Sa,Su 00:00-24:00"}, policy="exclude", directory="with-likely")
    assert res.changes["hours_before"].tolist() == [""]
    assert res.totals["person_hours_week_gained"] > 0
    with pytest.raises(api.CoverageArgumentError):
        api.whatif(ctx, {"L0": "24/7"}, directory="known")
    ranked = api.rank(ctx, k=4, hours="Sa,Su 00:00-24:00", directory="with-likely")
    assert ranked.attrs["directory"] == "with-likely"
    assert ranked.loc[ranked["unit_id"] == "L0", "likely"].all()
    assert (ranked.loc[ranked["likely"], "hours_before"] == "").all()
    with pytest.raises(api.CoverageArgumentError):
        api.gaps(ctx, "icb", directory="everything")


def test_no_unit_note():
    assert dirs.no_unit_note("Wales", "Wales") == (
        "The directory holds no unit in Wales: these figures use units across the border.")


# --------------------------------------------------------------------------- real build


@pytest.mark.integration
def test_welsh_figures_move_with_the_likely_sites(real_settings):
    ctx = api.load_context(real_settings)
    known = api.gaps(ctx, "lhb", at="2026-11-29T03:00", policy="always", directory="known")
    likely = api.gaps(ctx, "lhb", at="2026-11-29T03:00", policy="always", directory="with-likely")
    k, w = known.set_index("region_code"), likely.set_index("region_code")
    assert (k["placed_units"] == 0).all() and (k["no_placed_unit"]).all()  # no Welsh unit
    assert (w["median_minutes"] <= k["median_minutes"]).all()
    assert (w["median_minutes"] < k["median_minutes"] - 20).sum() >= 5
    assert (w["pct_within_60"] >= k["pct_within_60"]).all()
    assert w.loc["W11000025", "pct_within_60"] > k.loc["W11000025", "pct_within_60"] + 50  # Hywel Dda
    nation = api.gaps(ctx, "nation", at="2026-11-29T03:00", policy="range").set_index("region_code")
    assert nation.attrs["directory"] == {"exclude": "known", "always": "with-likely"}
    assert nation.loc["Wales", "completeness"] == 0.0 and nation.loc["Wales", "likely_sites"] >= 15
    assert 0 < nation.loc["England", "completeness"] < 1


@pytest.mark.integration
def test_gaps_cli_carries_completeness(real_settings, capsys):
    from epu_mapper import cli

    assert cli.main(["gaps", "--level", "lhb", "--at", "2026-11-29T03:00", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert all({"placed_units", "units_known_hours", "likely_sites", "completeness"} <= set(r)
               for r in out["regions"])
    assert cli.main(["gaps", "--level", "nation", "--at", "2026-11-29T03:00", "--policy", "range"]) == 0
    assert "The directory holds no unit in Wales: these figures use units across the border." in \
        capsys.readouterr().out
    assert cli.main(["rank", "--k", "2", "--directory", "with-likely", "--csv"]) == 0
    assert "likely" in capsys.readouterr().out.splitlines()[0]


def test_ui_completeness_words_and_outline(ctx):
    from epu_mapper.ui import completeness as uc
    from epu_mapper.ui import leaflet_payload, maps

    row = {"placed_units": 12, "units_known_hours": 2, "likely_sites": 15, "completeness": 12 / 27}
    assert uc.completeness_text(row) == ("12 units placed (2 with hours), 15 likely sites without "
                                         "a record: directory 44 % complete")
    table = pd.DataFrame({"region_code": ["W1", "E1"], "region_name": ["Wales", "England"],
                          "nation": ["Wales", "England"], "no_placed_unit": [True, False],
                          "incomplete": [True, False]})
    assert uc.no_unit_sentences(table) == [
        "The directory holds no unit in Wales: these figures use units across the border."]
    geo = maps.prepare_geometry({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"region_code": c, "region_name": c},
         "geometry": {"type": "Point", "coordinates": [0, 0]}} for c in ("E1", "W1")]})
    m = maps.base_map(bounds=((50, -5), (55, 0)))
    assert uc.add_incomplete(m, geo, table) == 1
    script = leaflet_payload.map_script(m)
    assert "dashArray" in script and "[1]" in script and uc.LEGEND_TITLE in script
    assert uc.add_incomplete(maps.base_map(), geo, table.assign(incomplete=False)) == 0
