"""Build pipeline: raw open data -> the project's own tables in the build folder.

``epu-mapper data build`` runs :func:`build`. Each step declares its raw inputs and
its outputs; its *fingerprint* is a hash of the build code and of the SHA-256 of
every input file, so a rerun with unchanged inputs is a no-op, and a changed input
rebuilds only the steps that read it. Every file is written atomically
(:mod:`epu_mapper.store`). ``manifest.json`` records input sizes and hashes, output
row counts, checks, warnings and the build date.

Outputs (see ``docs/architecture.md``)::

    demand.parquet  regions.parquet  area_equity.parquet  boundaries/<level>.geojson  boundaries/ni_sdz2021.geojson
    postcodes.parquet  postcode_sectors.parquet  postcode_districts.parquet  postcodes_ni.parquet
    hospitals.parquet  units_geo.parquet  manifest.json
"""

from __future__ import annotations

import ast
import dataclasses
import datetime as dt
import hashlib
import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from tqdm import tqdm

from epu_mapper import deprivation, geography, population, sources, spatial, store
from epu_mapper.errors import EpuMapperError
from epu_mapper.levels import LEVELS
from epu_mapper.settings import Settings, get_settings

#: Bump when the meaning of an output changes (the code hash also changes fingerprints).
BUILD_VERSION = 1

#: Known totals from the raw sources (raw/SOURCES.md "Checks"); the build refuses to
#: write tables that disagree.
EXPECTED = {
    "areas": {"England": 33_755, "Wales": 1_917, "Scotland": 6_976, "Northern Ireland": 850},
    "areas_total": 43_498,
    "ew_population": 59_597_576,
    "scotland_population": 5_439_618,
    "scotland_female_15_44": 1_023_934,
    "ni_population": 1_895_509.4,
    # women 15-44 (epu_mapper.population): the E&W estimate lies within 5 % of the old
    # 0.5 split; NI's estimate must be a plausible share of its 967,000 women (Census 2021)
    "ew_women_15_44_vs_halfsplit": (0.95, 1.05),
    "ni_women_15_44_range": (330_000, 410_000),
}

#: Web budget for each boundary level's GeoJSON (bytes).
BOUNDARY_BUDGET_BYTES = 2_000_000
#: Simplification tolerance (metres, BNG) per level: coarse levels can be coarser.
SIMPLIFY_M = {**dict.fromkeys(LEVELS, 100.0), "nation": 200.0, "ni_sdz2021": 20.0}
#: A unit further than this from its own postcode's point is reported.
UNIT_POSTCODE_MAX_KM = 3.0

MANIFEST = "manifest.json"
#: The command that rebuilds the data tables (a damaged one: with --force).
REBUILD = "epu-mapper data build"


def _read(ctx: StepContext, name: str, columns: list[str] | None = None) -> pd.DataFrame:
    """A table built by an earlier step, read through the guarded reader."""
    return store.read_parquet_file(ctx.out(name), f"The built table {name}", REBUILD, columns=columns)


class BuildCheckError(EpuMapperError):
    """The built tables disagree with the raw sources: nothing was replaced."""


@dataclass
class Step:
    """One build step: raw inputs -> outputs (paths relative to the build folder)."""

    name: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    run: Callable[[StepContext], dict[str, Any]]
    depends: tuple[str, ...] = ()


@dataclass
class StepContext:
    """What a build step gets: settings, raw input paths, the build folder, warnings out."""

    settings: Settings
    paths: dict[str, Path]
    build_dir: Path
    warnings: list[str] = field(default_factory=list)
    quiet: bool = False
    expected: dict[str, Any] | None = None

    def out(self, rel: str) -> Path:
        """A path inside the build folder."""
        return self.build_dir / rel


def imported_modules(module: str = "epu_mapper.build") -> list[str]:
    """Every ``epu_mapper`` module ``module`` imports, directly or through others, itself included.

    Read from the source (``import`` statements anywhere in a module, function-level ones
    too), so the build steps' lazy imports count.

    Parameters
    ----------
    module : str
        A dotted module name inside the package.

    Returns
    -------
    list of str
        Sorted dotted names.
    """
    root = Path(__file__).resolve().parent
    seen: set[str] = set()
    todo = [module]
    while todo:
        name = todo.pop()
        path = _module_path(root, name)
        if name in seen or path is None:
            continue
        seen.add(name)
        todo.extend(_package_imports(ast.parse(path.read_text(encoding="utf-8")), name, path))
    return sorted(seen)


