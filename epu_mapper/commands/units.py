"""`epu-mapper units ...`: validate, list and import into the EPU directory."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from epu_mapper.settings import NATIONS, get_settings


def register(sub: argparse._SubParsersAction) -> None:
    """Add this group's subcommands to the parser."""
    units = sub.add_parser("units", help="the EPU directory: validate, list, import")
    usub = units.add_subparsers(dest="units_command", metavar="SUBCOMMAND")
    units.set_defaults(func=lambda _args: (units.print_help(sys.stderr), 2)[1])

    v = usub.add_parser("validate", help="check a directory CSV; every problem as file:line: column: message")
    v.add_argument("path", type=Path, help="the directory CSV (e.g. data/units.csv)")
    v.add_argument("--stale", action="store_true",
                   help="list each unit whose source_seen is missing or older than 12 months")
    v.set_defaults(func=_validate)

    ls = usub.add_parser("list", help="print the units (and which are open at a time)")
    ls.add_argument("--nation", choices=NATIONS, help="only this nation")
    ls.add_argument("--open-at", metavar="ISO", help="local UK time, e.g. 2026-11-30T10:00 (adds a state column)")
    ls.add_argument("--json", action="store_true", help="JSON output")
    ls.add_argument("--path", type=Path, default=None, help="directory CSV (default data/units.csv)")
    ls.set_defaults(func=_list)

    im = usub.add_parser("import", help="merge a reference table into the directory (per unit, per field)")
    im.add_argument("reference", type=Path, help="reference CSV (the format of epu_reference.csv)")
    im.add_argument("--dry-run", action="store_true", help="print what would change; write nothing")
    im.add_argument("--take", action="append", default=[], metavar="UNIT_ID[:FIELD]",
                    help="take the reference's value over a reviewed one (repeatable)")
    im.add_argument("--units", type=Path, default=None, help="directory CSV (default data/units.csv)")
    im.set_defaults(func=_import)


def _validate(args: argparse.Namespace) -> int:
    from epu_mapper.units import summary, validate_units

    df, problems = validate_units(args.path)
    for w in df.attrs.get("warnings", []):
        print(f"{w.file}:{w.line}: {w.column}: warning: {w.message}", file=sys.stderr)
    if problems:
        for p in problems:
            print(p, file=sys.stderr)
        bad_lines = len({p.line for p in problems})
        print(f"{args.path}: {len(problems)} problem(s) on {bad_lines} line(s); "
              f"{len(df)} valid unit(s)", file=sys.stderr)
        return 2
    s = summary(df)
    print(f"{args.path}: OK, {len(df)} units")
    print("  by nation:       " + ", ".join(f"{k} {v}" for k, v in s["nation"].items()))
    print("  by hours_status: " + ", ".join(f"{k} {v}" for k, v in s["hours_status"].items()))
    print(f"  mappable:        {s['mappable']['true']} (not mappable: {s['mappable']['false']})")
    _stale(df, args.stale)
    return 0


def _stale(df: Any, listed: bool) -> None:
    """Warn about units whose source needs re-checking (epu_mapper.staleness)."""
    from epu_mapper.staleness import needs_rechecking, stale_warning

    today = datetime.now(UTC).date()
    line = stale_warning(df, today)
    if line:
        print(line + ("" if listed else "; list them with --stale"), file=sys.stderr)
    if listed:
        for r in df[needs_rechecking(df["source_seen"], today)].itertuples(index=False):
            print(f"  needs re-checking: {r.unit_id:<14} {r.nation:<16} source_seen "
                  f"{r.source_seen or '(missing)'}  {r.source_url}", file=sys.stderr)


def _parse_time(text: str) -> datetime:
    from epu_mapper.hours import to_local
    from epu_mapper.inputs import parse_moment

    return to_local(parse_moment(text, "--open-at"))


def _list(args: argparse.Namespace) -> int:
    from epu_mapper.hours import STATE_NAMES, next_opening, states_at
    from epu_mapper.units import load_units

    when = _parse_time(args.open_at) if args.open_at else None
    df = load_units(args.path)
    if args.nation:
        df = df[df["nation"] == args.nation]
    cols = ["unit_id", "unit_name", "hospital", "nation", "postcode", "opening_hours", "hours_status"]
    out = df[cols].copy()
    if when is not None:
        out["state"] = [STATE_NAMES[int(s)] for s in states_at(df, when)]
        nxt = [next_opening(h, when, n) for h, n in zip(df["opening_hours"], df["nation"], strict=True)]
        out["next_opening"] = [t.isoformat(timespec="minutes") if t else "" for t in nxt]
    problems = df.attrs.get("problems", [])
    if args.json:
        print(json.dumps(out.to_dict(orient="records"), ensure_ascii=False, indent=1))
    else:
        for r in out.itertuples(index=False):
            place = r.hospital or "(site not named)"
            line = f"{r.unit_id:<12} {r.nation:<16} {place[:40]:<40} {r.opening_hours or '(hours unknown)'}"
            if when is not None:
                line = f"{r.state:<7} " + line
            print(line)
        tail = f"{len(out)} unit(s)"
        if when is not None:
            counts = out["state"].value_counts()
            tail += (f"; at {when.isoformat(timespec='minutes')} (UK local): "
                     f"open {int(counts.get('open', 0))}, closed {int(counts.get('closed', 0))}, "
                     f"unknown {int(counts.get('unknown', 0))}")
        print(tail)
    for p in problems:
        print(f"warning: skipped row: {p}", file=sys.stderr)
    return 0


def _import(args: argparse.Namespace) -> int:
    from epu_mapper.importer import counts, import_reference

    directory = args.units or get_settings().units_csv
    report = import_reference(args.reference, directory, dry_run=args.dry_run, take=args.take)
    for line in report:
        print(line)
    n = counts(report)
    verb = "would write" if args.dry_run else "wrote"
    if not (n["add"] or n["change"]):
        verb = "nothing to write:"
    print(f"{verb} {directory}: {n['add']} unit(s) added, {n['change']} field(s) changed, "
          f"{n['keep']} reviewed field(s) kept, {n['leave']} unit(s) left as they were")
    return 0
