"""Regional gaps (policymakers): choropleth of a coverage metric at an hour of the week."""

from __future__ import annotations

import functools
from typing import Any

import pandas as pd
import streamlit as st

from epu_mapper import api
from epu_mapper.settings import NATIONS
from epu_mapper.ui import common, completeness, downloads, maps, serve, shell
from epu_mapper.ui.format import (
    LEVELS,
    METRIC_BY_KEY,
    METRICS,
    POLICIES,
    PRESETS,
    RANGE_POLICY,
    fmt_metric,
    fmt_minutes,
    how_label,
    md_escape,
    metric_column,
    metric_values,
)

CUSTOM = "Choose an hour"
SMALL_AREA_EDGES = (0, 20, 30, 45, 60, 90, float("inf"))
#: Above this many small areas the point map drops its hover labels (2 MB map budget).
TOOLTIP_LIMIT = 8000


@st.cache_data(show_spinner="Computing coverage…", max_entries=256)
def _gaps(key: str, level: str, hour: int, bank_holiday: bool | str, policy: str) -> pd.DataFrame:  # noqa: ARG001 - key: the build stamp, part of the cache key
    ctx = common.context()
    table = serve.warm_gaps(ctx, level, hour, bank_holiday, policy)  # the launcher's, once
    if table is None:
        table = api.gaps(ctx, level, hour_of_week=hour, bank_holiday=bank_holiday,
                         policy=policy)
    if "region_code" not in table.columns:
        table = table.reset_index()
    return table


@st.cache_data(show_spinner="Loading small areas…", max_entries=32)
def _small_areas(key: str, level: str, code: str, hour: int, bank_holiday: bool | str,  # noqa: ARG001 - key: the build stamp, part of the cache key
                 policy: str) -> pd.DataFrame:
    return api.small_areas(common.context(), level, code, hour_of_week=hour,
                                        bank_holiday=bank_holiday, policy=policy)


#: The bank-holiday scope control: every nation at once, or one nation's holiday only.
ALL_NATIONS = "All UK nations"


def bank_holiday_scope(prefix: str) -> bool | str:
    """Where the bank holiday is.

    ``True`` = every UK nation, else one nation's name (a holiday there only, e.g. St Andrew's Day
    in Scotland; the other nations' units keep Monday hours).
    """
    choice = st.selectbox(
        "Bank holiday in", [ALL_NATIONS, *NATIONS], key=f"{prefix}_bh_nation",
        help="A bank holiday in every UK nation, or in one nation only (other nations' units "
             "keep their ordinary Monday hours).")
    return True if choice == ALL_NATIONS else str(choice)


def time_controls(prefix: str) -> tuple[int, bool | str, str]:
    """Preset radio + hour slider (+ bank-holiday nation for the bank-holiday preset).

    Returns
    -------
    (hour_of_week, bank_holiday, label) : tuple
        ``bank_holiday`` is False, True (every nation) or a nation name (that nation only).
    """
    labels = [p.label for p in PRESETS] + [CUSTOM]
    choice = st.radio("Time of week", labels, horizontal=True, key=f"{prefix}_preset")
    if choice == CUSTOM:
        hour = st.select_slider("Hour of the week", options=list(range(168)), value=2 * 24 + 11,
                                format_func=how_label, key=f"{prefix}_hour")
        return int(hour), False, how_label(hour)
    preset = next(p for p in PRESETS if p.label == choice)
    if not preset.bank_holiday:
        return preset.hour_of_week, False, preset.label
    scope = bank_holiday_scope(prefix)
    label = preset.label + ("" if scope is True else f" ({scope} only)")
    return preset.hour_of_week, scope, label


GAPS_POLICIES = {**RANGE_POLICY, **POLICIES}
LOWER = "if unknown hours were closed"
UPPER = "if unknown hours were open"
#: What the map shows with the range policy.
VIEWS = {
    "lower": "Unknown hours closed (one bound)",
    "upper": "Unknown hours open (the other bound)",
    "width": "Width of the range (how much unknown hours matter)",
}
#: Class edges of the range width, by the metric's unit.
WIDTH_EDGES = {"%": (0, 5, 10, 20, 40, 100), " min": (0, 5, 10, 20, 40, float("inf")),
               " h": (0, 10, 20, 40, 80, 168)}