def _module_path(root: Path, name: str) -> Path | None:
    """The source file of a dotted ``epu_mapper`` module (None for anything else)."""
    parts = name.split(".")
    if parts[0] != "epu_mapper":
        return None
    base = root.joinpath(*parts[1:])
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


def _package_imports(tree: ast.AST, name: str, path: Path) -> list[str]:
    """Dotted names a module's ``import`` statements may load (``from x import y``: x and x.y)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join([*package.split(".")[: len(package.split(".")) - node.level + 1],
                                 *([base] if base else [])])
            out.append(base)
            out.extend(f"{base}.{alias.name}" for alias in node.names)
    return [n for n in out if n.startswith("epu_mapper")]


def _code_version() -> str:
    """Hash of :data:`BUILD_VERSION` and the source of every module the build imports."""
    root = Path(__file__).resolve().parent
    h = hashlib.sha256(str(BUILD_VERSION).encode())
    for name in imported_modules():
        path = _module_path(root, name)
        assert path is not None  # imported_modules keeps only package modules with a file
        h.update(name.encode() + b"\0" + path.read_bytes())
    return h.hexdigest()[:16]


# ---------------------------------------------------------------------------
# Steps
# ---------------------------------------------------------------------------


def _check_demand(
    demand: pd.DataFrame, regions: pd.DataFrame, raw_counts: dict[str, int],
    expected: dict[str, Any] | None,
) -> dict:
    """Structural checks always; the known national totals when ``expected`` is given."""
    problems = geography.check_regions(regions, demand)
    totals = geography.nation_totals(demand)
    if sum(raw_counts.values()) != len(demand):
        problems.append(f"{sum(raw_counts.values()) - len(demand)} areas lost between raw and built")
    if demand[["lat", "lon", "population", "weight"]].isna().any().any():
        problems.append("demand has missing coordinates or weights")
    if expected is not None:
        problems += _check_totals(totals, expected)
    if problems:
        raise BuildCheckError("build checks failed:\n  " + "\n  ".join(problems))
    return {
        "nation_totals": {
            n: {"areas": int(r.areas), "population": round(float(r.population), 1),
                "weight": round(float(r.weight), 1)}
            for n, r in totals.iterrows()
        },
        "regions_one_per_level": True,
        "known_totals_checked": expected is not None,
    }


def _check_totals(totals: pd.DataFrame, expected: dict[str, Any]) -> list[str]:
    problems = []
    areas = {k: int(v) for k, v in totals["areas"].items()}
    if areas != expected["areas"]:
        problems.append(f"areas per nation {areas} != expected {expected['areas']}")
    ew_pop = float(totals.reindex(["England", "Wales"])["population"].sum())
    if round(ew_pop) != expected["ew_population"]:
        problems.append(f"E&W usual residents {ew_pop:,.0f} != {expected['ew_population']:,}")
    sc = totals.reindex(["Scotland"]).fillna(0).iloc[0]
    if round(float(sc["weight"])) != expected["scotland_female_15_44"]:
        problems.append(f"Scotland female 15-44 {sc['weight']:,.0f} != "
                        f"{expected['scotland_female_15_44']:,}")
    if round(float(sc["population"])) != expected["scotland_population"]:
        problems.append(f"Scotland residents {sc['population']:,.0f} != "
                        f"{expected['scotland_population']:,}")
    ni = float(totals.reindex(["Northern Ireland"])["population"].fillna(0).iloc[0])
    if abs(ni - expected["ni_population"]) > 1:
        problems.append(f"NI estimated population {ni:,.1f} != {expected['ni_population']:,}")
    return problems


def _women_15_44(raw: dict[str, pd.DataFrame], w: dict[str, pd.DataFrame]) -> dict[str, Any]:
    """Replace the E&W proxy points and put women 15-44 on the LSOA and SDZ inputs (in place).

    Return the method's numbers for the manifest.
    """
    shares = population.ew_female_share(w["syoa"], w["bands"], w["lookup11"])
    lsoa = population.official_centroids(raw["lsoa"], w["pwc"])
    lsoa["women_15_44"], lsoa["weight_note"] = population.ew_women_15_44(lsoa, shares)
    raw["lsoa"] = lsoa
    profile = population.scotland_female_profile(w["scot_age_sex"])
    lgd = population.ni_lgd_share(w["ni_lgd"], profile)
    raw["sdz"] = raw["sdz"].assign(women_15_44=population.ni_women_15_44(raw["sdz"], lgd))
    return {
        "ew_women_15_44": round(float(lsoa["women_15_44"].sum()), 1),
        "ew_women_15_44_halfsplit": round(float(lsoa["est_female_15_44_halfsplit"].sum()), 1),
        "ew_areas_share_fallback_0_5": int(lsoa["weight_note"].eq(population.EW_FALLBACK_NOTE).sum()),
        "ew_official_centroids": int(lsoa["centroid_method"].eq("ons_population_weighted_centroid").sum()),
        "ew_proxy_centroids_kept": int(lsoa["centroid_method"].str.endswith(";no_official_centroid").sum()),
        "ni_women_15_44": round(float(raw["sdz"]["women_15_44"].sum()), 1),
        "ni_profile_scotland": {"a_15_19_of_0_19": round(profile["a"], 4),
                                "b_20_44_of_20_64": round(profile["b"], 4)},
    }


def _check_women(women: dict[str, Any], expected: dict[str, Any] | None) -> list[str]:
    if expected is None:
        return []
    problems = []
    lo, hi = expected["ew_women_15_44_vs_halfsplit"]
    ratio = women["ew_women_15_44"] / women["ew_women_15_44_halfsplit"]
    if not lo <= ratio <= hi:
        problems.append(f"E&W women 15-44 is {ratio:.3f} x the 0.5-split figure, outside {lo}-{hi}")
    lo, hi = expected["ni_women_15_44_range"]
    if not lo <= women["ni_women_15_44"] <= hi:
        problems.append(f"NI women 15-44 {women['ni_women_15_44']:,.0f} outside {lo:,}-{hi:,}")
    return problems


def step_demand(ctx: StepContext) -> dict[str, Any]:
    """Write ``demand.parquet`` (small areas, population, weights) and ``regions.parquet``."""
    raw = sources.read_demand_inputs(ctx.settings)
    women = _women_15_44(raw, sources.read_weight_inputs(ctx.settings))
    lookup = sources.read_area_regions(ctx.settings)
    demand = geography.demand_table(raw["lsoa"], raw["dz"], raw["sdz"], raw["ruc"])
    regions = geography.regions_table(lookup)
    raw_counts = {"lsoa": len(raw["lsoa"]), "dz": len(raw["dz"]), "sdz": len(raw["sdz"])}
    if ctx.expected is not None and len(lookup) != ctx.expected["areas_total"]:
        raise BuildCheckError(f"the region lookup has {len(lookup)} rows, "
                              f"expected {ctx.expected['areas_total']:,}")
    problems = _check_women(women, ctx.expected)
    if problems:
        raise BuildCheckError("build checks failed:\n  " + "\n  ".join(problems))
    checks = _check_demand(demand, regions, raw_counts, ctx.expected)
    checks["women_15_44"] = women
    store.write_parquet(ctx.out("demand.parquet"), demand)
    store.write_parquet(ctx.out("regions.parquet"), regions)
    return {"rows": {"demand.parquet": len(demand), "regions.parquet": len(regions)},
            "checks": checks}


def step_equity(ctx: StepContext) -> dict[str, Any]:
    """Deprivation deciles and car access per demand area (``area_equity.parquet``)."""
    areas = pd.read_parquet(ctx.out("demand.parquet"), columns=["area_code", "nation"])
    table = deprivation.area_equity_table(areas, sources.read_equity_inputs(ctx.settings))
    problems = deprivation.check_area_equity(table)
    if problems:
        raise BuildCheckError("build checks failed:\n  " + "\n  ".join(problems))
    store.write_parquet(ctx.out("area_equity.parquet"), table)
    by_nation = table.groupby("nation").agg(
        areas=("area_code", "size"), approximate=("dep_approximate", "sum"),
        core20=("core20", "sum"), uk_decile=("uk_decile", lambda d: int((d > 0).sum())),
        car=("pct_no_car", "count"))
    return {"rows": {"area_equity.parquet": len(table)},
            "checks": {"per_nation": {n: {k: int(v) for k, v in r.items()}
                                      for n, r in by_nation.iterrows()},
                       "every_area_has_a_decile": True}}


def _geojson_within_budget(layer, tolerance_m: float, budget: int) -> tuple[str, float]:
    """Simplify and serialise; double the tolerance until the text fits the budget."""
    tol = tolerance_m
    for _ in range(8):
        text = geography.to_geojson(geography.simplify_layer(layer, tol))
        if len(text.encode("utf-8")) <= budget:
            return text, tol
        tol *= 2
    raise BuildCheckError(f"could not simplify a boundary layer under {budget:,} bytes")


def step_boundaries(ctx: StepContext) -> dict[str, Any]:
    """Write the simplified GeoJSON of every region level under ``boundaries/``."""
    regions = _read(ctx, "regions.parquet")
    keys = {"nhser": "nhser_bnd", "icb": "icb_bnd", "lhb": "lhb_bnd", "scot_hb": "scot_hb_bnd",
            "hsct": "hsct_bnd", "lad": "lad_bnd"}
    raw = {k: sources.read_boundary(v, ctx.settings) for k, v in keys.items()}
    layers, problems = geography.boundary_layers(raw, regions)
    if problems:
        raise BuildCheckError("boundaries and region lookup disagree:\n  " + "\n  ".join(problems))
    rows, checks = {}, {}
    for level, layer in tqdm(layers.items(), desc="boundaries", unit="layer", leave=False,
                             disable=ctx.quiet, file=sys.stderr):
        text, tol = _geojson_within_budget(layer, SIMPLIFY_M[level], BOUNDARY_BUDGET_BYTES)
        rel = f"boundaries/{level}.geojson"
        store.write_text(ctx.out(rel), text)
        rows[rel] = len(layer)
        checks[rel] = {"bytes": len(text.encode("utf-8")), "tolerance_m": tol}
    sdz = sources.read_boundary("ni_sdz_bnd", ctx.settings)
    sdz_layer = gpd.GeoDataFrame(
        {"area_code": sdz["SDZ21CD"].astype(str), "area_name": sdz["SDZ21NM"].astype(str),
         "nation": "Northern Ireland"}, geometry=sdz.geometry.to_numpy(), crs=sdz.crs)
    demand_codes = set(_read(ctx, "demand.parquet", columns=["area_code"])["area_code"])
    missing = sorted(set(sdz_layer["area_code"]) ^ {c for c in demand_codes if c.startswith("N21")})
    if missing:
        ctx.warnings.append(f"NI SDZ boundaries and demand points differ on {len(missing)} codes")
    text, tol = _geojson_within_budget(sdz_layer, SIMPLIFY_M["ni_sdz2021"], BOUNDARY_BUDGET_BYTES)
    store.write_text(ctx.out("boundaries/ni_sdz2021.geojson"), text)
    rows["boundaries/ni_sdz2021.geojson"] = len(sdz_layer)
    checks["boundaries/ni_sdz2021.geojson"] = {"bytes": len(text.encode("utf-8")), "tolerance_m": tol}
    return {"rows": rows, "checks": checks}


def step_postcodes(ctx: StepContext) -> dict[str, Any]:
    """Write the postcode tables the lookups use (units, Northern Ireland, sectors, districts)."""
    demand = _read(ctx, "demand.parquet", columns=["area_code", "lat", "lon", "lad_code", "nation"])
    lad_codes = set(demand["lad_code"])
    pc = sources.read_gb_postcodes(ctx.settings)
    pc = pc.rename(columns={"admin_district_code": "lad_code"})
    pc["postcode"] = geography.normalise_postcode_series(pc["postcode"])
    pc = pc.sort_values("postcode", kind="stable").reset_index(drop=True)
    n_dup = int(pc["postcode"].duplicated().sum())
    if n_dup:
        ctx.warnings.append(f"{n_dup} duplicate GB postcodes dropped")
        pc = pc.drop_duplicates("postcode").reset_index(drop=True)
    pc["lad_source"] = "codepoint"
    # LAD codes newer than LAD24 (re-coded districts): place them by the LAD24 polygon.
    odd = ~pc["lad_code"].isin(lad_codes) & pc["lat"].notna()
    if odd.any():
        lad_bnd = sources.read_boundary("lad_bnd", ctx.settings).rename(columns={"LAD24CD": "region_code"})
        codes = sorted(pc.loc[odd, "lad_code"].dropna().unique())
        pc.loc[odd, "lad_code"] = geography.lad_by_polygon(
            pc.loc[odd, "lat"].to_numpy(), pc.loc[odd, "lon"].to_numpy(), lad_bnd)
        pc.loc[odd, "lad_source"] = "lad24_polygon"
        ctx.warnings.append(
            f"{int(odd.sum()):,} GB postcodes carry LAD codes not in LAD24 ({', '.join(codes)}); "
            "their LAD was taken from the LAD24 polygon they fall in")
    # one pass (each local authority's points indexed once): a few seconds for 1.7M postcodes
    area, method = spatial.nearest_area(pc["lat"].to_numpy(), pc["lon"].to_numpy(),
                                          pc["lad_code"].to_numpy(), demand)
    pc["area_code"] = pd.array(area, dtype="str")
    pc["area_method"] = pd.array(np.where(method == "", None, method), dtype="str")
    no_xy = int(pc["lat"].isna().sum())
    if no_xy:
        ctx.warnings.append(f"{no_xy:,} GB postcodes have no coordinates in Code-Point (pq 90); "
                            "lookups fall back to their sector")
    pc = pc[["postcode", "lat", "lon", "pq", "lad_code", "lad_source", "area_code", "area_method"]]
    store.write_parquet(ctx.out("postcodes.parquet"), pc)

    cents = sources.read_postcode_centroids(ctx.settings)
    tables = {}
    for kind, col in (("sector", "postcode_sector"), ("district", "postcode_district")):
        t = cents[kind].rename(columns={col: kind, "admin_district_code": "lad_code"})
        t[kind] = t[kind].str.upper().str.strip()
        t["lad_code"] = t["lad_code"].where(t["lad_code"].isin(lad_codes), None)
        a, m = spatial.nearest_area(t["lat"].to_numpy(), t["lon"].to_numpy(),
                                      t["lad_code"].to_numpy(), demand)
        t["area_code"], t["area_method"] = a, m
        t["source"] = "codepoint_centroid"
        tables[kind] = t

    ni = sources.read_ni_postcodes(ctx.settings)
    ni["postcode"] = geography.normalise_postcode_series(ni["postcode"])
    bad = ni["sdz21_code"].isna() | ~ni["sdz21_code"].isin(set(demand["area_code"]))
    if bad.any():
        ctx.warnings.append(f"{int(bad.sum())} NI postcodes have no super data zone; not placed")
    ni = ni[~bad].drop_duplicates("postcode").sort_values("postcode").reset_index(drop=True)
    pts = demand.set_index("area_code")[["lat", "lon"]]
    ni_tab = pd.DataFrame({"postcode": ni["postcode"], "area_code": ni["sdz21_code"],
                           "lad_code": ni["lgd14_code"]}).join(pts, on="area_code")
    store.write_parquet(ctx.out("postcodes_ni.parquet"), ni_tab)
    for kind, key in (("sector", ni["postcode"].str[:-2]),
                      ("district", ni["postcode"].str.split(" ").str[0])):
        m = geography.modal_area_points(key, ni["sdz21_code"], demand).rename(columns={"key": kind})
        m["lad_code"] = m["area_code"].map(ni.drop_duplicates("sdz21_code").set_index("sdz21_code")["lgd14_code"])
        m["area_method"] = "modal_sdz_of_ni_postcodes"
        m["source"] = "ni_onspd_modal_sdz"
        tables[kind] = pd.concat([tables[kind], m], ignore_index=True)
    rows = {"postcodes.parquet": len(pc), "postcodes_ni.parquet": len(ni_tab)}
    for kind in ("sector", "district"):
        t = tables[kind][[kind, "lat", "lon", "n_postcodes", "lad_code", "area_code", "area_method",
                          "source"]].sort_values(kind).reset_index(drop=True)
        rel = f"postcode_{kind}s.parquet"
        store.write_parquet(ctx.out(rel), t)
        rows[rel] = len(t)
    method_counts = pc["area_method"].value_counts(dropna=False)
    return {"rows": rows, "checks": {
        "gb_area_method": {str(k): int(v) for k, v in method_counts.items()},
        "gb_without_coordinates": no_xy,
    }}


def step_hospitals(ctx: StepContext) -> dict[str, Any]:
    """Write ``hospitals.parquet``: acute sites of the four nations with coordinates."""
    hosp = geography.hospitals_table(sources.read_hospital_inputs(ctx.settings))
    no_xy = hosp["lat"].isna() | hosp["lon"].isna()
    if no_xy.any():
        ctx.warnings.append(f"{int(no_xy.sum())} hospital sites without coordinates dropped: "
                            + ", ".join(hosp.loc[no_xy, "name"].astype(str)))
        hosp = hosp[~no_xy].reset_index(drop=True)
    store.write_parquet(ctx.out("hospitals.parquet"), hosp)
    per = hosp.groupby(["nation", "source"]).size()
    return {"rows": {"hospitals.parquet": len(hosp)},
            "checks": {"per_source": {f"{n}/{s}": int(v) for (n, s), v in per.items()},
                       "filters": geography.HOSPITAL_FILTERS}}


def step_units(ctx: StepContext) -> dict[str, Any]:
    """Join the directory's units to the geography: ``units_geo.parquet`` (area, regions, checks)."""
    from epu_mapper.postcodes import PostcodeIndex
    from epu_mapper.units import load_units

    units = load_units(settings=ctx.settings)
    for p in units.attrs.get("problems", []):
        ctx.warnings.append(f"units directory: {p}")
    index = PostcodeIndex.load(ctx.settings)
    index.settings = dataclasses.replace(ctx.settings, online=False)
    pts = []
    for pc in units["postcode"].fillna(""):
        try:
            r = index.lookup(pc)
            pts.append((r.lat, r.lon, r.precision, r.regions.get("lad_code")))
        except EpuMapperError:
            pts.append((np.nan, np.nan, None, None))
    pp = pd.DataFrame(pts, columns=["postcode_lat", "postcode_lon", "postcode_precision",
                                    "postcode_lad"])
    lad_bnd = sources.read_boundary("lad_bnd", ctx.settings).rename(columns={"LAD24CD": "region_code"})
    lat = units["lat"].fillna(0.0).to_numpy()
    lon = units["lon"].fillna(0.0).to_numpy()
    ul = geography.lad_nearest_with_distance(lat, lon, lad_bnd)
    demand = _read(ctx, "demand.parquet")
    regions = _read(ctx, "regions.parquet")
    table, warnings = geography.join_units(units, pp, ul, demand, regions,
                                           max_postcode_km=UNIT_POSTCODE_MAX_KM)
    ctx.warnings.extend(warnings)
    store.write_parquet(ctx.out("units_geo.parquet"), table)
    not_mappable = int((~units["mappable"].astype(bool)).sum())
    return {"rows": {"units_geo.parquet": len(table)},
            "checks": {"units": len(units), "not_mappable": not_mappable,
                       "flagged": int(table["flags"].ne("").sum()),
                       "postcode_max_km": UNIT_POSTCODE_MAX_KM}}


