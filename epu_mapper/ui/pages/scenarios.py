"""Scenarios.

Change a unit's opening hours (or take one from the ranking) and see who is newly within 60 minutes
of an open unit, by hour and by region, before and after.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from epu_mapper import api
from epu_mapper.ui import common, maps, shell
from epu_mapper.ui.equity_text import effect_lines
from epu_mapper.ui.format import LEVELS, POLICIES, how_label, md_escape, unit_labels
from epu_mapper.ui.hours_editor import hours_editor
from epu_mapper.ui.hours_spec import describe
from epu_mapper.ui.scenario_text import (
    difference_edges,
    difference_frame,
    effect_sentences,
    totals_table,
)

RANK_HOURS = {
    "Weekends 09:00–17:00": "Sa,Su 09:00-17:00",
    "Evenings Mon–Fri 17:00–21:00": "Mo-Fr 17:00-21:00",
    "Every day 08:00–20:00": "Mo-Su 08:00-20:00",
    "24/7": "24/7",
}
PCT_EDGES = (0, 20, 40, 60, 80, 90, 100)




@st.cache_data(show_spinner="Ranking units…", max_entries=16)
def _rank(key: str, k: int, hours: str, policy: str) -> pd.DataFrame:  # noqa: ARG001 - key: the build stamp, part of the cache key
    return api.rank(common.context(), k=k, hours=hours, policy=policy)


@st.cache_data(show_spinner="Computing the scenario…", max_entries=32)
def _whatif(key: str, changes: tuple[tuple[str, str], ...], policy: str, level: str,  # noqa: ARG001 - key: the build stamp, part of the cache key
            mode: str) -> Any:
    return api.whatif(common.context(), dict(changes), policy=policy, level=level,
                                   mode=mode)


@st.cache_data(show_spinner=False, max_entries=4)
def _units(key: str) -> pd.DataFrame:  # noqa: ARG001 - key: the build stamp, part of the cache key
    return common.context().mapped


@shell.guarded
def page() -> None:
    """Draw the Scenarios page: what-if hours changes and the greedy ranking."""
    st.title("Scenarios")
    st.markdown("What if a unit opened for longer? Edit a unit's hours, or take a suggestion "
                "from the ranking, and see the population newly within 60 minutes of an open "
                "unit.")
    c1, c2 = st.columns(2)
    policy = c1.selectbox("Unknown opening hours", list(POLICIES), format_func=POLICIES.get,
                          key="sc_policy")
    level = c2.selectbox("Show regions as", list(LEVELS), format_func=LEVELS.get,
                         key="sc_level")
    units = _units(common.ctx_key())
    names = dict(zip(units["unit_id"].astype(str), unit_labels(units), strict=True))
    hours_now = dict(zip(units["unit_id"].astype(str),
                         units.get("opening_hours", pd.Series("", index=units.index))
                         .fillna("").astype(str), strict=True))

    tab_edit, tab_rank = st.tabs(["Edit a unit's hours", "Pick from the ranking"])
    with tab_edit:
        unit_id = st.selectbox("Unit", sorted(names, key=names.get), format_func=names.get,
                               key="sc_unit")
        new_hours = hours_editor(f"sc_hours_{unit_id}", initial=hours_now.get(unit_id) or "",
                                 label="New opening hours")
        if not hours_now.get(unit_id):
            st.caption("This unit's hours are not published; the editor starts from "
                       "Monday to Friday 09:00 to 17:00.")
        if st.button("Apply", key="sc_apply", type="primary", disabled=new_hours is None):
            st.session_state["sc_changes"] = (((unit_id, str(new_hours)),), "replace")
    with tab_rank:
        label = st.selectbox("Extra hours to add", list(RANK_HOURS), key="sc_rank_hours")
        k = st.slider("How many units to rank", 1, 20, 10, key="sc_k")
        ranking = _rank(common.ctx_key(), k, RANK_HOURS[label], policy)
        if ranking.empty:
            st.info("No unit would add coverage with these hours.")
        else:
            show = pd.DataFrame({
                "step": ranking["step"],
                "unit": unit_labels(ranking),
                "nation": ranking.get("nation", ""),
                "hours after": ranking.get("hours_after", ""),
                "people newly within 60 min": ranking.get("gain_population", 0.0).round(0),
                "person-hours gained / week": ranking.get("gain_person_hours", 0.0).round(0),
            })
            st.dataframe(show, hide_index=True)
            st.caption("Greedy ranking: each step picks the unit whose extra hours add the most "
                       "population-hours within 60 min, given the units picked before it.")
            options = ranking["unit_id"].astype(str).tolist()
            pick = st.selectbox("Unit to try", options,
                                format_func=lambda u: names.get(u, u), key="sc_pick")
            if st.button("Try this unit", key="sc_try"):
                st.session_state["sc_changes"] = (((pick, RANK_HOURS[label]),), "add")

    chosen = st.session_state.get("sc_changes")
    if not chosen:
        st.info("Apply a change to see its effect.")
        return
    changes, mode = chosen
    _show_result(changes, mode, policy, level, names)


def _show_result(changes: tuple[tuple[str, str], ...], mode: str, policy: str, level: str,
                 names: dict[str, str]) -> None:
    result = _whatif(common.ctx_key(), changes, policy, level, mode)
    verb = "open" if mode == "replace" else "also open"
    st.subheader("Effect: " + "; ".join(f"{md_escape(names.get(u, u))} {verb} {md_escape(describe(h))}"
                                        for u, h in changes))
    totals = result.totals
    by_hour = result.by_hour
    # lists whose length varies with the change sit in one container each, so the elements
    # after them (the chart, the tables, the map's frame) keep their place and are updated in
    # place, not rebuilt, when another change is tried
    with st.container():
        if by_hour is not None and len(by_hour):
            for line in effect_sentences(by_hour, totals):
                st.markdown(f"- {md_escape(line)}")
    ch = result.changes
    if ch is not None and len(ch):
        osm = st.expander("The change in OpenStreetMap syntax", key="sc_osm_open",
                          on_change="rerun")
        with osm:
            if osm.open:  # the table is built only once it is opened
                st.dataframe(ch, hide_index=True)
    # a Markdown table, not st.metric: Streamlit loads each element type's code the first time
    # it appears, and the metric's first appearance held the whole result back (~0.15 s)
    st.markdown(totals_table(totals))

    with st.container():
        for line in effect_lines(totals.get("equity")):
            st.markdown(f"- {line}")  # numbers and fixed words only (ui/equity_text.py)
    st.caption("People are weighted as elsewhere in the app: women aged 15–44 in every nation "
               "(estimated outside Scotland); see About the data.")
    if by_hour is not None and len(by_hour):
        bh = by_hour[by_hour["hour_of_week"] < 168].copy()
        bh["when"] = bh["hour_of_week"].map(how_label)
        st.markdown("**Newly within 60 min of an open unit, by hour of the typical week**")
        st.vega_lite_chart(bh, {
            "mark": {"type": "bar"}, "height": 200,
            "encoding": {
                "x": {"field": "hour_of_week", "type": "quantitative",
                      "title": "Hour of week (0 = Monday 00:00)",
                      "scale": {"domain": [0, 168]}, "axis": {"values": list(range(0, 168, 24))}},
                "y": {"field": "newly_covered", "type": "quantitative",
                      "title": "People newly covered"},
                "color": {"value": maps.STATE_COLOURS["open"]},
                "tooltip": [{"field": "when"}, {"field": "newly_covered", "format": ",.0f"},
                            {"field": "before_pct", "format": ".1f"},
                            {"field": "after_pct", "format": ".1f"}],
            },
        })
        by_hour_table = st.expander("Table: by hour", key="sc_by_hour_open", on_change="rerun")
        with by_hour_table:
            if by_hour_table.open:  # the chart's text alternative, built once it is opened
                st.dataframe(bh.drop(columns=["when"]), hide_index=True)
    by_region = result.by_region
    if by_region is None or not len(by_region):
        return
    level = result.level
    st.markdown(f"**By {LEVELS.get(level, level).lower()}: % of population-hours of the week "
                "within 60 min, before and after**")
    changed = by_region.sort_values("newly_covered", ascending=False)
    st.dataframe(pd.DataFrame({
        "region": changed["region_name"].astype(str),
        "before %": changed["before_pct"].round(1),
        "after %": changed["after_pct"].round(1),
        "person-hours gained / week": changed["newly_covered"].round(0),
        "person-hours lost / week": changed.get("no_longer_covered", 0.0).round(0),
        "peak people gained in one hour": changed.get("peak_newly_covered", 0.0).round(0),
    }), hide_index=True)
    geometry = common.boundaries(level)
    frame = difference_frame(by_region)
    bins = maps.make_bins(difference_edges(frame["value"]))
    legend = "Change in % of the week's population-hours within 60 min (after − before)"
    st.markdown(f"**Map: {legend}**")
    m = maps.base_map(bounds=geometry.bounds, base_url_path=common.base_url_path())
    maps.add_choropleth(m, geometry, frame, bins, legend)
    common.show_map(m, key="sc_map_diff", height=420,
                    name=f"Map: {legend}, by {LEVELS.get(level, level)}")
    st.caption("One map of the difference: regions the change does not reach are in the "
               "lowest class. The table above holds the before and after figures.")


if __name__ == "__main__":
    page()
