"""Streamlit entry point: the page navigation, nothing else (``make run``)."""

import streamlit as st

from epu_mapper.ui.pages import pages

st.set_page_config(page_title="EPU access mapper", page_icon=":material/pregnancy:", layout="wide")
st.navigation(pages()).run()
