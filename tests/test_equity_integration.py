"""Women 15-44 weights, deprivation deciles, car access and ``equity`` on the real UK data.

Published figures used for the Northern Ireland plausibility check:

* NISRA, Census 2021 first results (24 May 2022): 967,000 females usually resident in NI.
* NISRA Registrar General Annual Report 2021 (published 21 Sep 2022): 22,071 births
  registered in NI in 2021.

No published NI count of women aged 15-44 is in the data directory, so the check is that the
estimate is a plausible share of NI's women (34-42 %; the GB weights give 37 % for Scotland)
and that it implies a general fertility rate (births per 1,000 women aged 15-44) of 50-75,
the range of the UK nations in recent years.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from epu_mapper import api, cli

pytestmark = pytest.mark.integration

NI_FEMALES_CENSUS_2021 = 967_000
NI_BIRTHS_2021 = 22_071


@pytest.fixture(scope="module")
def ctx(real_settings):
    return api.load_context(real_settings)


@pytest.fixture(scope="module")
def area_equity(ctx):
    from epu_mapper.api.equity_view import area_equity

    return area_equity(ctx)


def test_ni_women_15_44_is_plausible(ctx):
    d = ctx.demand
    ni = d.loc[d["nation"] == "Northern Ireland", "weight"].sum()
    assert 0.34 < ni / NI_FEMALES_CENSUS_2021 < 0.42
    assert 50 < 1000 * NI_BIRTHS_2021 / ni < 75
    sc = d[d["nation"] == "Scotland"]
    # the same kind of ratio in Scotland (exact census counts): women 15-44 per resident
    assert abs(ni / d.loc[d["nation"] == "Northern Ireland", "population"].sum()
               - sc["weight"].sum() / sc["population"].sum()) < 0.02


def test_every_weight_is_women_15_44(ctx):
    assert set(ctx.demand["weight_kind"]) == {"female_15_44_estimate", "female_15_44_census"}
    ew = ctx.demand[ctx.demand["area_type"] == "LSOA21"]
    assert (ew["centroid_method"] == "ons_population_weighted_centroid").all()


def test_every_area_has_a_decile(ctx, area_equity):
    t = area_equity
    assert len(t) == len(ctx.demand) and (t["area_code"] == ctx.demand["area_code"]).all()
    assert t["dep_decile"].between(1, 10).all() and t["dep_quintile"].between(1, 5).all()
    assert t["uk_decile"].between(1, 10).all()
    for nation, part in t.groupby("nation"):
        sizes = part["dep_decile"].value_counts()
        assert sizes.max() - sizes.min() <= (90 if nation == "Northern Ireland" else 12), nation
    eng = t[t["nation"] == "England"]
    assert eng["core20"].sum() == 6_751 and not t.loc[t["nation"] != "England", "core20"].any()
    assert t.loc[t["nation"] == "Northern Ireland", "dep_approximate"].all()


def test_car_access_only_where_the_census_table_exists(ctx, area_equity):
    t = area_equity
    ew = t["nation"].isin(["England", "Wales"])
    assert t.loc[ew, "pct_no_car"].notna().all() and t.loc[~ew, "pct_no_car"].isna().all()
    assert t.loc[ew, "hh_no_car"].sum() == 5_777_807  # raw/SOURCES.md check of TS045
    assert t.loc[ew, "high_no_car"].mean() == pytest.approx(0.2, abs=0.001)


@pytest.mark.parametrize("level", api.LEVELS)
def test_quintile_weights_sum_to_the_region_weight(ctx, level):
    res = api.equity(ctx, level, hour_of_week=147)
    regions = api.gaps(ctx, level, hour_of_week=147).set_index("region_code")["weight"]
    for band, part in res.by_group.groupby("band"):
        sums = part.groupby("region_code")["weight"].sum()
        np.testing.assert_allclose(sums.to_numpy(), regions.reindex(sums.index).to_numpy(),
                                   rtol=1e-9, err_msg=band)
    assert (res.summary["weight_without_group"].abs() < 1e-6).all()
    assert set(res.by_group["region_code"]) == set(regions.index)


def test_car_grouping_leaves_out_scotland_and_ni(ctx):
    res = api.equity(ctx, "nation", hour_of_week=59, by="car")
    assert set(res.by_group["region_code"]) == {"England", "Wales"}
    assert "Scotland and Northern Ireland have no car figure" in res.attrs["by_note"]


def test_weight_change_shows_in_gaps_json(ctx, capsys):
    assert cli.main(["gaps", "--level", "nation", "--at", "2026-11-29T03:00", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    kinds = {r["region_code"]: r["weight_kind"] for r in out["regions"]}
    assert kinds["Northern Ireland"] == "female_15_44_estimate"
    assert all(k.startswith("female_15_44") for k in kinds.values())
    assert "Northern Ireland: estimate" in out["weight_note"]
    ni = next(r for r in out["regions"] if r["region_code"] == "Northern Ireland")
    uk = sum(r["weight"] for r in out["regions"])
    # NI's share of the UK weight is now its share of women 15-44 (about 3 %), not 13.5 %
    assert ni["weight"] / uk < 0.04


def test_double_disadvantage_list_is_consistent(ctx, area_equity):
    dd = api.double_disadvantage(ctx, "lad")
    t = area_equity.set_index("area_code").loc[dd["area_code"]]
    assert (t["dep_quintile"] == 1).all() and t["high_no_car"].all()
    far = (dd["night_median_minutes"] > 60) | (dd["weekend_median_minutes"] > 60)
    assert far.all() and set(dd["nation"]) <= {"England", "Wales"}
    assert len(dd) == len(pd.unique(dd["area_code"]))