def step_sites(ctx: StepContext) -> dict[str, Any]:
    """Acute general hospitals matched to the directory.

    The unmatched ones are likely EPU sites (rule and columns: :mod:`epu_mapper.sites`).
    """
    from epu_mapper import sites
    from epu_mapper.units import load_units

    units = load_units(settings=ctx.settings)
    raw = sources.read_hospital_inputs(ctx.settings)
    raw["hosp_nhsuk"] = sources.read_csv("hosp_nhsuk", ctx.settings, dtype=str,
                                         usecols=["OrganisationCode", "Phone"])
    codes = set(units["site_code"].fillna("").astype(str).str.upper()) - {""}
    acute = sites.acute_sites(raw, codes)
    no_xy = acute["lat"].isna() | acute["lon"].isna()
    if no_xy.any():
        ctx.warnings.append(f"{int(no_xy.sum())} acute sites without coordinates dropped: "
                            + ", ".join(acute.loc[no_xy, "name"].astype(str)))
        acute = acute[~no_xy]
    matched = sites.match_directory(acute, units)
    demand = _read(ctx, "demand.parquet", columns=["area_code", "nation", "lat", "lon"])
    regions = _read(ctx, "regions.parquet")
    matched = sites.assign_areas(matched, demand, regions)
    likely = sites.likely_sites(matched)
    store.write_parquet(ctx.out("acute_sites.parquet"), matched)
    store.write_parquet(ctx.out("likely_sites.parquet"), likely)
    per = likely.groupby("nation").size()
    return {"rows": {"acute_sites.parquet": len(matched), "likely_sites.parquet": len(likely)},
            "checks": {"likely_per_nation": {str(k): int(v) for k, v in per.items()},
                       "matched_by": {str(k): int(v) for k, v in
                                      matched["match"].replace("", "none").value_counts().items()},
                       "rules": sites.SITE_RULES}}


