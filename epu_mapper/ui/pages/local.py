"""Local provision (charities).

One region's units, weekly timetable, coverage by hour, data gaps (unknown or stale hours, acute
sites with no directory entry), export.
"""

from __future__ import annotations

import contextlib
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from epu_mapper import api
from epu_mapper.csvsafe import csv_bytes
from epu_mapper.ui import common, maps, shell, suggest
from epu_mapper.ui.format import (
    DAYS,
    LEVELS,
    POLICIES,
    how_label,
    local_data_gaps,
    local_units_table,
    md_escape,
    unit_labels,
)

REGIONAL_LEVELS = [k for k in LEVELS if k != "nation"] + ["nation"]
STATE_NAMES = {1: "open", 0: "closed", -1: "unknown"}
NO_INFO = "no EPU information held"
TIMETABLE_WORDS = {"open": "Open", "closed": "Closed", "unknown": "Hours unknown"}


@st.cache_data(show_spinner="Loading the region…", max_entries=32)
def _local(key: str, level: str, code: str, policy: str) -> Any:  # noqa: ARG001 - key: the build stamp, part of the cache key
    return api.local(common.context(), level, code, policy=policy)


@st.cache_data(show_spinner=False, max_entries=16)
def _regions(key: str, level: str) -> pd.DataFrame:  # noqa: ARG001 - key: the build stamp, part of the cache key
    return api.regions(common.context(), level)


