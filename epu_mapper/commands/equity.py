"""`epu-mapper equity`: access to an open unit by deprivation quintile or car access.

Prints a plain table of the chosen time (default), JSON (``--json``: every band, the inequality
summary and the double-disadvantage list) or CSV (``--csv``: the long by-group table, or the
double-disadvantage list with ``--double-disadvantage``). CSV goes through the one
spreadsheet-safe writer (:mod:`epu_mapper.csvsafe`).
"""

from __future__ import annotations

import argparse

from epu_mapper.commands.coverage import (
    _context,
    _output_flags,
    _print_csv,
    _print_json,
    _print_table,
    records,
)

#: Units counted: the directory's placed units, or also the likely EPU sites (unknown hours).
DIRECTORIES = ("known", "with-likely")


def _cmd_equity(args: argparse.Namespace) -> int:
    api, ctx = _context()
    res = api.equity(ctx, args.level, at=args.at, hour_of_week=args.hour_of_week,
                     bank_holiday=args.bank_holiday, by=args.by, policy=args.policy,
                     directory=args.directory)
    meta = dict(res.attrs)
    if args.double_disadvantage:
        if args.json:
            _print_json({**meta, "areas": records(res.double_disadvantage)})
        elif args.csv:
            _print_csv(res.double_disadvantage)
        else:
            _print_table(res.double_disadvantage.head(40),
                         ["area_code", "area_name", "region_name", "dep_decile", "pct_no_car",
                          "night_median_minutes", "weekend_median_minutes"])
            print(f"{len(res.double_disadvantage)} areas (showing up to 40; --csv for all)")
        return 0
    if args.json:
        _print_json({**meta, "by_group": records(res.by_group), "summary": records(res.summary),
                     "double_disadvantage": records(res.double_disadvantage)})
        return 0
    if args.csv:
        _print_csv(res.by_group)
        return 0
    a = res.attrs
    print(f"{a['level']} by {a['by']} at {a['when']} (policy {a['policy']}; travel engine "
          f"{a['engine']}; directory {a['directory']}; weights: {a['weight_kind']})")
    bg = res.by_group
    sel = bg[bg["band"] == "selected"].drop(columns="hours_covered").reset_index(drop=True)
    sel["hours_per_week"] = bg.loc[bg["band"] == "week", "hours_covered"].to_numpy()
    _print_table(sel, ["region_name", "group_label", "weight", "pct_within_30", "pct_within_60",
                       "pct_within_90", "median_minutes", "hours_per_week"])
    print()
    summ = res.summary[res.summary["band"].isin(["selected", "night", "weekend"])]
    _print_table(summ, ["region_name", "band_label", "gap_pct_within_60", "gap_median_minutes",
                        "concentration_index"], digits=2)
    print(f"groups: {a['by_note']}")
    print("gap = most deprived (or most disadvantaged) group minus least; concentration index "
          "> 0 = access concentrated among the less deprived. hours_per_week = hours of the "
          f"typical week with an open unit within {a['reach_minutes']:g} min.")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``equity`` to the parser."""
    from epu_mapper.api import LEVELS
    from epu_mapper.api.equity_view import BY
    from epu_mapper.coverage import POLICIES

    p = sub.add_parser("equity", help="access to an open unit by deprivation or car access",
                       description="Women 15-44 within 30/60/90 min of an open unit, median "
                                   "minutes and hours covered, by deprivation quintile (each "
                                   "nation's own index), Core20, UK composite or car access.")
    p.add_argument("--level", choices=LEVELS, default="nation", help="region level (default nation)")
    when = p.add_mutually_exclusive_group()
    when.add_argument("--at", help="ISO time; without offset = UK local time (default: now)")
    when.add_argument("--hour-of-week", type=int, help="typical-week hour 0..167 (Mon 00:00 = 0)")
    p.add_argument("--bank-holiday", nargs="?", const=True, default=False, metavar="NATION",
                   help="with --hour-of-week H: hour H of a bank-holiday day (as in gaps)")
    p.add_argument("--by", choices=tuple(BY), default="deprivation",
                   help="deprivation (own nation's index), uk-deprivation (UK composite), "
                        "core20 (England), car (England & Wales)")
    p.add_argument("--policy", choices=POLICIES, default="exclude",
                   help="unknown hours: exclude (closed), weekday (Mo-Fr 9-17), always (open)")
    p.add_argument("--directory", choices=DIRECTORIES, default="known",
                   help="units counted: known (the directory's placed units) or with-likely "
                        "(also every likely EPU site, hours unknown: use with --policy always)")
    p.add_argument("--double-disadvantage", action="store_true",
                   help="list the areas in the most deprived quintile with a high no-car share "
                        "and > 60 min from an open unit at night or at the weekend")
    _output_flags(p)
    p.set_defaults(func=_cmd_equity)
