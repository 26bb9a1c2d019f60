"""About the data and methods.

Sources, dates, licences, attribution, travel engine, weights, limitations. Facts about the build
come from the api / build manifest at run time.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from epu_mapper import api
from epu_mapper.errors import EpuMapperError
from epu_mapper.ui import common, shell, suggest
from epu_mapper.ui.format import POLICIES, md_escape

ATTRIBUTION = (
    "Contains National Statistics data © Crown copyright and database right.",
    "Contains OS data © Crown copyright and database right.",
    "Royal Mail data © Royal Mail copyright and database right.",
    "Northern Ireland data: NISRA / Department of Health NI, Open Government Licence v3.0.",
    "Map data and road network © OpenStreetMap contributors, ODbL 1.0 (map tiles when online).",
)

#: Raw sources as documented in the data folder's SOURCES.md (publisher, licence, vintage).
SOURCES = pd.DataFrame(
    [
        ("EPU directory (this project)", ("Public NHS trust and health board web pages, one URL "
         "per unit; date read per unit"), "facts as published", "per unit (source_seen)"),
        ("Small areas and population", ("ONS Census 2021 (LSOA21), NRS Scotland Census 2022 "
         "(data zones 2011), NISRA (super data zones 2021)"), "OGL v3", "2021–2022"),
        ("Area points", ("Postcode-median proxies for population-weighted centroids "
         "(derived from OS Code-Point Open)"), "OGL v3", "2025"),
        ("Boundaries", ("ONS (NHS England regions, ICBs, LADs May 2024, Welsh LHBs), "
         "Scottish Government (health boards 2019), DoH NI (HSC trusts)"), "OGL v3", "2019–2024"),
        ("Postcodes", "OS Code-Point Open (GB); ONS Postcode Directory Nov 2023 (NI)",
         "OGL v3 (+ Royal Mail, LPS/NISRA terms)", "2025 / 2023"),
        ("Hospital sites", ("NHS.uk organisation file (England), RCPCH site list (England and "
         "Wales), Spatial Hub Scotland, NHS Wales sites, NI acute sites"), "OGL v3",
         "2020–2024"),
        ("Road network", "OpenStreetMap via Geofabrik", "ODbL 1.0", "2022 extract"),
    ],
    columns=["what", "publisher", "licence", "vintage"],
)

LIMITATIONS = (
    ("The directory holds only the units we could document from public pages: the UK has "
    "“over 200” EPUs (Association of Early Pregnancy Units) and most are missing here. A place "
    "far from every unit on these maps may well have a unit we do not know about."),
    ("Many units publish no or partial hours. Unknown hours are never shown as closed or open: "
    "the unknown-hours control shows the range (lower bound, weekday assumption, upper bound)."),
    "Some units publish scan or phone-triage hours rather than door hours; the unit notes say so.",
    "Travel times are by car, free-flow, with no traffic; public transport is not modelled.",
    ("England and Wales areas use the official ONS population-weighted centroids; Scottish and "
    "NI areas use postcode-median or polygon points."),
    ("Women 15–44 are counted in Scotland and estimated elsewhere (see below). Deprivation "
    "indices differ by nation; NI's are mapped to its areas approximately."),
    "Bank holidays follow each unit's nation; the typical week has no bank holiday.",
    "This is not a clinical service. In an emergency call 999 or go to A&E; for advice call 111.",
)


@st.cache_data(show_spinner=False, max_entries=2)
def _facts(key: str) -> dict:  # noqa: ARG001 - key: the build stamp, part of the cache key
    """Provenance from the api (build manifest, travel engine, weights, unit counts).

    ``key`` has no leading underscore: Streamlit leaves such arguments out of the cache key,
    so the facts of one build were shown for another (found by the hostile test that failed
    after the app tests in one session).
    """
    return dict(api.provenance(common.context()))


def _weights_table(weights: dict) -> pd.DataFrame:
    return pd.DataFrame([
        {"weight": k, "small areas": v.get("areas"), "people counted": round(v.get("weight", 0)),
         "how": v.get("note") or ""}
        for k, v in weights.items()
    ])


@shell.guarded
def page() -> None:
    """Draw the About page: sources, dates, licences, travel engine, weights, limitations."""
    st.title("About the data and methods")
    st.markdown(
        "This tool maps where, and when, women in the UK are far from an open early pregnancy "
        "unit (EPU). It combines a directory of units and their published opening hours with "
        "small-area populations and car travel times, for every hour of a typical week."
    )

    st.subheader("Required attribution")
    for line in ATTRIBUTION:
        st.markdown(f"- {line}")

    st.subheader("Sources, licences and dates")
    st.table(SOURCES.set_index("what"))
    try:
        facts = _facts(common.ctx_key())
    except EpuMapperError as exc:
        facts = {}
        st.info(f"Build facts are not available yet: {md_escape(exc)}")
    manifest = facts.get("manifest") or {}
    if manifest.get("built_at"):
        st.caption(f"Derived tables built {md_escape(manifest['built_at'])} (UTC) from the raw "
                   "files listed in the build manifest, each with its size and SHA-256.")
    units = facts.get("units") or {}
    if units:
        status = units.get("hours_status", {})
        st.markdown(
            f"The directory holds **{units.get('directory')} units** "
            f"({units.get('mapped')} with a known site, {units.get('unmapped')} without: a trust "
            "with no named site cannot be mapped). Hours: "
            + ", ".join(f"{v} {md_escape(k)}" for k, v in status.items())
            + " (of the mapped units). The UK has “over 200” units: **most are missing**."
        )

    suggest.directory_quality(shell.uk_now().date())

    st.subheader("Travel times")
    engine = facts.get("engine")
    err = facts.get("typical_error_min")
    if engine == "osrm":
        st.markdown("Car travel times from **OSRM** (open-source routing on OpenStreetMap "
                    "roads), free-flow, no traffic.")
    elif engine:
        st.markdown("Car travel times are **estimates** from straight-line distance with a "
                    "detour factor and a pace that rises with distance (fitted on England & Wales "
                    "road times), not road routes; the app labels them "
                    "“about … (estimate)”.")
    else:
        st.markdown("Travel times come from OSRM when a road network has been built, otherwise "
                    "from a straight-line estimate labelled “about … (estimate)”.")
    if err is not None and pd.notna(err):
        st.markdown(f"Stated typical error of a travel time: **{float(err):.1f} minutes**.")
    prov = {k: v for k, v in (facts.get("travel_provenance") or {}).items()
            if isinstance(v, (str, int, float, bool))}
    if prov:
        st.dataframe(pd.DataFrame({"item": list(prov), "value": [str(v) for v in prov.values()]}),
                     hide_index=True)
    reach = facts.get("reach_minutes")
    if reach:
        st.caption(f"“Within reach” means an open unit within {float(reach):.0f} minutes.")

    st.subheader("Who is counted (weights)")
    weights = facts.get("weights") or {}
    if weights:
        st.table(_weights_table(weights).set_index("weight"))
    else:
        st.markdown("Women aged 15–44 in every nation. England and Wales: estimated from the "
                    "mid-2020 female share by age; Scotland: Census 2022 count; Northern "
                    "Ireland: estimated from council-level Census 2021 shares.")

    st.subheader("Unknown opening hours")
    for key, text in POLICIES.items():
        st.markdown(f"- `{key}`: {text}")

    st.subheader("Known limitations")
    for line in LIMITATIONS:
        st.markdown(f"- {line}")


if __name__ == "__main__":
    page()
