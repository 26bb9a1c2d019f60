"""AppTest of the Equity page ("Who is far from care") on the tiny fixture (offline)."""

from __future__ import annotations

from test_app import _app, _no_failures, _texts, fixture_app  # noqa: F401 (pytest fixture)
from test_equity_api import write_area_equity


def test_equity_page_chart_table_downloads(fixture_app, tmp_path):  # noqa: F811
    write_area_equity(fixture_app.settings.build_dir)
    at = _app("equity")
    _no_failures(at)
    assert at.title[0].value == "Who is far from care"
    assert at.get("arrow_vega_lite_chart") or at.get("vega_lite_chart")
    table = at.dataframe[0].value
    assert {"region", "group", "% within 60 min"} <= set(table.columns)
    labels = [b.label for b in at.get("download_button")]
    assert {"All bands CSV", "Inequality summary CSV", "Double disadvantage CSV"} <= set(labels)
    for by in ("car", "core20", "uk-deprivation"):
        at.selectbox(key="eq_by").set_value(by)
        at.run()
        _no_failures(at)
    at.radio(key="eq_preset").set_value("Sunday 03:00")
    at.selectbox(key="eq_by").set_value("deprivation")
    at.run()
    _no_failures(at)
    assert "points less likely" in _texts(at)
    assert "Double disadvantage" in _texts(at)


def test_equity_page_without_the_table_offers_the_build(fixture_app):  # noqa: F811
    at = _app("equity")
    _no_failures(at)
    assert "data build" in _texts(at)


def test_scenarios_page_shows_the_equity_effect(fixture_app):  # noqa: F811
    write_area_equity(fixture_app.settings.build_dir)
    at = _app("scenarios")
    at.selectbox(key="sc_unit").set_value("U0")
    at.run()
    at.checkbox(key="sc_hours_U0_d0_5").check()  # add Saturday 09:00-17:00
    at.run()
    at.button(key="sc_apply").click()
    at.run()
    _no_failures(at)
    # within 60 min of U0 on Saturday daytime: A1 (most deprived fifth, weight 2; U1 at 70 min)
    # and A3 (least deprived fifth, weight 4; no other unit) gain; A0 had U1 within 50 min
    assert ("Most deprived fifth (each nation's own index): 2 women aged 15–44 newly within 60 "
            "min of an open unit at some hour (least deprived fifth: 4).") in _texts(at)
