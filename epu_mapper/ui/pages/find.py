"""Find a unit (patients): postcode in, nearest units by travel time, open now or not."""

from __future__ import annotations

from datetime import datetime, time
from typing import Any

import pandas as pd
import streamlit as st

from epu_mapper import api
from epu_mapper.errors import EpuMapperError, PostcodeError
from epu_mapper.ui import common, maps, suggest
from epu_mapper.ui.format import (
    STATE_ICONS,
    fmt_hours_kind,
    fmt_km,
    fmt_minutes,
    fmt_self_referral,
    fmt_source,
    fmt_state,
    fmt_weeks,
    fmt_when,
    hours_kind_note,
    is_missing,
    md_escape,
    safe_url,
    unit_label,
    unit_labels,
    when_closed_text,
)

LIMIT = 10


def _get(obj: Any, name: str, default: Any = None) -> Any:
    """Attribute or key access (the origin may be a dataclass or a dict)."""
    if isinstance(obj, dict):
        return obj.get(name, default)
    return getattr(obj, name, default)


@st.cache_data(show_spinner="Finding units…", max_entries=64)
def _nearest(key: str, postcode: str, at: datetime | None, self_referral: bool,
             weeks: int | None, limit: int) -> Any:
    return api.nearest(common.context(), postcode, at=at,
                                    self_referral=self_referral, weeks=weeks, limit=limit)


def results_table(units: pd.DataFrame, now: datetime) -> pd.DataFrame:
    """The table alternative to the map: plain text columns only."""
    approx = units.get("approximate", pd.Series(False, index=units.index)).fillna(False)
    return pd.DataFrame({
        "unit": unit_labels(units),
        "status": units["state"].map(fmt_state),
        "next opening": [fmt_when(v, now) for v in units.get("next_opening", [None] * len(units))],
        "travel": [fmt_minutes(m, bool(a)) for m, a in zip(units["minutes"], approx, strict=True)],
        "distance": [fmt_km(k, bool(a)) for k, a in zip(units["km"], approx, strict=True)],
        "hours are": units.get("hours_kind", pd.Series("", index=units.index)).map(fmt_hours_kind),
        "when closed": [when_closed_text(s, o) for s, o in zip(
            units["state"], units.get("out_of_hours", pd.Series("", index=units.index)),
            strict=True)],
        "phone": units.get("phone", pd.Series("", index=units.index)).fillna("").astype(str),
        "self-referral": units.get("self_referral", pd.Series("unknown", index=units.index))
        .map(fmt_self_referral),
        "source": units.get("source_url", pd.Series("", index=units.index)).map(safe_url),
        "source read": units.get("source_seen", pd.Series("", index=units.index)).fillna("")
        .astype(str).replace("", "not recorded"),
    })


def _unit_card(row: pd.Series, rank: int, now: datetime) -> None:
    approx = bool(row.get("approximate", False))
    with st.container(border=True):
        st.markdown(f"**{rank}. {md_escape(unit_label(row['unit_name'], row.get('hospital')))}**")
        state = str(row.get("state", "unknown"))
        line = f"{STATE_ICONS.get(state, '?')} **{fmt_state(state)}**"
        if state != "open":
            line += f" · next opening: {md_escape(fmt_when(row.get('next_opening'), now))}"
        line += (f" · {md_escape(fmt_minutes(row['minutes'], approx))}"
                 f" ({md_escape(fmt_km(row['km'], approx))})")
        st.markdown(line)
        kind_note = hours_kind_note(row.get("hours_kind"))
        if kind_note:
            st.markdown(f"⚠ {md_escape(kind_note)}")
        closed_text = when_closed_text(state, row.get("out_of_hours"))
        if closed_text:
            st.markdown(f"**When closed:** {md_escape(closed_text)}")
        details = []
        if not is_missing(row.get("phone")):
            details.append(f"Phone: {md_escape(row['phone'])}")
        details.append(f"Self-referral: {md_escape(fmt_self_referral(row.get('self_referral')))}")
        weeks_text = fmt_weeks(row.get("min_weeks"), row.get("max_weeks"))
        if bool(row.get("weeks_unknown", False)):
            weeks_text += " (limit not published: check before you go)"
        details.append(f"Pregnancy weeks seen: {md_escape(weeks_text)}")
        st.markdown(" · ".join(details))
        if not is_missing(row.get("access_notes")):
            st.caption(f"Referral rules and notes: {md_escape(row['access_notes'])}")
        st.caption("Source: " + md_escape(fmt_source(safe_url(row.get("source_url")),
                                                     row.get("source_seen"))))
        suggest.suggest_correction(row, "find")


