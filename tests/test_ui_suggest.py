"""The suggestion forms and the review page, driven with Streamlit's AppTest (offline, SQLite)."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from epu_mapper import db, upkeep
from epu_mapper.importer import read_directory
from epu_mapper.settings import REPO_ROOT, REVIEWER_HASH_ENV
from epu_mapper.ui import suggest
from epu_mapper.ui.pages import page_specs

PASSWORD = "correct horse battery staple"
TIMEOUT = 60


@pytest.fixture
def upkeep_env(tmp_path, monkeypatch):
    """A temporary directory copy and database; returns (units path, db url)."""
    units = tmp_path / "units.csv"
    shutil.copyfile(REPO_ROOT / "data" / "units.csv", units)
    url = f"sqlite:///{tmp_path / 'c.sqlite'}"
    monkeypatch.setenv("EPU_MAPPER_UNITS", str(units))
    monkeypatch.setenv("EPU_MAPPER_DB_URL", url)
    monkeypatch.delenv(REVIEWER_HASH_ENV, raising=False)
    yield units, url
    db.dispose(url)


# ----------------------------------------------------------------- pure helpers


def test_session_limit():
    assert suggest.session_allows([], 1000.0)
    assert suggest.session_allows([10.0, 20.0], 1000.0)
    assert not suggest.session_allows([10.0, 20.0, 30.0], 1000.0)
    assert suggest.session_allows([10.0, 20.0, 30.0], 10.0 + suggest.SESSION_WINDOW_S + 1)


def test_correction_form_sends_only_changes():
    current = {"opening_hours": "Mo-Fr 09:00-17:00", "phone": "01234 567890", "self_referral": "no",
               "min_weeks": pd.NA, "max_weeks": 16}
    values = {"opening_hours": "Mo-Fr 09:00-17:00", "phone": "01234 567890", "self_referral": "",
              "min_weeks": "", "max_weeks": "16", "closed": False, "source_url": " https://a.nhs.uk/x ",
              "relation": "staff", "note": ""}
    form = suggest.correction_form("U1", values, current)
    assert form == {"kind": "correction", "unit_id": "U1", "source_url": "https://a.nhs.uk/x",
                    "relation": "staff", "note": ""}
    form = suggest.correction_form("U1", {**values, "phone": "01234 000000", "min_weeks": "6"}, current)
    assert form["phone"] == "01234 000000" and (form["min_weeks"], form["max_weeks"]) == ("6", "16")
    assert suggest.correction_form("U1", {**values, "closed": True}, current)["closed"] is True


def test_refusals_are_escaped_text():
    from epu_mapper.corrections import SubmissionError

    text = suggest.problems_text(SubmissionError([("note", "contains HTML markup ('<script>')")]))
    assert "<script>" not in text and "script" in text
    assert "#42" in suggest.confirmation_text(42)


def test_units_with_region():
    units = pd.DataFrame({"unit_id": ["A", "B", "C"], "source_seen": ["", "2026-10-01", "2019"]})
    mapped = pd.DataFrame({"unit_id": ["A", "B"], "area_index": [1, 0]})
    regions = pd.DataFrame({"icb_code": ["Q1", "Q2"], "icb_name": ["North", "South"], "nation": ["England"] * 2})
    out, names = suggest.units_with_region(units, mapped, regions, "icb")
    assert out["region"].tolist() == ["Q2", "Q1", ""]
    assert names.to_dict() == {"Q1": "North", "Q2": "South"}
    out, names = suggest.units_with_region(units, mapped, regions, "nation")
    assert out["region"].tolist() == ["England", "England", ""]


def test_password_hash_round_trip():
    stored = upkeep.hash_password(PASSWORD)
    assert stored.startswith("scrypt$") and PASSWORD not in stored
    assert upkeep.verify_password(PASSWORD, stored)
    assert not upkeep.verify_password(PASSWORD + "x", stored)
    assert not upkeep.verify_password(PASSWORD, "garbage")
    with pytest.raises(upkeep.EpuMapperError):
        upkeep.hash_password("short")


# ----------------------------------------------------------------- the form in a running script


def _form_script() -> None:
    from epu_mapper.importer import read_directory
    from epu_mapper.settings import get_settings
    from epu_mapper.ui import suggest

    unit = read_directory(get_settings().units_csv).set_index("unit_id").loc["RCX70"].to_dict()
    suggest.suggest_correction({**unit, "unit_id": "RCX70"}, "t")


def _open(at: AppTest) -> AppTest:
    """Open the "Suggest a correction" expander (its state is a keyed widget value)."""
    at.session_state["sg_t_RCX70_open"] = True
    return at.run()


def test_form_widgets_are_built_only_once_it_is_opened(upkeep_env):
    at = AppTest.from_function(_form_script, default_timeout=TIMEOUT).run()
    assert not at.exception
    assert [e.label for e in at.expander] == ["Suggest a correction"]
    assert len(at.text_input) == len(at.selectbox) == len(at.button) == 0  # closed: no widgets
    _open(at)
    assert not at.exception
    assert {"sg_t_RCX70_phone", "sg_t_RCX70_source", "sg_t_RCX70_hp"} <= {w.key for w in at.text_input}
    assert at.button(key="sg_t_RCX70_send").label == "Send suggestion"


def _fill(at: AppTest, hours: str | None = None, **values) -> None:
    k = "sg_t_RCX70"
    if "sg_t_RCX70_open" not in at.session_state or not at.session_state["sg_t_RCX70_open"]:
        _open(at)
    if hours is not None:  # the shared hours editor, in its advanced (OSM syntax) mode
        at.checkbox(key=f"{k}_hours_change").check().run()
        at.toggle(key=f"{k}_hours_adv").set_value(True).run()
        at.text_input(key=f"{k}_hours_raw").set_value(hours).run()
    for key, value in values.items():
        widget = {"relation": at.selectbox, "selfref": at.selectbox, "note": at.text_area}.get(key, at.text_input)
        widget(key=f"{k}_{key}").set_value(value)
    at.button(key=f"{k}_send").click().run()


def test_form_stores_a_suggestion_and_confirms(upkeep_env):
    units, url = upkeep_env
    before = units.read_bytes()
    at = AppTest.from_function(_form_script, default_timeout=TIMEOUT).run()
    _fill(at, hours="Mo-Fr 08:00-18:00; Sa,Su off; PH off", source="https://www.qehkl.nhs.uk/epu",
          relation="staff", note="new evening clinic")
    assert not at.exception
    assert any("reference number **#1**" in s.value for s in at.success)
    rec = db.get_correction(db.get_engine(url), 1)
    assert rec["fields"] == {"opening_hours": "Mo-Fr 08:00-18:00; Sa,Su off; PH off"}
    assert units.read_bytes() == before


@pytest.mark.parametrize(("values", "expect"), [
    ({"note": "<script>alert(1)</script>"}, "HTML"),
    ({"note": "=HYPERLINK(\"http://x\")"}, "formula"),
    ({"source": "javascript:alert(1)"}, "is not an http"),
    ({"hours": "whenever"}, "correct the opening hours first"),
])
def test_form_refuses_hostile_input_without_storing(upkeep_env, values, expect):
    _, url = upkeep_env
    at = AppTest.from_function(_form_script, default_timeout=TIMEOUT).run()
    _fill(at, **{"hours": "Mo-Fr 08:00-18:00; Sa,Su off; PH off", "source": "https://a.nhs.uk/x",
                 "relation": "patient", **values})
    assert not at.exception
    assert any(expect in e.value for e in at.error), [e.value for e in at.error]
    assert all("<script>" not in e.value for e in at.error)
    assert db.list_corrections(db.get_engine(url)) == []


def test_honeypot_and_session_limit(upkeep_env):
    _, url = upkeep_env
    at = AppTest.from_function(_form_script, default_timeout=TIMEOUT).run()
    _fill(at, hours="Mo-Fr 08:00-18:00; Sa,Su off; PH off", source="https://a.nhs.uk/x", relation="staff",
          hp="http://spam.example")
    assert db.list_corrections(db.get_engine(url)) == []
    at.text_input(key="sg_t_RCX70_hp").set_value("")
    for i in range(suggest.SESSION_LIMIT + 1):
        _fill(at, phone=f"01553 6100{i:02d}")
    assert len(db.list_corrections(db.get_engine(url))) == suggest.SESSION_LIMIT
    assert any("several suggestions" in w.value for w in at.warning)


# ----------------------------------------------------------------- the review page


def test_review_page_hidden_without_a_password(upkeep_env):
    assert "review" not in [spec[3] for spec in page_specs()]
    at = AppTest.from_file(str(REPO_ROOT / "epu_mapper/ui/pages/review.py"), default_timeout=TIMEOUT).run()
    assert any("switched off" in i.value for i in at.info)


def test_review_page_accepts_and_rejects(upkeep_env, monkeypatch):
    units, url = upkeep_env
    monkeypatch.setenv(REVIEWER_HASH_ENV, upkeep.hash_password(PASSWORD))
    assert "review" in [spec[3] for spec in page_specs()]
    a = upkeep.submit({"unit_id": "RCX70", "opening_hours": "Mo-Fr 08:00-18:00; Sa,Su off; PH off",
                       "source_url": "https://www.qehkl.nhs.uk/epu", "relation": "staff"})
    # stored directly (submit would refuse the markup): the page must still show it as text
    b = db.insert_correction(db.get_engine(url), "correction", "RTK01", {"phone": "01932 000000"},
                             {"phone": "01932 722662"}, "https://a.nhs.uk/x", "patient", "<b>bold</b> claim")
    at = AppTest.from_file(str(REPO_ROOT / "epu_mapper/ui/pages/review.py"), default_timeout=TIMEOUT).run()
    at.text_input[0].set_value("wrong password")
    at.button[0].click().run()
    assert any("not right" in e.value for e in at.error)
    at.text_input[0].set_value(PASSWORD)
    at.button[0].click().run()
    assert not at.exception
    at.text_input(key="review_name").set_value("Ann Reviewer").run()
    shown = "".join(m.value for m in at.markdown)
    assert "&lt;b&gt;bold&lt;/b&gt; claim" in shown and "<b>" not in shown
    at.button(key=f"rv_accept_{a}").click().run()
    assert any(s.value.startswith("Accepted \\#" + str(a)) for s in at.success), [e.value for e in at.error]
    row = read_directory(units).set_index("unit_id").loc["RCX70"]
    assert row["opening_hours"] == "Mo-Fr 08:00-18:00; Sa,Su off; PH off"
    assert row["source_url"] == "https://www.qehkl.nhs.uk/epu"
    text = units.read_bytes()
    at.text_input(key=f"rv_reason_{b}").set_value("no public source says so").run()
    at.button(key=f"rv_reject_{b}").click().run()
    assert any(s.value.startswith("Rejected \\#" + str(b)) for s in at.success)
    assert units.read_bytes() == text
    trail = db.audit_trail(db.get_engine(url))
    assert [(t["action"], t["reviewer"]) for t in trail] == [("accept", "Ann Reviewer"), ("reject", "Ann Reviewer")]
