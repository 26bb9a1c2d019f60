"""The app's pages, one thin script each; ``pages()`` feeds ``st.navigation`` in app.py.

Each page module defines ``page()`` and calls it when Streamlit runs the file as a script
(``__name__ == "__main__"``), so tests can also import it.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from epu_mapper.settings import reviewer_hash

HERE = Path(__file__).resolve().parent
#: (file, title, icon, url_path) in menu order; the first is the default page (served at ``/``).
#: Icons are Material Symbols, which Streamlit bundles (emoji need a system font).
PAGE_SPECS = (
    ("find.py", "Find a unit", ":material/location_on:", "find"),
    ("gaps.py", "Regional gaps", ":material/map:", "gaps"),
    ("local.py", "Local provision", ":material/local_hospital:", "local"),
    ("directory_gaps.py", "Directory gaps", ":material/checklist:", "directory-gaps"),
    ("scenarios.py", "Scenarios", ":material/tune:", "scenarios"),
    ("equity.py", "Who is far from care", ":material/diversity_3:", "equity"),
    ("about.py", "About the data", ":material/info:", "about"),
    ("review.py", "Review corrections", ":material/rate_review:", "review"),
)


def pages() -> list[st.Page]:
    """The ``st.Page`` list (file-based so ``AppTest.switch_page`` can drive each page)."""
    return [
        st.Page(HERE / name, title=title, icon=icon, url_path=url, default=(i == 0))
        for i, (name, title, icon, url) in enumerate(page_specs())
    ]


def page_specs() -> list[tuple[str, str, str, str]]:
    """:data:`PAGE_SPECS` that are shown: the review page only when reviewing is configured."""
    return [spec for spec in PAGE_SPECS if spec[0] != "review.py" or _reviewing()]


def _reviewing() -> bool:
    """The review page is listed only when a reviewer password hash is configured."""
    return reviewer_hash() is not None