def map_values(table: pd.DataFrame, metric_key: str, policy: str, view: str) -> pd.Series:
    """The values the map colours.

    One bound, or the width of the range (``|upper - lower|``; NaN when either bound is missing or
    infinite).
    """
    lower, upper = shown_values(table, metric_key, policy)
    if upper is None or view == "lower":
        return lower
    if view == "upper":
        return upper
    width = (upper - lower).abs()
    finite = lower.map(_finite) & upper.map(_finite)
    return width.where(finite)


def _finite(v: Any) -> bool:
    try:
        return bool(pd.notna(v)) and abs(float(v)) != float("inf")
    except (TypeError, ValueError):
        return False


def shown_values(table: pd.DataFrame, metric_key: str, policy: str) -> tuple[pd.Series, pd.Series | None]:
    """The values the map shows and, for ``range``, the other bound.

    With ``range`` the map shows the ``exclude`` bound (unknown hours closed: the cautious
    view) and the second series is the ``always`` bound (unknown hours open).
    """
    metric = METRIC_BY_KEY[metric_key]
    if policy == "range":
        return metric_values(table, metric, "_exclude"), metric_values(table, metric, "_always")
    return metric_values(table, metric), None


def ranked_table(table: pd.DataFrame, metric_key: str, policy: str = "exclude") -> pd.DataFrame:
    """Regions ranked worst first on the chosen metric (plain text + numbers)."""
    metric = METRIC_BY_KEY[metric_key]
    values, upper = shown_values(table, metric_key, policy)
    out = pd.DataFrame({
        "region": table.get("region_name", table["region_code"]).astype(str),
        (metric.label if upper is None else LOWER): values.round(1),
    })
    if upper is not None:
        out[UPPER] = upper.round(1)
    out["code"] = table["region_code"].astype(str)
    for col, name in (("weight", "people counted"), ("population", "population")):
        if col in table.columns:
            out[name] = pd.to_numeric(table[col], errors="coerce").round(0)
    out = out.sort_values(metric.label if upper is None else LOWER,
                          ascending=metric.higher_is_better, na_position="last")
    out.insert(0, "rank", range(1, len(out) + 1))
    return out.reset_index(drop=True)


@shell.guarded
def page() -> None:
    """Draw the Regional gaps page: access statistics by region at one time, map and table."""
    st.title("Regional gaps")
    st.markdown("Where, and when, people are far from an open early pregnancy unit.")
    c1, c2, c3 = st.columns(3)
    level = c1.selectbox("Regions", list(LEVELS), format_func=LEVELS.get, index=1, key="gaps_level")
    metric_key = c2.selectbox("Measure", [m.key for m in METRICS],
                              format_func=lambda k: METRIC_BY_KEY[k].label, key="gaps_metric")
    policy = c3.selectbox("Unknown opening hours", list(GAPS_POLICIES),
                          format_func=GAPS_POLICIES.get, key="gaps_policy",
                          help="Many units do not publish their hours. The range shows both "
                               "bounds: unknown hours counted as closed, and as open.")
    metric = METRIC_BY_KEY[metric_key]
    hour, bank_holiday, when_label = time_controls("gaps")
    if not metric.hour_dependent:
        st.caption("This measure covers the whole typical week, so the time of week does not "
                   "change it.")

    table = _gaps(common.ctx_key(), level, hour, bank_holiday, policy)
    geometry = common.boundaries(level)
    if metric_column(table, metric, "_exclude" if policy == "range" else "") is None:
        st.warning(f"This version of the analysis does not report “{metric.label}”.")
    when = f" — {when_label}" if metric.hour_dependent else ""
    _map_section(table, geometry, level, metric_key, policy, when)
    kinds = set(table.get("weight_kind", pd.Series(dtype=str)).dropna().astype(str))
    if len(kinds) > 1:
        st.caption("Percentages are of women aged 15–44 in every nation: Scotland's census "
                   "count, estimates elsewhere (see About).")
    title = f"{metric.label}{when}"
    ranked = ranked_table(table, metric_key, policy)
    ranked = ranked.merge(completeness.completeness_columns(table), how="left",
                          left_on="code", right_on="region_code").drop(columns="region_code")
    st.markdown(f"**Ranked, worst first — {title}** (the map's table)")
    number = metric.unit.strip() or "value"
    st.dataframe(ranked, hide_index=True, height=min(420, 38 + 35 * len(ranked)),
                 column_config={"rank": st.column_config.NumberColumn("rank", width="small"),
                                "region": st.column_config.TextColumn(width="medium"),
                                metric.label: st.column_config.NumberColumn(
                                    number, format="%.1f"),
                                LOWER: st.column_config.NumberColumn(
                                    f"{number} if unknown closed", format="%.1f"),
                                UPPER: st.column_config.NumberColumn(
                                    f"{number} if unknown open", format="%.1f")})
    _downloads(table, geometry, level, hour, bank_holiday, policy, when_label)
    _inequality(table.attrs)
    _travel_note(table.attrs)

    # small areas are drawn for one policy; the range shows its cautious bound
    _small_area_section(level, table, hour, bank_holiday,
                        "exclude" if policy == "range" else policy, when_label)


