"""Women 15-44 weights, deprivation deciles, car access and equity statistics on hand-checkable
fixtures (offline). The tiny raw files are described in ``tests/_tiny_raw.py``."""

from __future__ import annotations

import dataclasses
import shutil

import numpy as np
import pandas as pd
import pytest

from epu_mapper import build as b
from epu_mapper import deprivation as dep
from epu_mapper import equity as eq
from epu_mapper import population as pop
from epu_mapper.settings import get_settings


@pytest.fixture(scope="module")
def tiny_build(tmp_path_factory, tiny_raw):
    root = tmp_path_factory.mktemp("eqbuild")
    raw = root / "raw"
    shutil.copytree(tiny_raw, raw)
    s = dataclasses.replace(get_settings(), data_dir=raw, build_dir=root / "build")
    manifest = b.build(s, only=["demand", "equity"], expected=None, quiet=True)
    return s, manifest


# --------------------------------------------------------------------------- weights


def test_women_15_44_weights_by_hand(tiny_build):
    s, manifest = tiny_build
    d = pd.read_parquet(s.build_dir / "demand.parquet").set_index("area_code")
    assert d.loc["E01000001", "weight"] == pytest.approx(240.0)   # 400 x 0.6
    assert d.loc["E01000002", "weight"] == pytest.approx(425.0)   # 1000 x (75 + 180) / 600
    assert d.loc["W01000001", "weight"] == pytest.approx(270.0)   # 600 x 0.45
    assert d.loc["S01000001", "weight"] == pytest.approx(150.0)   # census count
    assert d.loc["N21000001", "weight"] == pytest.approx(550.0)   # 2500 x 1100 / 5000
    assert set(d["weight_kind"]) == {"female_15_44_estimate", "female_15_44_census"}
    women = manifest["steps"]["demand"]["checks"]["women_15_44"]
    assert women["ni_profile_scotland"] == {"a_15_19_of_0_19": 0.25, "b_20_44_of_20_64": 0.5556}
    assert women["ew_official_centroids"] == 2 and women["ew_proxy_centroids_kept"] == 1


def test_official_centroids_replace_the_proxy_and_flag_the_rest(tiny_build):
    s, _ = tiny_build
    d = pd.read_parquet(s.build_dir / "demand.parquet").set_index("area_code")
    assert (d.loc["E01000001", "lat"], d.loc["E01000001", "lon"]) == (51.5005, -0.1005)
    assert d.loc["E01000001", "centroid_method"] == "ons_population_weighted_centroid"
    assert d.loc["E01000002", "lat"] == 51.52  # the proxy point, kept and flagged
    assert d.loc["E01000002", "centroid_method"] == "postcode_median_snapped;no_official_centroid"


def test_ew_share_falls_back_to_half_only_without_a_linked_lsoa11():
    lsoa = pd.DataFrame({"lsoa21_code": ["E1", "E2"], "est_persons_15_44": [100.0, 80.0]})
    shares = pd.DataFrame({"female_share_15_44": [0.52]}, index=pd.Index(["E1"], name="lsoa21_code"))
    w, note = pop.ew_women_15_44(lsoa, shares)
    assert w.tolist() == pytest.approx([52.0, 40.0])
    assert note.tolist() == [pop.EW_NOTE, pop.EW_FALLBACK_NOTE]


# --------------------------------------------------------------------------- deprivation


def test_area_equity_table_by_hand(tiny_build):
    s, _ = tiny_build
    t = pd.read_parquet(s.build_dir / "area_equity.parquet").set_index("area_code")
    assert t.loc["E01000001", ["dep_decile", "dep_quintile", "core20"]].tolist() == [1, 1, True]
    assert t.loc["E01000002", ["dep_decile", "dep_quintile", "core20"]].tolist() == [9, 5, False]
    assert t.loc["S01000001", "dep_decile"] == 2  # ceil(700 x 10 / 6,976)
    # the only Welsh / NI area of the fixture: re-ranked 1 of 1 -> decile 10; NI approximate
    assert t.loc["N21000001", "dep_rank"] == pytest.approx(275.0)  # 0.75 x 100 + 0.25 x 800
    assert bool(t.loc["N21000001", "dep_approximate"]) and not t.loc["S01000001", "dep_approximate"]
    assert t.loc["E01000002", "uk_decile"] == 7 and t.loc["N21000001", "uk_decile"] == 2
    assert t.loc["E01000001", "pct_no_car"] == 50.0
    assert t["no_car_quintile"].to_dict() == {"E01000001": 5, "E01000002": 2, "N21000001": 0,
                                              "S01000001": 0, "W01000001": 4}
    assert t["high_no_car"].sum() == 1 and np.isnan(t.loc["S01000001", "pct_no_car"])
    assert (t["dep_decile"] > 0).all()


