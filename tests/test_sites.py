"""The likely-EPU site rule (:mod:`epu_mapper.sites`) on the real hospital files, both ways,
and the directory matching on small hand-made tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from epu_mapper import sites, sources
from epu_mapper.units import load_units


@pytest.fixture(scope="module")
def matched(real_settings):
    raw = sources.read_hospital_inputs(real_settings)
    raw["hosp_nhsuk"] = sources.read_csv("hosp_nhsuk", real_settings, dtype=str,
                                         usecols=["OrganisationCode", "Phone"])
    units = load_units(settings=real_settings)
    codes = set(units["site_code"].fillna("").str.upper()) - {""}
    return sites.match_directory(sites.acute_sites(raw, codes), units)


def _row(df: pd.DataFrame, name: str) -> pd.Series:
    hit = df[df["name"].str.fullmatch(name, case=False)]
    assert len(hit) == 1, f"{name}: {len(hit)} rows"
    return hit.iloc[0]


@pytest.mark.parametrize("name", [
    "Leicester Royal Infirmary", "Derriford Hospital", "University Hospital of Wales",
    "Altnagelvin Hospital", "Western Isles Hospital", "Grange University Hospital",
    "University Hospital Wishaw", "Ysbyty Gwynedd", "Ninewells Hospital",
])
def test_acute_general_hospitals_without_a_unit_are_likely(matched, name):
    row = _row(matched, name)
    assert row["unit_id"] == ""
    assert row["evidence"]


@pytest.mark.parametrize(("name", "needle"), [
    ("Alder Hey Children's Hospital", "children's"),
    ("Great Ormond Street Hospital Central London Site", "children's"),
    ("Noahs Ark Childrens Hospital For Wales", "children's"),
    ("Princess Alexandra Eye Pavilion", "eye"),
    ("Velindre Cancer Centre", "cancer"),
    ("Glasgow Dental Hospital", "dental"),
    ("Cowlairs (TSSU)", "sterile services"),
    ("Chirk Community Hospital", "community"),
    ("Royal Edinburgh Hospital", None),
])
def test_specialist_sites_are_left_out(matched, name, needle):
    assert not matched["name"].str.fullmatch(name, case=False).any()
    if needle:
        assert sites.specialist_reason(pd.Series([name])).iloc[0] == needle


def test_rcpch_service_suffix_does_not_drop_an_acute_site(matched):
    assert sites.specialist_reason(pd.Series(["LISTER HOSPITAL AND COMMUNITY PAEDIATRICS"])).iloc[0] == ""
    assert _row(matched, "Lister Hospital")["unit_id"] == "RWH01"


def test_sites_with_a_unit_are_matched_never_counted_twice(matched):
    assert _row(matched, "Russells Hall Hospital")["match"] == "site_code"
    # Aberdeen Royal Infirmary shares a campus with the directory's Aberdeen Maternity Hospital.
    ari = _row(matched, "Aberdeen Royal Infirmary")
    assert (ari["unit_id"], ari["match"]) == ("N161H", "distance")
    assert _row(matched, "Craigavon Area Hospital")["match"] in {"postcode", "distance"}
    likely = sites.likely_sites(matched)
    assert not likely["site_id"].duplicated().any()
    assert (likely["match_km"] > sites.SAME_SITE_KM).all()
    assert set(likely["nation"]) == {"England", "Wales", "Scotland", "Northern Ireland"}
    assert 120 <= len(likely) <= 320


def test_evidence_and_phone(matched):
    lri = _row(matched, "Leicester Royal Infirmary")
    assert lri["phone"] == "0300 303 1573"  # NHS.uk 2020 file
    assert "RCPCH" in lri["evidence"]
    rvh = _row(matched, "Royal Victoria Hospital")
    assert "unnamed site" in rvh["evidence"]  # Belfast Trust's directory unit has no site


def test_match_directory_by_code_postcode_and_distance():
    s = pd.DataFrame({
        "site_id": ["A1", "B1", "C1", "D1"], "name": ["A", "B", "C", "D"],
        "site_code": ["A1", "B1", None, "D1"], "organisation": ["x", "Toy NHS Trust", "y", "z"],
        "nation": "England", "postcode": ["AA1 1AA", "BB1 1BB", "CC1 1CC", "DD1 1DD"],
        "lat": [51.0, 52.0, 53.0, 54.0], "lon": [-1.0, -1.0, -1.0, -1.0], "phone": None,
        "source": "t", "evidence": "e",
    })
    u = pd.DataFrame({
        "unit_id": ["u1", "u2", "u3", "u4"], "site_code": ["A1", "", "", ""],
        "postcode": ["ZZ1 1ZZ", "cc11cc", "", ""], "lat": [51.0, 50.0, 53.004, np.nan],
        "lon": [-1.0, -2.0, -1.0, np.nan], "mappable": [True, True, True, False],
        "organisation": ["", "", "", "Toy NHS Foundation Trust"],
    })
    m = sites.match_directory(s, u)
    assert m["unit_id"].tolist() == ["u1", "", "u2", ""]
    assert m["match"].tolist() == ["site_code", "", "postcode", ""]
    assert "unnamed site" in m.loc[1, "evidence"] and "unnamed" not in m.loc[3, "evidence"]
    far = sites.match_directory(s.iloc[[3]], u.assign(lat=[54.02, 0, 0, 0], lon=-1.0, mappable=True,
                                                       postcode="", site_code=""))
    assert far["unit_id"].tolist() == [""]  # 2.2 km away: another site
    assert sites.likely_sites(m)["site_id"].tolist() == ["B1", "D1"]


def test_assign_areas_stays_in_the_sites_nation():
    s = pd.DataFrame({"site_id": ["w"], "nation": ["Wales"], "lat": [51.6], "lon": [-2.9]})
    demand = pd.DataFrame({"area_code": ["E1", "W1"], "nation": ["England", "Wales"],
                           "lat": [51.6, 51.0], "lon": [-2.9, -3.5]})
    regions = pd.DataFrame({"area_code": ["E1", "W1"], "nation": ["England", "Wales"],
                            "lhb_code": [None, "W11"]})
    out = sites.assign_areas(s, demand, regions)
    assert out.loc[0, "area_code"] == "W1" and out.loc[0, "lhb_code"] == "W11"


@pytest.mark.integration
def test_sites_list_cli(real_settings, capsys):
    import json

    from epu_mapper import cli

    assert cli.main(["sites", "list", "--level", "lhb", "--region", "w11000023", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert {s["name"] for s in out["sites"]} == {"Wrexham Maelor Hospital", "Ysbyty Glan Clwyd",
                                                 "Ysbyty Gwynedd"}
    assert all(s["lhb_code"] == "W11000023" and s["evidence"] for s in out["sites"])
    assert cli.main(["sites", "list", "--region", "X"]) == 2
    assert cli.main(["sites", "list", "--level", "planet"]) == 2
    assert cli.main(["sites", "list", "--csv"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].startswith("site_id,name,site_code") and len(lines) > 100
