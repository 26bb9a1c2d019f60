"""Hostile text and damaged builds in the app (Streamlit AppTest): no uncaught error page, a clear
message, and user text never rendered as Markdown (no link, image, colour or HTML from input)."""

from __future__ import annotations

import re

import pytest
from test_app import _app, _find, fixture_app  # noqa: F401 - fixture_app is a pytest fixture

from epu_mapper.ui.format import md_escape

#: Markdown an attacker would like rendered: an image from a remote host, a link, colour, HTML.
INJECTIONS = [
    "![t](http://x.example/a.png)", "[click](javascript:alert(1))", ":red[alarm]",
    "<img src=x onerror=alert(1)>", "**bold**", "# Heading", "$\\frac{1}{0}$", "`code`",
    "<script>alert(1)</script>", "~~gone~~",
]
POSTCODES = [*INJECTIONS, "", " ", "SW1A 1AA' OR 1=1", "x" * 5_000, "\u202eLE15 6RB", "LE15\n6RB",
             "=HYPERLINK(\"http://e.example\")", "ＬＥ１５ ６ＲＢ", "%00", "../../etc/passwd"]
#: rendered forms that mean the input was interpreted as Markdown
_RENDERED = re.compile(r"(?<!\\)!\[|(?<!\\)\]\((?:http|javascript)|(?<!\\):red\[|<img|<script")


def _shown(at) -> list[str]:
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption]
    parts += [w.value for w in at.warning] + [e.value for e in at.error]
    parts += [i.value for i in at.info] + [s.value for s in at.subheader]
    parts += [s.value for s in at.success]
    return [str(p) for p in parts]


def _assert_no_markdown_from_input(at) -> None:
    assert not at.exception, [e.value for e in at.exception]
    for text in _shown(at):
        assert not _RENDERED.search(text), text[:200]


def test_find_page_postcode_box(fixture_app):  # noqa: F811
    at = _app("find")
    for value in POSTCODES:
        _find(at, value)
        _assert_no_markdown_from_input(at)


@pytest.mark.parametrize("comment", INJECTIONS)
def test_scenarios_heading_escapes_hours_comments(fixture_app, comment):  # noqa: F811
    """Issue #15: a valid hours comment with ![t](http://…) rendered a remote image in the heading."""
    at = _app("scenarios")
    at.selectbox(key="sc_unit").set_value("U0")
    at.run()
    at.toggle(key="sc_hours_U0_adv").set_value(True)
    at.run()
    hours = 'Sa 10:00-12:00 "' + comment.replace('"', "'") + '"'
    at.text_input(key="sc_hours_U0_raw").input(hours)
    at.run()
    _assert_no_markdown_from_input(at)
    apply = at.button(key="sc_apply")
    if not apply.disabled:
        apply.click()
        at.run()
        _assert_no_markdown_from_input(at)
        assert any(s.value.startswith("Effect: ") for s in at.subheader)


def test_damaged_table_offers_rebuild(tmp_path, monkeypatch):
    """A garbage built table: every page says which file is damaged and offers "Rebuild"."""
    build = tmp_path / "build"
    build.mkdir()
    (build / "demand.parquet").write_bytes(b"PAR1 not a table")
    monkeypatch.setenv("EPU_MAPPER_BUILD", str(build))
    monkeypatch.setenv("EPU_MAPPER_DATA", str(tmp_path / "no-such-raw"))
    for page in ("gaps", "local", "scenarios", "about"):
        at = _app(page)
        assert not at.exception, (page, [e.value for e in at.exception])
        shown = ("\n".join(_shown(at)) + "\n".join(t.value for t in at.text)).replace("\\", "")
        assert "damaged" in shown and "demand.parquet" in shown, (page, shown[:300])
        if page != "about":  # About shows what it can, and says why the build facts are missing
            assert at.button(key="rebuild_now")
    at = _app("gaps")
    at.button(key="rebuild_now").click()
    at.run()
    assert not at.exception
    assert any("EPU_MAPPER_DATA" in i.value for i in at.info)  # the rebuild says what it needs


def test_damaged_boundaries_offer_rebuild(fixture_app):  # noqa: F811
    for path in (fixture_app.settings.build_dir / "boundaries").glob("*.geojson"):
        path.write_text('{"type": "FeatureCollection", "features": [', encoding="utf-8")
    at = _app("gaps")
    assert not at.exception, [e.value for e in at.exception]
    assert at.button(key="rebuild_now")


def test_md_escape_neutralises_every_injection():
    for text in INJECTIONS:
        assert not _RENDERED.search(md_escape(text))