STEPS: list[Step] = [
    Step("demand", ("lsoa_demand", "dz_demand", "sdz_demand", "lsoa_ruc", "area_regions",
                    "lsoa_pwc", "lsoa11_syoa", "sex_age_bands", "lsoa11_lsoa21", "scot_age_sex",
                    "ni_lgd_age_sex"),
         ("demand.parquet", "regions.parquet"), step_demand),
    Step("equity", ("imd_england", "wimd_wales", "simd_scotland", "nimdm_ni", "ni_sdz_soa",
                    "uk_imd", "car_van", "lsoa11_lsoa21"),
         ("area_equity.parquet",), step_equity, depends=("demand",)),
    Step("boundaries", ("nhser_bnd", "icb_bnd", "lhb_bnd", "scot_hb_bnd", "hsct_bnd", "lad_bnd",
                        "ni_sdz_bnd"),
         tuple(f"boundaries/{lvl}.geojson" for lvl in LEVELS)
         + ("boundaries/ni_sdz2021.geojson",),
         step_boundaries, depends=("demand",)),
    Step("postcodes", ("gb_postcodes", "gb_sectors", "gb_districts", "ni_postcodes", "lad_bnd"),
         ("postcodes.parquet", "postcode_sectors.parquet", "postcode_districts.parquet",
          "postcodes_ni.parquet"), step_postcodes, depends=("demand",)),
    Step("hospitals", ("hosp_rcpch", "hosp_wales", "hosp_scotland", "hosp_ni"),
         ("hospitals.parquet",), step_hospitals),
    Step("units", ("lad_bnd",), ("units_geo.parquet",), step_units,
         depends=("demand", "postcodes")),
    Step("sites", ("hosp_rcpch", "hosp_wales", "hosp_scotland", "hosp_ni", "hosp_nhsuk"),
         ("acute_sites.parquet", "likely_sites.parquet"), step_sites, depends=("demand",)),
]


