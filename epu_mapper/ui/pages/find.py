"""Find a unit (patients), phone-first.

Postcode in, nearest units as care cards with "Open now, until …", tap-to-call and directions
(:mod:`epu_mapper.ui.find_results`); the results scroll into view. This page is the app's
front door, so its first run imports only light modules (:mod:`epu_mapper.ui.shell`): the
results and their analysis stack are imported once a postcode has been entered.
"""

from __future__ import annotations

from datetime import datetime, time

import streamlit as st

from epu_mapper.ui import shell


def _form(now: datetime) -> None:
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
        st.session_state["find_nonce"] = st.session_state.get("find_nonce", 0) + 1
        st.session_state["find_more"] = False


@shell.guarded
def page() -> None:
    """Draw the Find page: a postcode in, the nearest units as care cards."""
    st.title("Find an early pregnancy unit")
    shell.safety_banner()
    now = shell.uk_now()
    _form(now)
    query = st.session_state.get("find_query")
    if not query:
        st.info("Enter a postcode to see the nearest units, whether they are open, and how "
                "to contact them.")
        return
    if not query["postcode"]:
        st.error("Please enter a postcode, for example LE15 6RB.")
        return
    from epu_mapper.ui import find_results  # the analysis stack: only once there is a query

    find_results.show(query, now)


if __name__ == "__main__":
    page()
