"""Find a unit's results (patients): the nearest units as care cards, their map and table.

Each card says "Open now, until …" relative to the chosen time, with tap-to-call and directions;
the results scroll into view and are announced. Imported by :mod:`epu_mapper.ui.pages.find`
only once a postcode has been entered, so the empty form opens without the analysis stack.
"""

from __future__ import annotations

import contextlib
import threading
from datetime import datetime, timedelta
from typing import Any

import pandas as pd
import streamlit as st

from epu_mapper import api
from epu_mapper.errors import EpuMapperError, PostcodeError
from epu_mapper.ui import common, hospitals_view, maps, suggest
from epu_mapper.ui import patient_text as pt
from epu_mapper.ui.format import (
    STATE_ICONS,
    fmt_self_referral,
    hours_kind_note,
    is_missing,
    md_escape,
    unit_label,
    unit_labels,
    when_closed_text,
)
from epu_mapper.ui.shell import SAFETY_ICON, SAFETY_MESSAGE

#: Units fetched per query (the first few are shown, the rest behind "show more").
LIMIT = 15
RESULTS_ID = "find-results"
#: Card fields joined from the directory (``api.nearest`` does not return them).
DIRECTORY_COLS = ("nation", "address", "town", "postcode")
_NOW_CACHE_SIZE = 128


@st.cache_data(show_spinner="Finding units…", max_entries=64)
def _nearest_at(key: str, postcode: str, at: datetime, self_referral: bool,  # noqa: ARG001 - key: the build stamp, part of the cache key
                weeks: int | None, limit: int) -> Any:
    """A chosen-time query (a fixed moment: cached as long as the build)."""
    return api.nearest(common.context(), postcode, at=at, self_referral=self_referral,
                       weeks=weeks, limit=limit)


@st.cache_resource(max_entries=1)
def _now_store() -> tuple[dict, threading.Lock]:
    return {}, threading.Lock()


def _with_directory(units: pd.DataFrame) -> pd.DataFrame:
    """``units`` plus the directory's nation and address columns (by ``unit_id``)."""
    mapped = common.context().mapped
    have = [c for c in DIRECTORY_COLS if c in mapped.columns and c not in units.columns]
    if not have or units.empty:
        return units.assign(**{c: "" for c in DIRECTORY_COLS if c not in units.columns})
    extra = mapped.drop_duplicates("unit_id").set_index("unit_id")[have]
    out = units.join(extra, on="unit_id")
    return out.assign(**{c: "" for c in DIRECTORY_COLS if c not in out.columns})


def _nearest_now(key: str, postcode: str, now: datetime, self_referral: bool,
                 weeks: int | None, limit: int) -> Any:
    """A "now" query, reused only until the first returned unit opens or closes."""
    store, lock = _now_store()
    k = (key, postcode.upper().replace(" ", ""), self_referral, weeks, limit)
    with lock:
        hit = store.get(k)
    if hit is not None and hit[1] <= now < hit[2]:
        return hit[0]
    with st.spinner("Finding units…"):
        result = api.nearest(common.context(), postcode, at=now, self_referral=self_referral,
                             weeks=weeks, limit=limit)
    units = result.units
    expires = None
    if units is not None and not units.empty:
        expires = pt.expires_at(_with_directory(units), now)
    with lock:
        if len(store) >= _NOW_CACHE_SIZE:
            store.pop(next(iter(store)))
        store[k] = (result, now, expires or now + timedelta(days=1))
    return result


def announce_script(message: str, nonce: int) -> str:
    """The ``<script>`` that brings the results into view and announces them.

    It focuses the results heading, scrolls it to the top of the screen, and puts ``message``
    in a polite live region. The cards below the heading are still arriving when it first
    runs (so the page may not yet be long enough to scroll that far): it scrolls again as they
    arrive, for about a second, and stops at once if the person scrolls, taps or types.

    Only letters, digits, spaces, commas and full stops of ``message`` are written; ``nonce``
    (an int) makes each search's script new, so it runs once per search and not on later
    reruns.
    """
    safe = "".join(ch for ch in message if ch.isalnum() or ch in " ,.")
    return f"""<script>
/* search {int(nonce)} */
(function () {{
let live = document.getElementById('epu-live');
if (!live) {{
  live = document.createElement('div'); live.id = 'epu-live';
  live.setAttribute('role', 'status'); live.setAttribute('aria-live', 'polite');
  live.style.cssText = 'position:absolute;width:1px;height:1px;overflow:hidden;'
    + 'clip:rect(0 0 0 0);white-space:nowrap;';
  document.body.appendChild(live);
}}
live.textContent = '';
setTimeout(function () {{ live.textContent = '{safe}'; }}, 150);
let userMoved = false;
const stop = function () {{ userMoved = true; }};
['wheel', 'touchstart', 'keydown', 'mousedown'].forEach(function (t) {{
  window.addEventListener(t, stop, {{capture: true, once: true, passive: true}}); }});
let focused = false;
function go(tries) {{
  if (userMoved) {{ return; }}
  const h = document.getElementById('{RESULTS_ID}');
  if (h) {{
    h.scrollIntoView({{block: 'start'}});
    if (!focused) {{
      h.setAttribute('tabindex', '-1'); h.focus({{preventScroll: true}}); focused = true;
    }}
  }}
  if (tries > 0) {{ setTimeout(function () {{ go(tries - 1); }}, 100); }}
}}
go(12);
}})();
</script>"""


