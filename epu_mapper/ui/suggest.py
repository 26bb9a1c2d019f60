""""Suggest a correction" and "Tell us about a unit we don't list" (Streamlit forms).

Pages add one call per unit card (:func:`suggest_correction`) and one per page
(:func:`suggest_new_unit`). Submissions go through :func:`epu_mapper.upkeep.submit`
(validated with the directory's own rules, stored for review, never applied to the
live directory). Abuse protection: a honeypot field, a per-session limit
(:data:`SESSION_LIMIT` per hour) and a per-client limit kept in the database
(:data:`epu_mapper.upkeep.CLIENT_LIMIT_PER_HOUR`), size limits on every field. Nothing a
person typed is rendered back as HTML: messages are escaped Markdown.

Also the data-quality views: :func:`quality_table` (About page) and
:func:`stale_by_region` (charities: entries needing re-checking by region).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from datetime import date
from typing import Any

import pandas as pd
import streamlit as st

from epu_mapper.corrections import LIMITS, RELATIONS
from epu_mapper.errors import EpuMapperError
from epu_mapper.levels import region_columns
from epu_mapper.settings import NATIONS
from epu_mapper.ui.format import md_escape
from epu_mapper.ui.hours_editor import hours_editor

HOURS_FIRST = "Please correct the opening hours first (see the message above)."
SESSION_LIMIT = 3
SESSION_WINDOW_S = 3600
HONEYPOT_LABEL = "Leave this box empty (it catches spam robots)"
SELF_REFERRAL_CHOICES = {"": "no change", "yes": "yes", "no": "no",
                         "conditional": "in some cases", "unknown": "not known"}


# --------------------------------------------------------------------------- pure helpers


def session_allows(stamps: list[float], now: float, limit: int = SESSION_LIMIT,
                   window_s: float = SESSION_WINDOW_S) -> bool:
    """Whether a session that submitted at ``stamps`` may submit again at ``now``."""
    return sum(now - t < window_s for t in stamps) < limit


def correction_form(unit_id: str, values: Mapping[str, Any], current: Mapping[str, Any]) -> dict[str, Any]:
    """The :func:`~epu_mapper.upkeep.submit` form from the widgets' values.

    Fields left as they are (equal to ``current``) or empty are not sent; the gestation
    range is sent as a pair when either end changes.
    """
    form: dict[str, Any] = {"kind": "correction", "unit_id": unit_id,
                            "source_url": str(values.get("source_url") or "").strip(),
                            "relation": values.get("relation") or "",
                            "note": str(values.get("note") or "").strip()}
    for key in ("opening_hours", "phone", "self_referral"):
        v = str(values.get(key) or "").strip()
        if v and v != str(current.get(key) or "").strip():
            form[key] = v
    weeks = {k: _weeks_text(values.get(k)) for k in ("min_weeks", "max_weeks")}
    if any(weeks[k] != _weeks_text(current.get(k)) for k in weeks):
        form.update({k: v for k, v in weeks.items() if v})
    if values.get("closed"):
        form["closed"] = True
    return form


def _weeks_text(value: Any) -> str:
    if value is None or value is pd.NA or value == "" or (isinstance(value, float) and math.isnan(value)):
        return ""
    try:
        return str(int(value))
    except (TypeError, ValueError):
        return str(value).strip()


def problems_text(exc: EpuMapperError) -> str:
    """A refusal as escaped Markdown (one bullet per problem)."""
    problems = getattr(exc, "problems", None)
    if problems:
        lines = [f"- **{md_escape(f.replace('_', ' '))}**: {md_escape(m)}" for f, m in problems]
        return "We could not store this suggestion. Please check:\n\n" + "\n".join(lines)
    return md_escape(str(exc))


def confirmation_text(cid: int) -> str:
    """The thank-you message with the reference number."""
    return (f"Thank you. Your suggestion is stored with reference number **#{cid}**. A reviewer "
            "checks it against the source before anything changes in the directory; quote the "
            "number if you contact us about it.")


# --------------------------------------------------------------------------- widgets


def hours_field(label: str, value: str, key: str) -> str | None:
    """The opening-hours input of the forms.

    The shared day/time editor (G's :func:`epu_mapper.ui.hours_editor.hours_editor`); ``None`` while
    its input is unusable.
    """
    return hours_editor(key, initial=value, label=label)


def _client() -> str:
    from epu_mapper.upkeep import client_key

    try:
        ip = st.context.ip_address or ""
        forwarded = st.context.headers.get("X-Forwarded-For", "") if st.context.headers else ""
    except (AttributeError, RuntimeError):
        ip, forwarded = "", ""
    ip = ip if isinstance(ip, str) else ""
    forwarded = forwarded if isinstance(forwarded, str) else ""
    raw = forwarded.split(",")[0].strip() or ip or "unknown-client"
    return client_key(raw)


def _send(form: dict[str, Any], honeypot: str, key: str) -> None:
    """Store a submission (or say why not); remember the outcome for this form."""
    from epu_mapper import upkeep

    if honeypot.strip():
        st.session_state[f"{key}__outcome"] = ("info", "Thank you.")  # silently dropped
        return
    stamps = [t for t in st.session_state.get("suggest__stamps", []) if time.time() - t < SESSION_WINDOW_S]
    if not session_allows(stamps, time.time()):
        st.session_state[f"{key}__outcome"] = (
            "warning", ("Thank you: you have sent several suggestions in this session already. "
                        "Please try again in an hour."))
        return
    try:
        cid = upkeep.submit(form, client=_client())
    except EpuMapperError as exc:
        st.session_state[f"{key}__outcome"] = ("error", problems_text(exc))
        return
    st.session_state["suggest__stamps"] = [*stamps, time.time()]
    st.session_state[f"{key}__outcome"] = ("success", confirmation_text(cid))


def _outcome(key: str) -> None:
    kind, text = st.session_state.get(f"{key}__outcome", (None, ""))
    if kind:
        getattr(st, kind)(text)


def _how_you_know(key: str) -> tuple[str, str]:
    relation = st.selectbox("How do you know?", list(RELATIONS), format_func=RELATIONS.get,
                            index=None, placeholder="Choose one", key=f"{key}_relation")
    note = st.text_area("Anything else we should know (optional)", key=f"{key}_note",
                        max_chars=LIMITS["note"], height=80)
    return relation or "", note


def _send_part(key: str, label: str, changed: bool, hours: str | None,
               build: Callable[[str, str], dict[str, Any]]) -> None:
    """"How do you know?", the hidden honeypot and the send button of a form.

    On send, ``build(relation, note)`` is submitted, unless the ticked hours still need
    correcting (``hours`` None).
    """
    relation, note = _how_you_know(key)
    honeypot = st.text_input(HONEYPOT_LABEL, key=f"{key}_hp", max_chars=100)
    if st.button(label, key=f"{key}_send"):
        if changed and hours is None:
            st.session_state[f"{key}__outcome"] = ("error", HOURS_FIRST)
        else:
            _send(build(relation, note), honeypot, key)


def _hours_part(key: str, current: str, tick: str) -> tuple[bool, str | None]:
    """A tick box that opens the hours editor: hours are sent only when it is ticked."""
    change = st.checkbox(tick, key=f"{key}_hours_change")
    if not change:
        return False, ""
    return True, hours_field("Opening hours", current, f"{key}_hours")


def suggest_correction(unit: Mapping[str, Any], where: str) -> None:
    """A "Suggest a correction" expander for one unit card.

    The widgets are not in an ``st.form`` so the hours editor reacts as it is used; nothing is
    stored until "Send suggestion" is pressed. They are built only while the expander is open
    (its state is ``st.session_state[f"sg_{where}_{unit_id}_open"]``): a page of unit cards
    would otherwise build ten hidden widgets per card on every rerun.

    Parameters
    ----------
    unit : mapping
        The unit's directory fields (``unit_id``, ``unit_name``, ``opening_hours``, ``phone``,
        ``self_referral``, ``min_weeks``, ``max_weeks``; missing = unknown).
    where : str
        A short name of the page or card list, to keep widget keys unique.
    """
    uid = str(unit.get("unit_id") or "")
    if not uid:
        return
    key = f"sg_{where}_{uid}"
    form = st.expander("Suggest a correction", key=f"{key}_open", on_change="rerun")
    with form:
        if not form.open:  # the form's widgets are built only once it is opened
            return
        st.caption("Know better? Tell us what has changed and where it is published. A reviewer "
                   "checks every suggestion before the directory changes.")
        changed, hours = _hours_part(key, str(unit.get("opening_hours") or ""),
                                     "The opening hours are wrong or missing")
        c1, c2 = st.columns(2)
        phone = c1.text_input("Phone", value=str(unit.get("phone") or ""), key=f"{key}_phone",
                              max_chars=LIMITS["phone"])
        self_ref = c2.selectbox("Can women refer themselves?", list(SELF_REFERRAL_CHOICES),
                                format_func=SELF_REFERRAL_CHOICES.get, key=f"{key}_selfref")
        c3, c4 = st.columns(2)
        min_w = c3.text_input("Seen from week (gestation)", value=_weeks_text(unit.get("min_weeks")),
                              key=f"{key}_minw", max_chars=2)
        max_w = c4.text_input("Seen up to week", value=_weeks_text(unit.get("max_weeks")),
                              key=f"{key}_maxw", max_chars=2)
        closed = st.checkbox("This unit has closed for good", key=f"{key}_closed")
        source = st.text_input("Where is this published? (web address, http:// or https://)",
                               key=f"{key}_source", max_chars=LIMITS["source_url"])
        _send_part(key, "Send suggestion", changed, hours, lambda relation, note: correction_form(
            uid, {"opening_hours": hours or "", "phone": phone, "self_referral": self_ref,
                  "min_weeks": min_w, "max_weeks": max_w, "closed": closed, "source_url": source,
                  "relation": relation, "note": note}, unit))
        _outcome(key)


def suggest_new_unit(where: str) -> None:
    """"Tell us about a unit we don't list" (one per page)."""
    key = f"sg_new_{where}"
    form = st.expander("Tell us about a unit we don't list", key=f"{key}_open", on_change="rerun")
    with form:
        if not form.open:  # the form's widgets are built only once it is opened
            return
        st.caption("Our directory holds only some of the UK's early pregnancy units. If you know "
                   "one we do not list, tell us where to find it; a maintainer adds it once its "
                   "site is confirmed.")
        name = st.text_input("Unit name", key=f"{key}_name", max_chars=LIMITS["unit_name"])
        c1, c2 = st.columns(2)
        hospital = c1.text_input("Hospital", key=f"{key}_hospital", max_chars=LIMITS["hospital"])
        town = c2.text_input("Town", key=f"{key}_town", max_chars=LIMITS["town"])
        c3, c4 = st.columns(2)
        postcode = c3.text_input("Postcode (if known)", key=f"{key}_pc", max_chars=LIMITS["postcode"])
        phone = c4.text_input("Phone (if known)", key=f"{key}_phone", max_chars=LIMITS["phone"])
        changed, hours = _hours_part(key, "", "I know its opening hours")
        source = st.text_input("Where is it published? (web address)", key=f"{key}_source",
                               max_chars=LIMITS["source_url"])
        _send_part(key, "Send", changed, hours, lambda relation, note: {
            "kind": "new_unit", "unit_name": name, "hospital": hospital, "town": town,
            "postcode": postcode.upper(), "phone": phone, "opening_hours": hours or "",
            "source_url": source, "relation": relation, "note": note})
        _outcome(key)


# --------------------------------------------------------------------------- data quality


def quality_table(units: pd.DataFrame, today: date) -> None:
    """The About page's data-quality table (verified / partial / unknown / stale by nation)."""
    from epu_mapper.staleness import STALE_MONTHS, quality_by_nation

    table = quality_by_nation(units, today, nations=NATIONS)
    st.subheader("Directory data quality")
    st.table(table)
    st.caption(f"Hours: verified = all seven days known, partial = some, unknown = none. "
               f"Needs re-checking = the source was read more than {STALE_MONTHS} months ago or "
               "its date was not recorded (counted whatever the hours status). Suggest a "
               "correction from any unit card.")