@common.guarded
def page() -> None:
    st.title("Find an early pregnancy unit")
    common.safety_banner()
    now = common.uk_now()
    when = st.radio("When", ["Now", "Choose a date and time"], horizontal=True, key="find_when")
    with st.form("find_form"):
        postcode = st.text_input("Your postcode", placeholder="e.g. LE15 6RB", max_chars=10)
        day, at_time = now.date(), time(now.hour, now.minute)
        if when != "Now":
            c1, c2 = st.columns(2)
            day = c1.date_input("Date", value=now.date(), format="DD/MM/YYYY")
            at_time = c2.time_input("Time", value=time(now.hour, 0), step=1800)
        c3, c4 = st.columns(2)
        self_ref = c3.checkbox("I want to refer myself (no GP or A&E referral)")
        weeks = c4.number_input("Weeks pregnant (optional)", min_value=0, max_value=42,
                                value=None, step=1)
        submitted = st.form_submit_button("Find units", type="primary")
    if submitted:
        st.session_state["find_query"] = {
            "postcode": postcode.strip(),
            "at": None if when == "Now" else datetime.combine(day, at_time),
            "self_referral": bool(self_ref),
            "weeks": None if weeks is None else int(weeks),
        }
    query = st.session_state.get("find_query")
    if not query:
        st.info("Enter a postcode to see the nearest units, whether they are open, and how "
                "to contact them.")
        return
    if not query["postcode"]:
        st.error("Please enter a postcode, for example LE15 6RB.")
        return
    at = query["at"] or now
    try:
        result = _nearest(common.ctx_key(), query["postcode"], query["at"],
                          query["self_referral"], query["weeks"], LIMIT)
    except PostcodeError as exc:
        st.error(f"We could not use that postcode: {exc}")
        return
    origin = _get(result, "origin", {})
    units = _get(result, "units")
    if units is None:
        units = pd.DataFrame()
    label = f"{_get(origin, 'postcode', query['postcode'])}"
    st.subheader(f"Units nearest {label}, {'now' if query['at'] is None else fmt_when(at)}")
    note = _get(origin, "note")
    precision = _get(origin, "precision")
    if note:
        st.info(f"Approximate position: {md_escape(note)}")
    elif precision and str(precision) not in {"postcode", "unit"}:
        st.info(f"Approximate position (located by {md_escape(precision)}).")
    excluded = _get(result, "excluded", {}) or {}
    notes = []
    if excluded.get("self_referral"):
        notes.append(f"{excluded['self_referral']} units left out (no self-referral)")
    if excluded.get("weeks"):
        notes.append(f"{excluded['weeks']} left out (weeks pregnant outside their limits)")
    if excluded.get("unreachable"):
        notes.append(f"{excluded['unreachable']} cannot be reached by road from here")
    if excluded.get("no_site"):
        notes.append(f"{excluded['no_site']} directory entries have no known site and cannot "
                     "be placed")
    if notes:
        st.caption("; ".join(notes) + ".")
    if units.empty:
        st.warning("No unit in our directory matches these filters. Try without the "
                   "self-referral or weeks filter. Our directory is incomplete: there may be a "
                   "unit near you that we do not know about — ask NHS 111 or your GP.")
        return
    if bool(units.get("approximate", pd.Series(False)).fillna(False).any()):
        caption = _get(result, "caption", "") or "estimate from straight-line distance, not a road route"
        st.caption(f"Travel times marked “about … (estimate)” are an {md_escape(caption)}.")
    open_units = units[units["state"] == "open"]
    if open_units.empty:
        st.warning("None of these units is open at this time. Out of hours, call NHS 111, or "
                   "go to A&E if you have heavy bleeding, severe pain or feel faint.")
    else:
        first = open_units.iloc[0]
        st.success(f"Nearest unit open at this time: "
                   f"**{md_escape(unit_label(first['unit_name'], first.get('hospital')))}**, "
                   f"{md_escape(fmt_minutes(first['minutes'], bool(first.get('approximate'))))}.")
    cards, side = st.columns([3, 2], gap="medium")
    with side:
        st.markdown("**Map**")
        bounds = maps.bounds_of(
            pd.concat([units["lat"], pd.Series([_get(origin, "lat")])]),
            pd.concat([units["lon"], pd.Series([_get(origin, "lon")])]),
        )
        m = maps.base_map(bounds=bounds, base_url_path=common.base_url_path())
        try:
            maps.add_outline(m, common.boundaries("nation"))
        except (EpuMapperError, OSError, ValueError):  # decoration only; markers still draw
            pass
        maps.add_units(m, units.assign(unit_name=unit_labels(units)))
        if _get(origin, "lat") is not None:
            maps.add_origin(m, float(_get(origin, "lat")), float(_get(origin, "lon")),
                            f"Your postcode {label}")
        common.show_map(m, key="find_map", height=520)
        st.caption("Black ring: your postcode. Blue: open now; orange: closed; grey dashed: "
                   "hours unknown.")
    with cards:
        for i, (_, row) in enumerate(units.iterrows(), start=1):
            _unit_card(row, i, now)
    st.caption("Table of the same results:")
    st.dataframe(results_table(units, now), hide_index=True,
                 column_config={"source": st.column_config.LinkColumn("source")})
    suggest.suggest_new_unit("find")


if __name__ == "__main__":
    page()
