"""The patient answer beside the directory: nearer hospital, likely sites and the urgent route
(pure text and rules offline; the named postcodes on the real build)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from epu_mapper import urgent
from epu_mapper.ui import patient


def test_helpline_per_nation():
    assert urgent.helpline("England")["name"] == "NHS 111"
    assert urgent.helpline("Wales")["name"] == "NHS 111 Wales"
    scot = urgent.helpline("Scotland")
    assert (scot["name"], scot["phone"]) == ("NHS 24", "111")
    ni = urgent.helpline("Northern Ireland")
    assert ni["phone"] is None and "GP Out-of-Hours" in ni["name"]
    assert urgent.helpline(None)["nation_known"] is False


def test_helpline_text_per_nation():
    assert "call NHS 111 on 111" in patient.helpline_text(urgent.helpline("England"))
    assert "NHS 111 Wales on 111" in patient.helpline_text(urgent.helpline("Wales"))
    assert "NHS 24 on 111" in patient.helpline_text(urgent.helpline("Scotland"))
    ni = patient.helpline_text(urgent.helpline("Northern Ireland"))
    assert "no 111 service" in ni and "GP Out-of-Hours" in ni and "111 (" not in ni


def _sites(names, minutes, unit_ids=None):
    return pd.DataFrame({"site_id": names, "name": names, "minutes": minutes,
                         "unit_id": unit_ids or [""] * len(names)})


def test_nearer_hospital_rule():
    likely = _sites(["A", "B"], [40.0, 20.0])
    acute = pd.concat([likely, _sites(["C"], [10.0], ["u1"])])
    near = urgent.nearer_hospital(likely, acute, 30.0, {"u9"})
    assert (near["name"], near["kind"]) == ("B", "likely_site")
    assert urgent.nearer_hospital(likely, acute, 15.0, {"u1"}) is None  # C hosts a shown unit
    near = urgent.nearer_hospital(likely, acute, 15.0, {"u9"})
    assert (near["name"], near["kind"]) == ("C", "acute_hospital")
    assert urgent.nearer_hospital(likely.iloc[0:0], acute.iloc[0:0], np.inf, set()) is None
    assert urgent.nearer_hospital(_sites(["D"], [np.nan]), acute.iloc[0:0], np.inf, set()) is None
    assert urgent.nearer_hospital(_sites(["D"], [90.0]), acute.iloc[0:0], np.inf, set())["name"] == "D"


def test_nearer_hospital_text():
    text = patient.nearer_hospital_text({"name": "Leicester Royal Infirmary", "minutes": 36.6,
                                         "approximate": True, "phone": "0300 303 1573",
                                         "kind": "likely_site"})
    assert text == ("Nearer hospital: Leicester Royal Infirmary, about 37 min (estimate). We hold no "
                    "early pregnancy unit information for it; it may have one — phone the hospital "
                    "on 0300 303 1573.")
    assert patient.nearer_hospital_text(None) == ""
    other = patient.nearer_hospital_text({"name": "X", "minutes": 5, "kind": "acute_hospital"})
    assert "does not match your filters" in other


def test_urgent_lines():
    lines = patient.urgent_lines({"helpline": urgent.helpline("Scotland"), "emergency_number": "999",
                                  "a_and_e": {"name": "Western Isles Hospital", "minutes": 5.2,
                                              "approximate": True}})
    assert lines[0].startswith("If you have heavy bleeding") and "999" in lines[0]
    assert "NHS 24 on 111" in lines[1]
    assert lines[2].startswith("Nearest hospital A&E: Western Isles Hospital, about 5 min")
    assert len(patient.urgent_lines({"helpline": urgent.helpline("Wales"), "a_and_e": None})) == 2


# --------------------------------------------------------------------------- real build


@pytest.fixture(scope="module")
def ctx(real_settings):
    from epu_mapper import api

    return api.load_context(real_settings)


def _answer(ctx, postcode, at="2026-11-29T02:00"):
    from epu_mapper import api

    return api.nearest(ctx, postcode, at=at)


@pytest.mark.integration
@pytest.mark.parametrize(("postcode", "hospital", "nation", "helpline"), [
    ("LE15 6RB", "Leicester Royal Infirmary", "England", "NHS 111"),
    ("CF14 4XW", "University Hospital of Wales", "Wales", "NHS 111 Wales"),
    ("BT48 6DQ", "Altnagelvin Hospital", "Northern Ireland", "GP Out-of-Hours"),
    ("PL6 8DH", "Derriford Hospital", "England", "NHS 111"),
    ("HS1 2BW", "Western Isles Hospital", "Scotland", "NHS 24"),
])
def test_named_postcodes_offer_the_nearer_hospital(ctx, postcode, hospital, nation, helpline):
    res = _answer(ctx, postcode)
    likely = res.likely_sites
    assert hospital in likely["name"].tolist()
    site = likely[likely["name"] == hospital].iloc[0]
    open_units = res.units[res.units["state"] == "open"]
    reference = (open_units if not open_units.empty else res.units)["minutes"].min()
    assert site["minutes"] < reference  # offered before the unit we would send her to
    assert res.nearer is not None and res.nearer["kind"] == "likely_site"
    assert res.nearer["minutes"] <= site["minutes"]
    assert res.urgent["nation"] == nation and res.urgent["helpline"]["name"] == helpline
    assert res.urgent["a_and_e"]["minutes"] <= site["minutes"]


@pytest.mark.integration
def test_oakham_offers_leicester_before_coventry(ctx):
    res = _answer(ctx, "LE15 6RB")
    cov_row = res.units[res.units["unit_id"] == "RKB01"].iloc[0]
    assert cov_row["state"] == "open"
    lri = res.likely_sites[res.likely_sites["name"] == "Leicester Royal Infirmary"].iloc[0]
    assert lri["minutes"] < cov_row["minutes"] - 20
    assert res.nearer["name"] in set(res.likely_sites["name"])


@pytest.mark.integration
def test_every_likely_sites_own_postcode_offers_it_first(ctx, real_settings):
    """The rule is general: from a likely site's own postcode, that site (or one as near) comes
    before every directory unit — checked on every 7th likely site with a GB postcode."""
    likely = pd.read_parquet(real_settings.build_dir / "likely_sites.parquet")
    sample = likely[likely["nation"] != "Northern Ireland"].iloc[::7]
    for row in sample.itertuples():
        res = _answer(ctx, row.postcode)
        assert res.nearer is not None, row.name
        own = res.likely_sites[res.likely_sites["site_id"] == row.site_id]
        assert not own.empty and res.nearer["minutes"] <= own["minutes"].iloc[0] + 1e-6, row.name
        assert own["minutes"].iloc[0] < res.units["minutes"].min() or own["minutes"].iloc[0] < 8, row.name


@pytest.mark.integration
def test_nearest_json_has_likely_sites_and_urgent(capsys):
    from epu_mapper import cli

    assert cli.main(["nearest", "CF14 4XW", "--at", "2026-11-29T03:00", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["likely_sites"][0]["name"] == "University Hospital of Wales"
    assert {"minutes", "km", "engine", "approximate"} <= set(out["likely_sites"][0])
    assert out["urgent"]["helpline"]["name"] == "NHS 111 Wales"
    assert out["urgent"]["a_and_e"]["name"] == "University Hospital of Wales"
    assert out["nearer_hospital"]["kind"] == "likely_site"
    assert cli.main(["nearest", "BT48 6DQ", "--at", "2026-11-29T03:00"]) == 0
    text = capsys.readouterr().out
    first = next(ln for ln in text.splitlines() if ln.startswith(("Nearer hospital", "- ", "If you")))
    assert first.startswith("Nearer hospital: Altnagelvin Hospital, about")  # before every unit
    assert "Northern Ireland has no 111 service" in text


def test_nearer_pick_on_times_alone():
    nan = np.nan
    assert urgent.nearer_pick(np.array([nan, 20.0, 12.0]), np.array([5.0]), 30.0) == ("likely_site", 2)
    assert urgent.nearer_pick(np.array([40.0]), np.array([nan, 25.0]), 30.0) == ("acute_hospital", 1)
    assert urgent.nearer_pick(np.array([30.0]), np.array([30.0]), 30.0) is None  # not nearer: equal
    assert urgent.nearer_pick(np.array([]), np.array([]), np.inf) is None
    assert urgent.nearer_pick(np.array([90.0]), np.array([]), nan) == ("likely_site", 0)  # no unit