def _announce_and_scroll(message: str, nonce: int) -> None:
    """Bring the results into view, focus them and announce ``message`` (once per search).

    The script runs in the page itself (``st.html``): a component frame would build a new
    document for every search (about 0.05-0.1 s of the browser's time per search here).
    """
    st.html(announce_script(message, nonce), unsafe_allow_javascript=True)


def _unit_card(row: pd.Series, rank: int, at: datetime, is_now: bool,
               origin: Any) -> None:
    approx = bool(row.get("approximate", False))
    # one Markdown block of paragraphs per card: a page of cards is a third as many elements
    # for the browser to lay out (each data text escaped on its own)
    lines = [f"**{rank}. {md_escape(unit_label(row['unit_name'], row.get('hospital')))}**"]
    place = [str(row[c]).strip() for c in ("address", "town", "postcode")
             if not is_missing(row.get(c))]
    if place:
        lines.append(md_escape(", ".join(place)))
    state = str(row.get("state", "unknown"))
    status = pt.status_line(state, row.get("opening_hours"), row.get("nation"), at, is_now)
    lines.append(f"{STATE_ICONS.get(state, '?')} **{md_escape(status)}**")
    travel = " · ".join(t for t in (pt.travel_text(row.get("minutes"), approx),
                                    pt.distance_text(row.get("km"), approx)) if t)
    if travel:
        lines.append(md_escape(travel))
    kind_note = hours_kind_note(row.get("hours_kind"))
    if kind_note:
        lines.append(md_escape(kind_note))
    closed_text = when_closed_text(state, row.get("out_of_hours"))
    if closed_text:
        lines.append(f"**If it is closed:** {md_escape(closed_text)}")
    weeks = pt.weeks_text(row.get("min_weeks"), row.get("max_weeks"))
    referral = md_escape(f"{pt.referral_text(row.get('self_referral'))} {weeks}")
    with st.container(border=True):
        st.markdown("\n\n".join(lines))
        c1, c2 = st.columns(2)
        href = pt.tel_href(row.get("phone"))
        if href:
            c1.link_button(f"Call {pt.phone_label(row.get('phone'))}", href,
                           use_container_width=True)
        elif not is_missing(row.get("phone")):
            c1.markdown(f"Phone: {md_escape(row.get('phone'))}")
        else:
            c1.markdown("No phone number published")
        c2.link_button("Directions", pt.directions_url(
            origin["lat"], origin["lon"], row["lat"], row["lon"]),
            use_container_width=True)
        st.markdown(referral)
        st.caption(md_escape(pt.confidence_line(row.get("opening_hours"),
                                                row.get("hours_status"),
                                                row.get("source_url"), row.get("source_seen"))))
        suggest.suggest_correction(row, "find")


def results_table(units: pd.DataFrame, at: datetime, is_now: bool) -> pd.DataFrame:
    """The table alternative to the map: plain text columns only."""
    approx = units.get("approximate", pd.Series(False, index=units.index)).fillna(False)
    return pd.DataFrame({
        "unit": unit_labels(units),
        "status": [pt.status_line(s, h, n, at, is_now) for s, h, n in zip(
            units["state"], units["opening_hours"], units["nation"], strict=True)],
        "travel": [pt.travel_text(m, bool(a)) for m, a in zip(units["minutes"], approx,
                                                              strict=True)],
        "distance": [pt.distance_text(k, bool(a)) for k, a in zip(units["km"], approx,
                                                                 strict=True)],
        "phone": units.get("phone", pd.Series("", index=units.index)).fillna("").astype(str),
        "self-referral": units.get("self_referral", pd.Series("unknown", index=units.index))
        .map(fmt_self_referral),
    })


def show(query: dict[str, Any], now: datetime) -> None:
    """Answer a submitted Find query: the results heading, urgent advice, cards, map, table.

    Parameters
    ----------
    query : dict
        ``postcode`` (non-empty), ``at`` (a chosen datetime, or None for now),
        ``self_referral`` (bool) and ``weeks`` (int or None), as the page's form stores them.
    now : datetime
        The current UK time (naive), used when ``at`` is None.
    """
    is_now = query["at"] is None
    at = now if is_now else query["at"]
    args = (common.ctx_key(), query["postcode"], at, query["self_referral"], query["weeks"],
            LIMIT)
    try:
        result = _nearest_now(*args) if is_now else _nearest_at(*args)
    except PostcodeError as exc:
        st.error(f"We could not use that postcode: {md_escape(exc)}")
        return
    _results(result, at, is_now)


