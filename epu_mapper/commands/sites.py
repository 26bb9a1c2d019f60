"""`epu-mapper sites list`: acute general hospitals with no directory record (likely EPU sites).

The rule that lists a site is in :mod:`epu_mapper.sites`; the table is built by
``epu-mapper data build`` (``build/likely_sites.parquet``).
"""

from __future__ import annotations

import argparse
import json
import sys

import pandas as pd

from epu_mapper.csvsafe import write_csv
from epu_mapper.errors import EpuMapperError

#: Columns printed by ``sites list`` (``--json``/``--csv`` add the region codes).
LIST_COLUMNS = ["site_id", "name", "site_code", "organisation", "nation", "postcode", "lat", "lon",
                "phone", "evidence"]
REGION_CODES = ["nhs_region_code", "icb_code", "lhb_code", "scot_hb_code", "hsct_code", "lad_code"]


def select_sites(df: pd.DataFrame, level: str | None, region: str | None) -> pd.DataFrame:
    """Rows of ``likely_sites`` in one region.

    Parameters
    ----------
    df : pandas.DataFrame
        ``likely_sites.parquet``: :data:`LIST_COLUMNS` and the ``<level>_code`` columns.
    level : str, optional
        A region level (``nation, nhs_region, icb, lhb, scot_hb, hsct, lad``).
    region : str, optional
        A region code at ``level`` (a nation name for ``nation``); case-insensitive.

    Returns
    -------
    pandas.DataFrame
        The matching rows, ordered by nation and name.

    Raises
    ------
    EpuMapperError
        An unknown level, or a region without a level.
    """
    from epu_mapper.api import LEVELS
    from epu_mapper.levels import region_columns

    if region and not level:
        raise EpuMapperError("--region needs --level (e.g. --level lhb --region W11000025)")
    if level:
        if level not in LEVELS:
            raise EpuMapperError(f"unknown level {level!r}; choose one of {', '.join(LEVELS)}")
        col, _ = region_columns(level)
        if region:
            df = df[df[col].fillna("").astype(str).str.upper() == region.strip().upper()]
        else:
            df = df[df[col].notna()]
    return df.sort_values(["nation", "name"], kind="stable").reset_index(drop=True)


def _list(args: argparse.Namespace) -> int:
    from epu_mapper import store

    df = store.read_built("likely_sites.parquet", None, "The likely EPU sites table")
    df = select_sites(df, args.level, args.region)
    cols = LIST_COLUMNS + [c for c in REGION_CODES if c in df.columns]
    if args.json:
        from epu_mapper.commands.coverage import records

        print(json.dumps({"count": len(df), "sites": records(df[cols])}, indent=1, ensure_ascii=False))
    elif args.csv:
        write_csv(df[cols], sys.stdout, float_format="%.6g")
    else:
        print(f"{len(df)} acute hospitals with no early pregnancy unit in the directory "
              "(an EPU there is likely, not known):")
        for r in df.itertuples():
            phone = f", {r.phone}" if isinstance(r.phone, str) and r.phone else ""
            print(f"- {r.site_id}  {r.name} ({r.nation}, {r.postcode or 'no postcode'}{phone})")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``sites list``."""
    p = sub.add_parser("sites", help="acute hospitals with no directory record (likely EPU sites)")
    ssub = p.add_subparsers(dest="sites_command", metavar="SUBCOMMAND")
    lst = ssub.add_parser("list", help="list likely EPU sites (acute hospitals with no directory unit)")
    lst.add_argument("--level", help="region level: nation, nhs_region, icb, lhb, scot_hb, hsct, lad")
    lst.add_argument("--region", help="region code at --level (a nation name for --level nation)")
    g = lst.add_mutually_exclusive_group()
    g.add_argument("--json", action="store_true", help="print JSON")
    g.add_argument("--csv", action="store_true", help="print CSV")
    lst.set_defaults(func=_list)
    p.set_defaults(func=lambda _a: (p.print_help(sys.stderr), 2)[1])
