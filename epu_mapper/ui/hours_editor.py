"""A reusable Streamlit opening-hours editor.

Day checkboxes and time pickers, with the OpenStreetMap ``opening_hours`` syntax only as an advanced
option.

Used by the Scenarios page and by the correction forms on unit cards. Conversion and error
wording are pure functions in :mod:`epu_mapper.ui.hours_spec` (tested there).

Usage::

    osm = hours_editor("sc_hours_U12", initial=unit_hours)   # None while the input is unusable
    if osm is not None and st.button("Apply"):
        ...

The widget uses no ``st.button``, so it also works inside ``st.form`` (there the number of
sets of hours changes when the form is submitted).
"""

from __future__ import annotations

from datetime import time

import streamlit as st

from epu_mapper.ui.format import md_escape
from epu_mapper.ui.hours_spec import (
    BANK_HOLIDAY_WORDS,
    DAY_NAMES,
    EXAMPLE,
    Period,
    WeekSpec,
    describe,
    from_osm,
    plain_error,
    to_osm,
)

MAX_SETS = 4
DEFAULT = WeekSpec(periods=(Period((0, 1, 2, 3, 4), time(9), time(17)),), bank_holidays="closed")


def _sets_label(n: int) -> str:
    return "1 (the same hours on every day ticked)" if n == 1 else str(n)


def _period_inputs(key: str, i: int, p: Period, n: int) -> Period:
    if n > 1:
        st.markdown(f"Set of hours {i + 1}")
    cols = st.columns(7)
    days = tuple(d for d in range(7) if cols[d].checkbox(
        DAY_NAMES[d][:3], value=d in p.days, key=f"{key}_d{i}_{d}",
        help=f"Open on {DAY_NAMES[d]}s"))
    c1, c2 = st.columns(2)
    start = c1.time_input("Opens at", value=p.start, step=900, key=f"{key}_s{i}")
    end = c2.time_input("Closes at", value=p.end, step=900, key=f"{key}_e{i}",
                        help="00:00 means midnight. A closing time before the opening time "
                             "means the unit stays open past midnight.")
    return Period(days, start, end)


def hours_editor(key: str, initial: str | None = "", label: str = "Opening hours") -> str | None:
    """Draw the editor and return the OSM ``opening_hours`` string it describes.

    Parameters
    ----------
    key : str
        Unique widget-key prefix (include the unit id so each unit starts from its own hours).
    initial : str, optional
        The current OSM string; read into the checkboxes when it is in the simple form,
        else shown in the advanced field.
    label : str
        Heading above the editor.

    Returns
    -------
    str or None
        The OSM string, or ``None`` when the input cannot be used (the reason is shown in
        plain words).
    """
    parsed = from_osm(initial)
    has_initial = initial is not None and bool(str(initial).strip())
    spec = parsed or DEFAULT
    st.markdown(f"**{md_escape(label)}**")
    if has_initial:
        st.caption(f"Now: {md_escape(describe(initial))}")
    advanced = st.toggle("Type the hours in OpenStreetMap syntax instead (advanced)",
                         value=has_initial and parsed is None, key=f"{key}_adv")
    if advanced:
        raw = st.text_input("Opening hours in OpenStreetMap syntax",
                            value=str(initial or "").strip() or to_osm(spec),
                            key=f"{key}_raw", help=f"For example: {EXAMPLE}")
        problem = plain_error(raw)
        if problem:
            st.error(problem)
            return None
        osm = raw.strip()
    else:
        always = st.checkbox("Open 24 hours, every day", value=spec.always, key=f"{key}_always")
        periods: list[Period] = []
        if not always:
            n = st.selectbox("How many sets of opening hours?", range(1, MAX_SETS + 1),
                             index=min(max(len(spec.periods), 1), MAX_SETS) - 1,
                             format_func=_sets_label, key=f"{key}_n",
                             help="Use 2 or more when some days have different hours, or "
                                  "when the unit closes for lunch.")
            blank = Period((), time(9), time(17))
            for i in range(n):
                p = spec.periods[i] if i < len(spec.periods) else blank
                periods.append(_period_inputs(key, i, p, n))
        choices = list(BANK_HOLIDAY_WORDS)
        bank = st.radio("Bank holidays", choices, format_func=BANK_HOLIDAY_WORDS.get,
                        index=choices.index(spec.bank_holidays), horizontal=True,
                        key=f"{key}_bank")
        try:
            osm = to_osm(WeekSpec(periods=tuple(periods), bank_holidays=str(bank),
                                  always=always))
        except ValueError as exc:
            st.error(md_escape(exc))
            return None
    st.caption(f"These hours: {md_escape(describe(osm))} (OpenStreetMap: {md_escape(osm)})")
    return osm
