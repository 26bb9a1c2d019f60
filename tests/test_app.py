"""Streamlit AppTest drives every page of the app.

Offline tests run the real app (``app.py`` with ``st.navigation``) on the api's hand-checkable
fixture (3 mapped units x 5 areas from tests/_tiny.py, plus tiny boundaries written to a tmp
build folder). Only ``api.load_context`` (returns the fixture context), the postcode placement
(real validation, fixture position) and the point-to-units travel times are replaced.
Integration tests at the bottom run the same pages on the real build.
"""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest
from _tiny import AREA_CODES, ORIGIN, fake_from_point, tiny_context
from streamlit.testing.v1 import AppTest

from epu_mapper import api, postcodes
from epu_mapper.api import find as api_find
from epu_mapper.errors import EpuMapperError
from epu_mapper.settings import REPO_ROOT
from epu_mapper.ui import assets

APP = str(REPO_ROOT / "app.py")
PAGES = "epu_mapper/ui/pages/{}.py"
TIMEOUT = 120  # the first postcode loads the postcode index and the water model


def _square(x: float, y: float) -> dict:
    return {"type": "Polygon", "coordinates": [[[x, y], [x + 0.1, y], [x + 0.1, y + 0.1],
                                                [x, y + 0.1], [x, y]]]}


def _write_boundaries(build_dir, regions: pd.DataFrame) -> None:
    out = build_dir / "boundaries"
    out.mkdir(parents=True, exist_ok=True)
    for level in ("nation", "nhs_region", "icb", "lhb", "scot_hb", "hsct", "lad"):
        code_col = "nation" if level == "nation" else f"{level}_code"
        name_col = "nation" if level == "nation" else f"{level}_name"
        pairs = regions[[code_col, name_col]].dropna().drop_duplicates()
        feats = [{"type": "Feature", "properties": {"region_code": c, "region_name": n},
                  "geometry": _square(-1.05 + 0.2 * i, 52.0)}
                 for i, (c, n) in enumerate(pairs.itertuples(index=False))]
        (out / f"{level}.geojson").write_text(json.dumps(
            {"type": "FeatureCollection", "features": feats}), encoding="utf-8")


def _fixture_context(build_dir):
    ctx = tiny_context(build_dir, weight_note="fixture weights", provenance={"engine": "estimate"})
    _write_boundaries(build_dir, ctx.regions)
    return ctx


@pytest.fixture
def fixture_app(tmp_path, monkeypatch):
    """Env + patches so the real app runs on the fixture context."""
    build = tmp_path / "build"
    build.mkdir()
    (build / "manifest.json").write_text("{}", encoding="utf-8")
    raw = tmp_path / "raw"
    raw.mkdir()
    monkeypatch.setenv("EPU_MAPPER_BUILD", str(build))
    monkeypatch.setenv("EPU_MAPPER_DATA", str(raw))
    monkeypatch.setattr(assets, "STATIC_DIR", tmp_path / "static")  # fixture geometry files
    ctx = _fixture_context(build)
    monkeypatch.setattr(api, "load_context", lambda settings=None: ctx)

    def lookup(c, postcode):  # real validation, fixture position (area A1)
        return {**ORIGIN, "postcode": postcodes.validate_postcode(postcode)}

    monkeypatch.setattr(api_find, "_lookup_postcode", lookup)
    from epu_mapper import travel

    monkeypatch.setattr(travel, "from_point", fake_from_point)
    return ctx