def _results(result: api.NearestResult, at: datetime, is_now: bool) -> None:
    origin = result.origin
    units = _with_directory(result.units)
    label = str(origin["postcode"])
    when_words = "now" if is_now else f"on {at:%A %d %B at %H:%M}"
    st.subheader(f"Units nearest {md_escape(label)}, {when_words}", anchor=RESULTS_ID)
    st.error(SAFETY_MESSAGE, icon=SAFETY_ICON)
    _announce_and_scroll(pt.found_text(len(units)), int(st.session_state.get("find_nonce", 0)))
    # what sits between the heading and the cards varies with the answer (a nearer hospital,
    # a rough location, filters, nothing open, ...); it is held in one container so that the
    # cards and the map keep their place in the page, and a new postcode redraws the map's
    # data layers in place instead of building a new map (and its outline) around them
    with st.container():
        hospitals_view.nearer_and_urgent(result)
        precision = origin["precision"]
        if origin["note"] or (precision and str(precision) not in {"postcode", "unit"}):
            st.info("We could only find the rough area of your postcode, so travel times are "
                    "rough.")
        filters = []
        excluded = result.excluded
        if excluded.get("self_referral"):
            filters.append("units where you cannot refer yourself are not shown")
        if excluded.get("weeks"):
            filters.append("units that do not see your stage of pregnancy are not shown")
        if filters:
            st.markdown(md_escape("; ".join(filters).capitalize() + "."))
        if units.empty:
            st.warning("No unit in our directory matches these choices. Try without the "
                       "self-referral or weeks filter. Our list is incomplete: there may be a "
                       "unit near you that we do not know about — ask NHS 111 or your GP.")
        else:
            _summary_line(units, result.caption)
    if units.empty:
        return
    _cards_and_map(units, at, is_now, origin, label)
    hospitals_view.likely_sites(result)
    suggest.suggest_new_unit("find")


def _summary_line(units: pd.DataFrame, caption: str) -> None:
    """The nearest open unit (or that none is open), and what "about" times are."""
    open_units = units[units["state"] == "open"]
    if open_units.empty:
        st.warning("None of these units is open at this time. Call NHS 111 for advice, or go "
                   "to A&E if you have heavy bleeding, severe pain or feel faint.")
    else:
        first = open_units.iloc[0]
        travel = pt.travel_text(first["minutes"], bool(first.get("approximate")))
        st.success(f"Nearest open unit: "
                   f"**{md_escape(unit_label(first['unit_name'], first.get('hospital')))}**"
                   f"{', ' + md_escape(travel) if travel else ''}.")
    if bool(units.get("approximate", pd.Series(False)).fillna(False).any()):
        st.caption(f"Times marked “about” are an {md_escape(caption)}.")


@st.fragment
def _cards_and_map(units: pd.DataFrame, at: datetime, is_now: bool, origin: Any,
                   label: str) -> None:
    """The unit cards, their map and table.

    A fragment: "Show more" and the cards' correction forms rerun only this part of the page.
    """
    more = bool(st.session_state.get("find_more"))
    visible = units if more else units[pt.pick_shown(units)]
    cards, side = st.columns([3, 2], gap="medium")
    with cards:
        for i, (_, row) in enumerate(visible.iterrows(), start=1):
            _unit_card(row, i, at, is_now, origin)
        hidden = len(units) - len(visible)
        if hidden > 0:  # a callback, so one script run (not a run and a rerun) shows them
            st.button(f"Show {hidden} more units", key="find_more_btn", on_click=_show_more)
    with side:
        _map(visible, origin, label)
        st.caption("Table of the same units (the map's text alternative):")
        st.dataframe(results_table(visible, at, is_now), hide_index=True)


def _show_more() -> None:
    st.session_state["find_more"] = True


def _map(units: pd.DataFrame, origin: Any, label: str) -> None:
    st.markdown("**Map of these units**")
    bounds = maps.bounds_of(
        pd.concat([units["lat"], pd.Series([origin["lat"]])]),
        pd.concat([units["lon"], pd.Series([origin["lon"]])]),
    )
    m = maps.base_map(bounds=bounds, base_url_path=common.base_url_path())
    with contextlib.suppress(EpuMapperError, OSError, ValueError):  # decoration only
        maps.add_outline(m, common.boundaries("nation"))
    maps.add_units(m, units.assign(unit_name=unit_labels(units)))
    if origin["lat"] is not None:
        maps.add_origin(m, float(origin["lat"]), float(origin["lon"]),
                        f"Your postcode {label}")
    common.show_map(m, key="find_map", height=420,
                    name=f"Map: the {len(units)} units in the list and your postcode {label}")
    st.caption("Black ring: your postcode. Blue: open; orange: closed; grey dashed: hours "
               "not known.")
