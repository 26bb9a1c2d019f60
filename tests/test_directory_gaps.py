"""The charities' directory-gaps list: staleness rules, the nearest-site weights and ordering, the
page (AppTest) and the real build."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest
from test_app import _app, _no_failures, fixture_app  # noqa: F401 - a fixture

from epu_mapper.api import directory_gaps as dg

TODAY = date(2026, 12, 1)


@pytest.mark.parametrize(("status", "seen", "issue"), [
    ("verified", "2026-06-01", ""),
    ("verified", "2025-06-02", "source older than 12 months (2025-06-02)"),
    ("partial", "2026-11", "hours partial"),
    ("unknown", "", "hours unknown; source undated"),
    ("verified", "2023", "source older than 12 months (2023-01-01)"),
    ("verified", "soon", "source undated"),
])
def test_hours_issue(status, seen, issue):
    assert dg.hours_issue(status, seen, TODAY) == issue


def test_nearest_site_weights():
    minutes = np.array([[10, 5, np.inf], [np.nan, 30, 20], [np.inf, np.inf, np.inf], [1, 2, 3]])
    w, a = dg.nearest_site_weights(minutes, np.array([1.0, 2.0, 4.0, 8.0]))
    assert w.tolist() == [8.0, 1.0, 2.0] and a.tolist() == [1, 1, 1]


def test_fixture_list_is_ordered_by_women(fixture_app):  # noqa: F811
    df = dg.directory_gaps(fixture_app, "icb", today=TODAY)
    # U0 and U1 are verified with a 2025 source (stale); U2 has unknown hours.
    assert set(df["id"]) == {"U0", "U1", "U2"}
    assert df["women_nearest"].is_monotonic_decreasing
    assert df.set_index("id").loc["U2", "issue"] == "hours unknown; source undated"
    assert df["women_nearest"].sum() == pytest.approx(15.0)  # every area has a nearest site


def test_page_lists_and_exports(fixture_app):  # noqa: F811
    at = _app("directory_gaps")
    _no_failures(at)
    assert at.title[0].value == "Directory gaps"
    assert len(at.dataframe[0].value) == 3
    assert any("unit" in m.value and "hours to check" in m.value for m in at.markdown)
    assert at.get("download_button")
    # The charity's to-do list offers the same correction forms as the unit cards.
    pick = next(s for s in at.selectbox if s.label == "Suggest a correction for")
    assert len(pick.options) == 3
    assert any("don't list" in e.label for e in at.expander)
    at.selectbox[0].set_value("icb")
    at.run()
    at.selectbox[1].set_value("R2")
    at.run()
    _no_failures(at)
    assert set(at.dataframe[0].value["region_code"]) == {"R2"}


@pytest.mark.integration
def test_real_directory_gaps(real_settings):
    from epu_mapper import api

    df = dg.directory_gaps(api.load_context(real_settings), "lhb", today=TODAY)
    assert df.attrs["with_likely"]
    wales = df[df["region_code"].notna()]
    assert (wales["kind"] == "hospital without a record").all() and len(wales) >= 15
    assert "University Hospital of Wales" in set(wales["name"])
    assert df["women_nearest"].is_monotonic_decreasing
    assert df.iloc[0]["women_nearest"] > 50_000