def timetable_long(units: pd.DataFrame, week: np.ndarray) -> pd.DataFrame:
    """Long table for the heatmap: one row per unit and hour of week.

    Parameters
    ----------
    units
        ``unit_name`` (and ``hospital``) in the same row order as ``week``.
    week
        ``int8 (n_units, 168)`` states (1 open, 0 closed, -1 unknown).

    Returns
    -------
    pandas.DataFrame
        ``unit, hour_of_week, day, hour, state``.
    """
    n = len(units)
    w = np.asarray(week).reshape(n, 168)
    how = np.tile(np.arange(168), n)
    return pd.DataFrame({
        "unit": np.repeat(unit_labels(units).to_numpy(), 168),
        "hour_of_week": how,
        "day": [DAYS[h // 24] for h in how],
        "hour": how % 24,
        "state": [TIMETABLE_WORDS[STATE_NAMES.get(int(s), "unknown")] for s in w.reshape(-1)],
    })


def _heatmap_spec() -> dict[str, Any]:
    return {
        "mark": {"type": "rect"},
        "height": {"step": 20},
        "encoding": {
            "x": {"field": "hour_of_week", "type": "ordinal", "title": "Mon … Sun (hour of week)",
                  "axis": {"values": list(range(0, 168, 24)), "labelExpr":
                           "['Mon','Tue','Wed','Thu','Fri','Sat','Sun'][floor(datum.value/24)]"}},
            "y": {"field": "unit", "type": "nominal", "title": None, "sort": None,
                  "axis": {"labelLimit": 320, "labelOverlap": False}},
            "color": {"field": "state", "type": "nominal", "title": "State", "scale": {
                "domain": list(TIMETABLE_WORDS.values()),
                "range": [maps.STATE_COLOURS["open"], maps.STATE_COLOURS["closed"], "#dddddd"]}},
            "tooltip": [{"field": "unit"}, {"field": "day"}, {"field": "hour"},
                        {"field": "state"}],
        },
    }


def _units_section(units: pd.DataFrame, week: np.ndarray, today: date, region: str) -> None:
    """The region's units: data-gap warnings, the table and the weekly timetable."""
    gaps = local_data_gaps(units, today)
    unknown, partial = gaps["Hours not published"], gaps["Hours partly known"]
    old = gaps["Undated or old source"]
    if unknown or partial:
        st.warning(f"Hours not published for {len(unknown)} of {len(units)} units and only "
                   f"partly known for {len(partial)}. Unknown is not closed: see the "
                   "unknown-hours control.")
    if old:
        st.info(f"{len(old)} of {len(units)} units rest on a source that is undated or over "
                "12 months old: it needs re-checking (column “stale or undated”).")
    if unknown or partial or old:
        with st.expander("Units with missing or stale information"):
            for label, names_ in gaps.items():
                if names_:
                    st.markdown(f"**{label}:** " + "; ".join(md_escape(n) for n in names_))
    table = local_units_table(units, today).drop(columns=["where"])
    inside = units["in_region"].astype(bool).to_numpy()
    config = {"source": st.column_config.LinkColumn("source")}
    if inside.any():
        st.dataframe(table[inside], hide_index=True, column_config=config)
    else:
        st.warning("Our directory holds no unit inside this region. That does not mean "
                   "there is none: the directory is incomplete.")
    if (~inside).any():
        st.subheader(f"Nearby units serving {region}")
        st.caption("Outside the region, but the nearest unit for some of its small areas.")
        st.dataframe(table[~inside], hide_index=True, column_config=config)
    suggest.suggest_for_units(units, unit_labels(units), "local")
    st.subheader("Weekly timetable")
    st.vega_lite_chart(timetable_long(units, week), _heatmap_spec())
    st.caption("Grey = hours unknown (not the same as closed). Typical week, no bank holiday.")


@shell.guarded
def page() -> None:
    """Draw the Local provision page: one region's units, timetable and coverage by hour."""
    st.title("Local provision")
    st.markdown("Pick a region to see its early pregnancy units, when they are open, and where "
                "information is missing.")
    c1, c2, c3 = st.columns(3)
    level = c1.selectbox("Region type", REGIONAL_LEVELS, format_func=LEVELS.get, key="local_level")
    regions = _regions(common.ctx_key(), level).sort_values("region_name")
    names = dict(zip(regions["region_code"].astype(str), regions["region_name"].astype(str),
                     strict=True))
    code = c2.selectbox("Region", list(names), format_func=names.get, key="local_region")
    policy = c3.selectbox("Unknown opening hours", list(POLICIES), format_func=POLICIES.get,
                          key="local_policy")
    if not code:
        st.info("No regions available at this level.")
        return
    result = _local(common.ctx_key(), level, code, policy)
    units, week, coverage = result.units, result.week, result.coverage_by_hour
    hospitals = result.hospitals_without_unit
    today = shell.uk_now().date()

    st.subheader(f"Units in {md_escape(names[code])}")
    if units.empty:
        st.warning("Our directory holds no unit in this region. That does not mean there is "
                   "none: the directory is incomplete.")
    else:
        _units_section(units, week, today, md_escape(names[code]))

    if len(coverage):
        st.subheader("Coverage by hour of the week")
        cov = coverage[coverage["hour_of_week"] < 168].copy()
        ycol = "pct_within_60"
        cov["when"] = cov["hour_of_week"].map(how_label)
        st.vega_lite_chart(cov, {
            "mark": {"type": "line", "interpolate": "step-after"},
            "height": 220,
            "encoding": {
                "x": {"field": "hour_of_week", "type": "quantitative", "title": "Hour of week "
                      "(0 = Monday 00:00)", "scale": {"domain": [0, 167]},
                      "axis": {"values": list(range(0, 168, 24))}},
                "y": {"field": ycol, "type": "quantitative", "title": "% within 60 min",
                      "scale": {"domain": [0, 100]}},
                "tooltip": [{"field": "when"}, {"field": ycol, "format": ".0f"}],
            },
        })
        bh = coverage[coverage["hour_of_week"] >= 168]
        if len(bh):
            st.caption(f"On a bank-holiday day: {bh[ycol].min():.0f}–{bh[ycol].max():.0f}% "
                       "within 60 min of an open unit, depending on the hour.")
        st.caption(f"Unknown hours: {POLICIES[policy].lower()}.")

    st.subheader("Map")
    m = maps.base_map(bounds=_bounds(units, hospitals), base_url_path=common.base_url_path())
    with contextlib.suppress(OSError, ValueError):
        maps.add_outline(m, common.boundaries(level))
    if len(hospitals):
        maps.add_hospitals(m, hospitals, tip_prefix=f"{NO_INFO}: ")
    if len(units):
        u = units.copy()
        u["state"] = u["hours_status"].map(
            {"verified": "open", "partial": "unknown", "unknown": "unknown"}).fillna("unknown")
        u["tip"] = unit_labels(u) + " — hours " + u["hours_status"].astype(str)
        maps.add_units(m, u, legend=False)
    m.add_child(maps.Legend("Sites", [(maps.STATE_COLOURS["open"], "EPU, hours known"),
                                      (maps.STATE_COLOURS["unknown"], ("EPU, hours partly or not "
                                                                      "known")),
                                      ("#ffffff", f"acute hospital: {NO_INFO}")],
                            round_swatches=True))
    common.show_map(m, key=f"local_map_{level}_{code}",
                    name=f"Map: early pregnancy units and acute hospital sites in and near "
                         f"{names[code]}")
    tables = [t for t, n in (("the units table above", len(units)),
                             ("the hospital table below", len(hospitals))) if n]
    if tables:
        st.caption(f"The same sites are in {' and '.join(tables)} (the map's text alternative).")

    if len(hospitals):
        st.subheader(f"Acute hospital sites with {NO_INFO}")
        hs = hospitals.copy()
        hs["EPU information"] = NO_INFO
        st.dataframe(hs[["name", "organisation", "postcode", "site_code", "EPU information"]],
                     hide_index=True)
    st.subheader("Export")
    e1, e2 = st.columns(2)
    if len(units):
        e1.download_button("Units (CSV)", csv_bytes(units),
                           file_name=f"epu_units_{code}.csv", mime="text/csv", key="local_csv")
        e1.download_button("Weekly timetable (CSV)", csv_bytes(timetable_long(units, week)),
                           file_name=f"epu_timetable_{code}.csv", mime="text/csv",
                           key="local_timetable_csv")
    if len(hospitals):
        e2.download_button("Sites with no EPU information (CSV)",
                           csv_bytes(hospitals),
                           file_name=f"epu_sites_without_unit_{code}.csv", mime="text/csv",
                           key="local_hosp_csv")
    st.subheader("Keeping the directory up to date")
    suggest.recheck_by_region(level, LEVELS[level], today)
    suggest.suggest_new_unit("local")


def _bounds(units: pd.DataFrame, hospitals: pd.DataFrame) -> Any:
    frames = [f[["lat", "lon"]] for f in (units, hospitals) if len(f)]
    if not frames:
        return maps.UK_BOUNDS
    both = pd.concat(frames)
    return maps.bounds_of(both["lat"], both["lon"]) or maps.UK_BOUNDS


if __name__ == "__main__":
    page()