def test_mapped_deciles_are_reranked_within_the_nation():
    areas = pd.DataFrame({"area_code": [f"N{i}" for i in range(10)], "nation": "Northern Ireland"})
    raw = {
        "imd": pd.DataFrame(columns=["lsoa21_code", "IMD_rank", "IMD_decile"]),
        "wimd": pd.DataFrame(columns=["lsoa11_code", "IMD_rank"]),
        "simd": pd.DataFrame(columns=["dz11_code", "IMD_rank"]),
        "nimdm": pd.DataFrame({"soa01_code": [f"S{i}" for i in range(10)],
                               "IMD_rank": [890 - 80 * i for i in range(10)]}),
        "crosswalk": pd.DataFrame({"sdz21_code": [f"N{i}" for i in range(10)],
                                   "soa01_code": [f"S{i}" for i in range(10)],
                                   "share_of_sdz21_area": 1.0}),
        "uk": pd.DataFrame(columns=["nation", "area_code", "UK_IMD_E_pop_decile"]),
        "lookup11": pd.DataFrame(columns=["lsoa11_code", "lsoa21_code", "change_code"]),
    }
    t = dep.area_deprivation(areas, raw)
    # ranks 890, 810, ... 170: N9 is the most deprived of the ten -> decile 1, N0 -> 10
    assert t["dep_decile"].tolist() == list(range(10, 0, -1))
    assert t["dep_quintile"].tolist() == [5, 5, 4, 4, 3, 3, 2, 2, 1, 1]


def test_decile_from_rank():
    assert dep.decile_from_rank(np.array([1, 190.9, 191, 1909, np.nan]), 1909).tolist() == [1, 1, 2, 10, 0]


# --------------------------------------------------------------------------- statistics


def test_concentration_index_by_hand():
    one = np.zeros(4, dtype=np.int64)
    # equal weights, two groups: r = 0.25, 0.75; CI = 2 x 0.5 / (4 x 0.5) = 0.5
    ci = eq.concentration_index(np.array([0, 0, 1, 1.0]), np.ones(4), np.array([1, 1, 2, 2]), one, 1)
    assert ci[0] == pytest.approx(0.5)
    # weights 3 and 1, access only in the more deprived area: r = 0.375, 0.875, ybar = 0.75
    # sum = 3 x 0.25 x -0.125 + 1 x -0.75 x 0.375 = -0.375 -> CI = 2 x -0.375 / 3 = -0.25
    ci = eq.concentration_index(np.array([1.0, 0]), np.array([3.0, 1]), np.array([1, 2]),
                                np.zeros(2, dtype=np.int64), 1)
    assert ci[0] == pytest.approx(-0.25)
    # equal access -> 0; nobody covered -> NaN
    assert eq.concentration_index(np.ones(4), np.ones(4), np.array([1, 2, 3, 4]), one, 1)[0] == 0
    assert np.isnan(eq.concentration_index(np.zeros(4), np.ones(4), np.array([1, 2, 3, 4]), one, 1)[0])


def test_group_statistics_by_hand():
    # one region, quintile 1 = two areas (weights 1 and 3), quintile 5 = one area (weight 2)
    minutes = np.array([20.0, 70.0, 100.0])
    w = np.array([1.0, 3.0, 2.0])
    st = eq.group_statistics(eq.slot_area_summary(minutes), w, np.array([0, 0, 4]), 5)
    assert st.loc[0, "weight"] == 4 and st.loc[4, "weight"] == 2
    assert st.loc[0, "pct_within_30"] == 25.0 and st.loc[0, "pct_within_90"] == 100.0
    assert st.loc[0, "median_minutes"] == 70.0  # lower weighted median
    assert st.loc[4, "pct_within_90"] == 0.0
    assert np.isnan(st.loc[2, "pct_within_60"])


def _week(n_areas: int, open_minutes: np.ndarray, night_inf: bool) -> np.ndarray:
    m = np.repeat(open_minutes[:, None], 192, axis=1).astype(np.float32)
    if night_inf:
        m[:, eq.band_masks()["night"]] = np.inf
    return m


def test_equity_tables_quintile_weights_sum_to_the_region():
    minutes = np.array([20.0, 70.0, 100.0, 40.0])
    w = np.array([1.0, 3.0, 2.0, 5.0])
    region = np.array([0, 0, 0, 1])
    group = np.array([1, 1, 5, 3])
    week = _week(4, minutes, night_inf=True)
    by, summ = eq.equity_tables(minutes, eq.band_area_summaries(week), w, region, 2, group, 5)
    sel = by[by["band"] == "selected"]
    sums = sel.groupby("region")["weight"].sum()
    assert sums.tolist() == [6.0, 5.0]
    s0 = summ[(summ["band"] == "selected") & (summ["region"] == 0)].iloc[0]
    assert s0["gap_pct_within_60"] == pytest.approx(25.0 - 0.0)
    assert s0["gap_median_minutes"] == pytest.approx(70.0 - 100.0)
    night = by[(by["band"] == "night") & (by["region"] == 1) & (by["group"] == 3)].iloc[0]
    assert night["pct_within_60"] == 0 and np.isinf(night["median_minutes"])
    wk = by[(by["band"] == "week") & (by["region"] == 1) & (by["group"] == 3)].iloc[0]
    assert wk["hours_covered"] == 168 - 70  # 10 night hours x 7 days without a unit
    assert set(by["band"]) == {"selected", *eq.BANDS}


def test_double_disadvantage():
    got = eq.double_disadvantage(np.array([1, 1, 1, 2]), np.array([True, True, False, True]),
                                 np.array([90.0, 30, 90, 90]), np.array([30.0, 61, 30, 90]))
    assert got.tolist() == [True, True, False, False]
