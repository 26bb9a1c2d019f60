"""Plain words for the patient answer beside the directory's units.

The nearer hospital, the urgent route for her nation and the likely EPU sites (pure; no Streamlit).

The functions return plain text (no Markdown): pages escape it with
:func:`epu_mapper.ui.format.md_escape` before display, the CLI prints it as is.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from epu_mapper.ui.format import fmt_minutes, is_missing

NO_EPU_INFO = "We hold no early pregnancy unit information for it; it may have one — phone the hospital"


def _minutes(row: dict[str, Any] | pd.Series) -> str:
    return fmt_minutes(row.get("minutes"), bool(row.get("approximate")))


def _phone(row: dict[str, Any] | pd.Series) -> str:
    phone = row.get("phone")
    return "" if is_missing(phone) else f" on {str(phone).strip()}"


def nearer_hospital_text(nearer: dict[str, Any] | None) -> str:
    """The line shown before the units when a hospital is nearer than the unit we send her to.

    Parameters
    ----------
    nearer : dict or None
        :attr:`epu_mapper.api.NearestResult.nearer`: ``name, minutes, approximate, phone,
        kind`` (``likely_site`` / ``acute_hospital``).

    Returns
    -------
    str
        ``"Nearer hospital: Leicester Royal Infirmary, about 37 min (estimate). We hold no early
        pregnancy unit information for it; it may have one — phone the hospital on 0300 …."``;
        ``""`` when ``nearer`` is None.
    """
    if not nearer:
        return ""
    head = f"Nearer hospital: {nearer.get('name')}, {_minutes(nearer)}."
    if nearer.get("kind") == "acute_hospital":
        return (f"{head} Its early pregnancy unit in our directory does not match your filters; "
                f"phone the hospital{_phone(nearer)}.")
    return f"{head} {NO_EPU_INFO}{_phone(nearer)}."


def helpline_text(helpline: dict[str, Any]) -> str:
    """One sentence naming her nation's helpline (``helpline`` from ``urgent["helpline"]``)."""
    name, phone, when = helpline.get("name"), helpline.get("phone"), helpline.get("when")
    if helpline.get("nation") == "Northern Ireland":
        return ("Northern Ireland has no 111 service. When your GP surgery is closed and it "
                f"cannot wait, contact {name}: {when}.")
    return f"For urgent advice, call {name} on {phone} ({when})."


def ae_text(a_and_e: dict[str, Any] | None) -> str:
    """The nearest acute hospital line (``urgent["a_and_e"]``); ``""`` when none is reachable."""
    if not a_and_e:
        return ""
    return (f"Nearest hospital A&E: {a_and_e.get('name')}, {_minutes(a_and_e)}. Our sources do not "
            "say which hospitals have a 24-hour emergency department: check before you travel.")


def urgent_lines(urgent: dict[str, Any]) -> list[str]:
    """The urgent route, most urgent first: 999, her nation's helpline, the nearest A&E.

    Parameters
    ----------
    urgent : dict
        :attr:`epu_mapper.api.NearestResult.urgent` (``helpline``, ``emergency_number``,
        ``a_and_e``).

    Returns
    -------
    list of str
        Two or three sentences (no A&E line when no hospital is reachable).
    """
    number = urgent.get("emergency_number") or "999"
    lines = [(f"If you have heavy bleeding, severe pain or feel faint or very unwell, call {number} "
             "or go to A&E now.")]
    if urgent.get("helpline"):
        lines.append(helpline_text(urgent["helpline"]))
    ae = ae_text(urgent.get("a_and_e"))
    if ae:
        lines.append(ae)
    return lines


def likely_site_line(row: dict[str, Any] | pd.Series) -> str:
    """``"Derriford Hospital (PL6 8DH), about 3 min (estimate).

    No EPU information held; phone 01752 202082."`` for one row of ``likely_sites``.
    """
    pc = "" if is_missing(row.get("postcode")) else f" ({row.get('postcode')})"
    phone = "" if is_missing(row.get("phone")) else f"; phone {str(row.get('phone')).strip()}"
    return f"{row.get('name')}{pc}, {_minutes(row)}: no early pregnancy unit information held{phone}."
