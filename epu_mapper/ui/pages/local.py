"""Local provision (charities): one region's units, weekly timetable, coverage by hour,
data gaps (unknown or stale hours, acute sites with no directory entry), export."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from epu_mapper import api
from epu_mapper.csvsafe import csv_bytes
from epu_mapper.ui import common, maps, suggest
from epu_mapper.ui.format import (
    DAYS,
    LEVELS,
    POLICIES,
    fmt_self_referral,
    how_label,
    md_escape,
    safe_url,
    stale,
    unit_labels,
)

REGIONAL_LEVELS = [k for k in LEVELS if k != "nation"] + ["nation"]
STATE_NAMES = {1: "open", 0: "closed", -1: "unknown"}
NO_INFO = "no EPU information held"
TIMETABLE_WORDS = {"open": "Open", "closed": "Closed", "unknown": "Hours unknown"}


@st.cache_data(show_spinner="Loading the region…", max_entries=32)
def _local(key: str, level: str, code: str, policy: str) -> Any:
    return api.local(common.context(), level, code, policy=policy)


@st.cache_data(show_spinner=False, max_entries=16)
def _regions(key: str, level: str) -> pd.DataFrame:
    return api.regions(common.context(), level)


def _get(obj: Any, name: str, default: Any = None) -> Any:
    if isinstance(obj, dict):
        return obj.get(name, default)
    return getattr(obj, name, default)


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


def _heatmap_spec(n_units: int) -> dict[str, Any]:
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


@common.guarded
def page() -> None:
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
    units = _get(result, "units", pd.DataFrame())
    week = _get(result, "week")
    coverage = _get(result, "coverage_by_hour")
    hospitals = _get(result, "hospitals_without_unit", pd.DataFrame())
    today = common.uk_now().date()

    st.subheader(f"Units in {md_escape(names[code])}")
    if units is None or units.empty:
        st.warning("Our directory holds no unit in this region. That does not mean there is "
                   "none: the directory is incomplete.")
    else:
        status = units.get("hours_status", pd.Series("unknown", index=units.index)).astype(str)
        is_stale = units.get("source_seen", pd.Series(None, index=units.index)).map(
            lambda s: stale(s, today))
        labels = unit_labels(units)
        unknown = labels[status == "unknown"].tolist()
        partial = labels[status == "partial"].tolist()
        old = labels[is_stale].tolist()
        if unknown or partial:
            st.warning(f"Hours not published for {len(unknown)} of {len(units)} units and only "
                       f"partly known for {len(partial)}. Unknown is not closed: see the "
                       "unknown-hours control.")
        if old:
            st.info(f"{len(old)} of {len(units)} units rest on a source that is undated or over "
                    "12 months old: it needs re-checking (column “stale or undated”).")
        if unknown or partial or old:
            with st.expander("Units with missing or stale information"):
                for label, names_ in (("Hours not published", unknown),
                                      ("Hours partly known", partial),
                                      ("Undated or old source", old)):
                    if names_:
                        st.markdown(f"**{label}:** " + "; ".join(md_escape(n) for n in names_))
        table = pd.DataFrame({
            "unit": labels,
            "where": units.get("in_region", pd.Series(True, index=units.index)).map(
                {True: "in region", False: "nearest for some areas"}),
            "hospital": units.get("hospital", pd.Series("", index=units.index)).fillna(""),
            "opening hours": units.get("opening_hours", pd.Series("", index=units.index))
            .fillna("").replace("", "not known"),
            "hours": status,
            "what the hours describe": units.get("hours_kind", pd.Series("", index=units.index))
            .fillna(""),
            "self-referral": units.get("self_referral", pd.Series("unknown", index=units.index))
            .map(fmt_self_referral),
            "phone": units.get("phone", pd.Series("", index=units.index)).fillna(""),
            "source": units.get("source_url", pd.Series("", index=units.index)).map(safe_url),
            "source read": units.get("source_seen", pd.Series("", index=units.index)).fillna("")
            .astype(str).replace("", "not recorded"),
            "stale or undated": is_stale.map({True: "yes", False: ""}),
        })
        inside = units.get("in_region", pd.Series(True, index=units.index)).astype(bool)
        config = {"source": st.column_config.LinkColumn("source")}
        if inside.any():
            st.dataframe(table[inside.to_numpy()].drop(columns=["where"]), hide_index=True,
                         column_config=config)
        else:
            st.warning("Our directory holds no unit inside this region. That does not mean "
                       "there is none: the directory is incomplete.")
        if (~inside).any():
            st.subheader(f"Nearby units serving {md_escape(names[code])}")
            st.caption("Outside the region, but the nearest unit for some of its small areas.")
            st.dataframe(table[(~inside).to_numpy()].drop(columns=["where"]), hide_index=True,
                         column_config=config)
        suggest.suggest_for_units(units, labels, "local")
        if week is not None and len(units):
            st.subheader("Weekly timetable")
            long = timetable_long(units, week)
            st.vega_lite_chart(long, _heatmap_spec(len(units)))
            st.caption("Grey = hours unknown (not the same as closed). Typical week, no bank "
                       "holiday.")

    if coverage is not None and len(coverage):
        st.subheader("Coverage by hour of the week")
        cov = coverage[coverage["hour_of_week"] < 168].copy()
        ycol = next((c for c in ("pct_within_60", "pct", "value") if c in cov.columns),
                    cov.columns[-1])
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
        if len(bh) and ycol in bh.columns:
            st.caption(f"On a bank-holiday day: {bh[ycol].min():.0f}–{bh[ycol].max():.0f}% "
                       "within 60 min of an open unit, depending on the hour.")
        st.caption(f"Unknown hours: {POLICIES[policy].lower()}.")

    st.subheader("Map")
    m = maps.base_map(bounds=_bounds(units, hospitals), base_url_path=common.base_url_path())
    try:
        maps.add_outline(m, common.boundaries(level))
    except (OSError, ValueError):
        pass
    if hospitals is not None and len(hospitals):
        maps.add_hospitals(m, hospitals, tip_prefix=f"{NO_INFO}: ")
    if units is not None and len(units):
        u = units.copy()
        u["state"] = u.get("hours_status", pd.Series("unknown", index=u.index)).map(
            {"verified": "open", "partial": "unknown", "unknown": "unknown"}).fillna("unknown")
        u["tip"] = unit_labels(u) + " — hours " + u.get(
            "hours_status", pd.Series("unknown", index=u.index)).astype(str)
        maps.add_units(m, u, legend=False)
    m.add_child(maps.Legend("Sites", [(maps.STATE_COLOURS["open"], "EPU, hours known"),
                                      (maps.STATE_COLOURS["unknown"], ("EPU, hours partly or not "
                                                                      "known")),
                                      ("#ffffff", f"acute hospital: {NO_INFO}")],
                            round_swatches=True))
    common.show_map(m, key=f"local_map_{level}_{code}")

    if hospitals is not None and len(hospitals):
        st.subheader(f"Acute hospital sites with {NO_INFO}")
        hs = hospitals.copy()
        hs["EPU information"] = NO_INFO
        st.dataframe(hs[[c for c in ("name", "organisation", "postcode", "site_code",
                                     "EPU information") if c in hs.columns]], hide_index=True)
    st.subheader("Export")
    e1, e2 = st.columns(2)
    if units is not None and len(units):
        e1.download_button("Units (CSV)", csv_bytes(units),
                           file_name=f"epu_units_{code}.csv", mime="text/csv", key="local_csv")
        if week is not None:
            e1.download_button("Weekly timetable (CSV)",
                               csv_bytes(timetable_long(units, week)),
                               file_name=f"epu_timetable_{code}.csv", mime="text/csv",
                               key="local_timetable_csv")
    if hospitals is not None and len(hospitals):
        e2.download_button("Sites with no EPU information (CSV)",
                           csv_bytes(hospitals),
                           file_name=f"epu_sites_without_unit_{code}.csv", mime="text/csv",
                           key="local_hosp_csv")
    st.subheader("Keeping the directory up to date")
    suggest.recheck_by_region(level, LEVELS[level], today)
    suggest.suggest_new_unit("local")


def _bounds(units: pd.DataFrame | None, hospitals: pd.DataFrame | None) -> Any:
    frames = [f[["lat", "lon"]] for f in (units, hospitals)
              if f is not None and len(f) and {"lat", "lon"} <= set(f.columns)]
    if not frames:
        return maps.UK_BOUNDS
    both = pd.concat(frames)
    return maps.bounds_of(both["lat"], both["lon"]) or maps.UK_BOUNDS


if __name__ == "__main__":
    page()
