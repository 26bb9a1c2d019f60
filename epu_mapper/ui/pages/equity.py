"""Equity (policymakers, charities): who is far from care, by deprivation and car access."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from epu_mapper import api
from epu_mapper.csvsafe import csv_bytes
from epu_mapper.ui import common, shell
from epu_mapper.ui.equity_text import (
    BY_LABELS,
    MEASURES,
    chart_frame,
    display_table,
    gap_sentence,
)
from epu_mapper.ui.format import LEVELS, POLICIES, bank_holiday_file_part, md_escape
from epu_mapper.ui.pages.gaps import time_controls


@st.cache_data(show_spinner="Computing access by group…", max_entries=64)
def _equity(key: str, level: str, hour: int, bank_holiday: bool | str, by: str,  # noqa: ARG001 - key: the build stamp, part of the cache key
            policy: str, directory: str) -> api.EquityResult:
    return api.equity(common.context(), level, hour_of_week=hour, bank_holiday=bank_holiday,
                      by=by, policy=policy, directory=directory)


DIRECTORIES = {"known": "Units in the directory",
               "with-likely": "Also likely EPU sites (hours unknown)"}


@shell.guarded
def page() -> None:
    """Draw the Equity page: who is far from care, by deprivation and car access."""
    st.title("Who is far from care")
    st.markdown("Access to an open early pregnancy unit for women aged 15–44, by how deprived "
                "their area is or how many households there have no car.")
    c1, c2, c3, c4 = st.columns(4)
    level = c1.selectbox("Regions", list(LEVELS), format_func=LEVELS.get, key="eq_level")
    by = c2.selectbox("Compare by", list(BY_LABELS), format_func=BY_LABELS.get, key="eq_by")
    measure = c3.selectbox("Measure", list(MEASURES), format_func=lambda k: MEASURES[k][1],
                           key="eq_measure")
    policy = c4.selectbox("Unknown opening hours", list(POLICIES), format_func=POLICIES.get,
                          key="eq_policy")
    directory = st.radio("Units counted", list(DIRECTORIES), format_func=DIRECTORIES.get,
                         horizontal=True, key="eq_directory",
                         help="Likely sites are acute hospitals with no directory record; their "
                              "hours are unknown, so they count only when unknown hours count "
                              "as open.")
    hour, bank_holiday, when_label = time_controls("eq")
    res = _equity(common.ctx_key(), level, hour, bank_holiday, by, policy, directory)
    st.caption(md_escape(f"Groups: {res.attrs['by_note']}. Weights: {res.attrs['weight_kind']}."))
    if res.by_group.empty:
        st.info("No region at this level has areas in these groups.")
        return
    names = (res.summary.drop_duplicates("region_code")
             .set_index("region_code")["region_name"].astype(str).to_dict())
    code = st.selectbox("Region", list(names), format_func=names.get, key="eq_region")
    label, unit = MEASURES[measure][1], MEASURES[measure][2]
    frame = chart_frame(res.by_group, code, measure)
    chart = (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            x=alt.X("band_label:N", sort=None, title=None),
            xOffset=alt.XOffset("group_label:N", sort=None),
            y=alt.Y("value:Q", title=f"{label} ({unit})"),
            color=alt.Color("group_label:N", sort=None, title="Group",
                            scale=alt.Scale(scheme="viridis")),
            tooltip=["band_label", "group_label", "value"],
        )
        .properties(height=340, title=f"{names[code]}: {label}")
    )
    st.altair_chart(chart, use_container_width=True)
    st.caption(f"“At the chosen time” = {when_label}; the other bars are averages over each "
               "time band of the typical week (night = 22:00–08:00).")
    summ = res.summary[res.summary["region_code"] == code].set_index("band")
    for band in ("selected", "night", "weekend"):
        if band in summ.index:
            st.markdown("- " + gap_sentence(summ.loc[band], by))

    st.subheader("Table")
    st.dataframe(display_table(res.by_group), hide_index=True, height=320)
    part = bank_holiday_file_part(bank_holiday)
    d1, d2, d3 = st.columns(3)
    d1.download_button("All bands CSV", csv_bytes(res.by_group),
                       file_name=f"epu_equity_{by}_{level}_{hour}{part}.csv", mime="text/csv",
                       key="eq_csv")
    d2.download_button("Inequality summary CSV", csv_bytes(res.summary),
                       file_name=f"epu_equity_summary_{by}_{level}_{hour}{part}.csv",
                       mime="text/csv", key="eq_summary_csv")
    d3.download_button("Double disadvantage CSV", csv_bytes(res.double_disadvantage),
                       file_name="epu_double_disadvantage.csv", mime="text/csv", key="eq_dd_csv")
    st.subheader("Double disadvantage")
    st.markdown(f"{len(res.double_disadvantage):,} small areas are in their nation's most "
                "deprived fifth, in the fifth of England & Wales areas with the most households "
                "without a car, and more than 60 minutes (median) from an open unit at night or "
                "at the weekend.")
    if not res.double_disadvantage.empty:
        show = res.double_disadvantage.head(200).rename(columns={
            "area_name": "area", "region_name": "local authority", "weight": "women 15–44",
            "pct_no_car": "% households without a car",
            "night_median_minutes": "night median min",
            "weekend_median_minutes": "weekend median min"})
        st.dataframe(pd.DataFrame(show).round(1), hide_index=True, height=300)


if __name__ == "__main__":
    page()
