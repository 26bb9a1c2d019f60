"""Streamlit entry point: the page navigation, nothing else (``make run``)."""

import streamlit as st

from epu_mapper.ui import frontend
from epu_mapper.ui.pages import pages

page = st.navigation(pages())
# a distinct browser title per page (screen readers announce it; tabs and history show it)
st.set_page_config(page_title=f"{page.title} · EPU access mapper",
                   page_icon=":material/pregnancy:", layout="wide")
# captions at >= 4.5:1 contrast on white (Streamlit fades them to 3.9:1 with opacity 0.6);
# on a phone, static tables wrap their text to the screen instead of scrolling sideways (a
# scrolling box that a keyboard cannot reach fails WCAG: axe-core, scrollable-region-focusable)
st.html("<style>[data-testid='stCaptionContainer'] {opacity: 1 !important; "
        "color: #55586a !important;} [data-testid='stCaptionContainer'] p "
        "{color: #55586a !important;} @media (max-width: 640px) {[data-testid='stTable'] th, "
        "[data-testid='stTable'] td {overflow-wrap: anywhere; white-space: normal !important;} "
        "[data-testid='stTable'] table {table-layout: fixed; width: calc(100% - 4px) !important; "
        "min-width: 0 !important;} [data-testid='stTable'] td > div {max-width: 100%;}}</style>")
page.run()
# Streamlit's lazily loaded chunks for charts, tables, maps (our own script, no data)
frontend.preload_frontend()
