"""The raw open-data files, named in one place.

The project reads its inputs from the data directory (``EPU_MAPPER_DATA``, the
``raw/`` folder beside the repo; see ``raw/SOURCES.md`` there for upstream
publishers, licences and vintages). Raw files are never copied into the repo.

Every raw file has a short key (``RAW_FILES``). :func:`raw_path` resolves a key,
:func:`require` checks several at once and raises one
:class:`~epu_mapper.errors.DataDirectoryError` that names every missing file and
the folder it looked in. The ``read_*`` helpers are the only code that parses
raw files; they return plain DataFrames with the columns documented below.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path

import geopandas as gpd
import pandas as pd

from epu_mapper.errors import DataDirectoryError
from epu_mapper.settings import Settings, get_settings

#: key -> path relative to the data directory.
RAW_FILES: dict[str, str] = {
    # demand points (one per small area)
    "lsoa_demand": "demand/lsoa21_ew_demand_points.csv",
    "dz_demand": "demand/dz11_scotland_demand_points.csv",
    "sdz_demand": "demand/sdz21_ni_demand_points.csv",
    "lsoa_ruc": "demand/lsoa21_ew_rural_urban_classification_2021.csv",
    "lsoa_pwc": "demand/lsoa21_ew_population_weighted_centroids_ons.csv",
    # women 15-44 (epu_mapper.population)
    "lsoa11_syoa": "demand/lsoa11_ew_mid2020_persons_single_year_age.csv.gz",
    "sex_age_bands": "population/mid2020_adults_sex_age_bands_lsoa11_dz11_sipher.csv",
    "lsoa11_lsoa21": "boundaries/lookup_lsoa11_lsoa21_lad22_ew.csv",
    "scot_age_sex": "demand/scotland_census2022_dz11_age_sex.csv.gz",
    "ni_lgd_age_sex": "population/ni_census2021_age_sex_bands_lgd14.csv",
    # deprivation and car access (epu_mapper.deprivation)
    "imd_england": "deprivation/imd2025_england_lsoa21.csv",
    "wimd_wales": "deprivation/wimd2019_wales_lsoa11.csv",
    "simd_scotland": "deprivation/simd2020v2_scotland_dz11.csv",
    "nimdm_ni": "deprivation/nimdm2017_ni_soa01.csv",
    "ni_sdz_soa": "deprivation/crosswalk_ni_sdz21_soa01_area_overlap.csv",
    "uk_imd": "deprivation/uk_composite_imd2020_mysociety_E.csv",
    "car_van": "population/census2021_car_van_availability_lsoa21_ew.csv",
    # region lookups and boundaries
    "area_regions": "boundaries/lookup_small_area_to_health_regions_uk.csv",
    "nhser_bnd": "boundaries/nhser22_en_from_sicbl22.geojson",
    "icb_bnd": "boundaries/icb22_en_from_sicbl22.geojson",
    "lhb_bnd": "boundaries/wales_lhb.geojson",
    "scot_hb_bnd": "boundaries/scotland_health_boards_2019.geojson",
    "hsct_bnd": "boundaries/ni_hsc_trusts.geojson",
    "lad_bnd": "boundaries/lad24_uk_buc.geojson",
    "ni_sdz_bnd": "boundaries/ni_sdz2021.geojson",
    # postcodes
    "gb_postcodes": "postcodes/codepoint_open_gb_postcodes.csv.gz",
    "gb_sectors": "postcodes/codepoint_open_gb_postcode_sector_centroids.csv",
    "gb_districts": "postcodes/codepoint_open_gb_postcode_district_centroids.csv",
    "ni_postcodes": "postcodes/ni_postcode_to_dz21_sdz21_dea14_lgd14.csv",
    # hospitals
    "hosp_rcpch": "hospitals/rcpch_paediatric_sites_england_wales_2024.csv",
    "hosp_wales": "hospitals/wales_nhs_sites_2022.csv",
    "hosp_scotland": "hospitals/scotland_nhs_hospitals_2024.csv",
    "hosp_ni": "hospitals/ni_acute_hospitals.csv",
    "hosp_nhsuk": "hospitals/nhs_uk_hospitals_england_2020.csv",
}


def data_dir(settings: Settings | None = None) -> Path:
    """Return the raw data directory, or raise a clear error when unset or missing.

    Raises
    ------
    DataDirectoryError
        When ``EPU_MAPPER_DATA`` is unset, or names a folder that does not exist.
    """
    settings = settings or get_settings()
    if settings.data_dir is None:
        raise DataDirectoryError(
            "the raw data directory is not set. Set EPU_MAPPER_DATA to the folder holding the "
            "raw open data (e.g. export EPU_MAPPER_DATA=../shared/data/raw); `make` sets it for you."
        )
    if not settings.data_dir.is_dir():
        raise DataDirectoryError(
            f"the raw data directory {settings.data_dir} does not exist "
            "(EPU_MAPPER_DATA should point at the shared `raw` folder)."
        )
    return settings.data_dir


def require(keys: Iterable[str], settings: Settings | None = None) -> dict[str, Path]:
    """Resolve several raw files at once; one error names every missing file.

    Parameters
    ----------
    keys
        Keys of :data:`RAW_FILES`.

    Returns
    -------
    dict
        key -> absolute path (every path exists).
    """
    root = data_dir(settings)
    keys = list(keys)
    unknown = [k for k in keys if k not in RAW_FILES]
    if unknown:
        raise KeyError(f"unknown raw file key(s): {unknown}")
    paths = {k: root / RAW_FILES[k] for k in keys}
    missing = [RAW_FILES[k] for k, p in paths.items() if not p.is_file()]
    if missing:
        listing = "\n  ".join(missing)
        hint = ""
        for candidate in (root / "raw", root / "data" / "raw"):
            if all((candidate / RAW_FILES[k]).is_file() for k in keys):
                hint = f"\nDid you mean EPU_MAPPER_DATA={candidate} ? It holds every file."
                break
        raise DataDirectoryError(
            f"{len(missing)} raw file(s) missing from the data directory {root} "
            f"(EPU_MAPPER_DATA):\n  {listing}\n"
            "Point EPU_MAPPER_DATA at the shared `raw` folder that holds them (see raw/SOURCES.md)."
            + hint
        )
    return paths


def raw_path(key: str, settings: Settings | None = None) -> Path:
    """Absolute path of one raw file (checked to exist)."""
    return require([key], settings)[key]


def file_sha256(path: Path, chunk: int = 1 << 20) -> str:
    """SHA-256 of a file's bytes (hex)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


