"""`epu-mapper gaps | nearest | whatif | rank`: coverage queries on the built tables.

Each command parses its arguments, calls :mod:`epu_mapper.api` and prints a plain table,
JSON (``--json``) or CSV (``--csv``). JSON numbers that are infinite (no open unit routed) or
undefined are written as ``null``; key names are stable and documented in the README.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from typing import Any

import numpy as np
import pandas as pd

from epu_mapper.csvsafe import write_csv
from epu_mapper.errors import EpuMapperError
from epu_mapper.inputs import shorten

EMERGENCY = (
    "If you are bleeding heavily, in severe pain, or feel faint or very unwell, call 999 or go to "
    "A&E now. An early pregnancy unit is not an emergency service."
)


# --------------------------------------------------------------------------- output helpers


def _clean(value: Any) -> Any:
    """JSON-ready value: numpy scalars to Python, NaN/inf to None."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if isinstance(value, np.ndarray):
        return [_clean(v) for v in value.tolist()]
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        f = float(value)
        return round(f, 4) if math.isfinite(f) else None
    if isinstance(value, str):
        return value
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return str(value)


def records(df: pd.DataFrame) -> list[dict]:
    """DataFrame rows as JSON-ready dicts."""
    cols = list(df.columns)
    return [{c: _clean(v) for c, v in zip(cols, row, strict=True)} for row in df.itertuples(index=False)]


