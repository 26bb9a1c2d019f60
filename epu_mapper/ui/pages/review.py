"""Review suggested corrections (maintainers only): list, accept, reject.

Listed in the navigation only when ``EPU_MAPPER_REVIEWER_HASH`` holds a reviewer
password hash (``epu-mapper corrections hash-password``); the password is checked
against it in constant time, with a few attempts per session. Accept and reject call
the same functions as ``epu-mapper corrections accept/reject``; every value a person
submitted is shown as escaped text or in a table, never as HTML.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from epu_mapper import db, upkeep
from epu_mapper.corrections import RELATIONS
from epu_mapper.errors import EpuMapperError
from epu_mapper.settings import REVIEWER_HASH_ENV, get_settings, reviewer_hash
from epu_mapper.ui import shell
from epu_mapper.ui.format import md_escape

MAX_ATTEMPTS = 5


def changes_table(rec: dict[str, Any]) -> pd.DataFrame:
    """One row per proposed field: ``field``, ``in the directory when submitted``, ``proposed``."""
    return pd.DataFrame([
        {"field": k.replace("_", " "), "in the directory when submitted": str(rec["base"].get(k, "")),
         "proposed": str(v)}
        for k, v in rec["fields"].items()
    ], columns=["field", "in the directory when submitted", "proposed"])


def _sign_in(stored: str) -> bool:
    if st.session_state.get("review_ok"):
        return True
    fails = st.session_state.get("review_fails", 0)
    if fails >= MAX_ATTEMPTS:
        st.error("Too many wrong passwords in this session. Close the tab and try again later.")
        return False
    with st.form("review_login"):
        password = st.text_input("Reviewer password", type="password", max_chars=200)
        ok = st.form_submit_button("Sign in")
    if ok:
        if upkeep.verify_password(password, stored):
            st.session_state["review_ok"] = True
            st.rerun()
        st.session_state["review_fails"] = fails + 1
        st.error("That password is not right.")
    return False


def _decide(rec: dict[str, Any], reviewer: str) -> None:
    cid = rec["id"]
    c1, c2 = st.columns([1, 2])
    if c1.button("Accept", key=f"rv_accept_{cid}", type="primary", disabled=not reviewer):
        try:
            upkeep.accept(cid, reviewer)
            st.session_state["review_msg"] = ("success", (f"Accepted #{cid}: {get_settings().units_csv.name} "
                                                          "updated and audited. Commit data/units.csv."))
        except EpuMapperError as exc:
            st.session_state["review_msg"] = ("error", f"#{cid} not accepted: {exc}")
        st.rerun()
    reason = c2.text_input("Reason to reject", key=f"rv_reason_{cid}", max_chars=1000)
    if c2.button("Reject", key=f"rv_reject_{cid}", disabled=not (reviewer and reason.strip())):
        try:
            upkeep.reject(cid, reviewer, reason)
            st.session_state["review_msg"] = ("success", f"Rejected #{cid}; the directory is unchanged.")
        except EpuMapperError as exc:
            st.session_state["review_msg"] = ("error", f"#{cid} not rejected: {exc}")
        st.rerun()


def _card(rec: dict[str, Any], reviewer: str) -> None:
    with st.container(border=True):
        what = "new unit" if rec["kind"] == "new_unit" else f"unit {rec['unit_id']}"
        st.markdown(f"**#{rec['id']}** · {md_escape(what)} · {rec['status']} · submitted "
                    f"{rec['submitted_at']:%d %b %Y %H:%M} UTC")
        st.dataframe(changes_table(rec), hide_index=True)
        st.markdown("Source: " + (md_escape(rec["source_url"]) or "(none given)"))
        st.markdown("How they know: " + md_escape(RELATIONS.get(rec["relation"], rec["relation"])))
        if rec["note"]:
            st.markdown("Note: " + md_escape(rec["note"]))
        if rec["reviewer"]:
            st.caption(f"{rec['status']} by {md_escape(rec['reviewer'])}"
                       + (f": {md_escape(rec['reason'])}" if rec["reason"] else ""))
        if rec["status"] == "pending":
            _decide(rec, reviewer)


@shell.guarded
def page() -> None:
    """Draw the Review page: suggested directory corrections to accept or reject."""
    st.title("Review suggested corrections")
    stored = reviewer_hash()
    if not stored:
        st.info("Reviewing is switched off: no reviewer password is configured "
                f"({REVIEWER_HASH_ENV}).")
        return
    if not _sign_in(stored):
        return
    kind, text = st.session_state.pop("review_msg", (None, ""))
    if kind:
        getattr(st, kind)(md_escape(text))
    reviewer = st.text_input("Your name (recorded in the audit trail)", key="review_name",
                             max_chars=80).strip()
    status = st.radio("Show", list(db.STATUSES), horizontal=True, key="review_status")
    records = db.list_corrections(db.get_engine(), status)
    st.caption(f"{len(records)} {status} suggestion(s). Accepting writes {get_settings().units_csv} "
               "(checked with `units validate` first) and records who, when, before, after and the source.")
    if not reviewer and status == "pending" and records:
        st.info("Enter your name to accept or reject.")
    for rec in records:
        _card(rec, reviewer)


if __name__ == "__main__":
    page()
