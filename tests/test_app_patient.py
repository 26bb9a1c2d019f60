"""The Find page's nearer-hospital card and nation-specific urgent advice (AppTest): offline on
the fixture with a fixed patient answer, and on the real build for an English, a Welsh, a Scottish
and a Northern Irish postcode."""

from __future__ import annotations

import re

import pandas as pd
import pytest
from test_app import _app, _find, _no_failures, _texts, fixture_app  # noqa: F401 - a fixture

from epu_mapper import urgent
from epu_mapper.api import hospitals


def _plain(text: str) -> str:
    """Markdown-escaped text as the reader sees it (HTML entities stay escaped)."""
    return re.sub(r"\\(.)", r"\1", text)


def test_nearer_card_comes_first_and_is_escaped(fixture_app, monkeypatch):  # noqa: F811
    likely = pd.DataFrame({"site_id": ["X1"], "name": ["Llan <b>General</b>"], "organisation": ["B"],
                           "nation": ["Wales"], "postcode": ["CF14 4XW"], "phone": ["029 2074 7747"],
                           "evidence": ["e"], "minutes": [3.0], "km": [2.0], "engine": ["estimate"],
                           "approximate": [True], "lat": [52.1], "lon": [-1.0]})
    nearer = {**likely.iloc[0].to_dict(), "kind": "likely_site", "unit_minutes": 40.0}
    urgent_route = {"nation": "Wales", "helpline": urgent.helpline("Wales"), "emergency_number": "999",
                    "a_and_e": {"name": "Llan General", "minutes": 3.0, "approximate": True}}
    monkeypatch.setattr(hospitals, "patient_extras", lambda ctx, o, u: (likely, urgent_route, nearer))
    at = _app("find")
    _find(at, "CF14 4XW")
    _no_failures(at)
    card = _plain(at.warning[0].value)
    assert card.startswith("Nearer hospital: Llan &lt;b&gt;General&lt;/b&gt;, about 3 min")
    assert "it may have one" in card and "<b>" not in card
    text = _plain(_texts(at))
    assert "NHS 111 Wales on 111" in text and "call 999" in text
    assert "Nearest hospital A&amp;E: Llan General" in text
    assert "may have an early pregnancy unit" in text


@pytest.mark.integration
@pytest.mark.parametrize(("postcode", "hospital", "helpline"), [
    ("LE15 6RB", "Leicester Royal Infirmary", "call NHS 111 on 111"),
    ("CF14 4XW", "University Hospital of Wales", "call NHS 111 Wales on 111"),
    ("HS1 2BW", "Western Isles Hospital", "call NHS 24 on 111"),
    ("BT48 6DQ", "Altnagelvin Hospital", "Northern Ireland has no 111 service"),
])
def test_real_find_offers_the_nearer_hospital_and_the_nations_helpline(real_settings, postcode,
                                                                       hospital, helpline):
    at = _app()
    _find(at, postcode)
    _no_failures(at)
    cards = [_plain(w.value) for w in at.warning if _plain(w.value).startswith("Nearer hospital")]
    assert cards, [w.value for w in at.warning]
    text = _plain(_texts(at))
    assert helpline.replace("&", "&amp;") in text
    assert hospital in text
    if postcode != "LE15 6RB":  # Oakham: Leicester and Grantham are equally near
        assert hospital in cards[0]


@pytest.mark.integration
def test_real_gaps_page_says_when_a_region_has_no_unit(real_settings):
    at = _app("gaps")
    at.selectbox(key="gaps_level").set_value("nation")
    at.run()
    _no_failures(at)
    warnings = [_plain(w.value) for w in at.warning]
    assert "The directory holds no unit in Wales: these figures use units across the border." in warnings
    assert any("Dashed purple outline" in c.value for c in at.caption)
    ranked = at.dataframe[0].value
    assert {"placed_units", "likely_sites", "directory complete %"} <= set(ranked.columns)