# ---------------------------------------------------------------------------
# Readers: raw file -> DataFrame, nothing more (transforms live in geography.py)
# ---------------------------------------------------------------------------


def read_csv(key: str, settings: Settings | None = None, **kwargs) -> pd.DataFrame:
    """Read one raw CSV by key (``dtype``/``usecols`` passed through to pandas)."""
    path = raw_path(key, settings)
    try:
        return pd.read_csv(path, **kwargs)
    except (ValueError, pd.errors.ParserError) as exc:
        raise DataDirectoryError(f"could not read {path}: {exc}") from exc


def read_boundary(key: str, settings: Settings | None = None) -> gpd.GeoDataFrame:
    """Read one raw GeoJSON boundary file (WGS84) by key."""
    path = raw_path(key, settings)
    try:
        gdf = gpd.read_file(path)
    except Exception as exc:  # pyogrio raises several types
        raise DataDirectoryError(f"could not read {path}: {exc}") from exc
    if gdf.crs is None:
        gdf = gdf.set_crs(4326)
    return gdf.to_crs(4326)


def read_demand_inputs(settings: Settings | None = None) -> dict[str, pd.DataFrame]:
    """The three demand-point files and the LSOA rural-urban classification.

    Returns
    -------
    dict
        ``lsoa`` (``lsoa21_code, lsoa21_name, country, ltla24_code, lat, lon, centroid_method,
        census2021_usual_residents, est_persons_15_44, est_female_15_44_halfsplit``), ``dz`` (``dz11_code,
        dz11_name, ltla19_code, lat, lon, centroid_method, census2022_usual_residents,
        female_15_44``), ``sdz`` (``sdz21_code, sdz21_name, lgd14_code, lat, lon,
        centroid_method, census2021_households, est_population_mid2020_by_households``) and
        ``ruc`` (``lsoa21_code, ruc21_code, classification, ruc``).
    """
    return {
        "lsoa": read_csv(
            "lsoa_demand",
            settings,
            usecols=[
                "lsoa21_code", "lsoa21_name", "country", "ltla24_code", "lat", "lon",
                "centroid_method", "census2021_usual_residents", "est_persons_15_44",
                "est_female_15_44_halfsplit",
            ],
            dtype={"lsoa21_code": str, "lsoa21_name": str, "country": str, "ltla24_code": str},
        ),
        "dz": read_csv(
            "dz_demand",
            settings,
            usecols=[
                "dz11_code", "dz11_name", "ltla19_code", "lat", "lon", "centroid_method",
                "census2022_usual_residents", "female_15_44",
            ],
            dtype={"dz11_code": str, "dz11_name": str, "ltla19_code": str},
        ),
        "sdz": read_csv(
            "sdz_demand",
            settings,
            usecols=[
                "sdz21_code", "sdz21_name", "lgd14_code", "lat", "lon", "centroid_method",
                "census2021_households", "est_population_mid2020_by_households",
            ],
            dtype={"sdz21_code": str, "sdz21_name": str, "lgd14_code": str},
        ),
        "ruc": read_csv("lsoa_ruc", settings, dtype=str),
    }