@st.fragment
def _map_section(table: pd.DataFrame, geometry: maps.PreparedGeometry, level: str,
                 metric_key: str, policy: str, when: str) -> None:
    """The choropleth with its view switch (bound or width), legend and notes.

    A fragment: switching what the map shows reruns only this part of the page.
    """
    metric = METRIC_BY_KEY[metric_key]
    values, upper = shown_values(table, metric_key, policy)
    view = "lower"
    if upper is not None:
        view = st.radio("The map shows", list(VIEWS), format_func=VIEWS.get, horizontal=True,
                        key="gaps_view")
    if upper is None:
        texts = [fmt_metric(v, metric) for v in values]
    else:
        texts = [f"{fmt_metric(v, metric)} (unknown hours closed) to {fmt_metric(u, metric)} "
                 "(unknown hours open)" for v, u in zip(values, upper, strict=True)]
    frame = pd.DataFrame({
        "region_code": table["region_code"].astype(str),
        "value": map_values(table, metric_key, policy, view).to_numpy(),
        "text": texts,
    })
    title = f"{metric.label}{when}"
    if view == "width":
        legend = f"Width of the range, {metric.unit.strip() or 'points'}: {metric.label}{when}"
        bins = maps.make_bins(WIDTH_EDGES.get(metric.unit, WIDTH_EDGES["%"]), reverse=True)
    else:
        bound = {"lower": "unknown hours closed", "upper": "unknown hours open"}[view]
        legend = f"{title} ({bound if upper is not None else POLICIES[policy].lower()})"
        bins = maps.make_bins(metric.edges, reverse=not metric.higher_is_better)

    m = maps.base_map(bounds=geometry.bounds, base_url_path=common.base_url_path())
    maps.add_choropleth(m, geometry, frame, bins, legend, fmt="{:g}")
    n_incomplete = completeness.add_incomplete(m, geometry, table)
    st.markdown(f"**Map: {md_escape(legend)}**")
    common.show_map(m, key=f"gaps_map_{level}",
                    name=f"Map: {legend}, by {LEVELS.get(level, level)}")
    for sentence in completeness.no_unit_sentences(table):
        st.warning(md_escape(sentence))
    if n_incomplete:
        st.caption(f"Dashed purple outline: {n_incomplete} regions whose figures rest on incomplete "
                   "data (fewer than half of their likely early pregnancy sites are in our "
                   "directory, or it holds no unit there). See Directory gaps.")
    if view == "width":
        st.caption("Darkest = the widest range: there, unpublished hours change the answer "
                   "most. The table gives both bounds.")
    else:
        st.caption("Darkest = worst. The table below gives the same figures.")


def _downloads(table: pd.DataFrame, geometry: maps.PreparedGeometry, level: str, hour: int,
               bank_holiday: bool | str, policy: str, when_label: str) -> None:
    """CSV and GeoJSON named and labelled with level, time, policy and build date.

    The files are made when a button is pressed (a deferred download), not on every rerun.
    """
    built = downloads.build_date(getattr(common.context(), "manifest", {}))
    facts = functools.partial(
        downloads.with_context, table, level=level, time_of_week=when_label, hour_of_week=hour,
        bank_holiday=("" if bank_holiday is False
                      else "all nations" if bank_holiday is True else str(bank_holiday)),
        policy=policy, build_date=built)
    d1, d2 = st.columns(2)
    d1.download_button("CSV", lambda: downloads.csv_download(facts()),
                       file_name=downloads.download_name("gaps", level, when_label, policy,
                                                         built, "csv"),
                       mime="text/csv", key="gaps_csv")
    d2.download_button("GeoJSON", lambda: maps.geojson_with_values(geometry, facts()),
                       file_name=downloads.download_name("gaps", level, when_label, policy,
                                                         built, "geojson"),
                       mime="application/geo+json", key="gaps_geojson")
    st.caption(f"Files: {md_escape(downloads.download_name('gaps', level, when_label, policy, built, 'csv|geojson'))}"
               " — level, time, policy and build date are also columns. Empty cell (CSV) or "
               "null (GeoJSON) = no value, e.g. no open unit can be reached.")


