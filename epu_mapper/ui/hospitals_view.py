"""Streamlit blocks for the hospitals beside the directory in a patient answer.

The nearer hospital (shown before any unit), the urgent route for her nation and the likely
EPU sites.

Thin: the words come from :mod:`epu_mapper.ui.patient` (pure, tested) and are escaped with
:func:`~epu_mapper.ui.format.md_escape` (data is never rendered as HTML). Called by the Find page.
"""

from __future__ import annotations

import streamlit as st

from epu_mapper.api import NearestResult
from epu_mapper.ui import patient
from epu_mapper.ui.format import md_escape


def nearer_and_urgent(result: NearestResult) -> None:
    """Show the nearer-hospital card, then the urgent route.

    The card shows when a hospital is nearer than the unit we would send her to; the urgent
    route is 999, her nation's helpline and the nearest hospital A&E.
    """
    nearer = result.nearer
    if nearer:
        st.warning(md_escape(patient.nearer_hospital_text(nearer)), icon=":material/local_hospital:")
    urgent = result.urgent
    if urgent:
        with st.container(border=True, key="urgent_route"):
            st.markdown("**Urgent help**")
            for line in patient.urgent_lines(urgent):
                st.markdown(md_escape(line))


def likely_sites(result: NearestResult) -> None:
    """Hospitals near her with no early pregnancy unit information (they may have one)."""
    sites = result.likely_sites
    if sites.empty:
        return
    st.markdown("**Hospitals near you that may have an early pregnancy unit** "
                "(we hold no information on them; phone first)")
    for _, row in sites.iterrows():
        st.markdown("- " + md_escape(patient.likely_site_line(row)))