# ---------------------------------------------------------------------------
# Manifest and driver
# ---------------------------------------------------------------------------


def read_manifest(build_dir: Path) -> dict[str, Any]:
    """The current manifest (empty dict when there is none or it is unreadable)."""
    path = build_dir / MANIFEST
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _input_info(paths: dict[str, Path], cache: dict[str, dict]) -> dict[str, dict]:
    out = {}
    for key, path in paths.items():
        if key not in cache:
            cache[key] = {"path": sources.RAW_FILES.get(key, str(path)),
                          "size": path.stat().st_size, "sha256": sources.file_sha256(path)}
        out[key] = cache[key]
    return out


def _fingerprint(code: str, inputs: dict[str, dict], upstream: list[str]) -> str:
    h = hashlib.sha256(code.encode())
    for key in sorted(inputs):
        h.update(f"{key}:{inputs[key]['sha256']}".encode())
    for fp in upstream:
        h.update(fp.encode())
    return h.hexdigest()[:24]


def build(
    settings: Settings | None = None,
    force: bool = False,
    only: list[str] | None = None,
    quiet: bool = False,
    expected: dict[str, Any] | None = EXPECTED,
) -> dict[str, Any]:
    """Build every stale step; return the manifest.

    Parameters
    ----------
    settings
        Where the raw data and build folder are (defaults to :func:`get_settings`).
    force
        Rebuild every step even when its fingerprint is unchanged.
    only
        Names of steps to consider (default: all of :data:`STEPS`).
    quiet
        No progress bars.
    expected
        Known totals the built tables must reproduce (default :data:`EXPECTED`, the real
        UK sources); ``None`` skips them (tiny test fixtures) but keeps structural checks.

    Returns
    -------
    dict
        The manifest written to ``build/manifest.json``; ``manifest["ran"]`` lists the steps
        that were (re)built in this call (empty = the build was a no-op).
    """
    settings = settings or get_settings()
    sources.data_dir(settings)
    steps = [s for s in STEPS if only is None or s.name in only]
    all_inputs = sorted({k for s in steps for k in s.inputs if k in sources.RAW_FILES})
    paths = sources.require(all_inputs, settings)
    extra = {}
    build_dir = settings.build_dir
    build_dir.mkdir(parents=True, exist_ok=True)
    manifest = read_manifest(build_dir)
    manifest.setdefault("steps", {})
    manifest.setdefault("inputs", {})
    code = _code_version()
    ctx = StepContext(settings=settings, paths={**paths, **extra}, build_dir=build_dir, quiet=quiet,
                  expected=expected)
    hash_cache: dict[str, dict] = {}
    ran: list[str] = []
    bar = tqdm(steps, desc="data build", unit="step", disable=quiet, file=sys.stderr)
    fingerprints: dict[str, str] = {}
    for step in bar:
        bar.set_postfix_str(step.name)
        step_paths = {k: ctx.paths[k] for k in step.inputs if k in ctx.paths}
        extra_inputs = _extra_inputs(step, settings)
        inputs = _input_info({**step_paths, **extra_inputs}, hash_cache)
        upstream = [fingerprints.get(d) or manifest["steps"].get(d, {}).get("fingerprint", "")
                    for d in step.depends]
        fp = _fingerprint(code, inputs, upstream)
        fingerprints[step.name] = fp
        prev = manifest["steps"].get(step.name, {})
        outputs_exist = all(store.looks_intact(build_dir / o) for o in step.outputs)
        if not force and prev.get("fingerprint") == fp and outputs_exist:
            continue
        t0 = time.perf_counter()
        ctx.warnings = []
        result = step.run(ctx)
        manifest["steps"][step.name] = {
            "fingerprint": fp,
            "inputs": sorted(inputs),
            "outputs": list(step.outputs),
            "rows": result.get("rows", {}),
            "checks": result.get("checks", {}),
            "warnings": list(ctx.warnings),
            "seconds": round(time.perf_counter() - t0, 2),
            "built_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        }
        manifest["inputs"].update(inputs)
        ran.append(step.name)
        # Write the manifest after each step so an interrupted build keeps finished steps.
        manifest["code_version"] = code
        store.write_json(build_dir / MANIFEST, _public(manifest))
    manifest["code_version"] = code
    manifest["data_dir"] = str(settings.data_dir)
    manifest["rows"] = {o: n for s in manifest["steps"].values() for o, n in s.get("rows", {}).items()}
    manifest["warnings"] = [w for s in manifest["steps"].values() for w in s.get("warnings", [])]
    if ran:
        manifest["built_at"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        store.write_json(build_dir / MANIFEST, _public(manifest))
    manifest["ran"] = ran
    return manifest


def _public(manifest: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in manifest.items() if k != "ran"}


def _extra_inputs(step: Step, settings: Settings) -> dict[str, Path]:
    """Non-raw inputs of a step (e.g. the units directory), when they exist."""
    if step.name in ("units", "sites") and settings.units_csv.is_file():
        return {"units_csv": settings.units_csv}
    return {}