def _inequality(attrs: dict[str, Any]) -> None:
    """The postcode-lottery summary the api attaches to the gaps table (``df.attrs``)."""
    ineq = attrs.get("inequality") or {}
    if "exclude" in ineq:  # policy="range": show the cautious bound
        ineq = ineq["exclude"]
    if not ineq:
        return
    ratio, gini = ineq.get("median_ratio_worst_best"), ineq.get("gini_minutes_uk")
    none = ineq.get("pct_no_open_unit_uk")
    c1, c2, c3 = st.columns(3)
    c1.metric("Worst ÷ best median",
              "no open unit" if ratio is None else f"{ratio:.1f}×",
              help="Median travel time to the nearest open unit in the worst region divided by "
                   "that of the best region, at this time.")
    c2.metric("Gini of minutes (UK)", "–" if gini is None else f"{gini:.2f}",
              help="0 = everyone equally far from an open unit; 1 = maximal inequality.")
    c3.metric("No open unit (UK)", "–" if none is None else f"{none:.1f}%")


def _travel_note(attrs: dict[str, Any]) -> None:
    """What the travel times are, with the estimate's measured error (the api's caption)."""
    st.caption(f"Travel times: {md_escape(attrs['travel_caption'])} (see About the data).")


def _small_area_section(level: str, table: pd.DataFrame, hour: int, bank_holiday: bool | str,
                        policy: str, when_label: str) -> None:
    st.subheader("Small areas of a region")
    names = dict(zip(table["region_code"].astype(str),
                     table.get("region_name", table["region_code"]).astype(str), strict=True))
    code = st.selectbox("Region", [""] + sorted(names, key=names.get),
                        format_func=lambda c: names.get(c, "Choose a region…"), key="gaps_region")
    if not code:
        return
    areas = _small_areas(common.ctx_key(), level, code, hour, bank_holiday, policy)
    if areas.empty:
        st.warning("No small areas found for this region.")
        return
    approx = bool(areas.get("approximate", pd.Series([False])).fillna(False).any())
    pts = pd.DataFrame({
        "lat": areas["lat"], "lon": areas["lon"],
        "value": pd.to_numeric(areas["minutes"], errors="coerce").astype(float),
    })
    unit_names = areas.get("unit_name", pd.Series("", index=areas.index)).fillna("").astype(str)
    pts["text"] = [f"{a}: {fmt_minutes(v, approx)}" + (f" to {u}" if u else "")
                   for a, v, u in zip(areas.get("area_name", areas["area_code"]).astype(str),
                                      pts["value"], unit_names, strict=True)]
    if len(pts) > TOOLTIP_LIMIT:  # keep the map under its 2 MB budget
        pts["text"] = ""
        st.caption(f"{len(pts):,} small areas: hover labels are off on this map; the table and "
                   "CSV below hold every area.")
    bins = maps.make_bins(SMALL_AREA_EDGES, reverse=True)
    m = maps.base_map(bounds=maps.bounds_of(pts["lat"], pts["lon"]),
                      base_url_path=common.base_url_path())
    maps.add_values_points(m, pts, bins, f"Minutes to nearest open unit — {when_label}",
                           fmt="{:g}")
    common.show_map(m, key=f"gaps_small_{code}",
                    name=f"Map: minutes to the nearest open unit — {when_label}, "
                         f"small areas of {names.get(code, code)}")
    st.caption("Table of the same small areas (the map's text alternative):")
    show: dict[str, Any] = {c: areas[c] for c in
                            ("area_code", "area_name", "population", "weight", "minutes", "km",
                             "unit_name") if c in areas.columns}
    st.dataframe(pd.DataFrame(show), hide_index=True, height=300)
    built = downloads.build_date(getattr(common.context(), "manifest", {}))
    facts = functools.partial(downloads.with_context, areas, level=level, region_code=code,
                              time_of_week=when_label, hour_of_week=hour, policy=policy,
                              build_date=built)
    st.download_button("Small areas CSV", lambda: downloads.csv_download(facts()),
                       file_name=downloads.download_name(f"small_areas_{code}", level,
                                                         when_label, policy, built, "csv"),
                       mime="text/csv", key="gaps_small_csv")


if __name__ == "__main__":
    page()