def read_area_regions(settings: Settings | None = None) -> pd.DataFrame:
    """The derived small-area -> LAD / health-region lookup (one row per area), all strings."""
    return read_csv("area_regions", settings, dtype=str, keep_default_na=False, na_values=[""])


def read_gb_postcodes(settings: Settings | None = None) -> pd.DataFrame:
    """Code-Point Open GB unit postcodes.

    Returns
    -------
    pandas.DataFrame
        ``postcode`` (str, upper case, single space), ``pq`` (int16 positional quality),
        ``lat``, ``lon`` (float64, NaN for pq 90), ``admin_district_code`` (str).
    """
    path = raw_path("gb_postcodes", settings)
    try:
        df = pd.read_csv(
            path,
            usecols=["postcode", "pq", "lat", "lon", "admin_district_code"],
            dtype={"postcode": str, "pq": "int16", "lat": "float64", "lon": "float64",
                   "admin_district_code": str},
            engine="pyarrow",
        )
    except (ValueError, pd.errors.ParserError) as exc:
        raise DataDirectoryError(f"could not read {path}: {exc}") from exc
    return df


def read_ni_postcodes(settings: Settings | None = None) -> pd.DataFrame:
    """ONSPD NI postcodes -> ``postcode`` (no space, as stored), ``sdz21_code``, ``lgd14_code``."""
    return read_csv(
        "ni_postcodes", settings, usecols=["postcode", "sdz21_code", "lgd14_code"], dtype=str
    )


def read_postcode_centroids(settings: Settings | None = None) -> dict[str, pd.DataFrame]:
    """Sector and district centroids.

    Columns ``postcode_sector``/``postcode_district``, ``n_postcodes``, ``admin_district_code``,
    ``lat``, ``lon``.
    """
    cols = ["n_postcodes", "admin_district_code", "lat", "lon"]
    return {
        "sector": read_csv("gb_sectors", settings, usecols=["postcode_sector", *cols],
                           dtype={"postcode_sector": str, "admin_district_code": str}),
        "district": read_csv("gb_districts", settings, usecols=["postcode_district", *cols],
                             dtype={"postcode_district": str, "admin_district_code": str}),
    }


def read_hospital_inputs(settings: Settings | None = None) -> dict[str, pd.DataFrame]:
    """The four hospital-site files used for the acute-site table (all columns as strings)."""
    return {
        key: read_csv(key, settings, dtype=str, keep_default_na=False, na_values=[""])
        for key in ("hosp_rcpch", "hosp_wales", "hosp_scotland", "hosp_ni")
    }


