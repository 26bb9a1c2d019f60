"""Comparable demand weights: women aged 15–44 in all four nations (pure, no file I/O).

Every nation's ``weight`` is an estimate or count of **women aged 15–44**, so UK figures,
rankings and Ginis never mix weight kinds. The methods, stated exactly:

England & Wales (``female_15_44_estimate``)
    1. For every 2011 LSOA, persons 15–44 = the sum of the ONS mid-2020 single-year persons
       estimates for ages 15…44.
    2. Its female share = (f_16_24 + f_25_34 + f_35_49) / (f + m over the same three bands)
       from the mid-2020 sex × age bands (SIPHER aggregation of the same ONS estimates). The
       bands run 16–49, not 15–44, so the share is that of the nearest available span.
    3. Women 15–44 (LSOA11) = persons 15–44 × female share.
    4. LSOA11 → LSOA21 with the ONS best-fit lookup (change codes U/S/M/X): each LSOA21 pools
       every LSOA11 linked to it, female share 15–44 = Σ women 15–44 / Σ persons 15–44 over
       those LSOA11s. A split (S) inherits its parent's share; merges (M) and irregular
       changes (X) are pooled.
    5. Weight = the LSOA21's estimated persons 15–44 (Census 2021 usual residents × pooled
       mid-2020 share aged 15–44, from the demand file) × that female share.
    An LSOA21 with no linked LSOA11 share (none today) falls back to 0.5, flagged in
    ``weight_note``.

Scotland (``female_15_44_census``)
    The exact Census 2022 count of women 15–44 per data zone (unchanged).

Northern Ireland (``female_15_44_estimate``)
    NISRA publishes no 15–44 band offline; the best NI age × sex data here are Census 2021
    women per Local Government District (LGD) in the bands 0–19, 20–64 and 65+.
    1. Within a band, women's ages are assumed spread as in Scotland's Census 2022 female
       profile: a = women 15–19 / women 0–19 and b = women 20–44 / women 20–64 (Scotland).
    2. Women 15–44 (LGD) = a × women 0–19 + b × women 20–64.
    3. Each SDZ's weight = its estimated population (NISRA mid-2020 trust population shared
       over SDZs by Census 2021 households) × its LGD's women 15–44 / usual residents.
    NI's population is younger than Scotland's, so b (and the NI total) is if anything
    slightly low.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: Ages summed for persons 15–44 in the single-year file (columns "15" … "44").
AGES_15_44 = tuple(str(a) for a in range(15, 45))
#: SIPHER band columns nearest to 15–44 (16–49).
F_BANDS = ("f_16_24", "f_25_34", "f_35_49")
M_BANDS = ("m_16_24", "m_25_34", "m_35_49")

EW_NOTE = (
    "Estimated women aged 15-44: Census 2021 usual residents x mid-2020 share aged 15-44 x "
    "mid-2020 female share of ages 16-49 (ONS small-area estimates by sex and age band), "
    "LSOA 2011 shares pooled onto LSOA 2021 with the ONS lookup."
)
EW_FALLBACK_NOTE = EW_NOTE + " This area has no linked LSOA 2011 sex split: 0.5 assumed."
NI_NOTE = (
    "Estimated women aged 15-44: the SDZ's estimated population x its council's (LGD) share of "
    "women 15-44, from NISRA Census 2021 women aged 0-19 and 20-64 per LGD split into ages "
    "with Scotland's Census 2022 female age profile."
)
SCOTLAND_NOTE = "Women aged 15-44, Scotland's Census 2022 (exact count by data zone)."


def weight_kind_label(kinds) -> str:
    """One label for the weight kinds of a group of areas.

    A single kind is returned as is; census and estimated women 15-44 together are
    ``female_15_44 (census + estimate)`` (still women 15-44 everywhere); anything else is
    ``mixed: <kinds>`` (never produced by today's build).
    """
    ks = sorted({str(k) for k in kinds})
    if len(ks) == 1:
        return ks[0]
    if all(k.startswith("female_15_44_") for k in ks):
        return "female_15_44 (" + " + ".join(k.removeprefix("female_15_44_") for k in ks) + ")"
    return "mixed: " + ", ".join(ks)


def ew_female_share(
    persons_syoa: pd.DataFrame, sex_bands: pd.DataFrame, lookup: pd.DataFrame
) -> pd.DataFrame:
    """Female share of persons aged 15–44 for every LSOA21 (steps 1–4 of the module doc).

    Parameters
    ----------
    persons_syoa : pandas.DataFrame
        ONS mid-2020 LSOA11 persons: ``lsoa11_code`` and the single-year columns ``"15"`` …
        ``"44"`` (other columns ignored).
    sex_bands : pandas.DataFrame
        Mid-2020 sex × age bands: ``areacode`` (LSOA11 or DZ; only LSOA11 codes match) and
        :data:`F_BANDS` + :data:`M_BANDS`.
    lookup : pandas.DataFrame
        ONS LSOA11 → LSOA21: ``lsoa11_code, lsoa21_code``.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``lsoa21_code``: ``female_share_15_44`` (0–1), ``persons_15_44_mid2020``
        (pooled persons 15–44 of the linked LSOA11s) and ``n_lsoa11`` (linked LSOA11s with a
        share).
    """
    p = persons_syoa.set_index("lsoa11_code")[list(AGES_15_44)].astype(float).sum(axis=1)
    b = sex_bands.set_index("areacode")
    f = b[list(F_BANDS)].astype(float).sum(axis=1)
    fm = f + b[list(M_BANDS)].astype(float).sum(axis=1)
    share11 = (f / fm.where(fm > 0)).reindex(p.index)
    l11 = pd.DataFrame({"p": p, "women": p * share11}).dropna()
    link = lookup[["lsoa11_code", "lsoa21_code"]].drop_duplicates()
    link = link.join(l11, on="lsoa11_code", how="inner")
    pooled = link.groupby("lsoa21_code").agg(
        p=("p", "sum"), women=("women", "sum"), n_lsoa11=("lsoa11_code", "size")
    )
    return pd.DataFrame({
        "female_share_15_44": pooled["women"] / pooled["p"].where(pooled["p"] > 0),
        "persons_15_44_mid2020": pooled["p"],
        "n_lsoa11": pooled["n_lsoa11"],
    })


def ew_women_15_44(
    lsoa: pd.DataFrame, shares: pd.DataFrame
) -> tuple[pd.Series, pd.Series]:
    """Women 15–44 per LSOA21 (step 5) and each area's ``weight_note``.

    Parameters
    ----------
    lsoa : pandas.DataFrame
        ``lsoa21_code, est_persons_15_44`` (Census 2021 residents × pooled share aged 15–44).
    shares : pandas.DataFrame
        :func:`ew_female_share` output.

    Returns
    -------
    (pandas.Series, pandas.Series)
        Women 15–44 (float) and the note, both aligned to ``lsoa``'s index; an area without a
        share uses 0.5 and says so in its note.
    """
    share = lsoa["lsoa21_code"].map(shares["female_share_15_44"])
    missing = share.isna()
    weight = lsoa["est_persons_15_44"].astype(float) * share.fillna(0.5)
    note = pd.Series(np.where(missing, EW_FALLBACK_NOTE, EW_NOTE), index=lsoa.index)
    return weight, note


def scotland_female_profile(age_sex: pd.DataFrame) -> dict[str, float]:
    """Scotland's Census 2022 female age ratios used to split NI's broad bands.

    Parameters
    ----------
    age_sex : pandas.DataFrame
        ``age_group, female`` (one row per data zone × band; bands ``"0 - 4"``, ``"15.0"``
        (age 15), ``"16 - 17"``, …, ``"85 and over"``, ``"All people"``).

    Returns
    -------
    dict
        ``a`` = women 15–19 / women 0–19, ``b`` = women 20–44 / women 20–64, and the sums used
        (``f0_19, f15_19, f20_64, f20_44``).
    """
    t = age_sex.groupby(age_sex["age_group"].astype(str).str.strip())["female"].sum()

    def lower(label: str) -> float:
        head = label.replace("and over", "").split("-")[0].strip()
        try:
            return float(head)
        except ValueError:
            return np.nan  # "All people"

    lo = pd.Series({k: lower(k) for k in t.index})
    t = t[lo.notna()]
    lo = lo[lo.notna()]
    f0_19 = float(t[lo < 20].sum())
    f15_19 = float(t[(lo >= 15) & (lo < 20)].sum())
    f20_64 = float(t[(lo >= 20) & (lo < 65)].sum())
    f20_44 = float(t[(lo >= 20) & (lo < 45)].sum())
    return {"a": f15_19 / f0_19, "b": f20_44 / f20_64, "f0_19": f0_19, "f15_19": f15_19,
            "f20_64": f20_64, "f20_44": f20_44}


def ni_lgd_share(lgd_bands: pd.DataFrame, profile: dict[str, float]) -> pd.DataFrame:
    """Women 15–44 per NI council (LGD) and their share of usual residents.

    Parameters
    ----------
    lgd_bands : pandas.DataFrame
        ``lgd14_code, total_population, female_0_19, female_20_64``.
    profile : dict
        :func:`scotland_female_profile` output (``a``, ``b``).

    Returns
    -------
    pandas.DataFrame
        Indexed by ``lgd14_code``: ``women_15_44`` = a × female_0_19 + b × female_20_64 and
        ``share_15_44_female`` = women_15_44 / total_population.
    """
    d = lgd_bands.set_index("lgd14_code")
    women = profile["a"] * d["female_0_19"].astype(float) + profile["b"] * d["female_20_64"].astype(float)
    return pd.DataFrame({
        "women_15_44": women,
        "share_15_44_female": women / d["total_population"].astype(float),
    })


def ni_women_15_44(sdz: pd.DataFrame, lgd_share: pd.DataFrame) -> pd.Series:
    """Women 15–44 per SDZ = estimated population × its LGD's share (NaN for an unknown LGD).

    Parameters
    ----------
    sdz : pandas.DataFrame
        ``lgd14_code, est_population_mid2020_by_households``.
    lgd_share : pandas.DataFrame
        :func:`ni_lgd_share` output.
    """
    share = sdz["lgd14_code"].map(lgd_share["share_15_44_female"])
    return sdz["est_population_mid2020_by_households"].astype(float) * share


def official_centroids(lsoa: pd.DataFrame, pwc: pd.DataFrame) -> pd.DataFrame:
    """Move E&W demand points to the ONS population-weighted centroids.

    Move E&W demand points to the ONS population-weighted centroids, keeping the proxy where the
    official file lacks an area.

    Parameters
    ----------
    lsoa : pandas.DataFrame
        ``lsoa21_code, lat, lon, centroid_method`` (the postcode-median proxy points).
    pwc : pandas.DataFrame
        ONS LSOA 2021 population-weighted centroids: ``lsoa21_code, lat, lon``.

    Returns
    -------
    pandas.DataFrame
        A copy of ``lsoa`` with ``lat, lon`` replaced where the official point exists and
        ``centroid_method`` = ``ons_population_weighted_centroid`` there; elsewhere the proxy's
        method with ``;no_official_centroid`` appended (the flag).
    """
    out = lsoa.copy()
    p = pwc.drop_duplicates("lsoa21_code").set_index("lsoa21_code")
    lat = out["lsoa21_code"].map(p["lat"])
    lon = out["lsoa21_code"].map(p["lon"])
    have = lat.notna() & lon.notna()
    out["lat"] = lat.where(have, out["lat"]).astype(float)
    out["lon"] = lon.where(have, out["lon"]).astype(float)
    out["centroid_method"] = np.where(
        have, "ons_population_weighted_centroid",
        out["centroid_method"].astype(str) + ";no_official_centroid",
    )
    return out