def stale_by_region(units: pd.DataFrame, region_names: pd.Series, label: str, today: date) -> None:
    """Directory entries needing re-checking, counted by region (for charities).

    Parameters
    ----------
    units : pandas.DataFrame
        ``source_seen`` and ``region`` (the region code of each unit; empty = no known site).
    region_names : pandas.Series
        Region code -> name.
    label : str
        What a region is (e.g. ``"ICB"``).
    """
    from epu_mapper.staleness import STALE_MONTHS, stale_by

    table = stale_by(units.assign(region=units["region"].fillna("").astype(str)), "region", today)
    table.insert(0, label, table["region"].map(lambda c: region_names.get(c, c) if c else "(no known site)"))
    st.markdown(f"**Directory entries needing re-checking by {md_escape(label)}** (source older "
                f"than {STALE_MONTHS} months or undated)")
    st.dataframe(table.drop(columns="region"), hide_index=True)


def units_with_region(units: pd.DataFrame, mapped: pd.DataFrame, regions: pd.DataFrame,
                      level: str) -> tuple[pd.DataFrame, pd.Series]:
    """Each unit's region at ``level`` (pure).

    Parameters
    ----------
    units : pandas.DataFrame
        The directory (``unit_id``, ``source_seen``).
    mapped : pandas.DataFrame
        The mapped units with ``unit_id`` and ``area_index`` (row of ``regions``).
    regions : pandas.DataFrame
        ``regions.parquet`` rows (``<level>_code`` / ``<level>_name``, or ``nation``).

    Returns
    -------
    units : pandas.DataFrame
        ``units`` plus ``region`` (code; empty when the unit has no known site).
    names : pandas.Series
        Region code -> name.
    """
    code_col, name_col = region_columns(level)
    rows = regions.iloc[mapped["area_index"].to_numpy()]
    by_unit = pd.Series(rows[code_col].fillna("").astype(str).to_numpy(), index=mapped["unit_id"].astype(str))
    out = units.assign(region=units["unit_id"].astype(str).map(by_unit).fillna(""))
    pairs = regions[[code_col, name_col]].dropna().drop_duplicates(code_col) if name_col != code_col \
        else pd.DataFrame({code_col: regions[code_col].dropna().unique()}).assign(name=lambda d: d[code_col])
    names = pd.Series(pairs.iloc[:, 1].astype(str).to_numpy(), index=pairs.iloc[:, 0].astype(str))
    return out, names


def suggest_for_units(units: pd.DataFrame, labels: pd.Series, where: str) -> None:
    """A unit picker and its "Suggest a correction" form, for pages that list units in a table."""
    if units.empty or "unit_id" not in units.columns:
        return
    pick = st.selectbox("Suggest a correction for", list(range(len(units))),
                        format_func=lambda i: str(labels.iloc[i]), key=f"sg_pick_{where}")
    suggest_correction(units.iloc[int(pick)], where)


def recheck_by_region(level: str, label: str, today: date) -> None:
    """Charities: every region at ``level`` with its directory entries needing re-checking."""
    from epu_mapper.ui import common

    ctx = common.context()
    units, names = units_with_region(ctx.units, ctx.mapped, ctx.regions, level)
    with st.expander(f"Directory entries needing re-checking, by {label}"):
        stale_by_region(units, names, label, today)


def directory_quality(today: date) -> None:
    """:func:`quality_table` of the live directory (``data/units.csv``; no build needed)."""
    from epu_mapper.units import load_units

    quality_table(load_units(), today)
