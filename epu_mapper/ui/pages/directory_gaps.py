"""Directory gaps (for charities): what the directory is missing, region by region.

Per region, the hospitals without a record and the units whose hours are unknown, partial or
stale, ordered by how many women the missing information affects; CSV export. The list comes
from :func:`epu_mapper.api.directory_gaps.directory_gaps`.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from epu_mapper.api.directory_gaps import directory_gaps
from epu_mapper.csvsafe import csv_bytes
from epu_mapper.ui import common, shell, suggest
from epu_mapper.ui.format import md_escape, unit_labels

LEVEL_NAMES = {"nation": "Nation", "nhs_region": "NHS England region", "icb": "ICB",
               "lhb": "Welsh health board", "scot_hb": "Scottish health board",
               "hsct": "NI HSC trust", "lad": "Local authority"}


@st.cache_data(show_spinner="Listing what the directory is missing…", max_entries=16)
def _gaps(key: str, level: str) -> pd.DataFrame:  # noqa: ARG001 - key: the build stamp, part of the cache key
    return directory_gaps(common.context(), level)


def summary_line(df: pd.DataFrame, region: str) -> str:
    """Return ``"Wales: 19 hospitals without a record; 0 units with hours to check."``."""
    n_h = int((df["kind"] == "hospital without a record").sum())
    n_u = int((df["kind"] == "unit hours").sum())
    return (f"{region}: {n_h} hospital{'s' if n_h != 1 else ''} without a record; "
            f"{n_u} unit{'s' if n_u != 1 else ''} with hours to check.")


@shell.guarded
def page() -> None:
    """Draw the Directory gaps page."""
    st.title("Directory gaps")
    st.markdown("What our directory of early pregnancy units is missing, region by region: "
                "hospitals that probably have an early pregnancy unit we hold no record of, and "
                "units whose opening hours are unknown, partial, or from a source older than 12 "
                "months (or undated). Ordered by how many women aged 15–44 live where that site "
                "is the nearest: the to-do list to work through first.")
    c1, c2 = st.columns(2)
    level = c1.selectbox("Region level", list(LEVEL_NAMES), format_func=LEVEL_NAMES.get,
                         key="dg_level")
    df = _gaps(common.ctx_key(), level)
    regions = df.dropna(subset=["region_code"]).drop_duplicates("region_code")
    options = ["all"] + regions.sort_values("region_name")["region_code"].tolist()
    names = dict(zip(regions["region_code"], regions["region_name"], strict=True))
    region = c2.selectbox("Region", options, key="dg_region",
                          format_func=lambda c: "All regions" if c == "all" else str(names.get(c, c)))
    shown = df if region == "all" else df[df["region_code"] == region]
    label = "All regions" if region == "all" else str(names.get(region, region))
    st.markdown(md_escape(summary_line(shown, label)))
    if not df.attrs.get("with_likely"):
        st.info("The likely EPU sites are not built yet (`epu-mapper data build` and "
                "`epu-mapper travel build`): only the directory's units are listed.")
    st.caption("“Women nearest”: women aged 15–44 in the small areas whose nearest site (a "
               "directory unit or a likely site, by estimated travel time, whatever the hours) "
               "this is. A likely site is an acute hospital with no record: an early pregnancy "
               "unit there is likely, not known.")
    st.dataframe(shown.drop(columns=["areas_nearest"]), hide_index=True,
                 column_config={"women_nearest": st.column_config.NumberColumn(
                     "women nearest", format="%d")})
    st.download_button("Directory gaps (CSV)", csv_bytes(shown),
                       file_name=f"directory_gaps_{level}_{region}.csv", mime="text/csv")
    # The people who know a unit can fill its gap here: the same forms as on the unit cards.
    directory = common.context().units
    listed = directory[directory["unit_id"].isin(shown.loc[shown["kind"] == "unit hours", "id"])]
    listed = listed.reset_index(drop=True)
    suggest.suggest_for_units(listed, unit_labels(listed), "directory_gaps")
    suggest.suggest_new_unit("directory_gaps")


if __name__ == "__main__":
    page()