def _print_json(obj: Any) -> None:
    json.dump(_clean(obj), sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")


def _print_csv(df: pd.DataFrame) -> None:
    write_csv(df, sys.stdout, float_format="%.4g")


def _fmt(v: Any, digits: int = 1) -> str:
    v = _clean(v)
    if v is None:
        return "-"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return f"{v:.{digits}f}"
    return str(v)


def _print_table(df: pd.DataFrame, columns: list[str], digits: int = 1) -> None:
    cols = [c for c in columns if c in df.columns]
    rows = [[_fmt(v, digits) for v in r] for r in df[cols].itertuples(index=False)]
    widths = [max([len(c)] + [len(r[i]) for r in rows]) for i, c in enumerate(cols)]
    print("  ".join(c.ljust(w) for c, w in zip(cols, widths, strict=True)))
    for r in rows:
        print("  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)))


def _output_flags(p: argparse.ArgumentParser, csv: bool = True) -> None:
    g = p.add_mutually_exclusive_group()
    g.add_argument("--json", action="store_true", help="print JSON (stable keys, see README)")
    if csv:
        g.add_argument("--csv", action="store_true", help="print CSV")


def _context():
    from epu_mapper import api

    return api, api.load_context()


def _positive_int(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {v}")
    return v


def _weeks(text: str) -> float | None:
    from epu_mapper.api.args import CoverageArgumentError, check_weeks

    try:
        return check_weeks(text)
    except CoverageArgumentError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


# --------------------------------------------------------------------------- gaps


def _cmd_gaps(args: argparse.Namespace) -> int:
    api, ctx = _context()
    if args.by_hour:
        if args.at or args.hour_of_week is not None or args.bank_holiday or args.policy == "range" \
                or args.self_referral or args.weeks is not None:
            raise EpuMapperError("--by-hour covers every hour of the typical week and a bank-holiday "
                                 "day; it takes only --level and --policy (not range)")
        df = api.gaps_by_hour(ctx, args.level, policy=args.policy)
        if args.json:
            _print_json({"level": args.level, "policy": args.policy,
                         "reach_minutes": ctx.reach_minutes, "weight_note": _weight_note(ctx),
                         "rows": records(df)})
        else:
            _print_csv(df)
        return 0
    df = api.gaps(
        ctx, args.level, at=args.at, hour_of_week=args.hour_of_week,
        bank_holiday=args.bank_holiday, policy=args.policy,
        self_referral=args.self_referral, weeks=args.weeks, directory=args.directory,
    )
    if args.json:
        meta = dict(df.attrs)
        _print_json({**meta, "weight_note": _weight_note(ctx), "regions": records(df)})
    elif args.csv:
        _print_csv(df)
    else:
        a = df.attrs
        print(f"{a['level']} at {a['when']} (policy {a['policy']}; travel engine {a['engine']}"
              f"{', approximate' if a['approximate'] else ''}; within {a['reach_minutes']:g} min; "
              f"directory {', '.join(f'{p}: {d}' for p, d in a['directory'].items())})")
        suffix = "_exclude" if args.policy == "range" else ""
        cols = ["region_code", "region_name", f"median_minutes{suffix}", f"pct_within_60{suffix}",
                f"hours_covered{suffix}", f"nice_7day{suffix}"]
        if args.policy == "range":
            cols += ["median_minutes_always", "pct_within_60_always", "hours_covered_always"]
        _print_table(df, [*cols, "placed_units", "likely_sites", "completeness"])
        from epu_mapper.api.directory import no_unit_note

        for r in df[df["no_placed_unit"]].itertuples():
            print(no_unit_note(r.region_name, r.nation))
        print(f"inequality: {json.dumps(_clean(a['inequality']))}")
        print(_weight_note(ctx))
    return 0


def _weight_note(ctx) -> str:
    kinds = sorted(set(ctx.demand["weight_kind"].astype(str)))
    return ("Weights: women aged 15-44 in every nation (Scotland: census count; England & Wales: "
            "estimate from the mid-2020 female share by age; Northern Ireland: estimate from "
            f"council-level Census 2021 shares). Kinds present: {', '.join(kinds)}.")


# --------------------------------------------------------------------------- nearest


def _cmd_nearest(args: argparse.Namespace) -> int:
    api, ctx = _context()
    res = api.nearest(ctx, args.postcode, at=args.at, self_referral=args.self_referral,
                      weeks=args.weeks, limit=args.limit)
    if args.json:
        _print_json(
            {
                "origin": res.origin,
                "when": res.origin.get("when"),
                "filters": {"self_referral": args.self_referral, "weeks": args.weeks,
                            "limit": args.limit},
                "excluded": res.excluded,
                "travel_caption": res.caption,
                "emergency": EMERGENCY,
                "nearer_hospital": _clean(res.nearer),
                "urgent": _clean(res.urgent),
                "units": records(res.units),
                "likely_sites": records(res.likely_sites),
            }
        )
        return 0
    from epu_mapper.ui import patient

    o = res.origin
    print(f"{o.get('postcode')} ({o.get('precision')}) at {o.get('when')} UK time")
    if o.get("note"):
        print(o["note"])
    if res.nearer:
        print(patient.nearer_hospital_text(res.nearer))
    for line in patient.urgent_lines(res.urgent) if res.urgent else [EMERGENCY]:
        print(line)
    if res.units.empty:
        print("No unit matches these filters.")
    for r in res.units.itertuples(index=False):
        nxt = "" if r.state == "open" else f"; next opens {r.next_opening or 'unknown'}"
        approx = " (estimate)" if r.approximate else ""
        print(f"- {r.unit_name}, {r.hospital}: {r.state.upper()}{nxt}; "
              f"{_fmt(r.minutes, 0)} min{approx}, {_fmt(r.km, 1)} km; phone {r.phone or 'not known'}; "
              f"self-referral {r.self_referral}{'; gestation limits unknown' if r.weeks_unknown else ''}")
        if r.hours_kind in ("scan", "phone triage"):
            print(f"  hours are {'scan appointment' if r.hours_kind == 'scan' else 'phone line'} "
                  "hours, not the hours the door is open")
        if r.state != "open" and r.out_of_hours:
            print(f"  when closed: {r.out_of_hours}")
        print(f"  source: {r.source_url}")
    if res.caption:
        print(f"Travel times: {res.caption}.")
    if res.excluded.get("no_site"):
        print(f"{res.excluded['no_site']} directory units have no known site and are not listed.")
    if not res.likely_sites.empty:
        print("Hospitals near you with no early pregnancy unit information (they may have one):")
        for _, r in res.likely_sites.iterrows():
            print(f"- {patient.likely_site_line(r)}")
    return 0


# --------------------------------------------------------------------------- whatif


def _cmd_whatif(args: argparse.Namespace) -> int:
    units, hours = args.unit, args.hours
    if len(hours) == 1 and len(units) > 1:
        hours = hours * len(units)
    if len(hours) != len(units):
        raise EpuMapperError(
            "give one --hours for all units or one --hours per --unit "
            f"(got {len(units)} units and {len(hours)} hours)"
        )
    if len(set(units)) != len(units):
        raise EpuMapperError("each --unit may be given once")
    api, ctx = _context()
    res = api.whatif(ctx, dict(zip(units, hours, strict=True)), policy=args.policy,
                     level=args.level, mode="replace" if args.replace else "add",
                     weight=args.weight, directory=args.directory)
    if args.json:
        _print_json(
            {
                "policy": res.policy, "level": res.level, "mode": "replace" if args.replace else "add",
                "directory": args.directory or "known",
                "reach_minutes": ctx.reach_minutes,
                "changes": records(res.changes), "totals": res.totals,
                "by_hour": records(res.by_hour), "by_region": records(res.by_region),
                "by_region_hour": records(res.by_region_hour),
            }
        )
    elif args.csv:
        _print_csv(res.by_hour)
    else:
        for r in res.changes.itertuples(index=False):
            print(f"{r.unit_id} {r.unit_name}: '{r.hours_before or '(unknown)'}' -> '{r.hours_after}'")
        t = res.totals
        print(f"population-hours per week newly within {ctx.reach_minutes:g} min: "
              f"{t['person_hours_week_gained']:,.0f} (lost {t['person_hours_week_lost']:,.0f}); "
              f"women newly within reach at some hour: {t['population_newly_within_any_hour']:,.0f}; "
              f"areas affected: {t['areas_affected']}")
        eq = t.get("equity") or {}
        if eq:
            q = eq["newly_within_any_hour_by_quintile"]
            print(f"women newly within reach in the most deprived fifth (own nation's index): "
                  f"{q['1']:,.0f} (least deprived fifth: {q['5']:,.0f})")
        reg = res.by_region[(res.by_region.newly_covered > 0) | (res.by_region.no_longer_covered > 0)]
        if not reg.empty:
            _print_table(reg, ["region_code", "region_name", "before_pct", "after_pct",
                               "newly_covered", "peak_newly_covered"])
    return 0


# --------------------------------------------------------------------------- rank


def _cmd_rank(args: argparse.Namespace) -> int:
    api, ctx = _context()
    df = api.rank(ctx, k=args.k, hours=args.hours, policy=args.policy, weight=args.weight,
                  directory=args.directory)
    if args.json:
        _print_json({"hours": args.hours, "policy": args.policy, "k": args.k, "weight": args.weight,
                     "directory": args.directory or "known",
                     "reach_minutes": ctx.reach_minutes, "weight_note": _weight_note(ctx),
                     "steps": records(df)})
    elif args.csv:
        _print_csv(df)
    elif df.empty:
        print(f"no unit gains: adding {shorten(args.hours)} to every unit brings no one within "
              f"{ctx.reach_minutes:g} min at an hour they were not already (policy {args.policy})")
    else:
        print(f"Greedy ranking: add {shorten(args.hours)} (policy {args.policy}, weight {args.weight}); "
              f"gains in population-hours per week within {ctx.reach_minutes:g} min")
        _print_table(df, ["step", "unit_id", "unit_name", "nation", "gain_person_hours",
                          "gain_population", "cumulative_person_hours"], digits=0)
    return 0


# --------------------------------------------------------------------------- registration


def _directory_flag(p: argparse.ArgumentParser, gaps: bool = False) -> None:
    default = (" (default: known; with --policy range the range spans known units with known "
               "hours to every likely site always open)") if gaps else " (default: known)"
    p.add_argument("--directory", choices=("known", "with-likely"), default=None,
                   help="which units count: known (the directory's placed units) or with-likely "
                        "(also every likely EPU site, hours unknown)" + default)


def _weight_flag(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--weight", choices=("women", "population"), default="women",
        help="women: women 15-44 in every nation (estimated outside Scotland); "
             "population: all ages everywhere, comparable across nations",
    )


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``gaps``, ``nearest``, ``whatif`` and ``rank`` to the parser."""
    from epu_mapper.api import DEFAULT_EXTENSION, GAPS_POLICIES, LEVELS

    p = sub.add_parser("gaps", help="regional access to an open unit at a time, and week summaries",
                       description="Population-weighted access statistics per region.")
    p.add_argument("--level", choices=LEVELS, default="nation", help="region level (default nation)")
    when = p.add_mutually_exclusive_group()
    when.add_argument("--at", help="ISO time; without offset = UK local time (default: now)")
    when.add_argument("--hour-of-week", type=int, help="typical-week hour 0..167 (Mon 00:00 = 0)")
    p.add_argument("--bank-holiday", nargs="?", const=True, default=False, metavar="NATION",
                   help="with --hour-of-week H (0..23): hour H of a typical bank-holiday day "
                        "(every unit on its nation's bank-holiday rules); with a nation "
                        "(England, Wales, Scotland, 'Northern Ireland'): a bank holiday there only")
    p.add_argument("--policy", choices=GAPS_POLICIES, default="exclude",
                   help="unknown hours: exclude (closed), weekday (Mo-Fr 9-17), always (open), "
                        "range (exclude and always side by side)")
    p.add_argument("--by-hour", action="store_true",
                   help="every region at every hour of the typical week + bank-holiday day "
                        "(long table; CSV unless --json)")
    p.add_argument("--self-referral", action="store_true",
                   help="count only units accepting self-referral")
    p.add_argument("--weeks", type=_weeks, help="count only units serving this gestation week")
    _directory_flag(p, gaps=True)
    _output_flags(p)
    p.set_defaults(func=_cmd_gaps)

    p = sub.add_parser("nearest", help="units nearest a postcode with open/closed at a time")
    p.add_argument("postcode", help="a UK postcode, e.g. 'LE15 6RB'")
    p.add_argument("--at", help="ISO time; without offset = UK local time (default: now)")
    p.add_argument("--self-referral", action="store_true", help="only units accepting self-referral")
    p.add_argument("--weeks", type=_weeks, help="gestation in weeks")
    p.add_argument("--limit", type=_positive_int, default=10, help="units listed (default 10)")
    _output_flags(p, csv=False)
    p.set_defaults(func=_cmd_nearest)

    p = sub.add_parser("whatif", help="population newly within reach if units' hours change")
    p.add_argument("--unit", action="append", required=True, help="unit id (repeatable)")
    p.add_argument("--hours", action="append", required=True,
                   help="OSM opening_hours to add (repeat once per --unit, or once for all)")
    p.add_argument("--replace", action="store_true", help="replace the unit's hours instead of adding")
    p.add_argument("--policy", choices=("exclude", "weekday", "always"), default="exclude")
    p.add_argument("--level", choices=LEVELS, default="nation", help="level of by_region")
    _weight_flag(p)
    _directory_flag(p)
    _output_flags(p)
    p.set_defaults(func=_cmd_whatif)

    p = sub.add_parser("rank", help="greedy ranking of units whose extension helps most")
    p.add_argument("--k", type=_positive_int, default=10, help="units to pick (default 10)")
    p.add_argument("--hours", default=DEFAULT_EXTENSION,
                   help=f"hours added to each unit (default '{DEFAULT_EXTENSION}')")
    p.add_argument("--policy", choices=("exclude", "weekday", "always"), default="exclude")
    _weight_flag(p)
    _directory_flag(p)
    _output_flags(p)
    p.set_defaults(func=_cmd_rank)
