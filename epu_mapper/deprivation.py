"""Deprivation deciles and car access per small area (pure, no file I/O).

Each nation's own index ranks its areas **within that nation only**; deciles of different
nations are not comparable, so the within-nation decile (``dep_decile``) is used for each
nation and the UK composite (``uk_decile``) only where one UK scale is needed.

Within-nation index (1 = most deprived):

* England: IMD 2025 on LSOA 2021 (the official decile; exact).
* Wales: WIMD 2019 on LSOA 2011, carried to LSOA 2021 with the ONS lookup: an LSOA21's score
  is the mean rank of its linked LSOA11s (one for unchanged areas and splits); the 1,917
  LSOA21s are ranked by it (ties averaged) and decile = ceil(rank × 10 / 1,917). Approximate
  where the area changed (codes S/M/X).
* Scotland: SIMD 2020v2 on data zone 2011, decile = ceil(rank × 10 / 6,976) (exact).
* Northern Ireland: NIMDM 2017 on the 890 Super Output Areas, carried to SDZ 2021 through the
  derived area-overlap crosswalk: an SDZ's score is the area-share-weighted mean of the ranks
  of the SOAs it overlaps; the 850 SDZs are ranked by it and decile = ceil(rank × 10 / 850).
  **Always approximate** (SOAs and SDZs do not nest; the crosswalk is by area, not
  population).

``dep_quintile`` = ceil(decile / 2). ``core20`` (England only) = IMD 2025 decile 1–2, the most
deprived 20 % of LSOAs (NHS England's Core20PLUS5).

UK composite (mySociety, England-anchored; ``UK_IMD_E_pop_decile``): direct for Scotland;
LSOA11 → LSOA21 (rounded mean decile of linked LSOA11s) for England & Wales; share-weighted
rounded mean over the crosswalk for NI. Approximate wherever a mapping was needed.

Car access: Census 2021 TS045 households with no car or van, England & Wales only. Scotland's
Census 2022 (UV405) and NI's Census 2021 car availability tables are not in the data directory,
so those areas have no figure (NaN) and are left out of every car statistic.
``no_car_quintile`` splits E&W LSOAs into fifths by ``pct_no_car`` (5 = highest no-car share);
``high_no_car`` = quintile 5.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: Areas ranked by each nation's index (the denominators of rank-based deciles).
N_RANKED = {"England": 33_755, "Wales": 1_909, "Scotland": 6_976, "Northern Ireland": 890}
INDEX_NAME = {"England": "IMD 2025", "Wales": "WIMD 2019", "Scotland": "SIMD 2020v2",
              "Northern Ireland": "NIMDM 2017"}

AREA_EQUITY_COLUMNS = [
    "area_code", "nation", "dep_index", "dep_rank", "dep_decile", "dep_quintile",
    "dep_approximate", "core20", "uk_decile", "uk_quintile", "uk_approximate",
    "hh_total", "hh_no_car", "pct_no_car", "no_car_quintile", "high_no_car",
]


def decile_from_rank(rank: np.ndarray | pd.Series, n: int) -> np.ndarray:
    """``ceil(rank × 10 / n)`` clipped to 1…10 (NaN rank → 0 = no decile)."""
    r = np.asarray(rank, dtype=float)
    d = np.ceil(r * 10.0 / n)
    return np.where(np.isnan(d), 0, np.clip(d, 1, 10)).astype(np.int8)


def _pooled(lookup: pd.DataFrame, values: pd.Series, key: str) -> pd.DataFrame:
    """Values carried from LSOA11 to LSOA21 through the ONS lookup.

    Mean of ``values`` (indexed by LSOA11) over each LSOA21's linked LSOA11s, and whether the link
    changed (any change code other than ``U``).
    """
    link = lookup[["lsoa11_code", "lsoa21_code", "change_code"]].drop_duplicates(
        ["lsoa11_code", "lsoa21_code"])
    link = link.assign(v=link["lsoa11_code"].map(values), changed=link["change_code"] != "U")
    link = link.dropna(subset=["v"])
    out = link.groupby("lsoa21_code").agg(v=("v", "mean"), changed=("changed", "max"))
    return out.rename(columns={"v": key})


def _crosswalk_mean(crosswalk: pd.DataFrame, values: pd.Series) -> pd.Series:
    """Area-share-weighted mean of ``values``.

    Area-share-weighted mean of ``values`` (indexed by SOA) per SDZ (shares renormalised over the
    SOAs that have a value).
    """
    cw = crosswalk.assign(v=crosswalk["soa01_code"].map(values)).dropna(subset=["v"])
    cw = cw.assign(wv=cw["share_of_sdz21_area"] * cw["v"])
    g = cw.groupby("sdz21_code")
    return g["wv"].sum() / g["share_of_sdz21_area"].sum()


def area_deprivation(areas: pd.DataFrame, raw: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Within-nation decile, quintile, Core20 flag and UK composite decile per area.

    Parameters
    ----------
    areas : pandas.DataFrame
        ``area_code, nation`` (the demand areas).
    raw : dict
        :func:`epu_mapper.sources.read_equity_inputs` output (``imd, wimd, simd, nimdm,
        crosswalk, uk, lookup11``).

    Returns
    -------
    pandas.DataFrame
        Aligned to ``areas``: ``area_code, nation, dep_index, dep_rank`` (float; mean rank where
        mapped), ``dep_decile`` (int8 1–10, 0 = none), ``dep_quintile`` (1–5, 0 = none),
        ``dep_approximate`` (bool), ``core20`` (bool; False outside England), ``uk_decile``,
        ``uk_quintile`` (int8, 0 = none), ``uk_approximate`` (bool).
    """
    code = areas["area_code"].astype(str)
    nation = areas["nation"].astype(str)
    rank = pd.Series(np.nan, index=areas.index)
    approx = pd.Series(False, index=areas.index)
    eng, wal, sco, ni = (nation == n for n in N_RANKED)
    rank[eng] = code[eng].map(raw["imd"].set_index("lsoa21_code")["IMD_rank"])
    wimd = _pooled(raw["lookup11"], raw["wimd"].set_index("lsoa11_code")["IMD_rank"], "rank")
    rank[wal] = code[wal].map(wimd["rank"])
    approx[wal] = code[wal].map(wimd["changed"]).fillna(True).astype(bool)
    rank[sco] = code[sco].map(raw["simd"].set_index("dz11_code")["IMD_rank"])
    ni_rank = _crosswalk_mean(raw["crosswalk"], raw["nimdm"].set_index("soa01_code")["IMD_rank"])
    rank[ni] = code[ni].map(ni_rank)
    approx[ni] = True
    decile = np.zeros(len(areas), dtype=np.int8)
    for n, total in N_RANKED.items():
        m = (nation == n).to_numpy()
        if n in ("Wales", "Northern Ireland"):  # mapped mean ranks: re-rank the nation's areas
            r = rank[m].rank(method="average")
            decile[m] = decile_from_rank(r, int(r.notna().sum()))
        else:
            decile[m] = decile_from_rank(rank[m], total)
    if eng.any():  # England: the official decile
        official = code[eng].map(raw["imd"].set_index("lsoa21_code")["IMD_decile"])
        decile[eng.to_numpy()] = official.fillna(0).astype(np.int8).to_numpy()
    uk, uk_approx = _uk_decile(code, nation, raw)
    return pd.DataFrame({
        "area_code": code.to_numpy(),
        "nation": nation.to_numpy(),
        "dep_index": nation.map(INDEX_NAME).to_numpy(),
        "dep_rank": rank.to_numpy(float),
        "dep_decile": decile,
        "dep_quintile": ((decile + 1) // 2).astype(np.int8),
        "dep_approximate": approx.to_numpy(bool),
        "core20": (eng.to_numpy() & (decile >= 1) & (decile <= 2)),
        "uk_decile": uk,
        "uk_quintile": ((uk + 1) // 2).astype(np.int8),
        "uk_approximate": uk_approx,
    })


def _uk_decile(code: pd.Series, nation: pd.Series, raw: dict) -> tuple[np.ndarray, np.ndarray]:
    uk = raw["uk"].set_index("area_code")["UK_IMD_E_pop_decile"].astype(float)
    out = pd.Series(np.nan, index=code.index)
    approx = pd.Series(True, index=code.index)
    sco = nation == "Scotland"
    out[sco] = code[sco].map(uk)
    approx[sco] = False
    ew = nation.isin(["England", "Wales"])
    pooled = _pooled(raw["lookup11"], uk, "uk")
    out[ew] = code[ew].map(pooled["uk"])
    approx[ew] = code[ew].map(pooled["changed"]).fillna(True).astype(bool)
    ni = nation == "Northern Ireland"
    out[ni] = code[ni].map(_crosswalk_mean(raw["crosswalk"], uk))
    dec = np.where(out.isna(), 0, np.clip(np.floor(out.to_numpy(float) + 0.5), 1, 10))
    return dec.astype(np.int8), approx.to_numpy(bool)


def car_access(areas: pd.DataFrame, car: pd.DataFrame) -> pd.DataFrame:
    """Households with no car or van per area (E&W only) and the no-car quintile.

    Parameters
    ----------
    areas : pandas.DataFrame
        ``area_code, nation``.
    car : pandas.DataFrame
        Census 2021 TS045: ``lsoa21_code, hh_total, hh_no_car``.

    Returns
    -------
    pandas.DataFrame
        Aligned to ``areas``: ``hh_total, hh_no_car`` (float, NaN outside E&W), ``pct_no_car``
        (0–100), ``no_car_quintile`` (int8 1–5 over E&W LSOAs by ``pct_no_car``, 5 = highest
        share; 0 = no figure) and ``high_no_car`` (bool, quintile 5).
    """
    c = car.drop_duplicates("lsoa21_code").set_index("lsoa21_code")
    code = areas["area_code"].astype(str)
    tot = code.map(c["hh_total"]).astype(float)
    none = code.map(c["hh_no_car"]).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        pct = 100.0 * none / tot.where(tot > 0)
    q = np.zeros(len(areas), dtype=np.int8)
    have = pct.notna().to_numpy()
    if have.any():
        # fifths of areas by share; ties broken by order of appearance (rank "first")
        r = pct[have].rank(method="first").to_numpy()
        q[have] = np.minimum(5, np.ceil(r * 5.0 / have.sum())).astype(np.int8)
    return pd.DataFrame({
        "hh_total": tot.to_numpy(), "hh_no_car": none.to_numpy(), "pct_no_car": pct.to_numpy(),
        "no_car_quintile": q, "high_no_car": q == 5,
    }, index=areas.index)


def area_equity_table(areas: pd.DataFrame, raw: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """:func:`area_deprivation` and :func:`car_access` side by side.

    Returns
    -------
    pandas.DataFrame
        :data:`AREA_EQUITY_COLUMNS`, one row per area of ``areas`` in its order.
    """
    dep = area_deprivation(areas, raw)
    car = car_access(areas, raw["car"]).reset_index(drop=True)
    return pd.concat([dep.reset_index(drop=True), car], axis=1)[AREA_EQUITY_COLUMNS]


def check_area_equity(table: pd.DataFrame) -> list[str]:
    """Problems that make the table unusable.

    An area without a within-nation decile, or an E&W area without a car figure.
    """
    problems = []
    missing = table.loc[table["dep_decile"] == 0, "area_code"]
    if len(missing):
        problems.append(f"{len(missing)} areas have no deprivation decile (e.g. {missing.iloc[0]})")
    ew = table["nation"].isin(["England", "Wales"])
    no_car = table.loc[ew & table["pct_no_car"].isna(), "area_code"]
    if len(no_car):
        problems.append(f"{len(no_car)} E&W areas have no car availability (e.g. {no_car.iloc[0]})")
    return problems