def _app(page: str | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.run()
    if page is not None:
        at.switch_page(PAGES.format(page))
        at.run()
    return at


def _no_failures(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def _texts(at: AppTest) -> str:
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption]
    parts += [w.value for w in at.warning] + [e.value for e in at.error]
    parts += [i.value for i in at.info] + [s.value for s in at.subheader]
    return "\n".join(str(p) for p in parts)


def _maps(at: AppTest) -> list[dict]:
    """The maps on the page: the data of the app's page element (map_var, base, layers, ...).

    Every map is drawn in the page by that element, loads Leaflet from the app itself, never
    reruns on pan/zoom (the element sends nothing back), and carries an accessible name saying
    what it shows (``["name"]``, set on the map's container by the script). The map's layers
    travel as one feature group (``["layers"]``), so the map script (``["base"]``) is the
    same on every rerun and the browser keeps the map.
    """
    found = []
    for e in at.get("bidi_component"):
        assert e.proto.component_name == "epu_mapper.page_element"
        data = json.loads(e.proto.json)
        if "preload" in data:
            continue
        assert data["leaflet"] == ["/app/static/vendor/leaflet-1.9.4/leaflet.js",
                                   "/app/static/vendor/leaflet-1.9.4/leaflet.css"]
        assert f'var {data["map_var"]} = L.map(' in data["base"]
        assert data["layers"].rstrip().endswith(f'{data["group_var"]}.addTo({data["map_var"]});')
        named = re.search(r'var name = ("Map: (?:[^"\\]|\\.)*");', data["layers"])
        assert named, "every map has an accessible name"
        data["name"] = json.loads(named.group(1))
        assert "setAttribute('aria-label', name)" in data["layers"]
        for data_js in ("L.circleMarker(", "fitBounds", "var name = "):
            assert data_js not in data["base"], data_js
        # the only shapes in the map's fixed script are boundary outlines (drawn once per
        # map); the data layers travel in the feature group
        for pos in [m.start() for m in re.finditer(r"L\.geoJSON\(", data["base"])]:
            assert "#7a8793" in data["base"][pos:pos + 200], "only outlines in the fixed script"
        found.append(data)
    return found


def _find(at: AppTest, postcode: str, self_ref: bool = False, weeks: int | None = None) -> None:
    at.text_input[0].input(postcode)
    if self_ref:
        at.checkbox[0].check()
    if weeks is not None:
        at.number_input[0].set_value(weeks)
    at.button[0].click()
    at.run()


# --------------------------------------------------------------------------- offline


def _paragraphs(at: AppTest) -> list[str]:
    """Every Markdown paragraph on the page (a unit card's text is one block of paragraphs)."""
    return [p for m in at.markdown for p in m.value.split("\n\n")]


def _cards(at: AppTest) -> list[str]:
    return [m.value for m in at.markdown if m.value.startswith("**") and ". " in m.value[:6]]


def _plain(text: str) -> str:
    return text.replace("\\", "")


def test_find_page_ranks_units_with_state_and_map(fixture_app):
    at = _app()
    _no_failures(at)
    assert at.title[0].value == "Find an early pregnancy unit"
    assert "call 999 or go to A&E" in at.error[0].value  # the safety message
    _find(at, "le15 6rb")
    _no_failures(at)
    text = _plain(_texts(at))
    # U2 (5 min, hours unknown) first, then U0 (40 min), then U1 (70 min)
    cards = _cards(at)
    assert len(cards) == 3
    assert cards[0].startswith("**1. H2") and cards[1].startswith("**2. H0")
    assert "about 5 minutes by car" in text and "miles (" in text
    assert "Hours not published" in text
    # the emergency advice is repeated with the results, right under their heading
    assert [e.value for e in at.error].count(at.error[0].value) == 2
    assert at.subheader[0].value.startswith("Units nearest LE15 6RB")
    # patient words only: no source quality, statistical areas or unreachable counts
    for word in ("weak source", "data zone", "cannot be reached by road", "inferred",
                 "Source:"):
        assert word not in text
    assert "We could not find published hours" in text  # U2's confidence line
    assert "Hours checked on an NHS website in 2025." in text  # U0, U1 (verified, 2025)
    table = at.dataframe[0].value
    assert table["unit"].tolist() == ["H2 — Unit two", "H0 — Unit zero", "H1 — Unit one"]
    assert table["travel"].tolist()[0] == "about 5 minutes by car"
    assert [m["name"] for m in _maps(at)] == [
        "Map: the 3 units in the list and your postcode LE15 6RB"]
    directions = [b for b in at.get("link_button") if b.proto.label == "Directions"]
    assert len(directions) == 3
    assert directions[0].proto.url.startswith("https://www.openstreetmap.org/directions?")
    # the estimate's measured error is stated, from the travel layer's calibration
    from epu_mapper.travel import CALIBRATED

    captions = "\n".join(c.value for c in at.caption)
    assert f"typically within {CALIBRATED.mae_min:.0f} minutes" in captions


def test_find_bad_postcode_says_so(fixture_app):
    at = _app()
    _find(at, "hello")
    _no_failures(at)
    assert any("could not use that postcode" in e.value and "hello" in e.value
               for e in at.error)
    assert not at.dataframe


def test_find_empty_postcode(fixture_app):
    at = _app()
    _find(at, "   ")
    _no_failures(at)
    assert any("Please enter a postcode" in e.value for e in at.error)


def test_find_filters_leaving_no_unit(fixture_app):
    at = _app()
    # self-referral keeps only U0 (max 16 weeks); 18 weeks excludes it too
    _find(at, "LE15 6RB", self_ref=True, weeks=18)
    _no_failures(at)
    assert any("No unit in our directory matches" in w.value for w in at.warning)
    assert "cannot refer yourself are not shown" in _texts(at)
    assert not at.dataframe


def _choose(at: AppTest, day: str, hhmm: str) -> None:
    at.radio[0].set_value("Choose a date and time")
    at.run()
    at.date_input[0].set_value(pd.Timestamp(day).date())
    at.time_input[0].set_value(pd.Timestamp(f"{day} {hhmm}").time())


def test_find_chosen_time_changes_state(fixture_app):
    at = _app()
    _choose(at, "2026-11-28", "23:00")  # a Saturday
    _find(at, "LE15 6RB")
    _no_failures(at)
    table = at.dataframe[0].value.set_index("unit")
    # relative to the chosen time, not the real clock: the weekday is named
    # U0 is Scottish and Monday 30 Nov is St Andrew's Day there: it opens on Tuesday
    assert table.loc["H0 — Unit zero", "status"] == "Closed, opens Tuesday 09:00"
    assert table.loc["H1 — Unit one", "status"] == "Open at that time, 24 hours"
    assert table.loc["H2 — Unit two", "status"] == "Hours not published"
    # Saturday 23:00: the 24/7 unit is the nearest open one, though it is the farthest
    assert "Nearest open unit" in at.success[0].value
    assert "H1 — Unit one" in at.success[0].value
    assert "Saturday 28 November at 23:00" in at.subheader[0].value


def test_find_chosen_sunday_night_says_opens_monday(fixture_app):
    at = _app()
    _choose(at, "2026-11-29", "02:00")  # Sunday 02:00; Monday 30 Nov is St Andrew's Day
    _find(at, "LE15 6RB")
    _no_failures(at)
    statuses = _plain("\n".join(m.value for m in at.markdown))
    # U0 is Scottish: closed on St Andrew's Day (Monday 30 Nov), so it opens on Tuesday
    assert "Closed, opens Tuesday 09:00" in statuses
    _choose(at, "2026-11-22", "02:00")  # the Sunday before: Monday is an ordinary day
    at.button[0].click()
    at.run()
    statuses = _plain("\n".join(m.value for m in at.markdown))
    assert "Closed, opens Monday 09:00" in statuses
    assert "today" not in statuses


def test_find_shows_when_closed_and_what_the_hours_are(fixture_app):
    at = _app()
    _choose(at, "2026-11-28", "23:00")
    _find(at, "LE15 6RB")
    _no_failures(at)
    md = _paragraphs(at)
    closed = [v for v in md if v.startswith("**If it is closed:**")]
    # U2 (hours unknown) and U0 (closed) publish a pathway; U1 is open and shows none
    assert closed == [  # data text escaped: no HTML, no link
        "**If it is closed:** Go to &lt;b&gt;A&amp;E&lt;/b&gt; at \\[H2\\]\\(javascript\\:x\\)",
        "**If it is closed:** Call NHS 24 on 111",
    ]
    assert any("scan appointment hours, not the hours the unit" in v for v in md)
    assert any("hours of the unit" in v and "phone line" in v for v in md)
    # Monday 23 Nov 10:00 U0 is open: its pathway is not shown
    at.date_input[0].set_value(pd.Timestamp("2026-11-23").date())
    at.time_input[0].set_value(pd.Timestamp("2026-11-23 10:00").time())
    at.button[0].click()
    at.run()
    closed = [v for v in _paragraphs(at) if v.startswith("**If it is closed:**")]
    assert len(closed) == 1 and "NHS 24" not in closed[0]
    assert "Open at that time, until 17:00" in _plain("\n".join(m.value for m in at.markdown))


def test_find_now_results_expire_at_the_next_opening_or_closing(fixture_app, monkeypatch):
    from epu_mapper.ui import find_results, shell

    find_results._now_store.clear()
    clock = {"now": pd.Timestamp("2026-11-25 16:50").to_pydatetime()}  # Wednesday
    monkeypatch.setattr(shell, "uk_now", lambda: clock["now"])
    calls = []
    real = api.nearest
    monkeypatch.setattr(api, "nearest", lambda *a, **k: calls.append(k["at"]) or real(*a, **k))
    at = _app()
    _find(at, "LE15 6RB")
    assert "Open now, until 17:00" in _plain(_texts(at))
    clock["now"] = pd.Timestamp("2026-11-25 16:59").to_pydatetime()
    at.run()  # before U0 closes: the cached answer is still right
    assert len(calls) == 1
    clock["now"] = pd.Timestamp("2026-11-25 17:00").to_pydatetime()
    at.run()  # U0 has closed: asked again
    assert len(calls) == 2
    assert "Closed, opens tomorrow 09:00" in _plain(_texts(at))


def test_gaps_page_map_table_downloads_and_slider(fixture_app):
    at = _app("gaps")
    _no_failures(at)
    assert at.title[0].value == "Regional gaps"
    assert _maps(at)
    ranked = at.dataframe[0].value
    assert set(ranked["code"]) == {"Y1"}  # default level: NHS England region
    at.selectbox(key="gaps_level").set_value("icb")
    at.run()
    _no_failures(at)
    ranked = at.dataframe[0].value
    assert sorted(ranked["code"]) == ["R1", "R2"]
    assert ranked["rank"].tolist() == [1, 2]
    # every preset and a custom hour run without error
    for label in ("Weekday 20:00", "Sunday 03:00", "Bank holiday 11:00", "Choose an hour"):
        at.radio(key="gaps_preset").set_value(label)
        at.run()
        _no_failures(at)
    at.select_slider(key="gaps_hour").set_value(5 * 24 + 10)
    at.run()
    _no_failures(at)
    assert "Sat 10:00" in _texts(at)
    for metric in ("median", "hours", "nice"):
        at.selectbox(key="gaps_metric").set_value(metric)
        at.run()
        _no_failures(at)
    labels = [b.label for b in at.get("download_button")]
    assert "CSV" in labels and "GeoJSON" in labels
    assert "Gini of minutes (UK)" in [m.label for m in at.metric]


def test_gaps_page_states_the_estimate_error(fixture_app):
    from epu_mapper.travel import CALIBRATED

    at = _app("gaps")
    _no_failures(at)
    captions = "\n".join(c.value for c in at.caption)
    # the fixture matrix is the estimate: the travel layer's measured error is stated
    assert f"typically within {CALIBRATED.mae_min:.0f} minutes" in captions
    assert f"9 in 10 within {CALIBRATED.p90_min:.0f} minutes" in captions
    assert "straight-line estimates (see About" not in captions  # not the old bare note


def test_gaps_bank_holiday_by_nation(fixture_app):
    at = _app("gaps")
    at.selectbox(key="gaps_level").set_value("icb")
    at.selectbox(key="gaps_metric").set_value("median")
    at.run()
    _no_failures(at)
    assert "gaps_bh_nation" not in [s.key for s in at.selectbox]  # only with the preset
    at.radio(key="gaps_preset").set_value("Bank holiday 11:00")
    at.run()
    _no_failures(at)
    scope = at.selectbox(key="gaps_bh_nation")
    assert scope.value == "All UK nations"
    assert scope.options == ["All UK nations", "England", "Wales", "Scotland", "Northern Ireland"]

    def shown() -> pd.Series:
        return at.dataframe[0].value.set_index("code").iloc[:, 2]

    def expected(bank_holiday) -> pd.Series:
        df = api.gaps(fixture_app, "icb", hour_of_week=11, bank_holiday=bank_holiday)
        return df.set_index("region_code")["median_minutes"]

    every = shown()
    # U0 (Scottish, PH off) is closed on a UK-wide holiday: R1's nearest open unit is U1
    assert every.to_dict() == expected(True).to_dict() == {"R1": 70, "R2": 25}
    at.selectbox(key="gaps_bh_nation").set_value("England")
    at.run()
    _no_failures(at)
    # an English holiday only: the Scottish U0 keeps its Monday hours (open at 11:00)
    england = shown()
    assert england.to_dict() == expected("England").to_dict() == {"R1": 40, "R2": 25}
    assert "Bank holiday 11:00 (England only)" in _texts(at)
    at.selectbox(key="gaps_bh_nation").set_value("Scotland")
    at.run()
    _no_failures(at)
    assert shown().to_dict() == expected("Scotland").to_dict() == every.to_dict()
    names = [b.proto.label for b in at.get("download_button")]
    assert "CSV" in names
    # small areas follow the same holiday
    at.selectbox(key="gaps_bh_nation").set_value("England")
    at.selectbox(key="gaps_region").set_value("R1")
    at.run()
    _no_failures(at)
    areas = at.dataframe[1].value.set_index("area_code")
    assert areas["minutes"].tolist() == [10, 40, 80]  # all to U0, open on an English holiday


def test_gaps_small_areas_on_demand(fixture_app):
    at = _app("gaps")
    at.selectbox(key="gaps_level").set_value("icb")
    at.run()
    at.selectbox(key="gaps_region").set_value("R2")
    at.run()
    _no_failures(at)
    areas = at.dataframe[1].value
    assert sorted(areas["area_code"]) == AREA_CODES[3:]


def test_gaps_policy_control(fixture_app):
    at = _app("gaps")
    at.selectbox(key="gaps_level").set_value("icb")
    values = {}
    for policy in ("exclude", "always"):
        at.selectbox(key="gaps_policy").set_value(policy)
        at.run()
        _no_failures(at)
        values[policy] = at.dataframe[0].value.set_index("code").iloc[:, 2]
    # counting unknown hours as open can only raise coverage
    assert (values["always"] >= values["exclude"] - 1e-9).all()


def _legend(at: AppTest) -> str:
    return next(m.value for m in at.markdown if m.value.startswith("**Map"))


def test_gaps_range_shows_both_bounds(fixture_app):
    at = _app("gaps")
    assert at.selectbox(key="gaps_policy").value == "range"  # the uncertainty by default
    at.selectbox(key="gaps_level").set_value("icb")
    at.run()
    _no_failures(at)
    ranked = at.dataframe[0].value.set_index("code")
    low = ranked["if unknown hours were closed"]
    high = ranked["if unknown hours were open"]
    assert list(ranked.columns[:3]) == ["rank", "region", "if unknown hours were closed"]
    assert (high >= low - 1e-9).all()
    # the map's hover labels carry both bounds; its legend says which bound it colours
    script = _maps(at)[0]["layers"]
    assert "(unknown hours closed) to " in script
    legend = _legend(at)
    assert _plain(legend).endswith("(unknown hours closed)**")
    # the map's accessible name says what it shows and at which level
    assert _maps(at)[0]["name"] == (_plain(legend)[len("**"):-len("**")]
                                    + ", by Integrated care board (England)")
    at.radio(key="gaps_view").set_value("width")
    at.run()
    _no_failures(at)
    legend = _legend(at)
    assert "Width of the range" in legend
    from epu_mapper.ui.pages.gaps import map_values

    table = api.gaps(fixture_app, "icb", hour_of_week=2 * 24 + 11, policy="range")
    width = map_values(table, "pct60", "range", "width")
    assert (width >= 0).all()
    assert width.tolist() == (table["pct_within_60_always"] - table["pct_within_60_exclude"]
                              ).abs().tolist()
    at.radio(key="gaps_view").set_value("upper")
    at.run()
    assert "unknown hours open" in _legend(at)
    # small areas still draw (with the cautious bound)
    at.selectbox(key="gaps_region").set_value("R1")
    at.run()
    _no_failures(at)
    assert sorted(at.dataframe[1].value["area_code"]) == AREA_CODES[:3]


def test_gaps_downloads_named_and_labelled(fixture_app):
    import io

    fixture_app.manifest = {"built_at": "2026-11-30T23:26:17+00:00"}
    at = _app("gaps")
    at.selectbox(key="gaps_level").set_value("icb")
    at.radio(key="gaps_preset").set_value("Sunday 03:00")
    at.run()
    _no_failures(at)
    assert {"CSV", "GeoJSON"} <= {b.proto.label for b in at.get("download_button")}
    files = _plain(next(c.value for c in at.caption if c.value.startswith("Files:")))
    assert "epu_gaps_icb_sunday-0300_range_built-2026-11-30.csv|geojson" in files
    from epu_mapper.ui import downloads

    assert downloads.download_name("gaps", "icb", "Sunday 03:00", "range", "2026-11-30",
                                   "csv") == "epu_gaps_icb_sunday-0300_range_built-2026-11-30.csv"
    table = api.gaps(fixture_app, "icb", hour_of_week=6 * 24 + 3, policy="range")
    table = table.assign(median_minutes_exclude=float("inf"))
    facts = downloads.with_context(table, level="icb", time_of_week="Sunday 03:00",
                                   hour_of_week=6 * 24 + 3, policy="range",
                                   build_date="2026-11-30")
    csv = pd.read_csv(io.BytesIO(downloads.csv_download(facts)), keep_default_na=False)
    assert list(csv.columns[:5]) == ["level", "time_of_week", "hour_of_week", "policy",
                                     "build_date"]
    assert set(csv["policy"]) == {"range"} and set(csv["build_date"]) == {"2026-11-30"}
    assert set(csv["median_minutes_exclude"]) == {""}  # infinite -> empty cell
    from epu_mapper.ui import maps

    geo = json.loads(maps.geojson_with_values(maps.prepare_geometry(api.boundaries("icb")),
                                              facts))
    props = geo["features"][0]["properties"]
    assert props["median_minutes_exclude"] is None  # infinite -> null
    assert props["policy"] == "range" and props["build_date"] == "2026-11-30"


def test_local_page_units_timetable_coverage(fixture_app):
    at = _app("local")
    _no_failures(at)
    at.selectbox(key="local_level").set_value("icb")
    at.run()
    at.selectbox(key="local_region").set_value("R1")
    at.run()
    _no_failures(at)
    units = at.dataframe[0].value
    assert len(units) >= 1
    assert "hours" in units.columns and "source read" in units.columns
    charts = at.get("vega_lite_chart")
    assert len(charts) == 2  # weekly timetable + coverage by hour
    assert "Hours not published" in _texts(at)  # U2 has unknown hours
    assert _maps(at)
    assert any(b.label == "Units (CSV)" for b in at.get("download_button"))


def test_scenarios_edit_hours_and_rank(fixture_app):
    at = _app("scenarios")
    _no_failures(at)
    at.selectbox(key="sc_unit").set_value("U0")
    at.run()
    # the editor starts from U0's hours (Mo-Fr 09:00-17:00, closed on bank holidays)
    assert at.checkbox(key="sc_hours_U0_d0_0").value and not at.checkbox(key="sc_hours_U0_d0_5").value
    at.checkbox(key="sc_hours_U0_d0_5").check()  # add Saturday 09:00-17:00
    at.run()
    at.button(key="sc_apply").click()
    at.run()
    _no_failures(at)
    heading = _plain(at.subheader[0].value)  # unit names and hours are Markdown-escaped
    assert heading == ("Effect: H0 — Unit zero open Monday to Saturday 09:00 to 17:00; "
                       "closed on bank holidays")
    sentences = [_plain(m.value) for m in at.markdown if m.value.startswith("- ")]
    assert sentences[0].endswith("more women within 60 minutes of an open unit at some time of "
                                 "the week.")
    assert any("on Saturdays (09:00–17:00)" in x for x in sentences), sentences
    table = next(m.value for m in at.markdown if m.value.startswith("| People newly within"))
    header, _, row = table.splitlines()
    totals = dict(zip([c.strip() for c in header.strip("|").split("|")],
                      [c.strip().strip("*") for c in row.strip("|").split("|")], strict=True))
    assert float(totals["Person-hours gained per week"].replace(",", "")) > 0
    assert totals["Person-hours lost per week"] == "0"  # hours were only added
    # one difference map (not two near-identical before/after maps), with its legend
    maps_ = _maps(at)
    assert len(maps_) == 1
    assert maps_[0]["name"].startswith("Map: Change in % of the week's population-hours")
    assert any(m.value.startswith("**Map: Change in %") for m in at.markdown)
    # the chart's table and the OSM-syntax table are built only once their expanders are opened
    assert not any("hour_of_week" in d.value.columns for d in at.dataframe)
    at.session_state["sc_by_hour_open"] = True
    at.session_state["sc_osm_open"] = True
    at.run()
    _no_failures(at)
    by_hour = next(d.value for d in at.dataframe if "hour_of_week" in d.value.columns)
    assert len(by_hour) == 168 and (by_hour["newly_covered"] >= 0).all()
    # ranking tab
    at.button(key="sc_try").click()
    at.run()
    _no_failures(at)
    assert "also open" in "\n".join(s.value for s in at.subheader)


def test_scenarios_bad_hours_is_a_message(fixture_app):
    at = _app("scenarios")
    at.selectbox(key="sc_unit").set_value("U0")
    at.run()
    at.toggle(key="sc_hours_U0_adv").set_value(True)
    at.run()
    at.text_input(key="sc_hours_U0_raw").input("whenever we like")
    at.run()
    _no_failures(at)
    assert "We could not read these hours" in at.error[0].value
    assert at.button(key="sc_apply").disabled, "unusable hours cannot be applied"


def test_about_page(fixture_app):
    at = _app("about")
    _no_failures(at)
    text = _texts(at)
    assert "Contains OS data © Crown copyright and database right." in text
    assert "© OpenStreetMap contributors" in text
    assert "typical error of a travel time: **3.4 minutes**" in text
    assert "most are missing" in text


def test_missing_build_offers_to_build(tmp_path, monkeypatch):
    monkeypatch.setenv("EPU_MAPPER_BUILD", str(tmp_path / "empty"))
    monkeypatch.setenv("EPU_MAPPER_DATA", str(tmp_path / "no-such-raw"))
    at = _app("gaps")
    _no_failures(at)
    assert any("missing" in w.value for w in at.warning)
    button = at.button(key="build_now")
    button.click()
    at.run()
    _no_failures(at)
    # the build starts, then stops with a message that says what to set
    assert any("EPU_MAPPER_DATA" in i.value for i in at.info)


def test_missing_data_dir_message(tmp_path, monkeypatch):
    monkeypatch.delenv("EPU_MAPPER_DATA", raising=False)
    monkeypatch.setenv("EPU_MAPPER_BUILD", str(tmp_path / "empty"))
    at = _app("find")
    _find(at, "LE15 6RB")
    _no_failures(at)
    text = _texts(at)
    assert "EPU_MAPPER_DATA" in text or "missing" in text


def test_every_page_without_api_errors_is_clean(fixture_app, monkeypatch):
    def broken(*a, **k):
        raise EpuMapperError("something the user can act on")

    monkeypatch.setattr(api, "gaps", broken)
    at = _app("gaps")
    _no_failures(at)
    assert any("something the user can act on" in e.value for e in at.error)


# --------------------------------------------------------------------------- real data


@pytest.mark.integration
def test_real_find_and_pages(real_settings):
    at = _app()
    _find(at, "LE15 6RB")
    _no_failures(at)
    table = at.dataframe[0].value
    assert 3 <= len(table) < 15  # the nearest few and any open unit within an hour
    assert all(t.endswith("minutes by car") for t in table["travel"])
    more = at.button(key="find_more_btn")
    more.click()
    at.run()
    assert len(at.dataframe[0].value) == 15
    for page in ("gaps", "local", "scenarios", "about"):
        at.switch_page(PAGES.format(page))
        at.run()
        _no_failures(at)
        assert not at.error, (page, [e.value for e in at.error])


@pytest.mark.integration
def test_real_northern_ireland_postcode_is_flagged_approximate(real_settings):
    at = _app()
    _find(at, "BT1 1AA")
    _no_failures(at)
    assert any("rough area of your postcode" in i.value for i in at.info)
    assert len(at.dataframe[0].value) >= 1
    text = _texts(at)  # patient words: no statistical areas, no unreachable-unit counts
    assert "data zone" not in text and "cannot be reached" not in text


@pytest.mark.integration
def test_real_empty_result(real_settings):
    # Belfast at 20 weeks: no Northern Ireland unit in the directory serves that gestation
    at = _app()
    _find(at, "BT1 1AA", weeks=20)
    _no_failures(at)
    assert any("No unit in our directory matches" in w.value for w in at.warning)
    assert "do not see your stage of pregnancy are not shown" in _texts(at)


@pytest.mark.integration
def test_real_bad_postcodes(real_settings):
    at = _app()
    for bad in ("ZZ99 9ZZ", "hello"):
        _find(at, bad)
        _no_failures(at)
        assert any("could not use that postcode" in e.value for e in at.error)


@pytest.mark.integration
def test_real_region_membership(real_settings):
    """Units in a region are those whose site lies inside its boundary; units that serve it
    from outside are a separate "nearby" list."""
    from epu_mapper.settings import get_settings

    ctx = api.load_context(get_settings())
    nation_of = ctx.mapped.set_index("unit_id")["nation"]
    for nation in ("England", "Wales", "Scotland", "Northern Ireland"):
        res = api.local(ctx, "nation", nation)
        inside = res.units[res.units["in_region"]]["unit_id"]
        assert set(nation_of[inside]) <= {nation}  # (no Welsh unit is mapped yet)
        assert set(inside) == set(nation_of[nation_of == nation].index)
    lhb = api.regions(ctx, "lhb")
    betsi = lhb[lhb["region_name"].str.contains("Betsi")]["region_code"].iloc[0]
    at = _app("local")
    at.selectbox(key="local_level").set_value("lhb")
    at.run()
    at.selectbox(key="local_region").set_value(betsi)
    at.run()
    _no_failures(at)
    heads = [s.value for s in at.subheader]
    assert heads[0] == "Units in Betsi Cadwaladr University Health Board"
    # no unit of our directory lies in Betsi Cadwaladr: the English ones are only nearby
    assert any("no unit inside this region" in w.value for w in at.warning)
    assert "Nearby units serving Betsi Cadwaladr University Health Board" in heads
    nearby = at.dataframe[0].value  # the only units table: the nearby one
    hospitals = set(nearby["hospital"])
    assert hospitals and all(nation_of[ctx.mapped.set_index("hospital").loc[[h], "unit_id"]]
                             .eq("England").all() for h in hospitals)