def read_weight_inputs(settings: Settings | None = None) -> dict[str, pd.DataFrame]:
    """The files behind the women 15-44 weights and the official E&W centroids.

    Returns
    -------
    dict
        ``pwc`` (``lsoa21_code, lat, lon``), ``syoa`` (``lsoa11_code`` + ages ``"15"``…``"44"``),
        ``bands`` (``areacode, f_16_24 … m_75p``), ``lookup11`` (``lsoa11_code, lsoa21_code,
        change_code``), ``scot_age_sex`` (``age_group, female``) and ``ni_lgd`` (``lgd14_code,
        total_population, female_0_19, female_20_64``).
    """
    ages = [str(a) for a in range(15, 45)]
    return {
        "pwc": read_csv("lsoa_pwc", settings, usecols=["lsoa21_code", "lat", "lon"],
                        dtype={"lsoa21_code": str}),
        "syoa": read_csv("lsoa11_syoa", settings, usecols=["lsoa11_code", *ages],
                         dtype={"lsoa11_code": str}),
        "bands": read_csv("sex_age_bands", settings, dtype={"areacode": str}),
        "lookup11": read_csv("lsoa11_lsoa21", settings,
                             usecols=["lsoa11_code", "lsoa21_code", "change_code"], dtype=str),
        "scot_age_sex": read_csv("scot_age_sex", settings, usecols=["age_group", "female"],
                                 dtype={"age_group": str}),
        "ni_lgd": read_csv("ni_lgd_age_sex", settings,
                           usecols=["lgd14_code", "total_population", "female_0_19",
                                    "female_20_64"], dtype={"lgd14_code": str}),
    }


def read_equity_inputs(settings: Settings | None = None) -> dict[str, pd.DataFrame]:
    """Deprivation indices, the NI SOA->SDZ crosswalk, the UK composite and car availability.

    Returns
    -------
    dict
        ``imd`` (``lsoa21_code, IMD_rank, IMD_decile``), ``wimd`` (``lsoa11_code, IMD_rank``),
        ``simd`` (``dz11_code, IMD_rank``), ``nimdm`` (``soa01_code, IMD_rank``), ``crosswalk``
        (``sdz21_code, soa01_code, share_of_sdz21_area``), ``uk`` (``nation, area_code,
        UK_IMD_E_pop_decile``), ``car`` (``lsoa21_code, hh_total, hh_no_car``) and ``lookup11``
        (``lsoa11_code, lsoa21_code, change_code``).
    """
    rank = ["IMD_rank"]
    return {
        "imd": read_csv("imd_england", settings, usecols=["lsoa21_code", "IMD_rank", "IMD_decile"],
                        dtype={"lsoa21_code": str}),
        "wimd": read_csv("wimd_wales", settings, usecols=["lsoa11_code", *rank],
                         dtype={"lsoa11_code": str}),
        "simd": read_csv("simd_scotland", settings, usecols=["dz11_code", *rank],
                         dtype={"dz11_code": str}),
        "nimdm": read_csv("nimdm_ni", settings, usecols=["soa01_code", *rank],
                          dtype={"soa01_code": str}),
        "crosswalk": read_csv("ni_sdz_soa", settings,
                              usecols=["sdz21_code", "soa01_code", "share_of_sdz21_area"],
                              dtype={"sdz21_code": str, "soa01_code": str}),
        "uk": read_csv("uk_imd", settings, usecols=["nation", "area_code", "UK_IMD_E_pop_decile"],
                       dtype={"nation": str, "area_code": str}),
        "car": read_csv("car_van", settings, usecols=["lsoa21_code", "hh_total", "hh_no_car"],
                        dtype={"lsoa21_code": str}),
        "lookup11": read_csv("lsoa11_lsoa21", settings,
                             usecols=["lsoa11_code", "lsoa21_code", "change_code"], dtype=str),
    }
