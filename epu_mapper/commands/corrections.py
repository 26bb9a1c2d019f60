"""`epu-mapper corrections ...`: submit, list, show, accept and reject directory corrections."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from epu_mapper.db import STATUSES


def register(sub: argparse._SubParsersAction) -> None:
    """Add this group's subcommands to the parser."""
    grp = sub.add_parser("corrections", help="suggested directory corrections: submit, review, audit")
    csub = grp.add_subparsers(dest="corrections_command", metavar="SUBCOMMAND")
    grp.set_defaults(func=lambda _args: (grp.print_help(sys.stderr), 2)[1])

    def add(name: str, help_text: str) -> argparse.ArgumentParser:
        p = csub.add_parser(name, help=help_text)
        p.add_argument("--db", metavar="URL", default=None,
                       help="database URL (default EPU_MAPPER_DB_URL, else data/local/corrections.sqlite)")
        return p

    ls = add("list", "list corrections (oldest first)")
    ls.add_argument("--status", choices=STATUSES, help="only this status")
    ls.add_argument("--json", action="store_true", help="print the stored records as JSON")
    ls.set_defaults(func=_list)

    sh = add("show", "one correction, its proposed and current values")
    sh.add_argument("id", type=int)
    sh.add_argument("--json", action="store_true", help="print the stored record as JSON")
    sh.set_defaults(func=_show)

    ac = add("accept", "apply a correction to the directory (atomic; audited)")
    ac.add_argument("id", type=int)
    ac.add_argument("--reviewer", required=True, metavar="NAME")
    ac.add_argument("--units", type=Path, default=None, help="directory CSV (default data/units.csv)")
    ac.add_argument("--json", action="store_true", help="print the stored record as JSON")
    ac.set_defaults(func=_accept)

    rj = add("reject", "reject a correction (the directory is not touched)")
    rj.add_argument("id", type=int)
    rj.add_argument("--reviewer", required=True, metavar="NAME")
    rj.add_argument("--reason", required=True, metavar="TEXT")
    rj.add_argument("--json", action="store_true", help="print the stored record as JSON")
    rj.set_defaults(func=_reject)

    sb = add("submit", "store a correction of a listed unit (for scripted imports)")
    sb.add_argument("--unit", required=True, metavar="ID", help="unit_id in the directory")
    sb.add_argument("--opening-hours", metavar="OSM", help="e.g. 'Mo-Fr 08:00-17:30; Sa,Su off; PH off'")
    sb.add_argument("--phone")
    sb.add_argument("--self-referral", choices=("yes", "no", "conditional", "unknown"))
    sb.add_argument("--min-weeks")
    sb.add_argument("--max-weeks")
    sb.add_argument("--closed", action="store_true", help="the unit has closed for good")
    sb.add_argument("--source-url", required=True, metavar="URL", help="the public page that shows it")
    sb.add_argument("--relation", default="other", help="how you know: staff, patient, charity, website, other")
    sb.add_argument("--note", default="")
    sb.add_argument("--units", type=Path, default=None, help="directory CSV (default data/units.csv)")
    sb.add_argument("--json", action="store_true", help="print the stored record as JSON")
    sb.set_defaults(func=_submit)

    hp = csub.add_parser("hash-password",
                         help="print the hash to put in EPU_MAPPER_REVIEWER_HASH (reads the password)")
    hp.set_defaults(func=_hash_password)


def _jsonable(rec: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in rec.items()}


def _print_json(obj: Any) -> None:
    print(json.dumps(obj, ensure_ascii=False, indent=1))


def _line(rec: dict[str, Any]) -> str:
    what = ", ".join(f"{k}={v!r}" for k, v in rec["fields"].items())
    unit = rec["unit_id"] or "(new unit)"
    return f"#{rec['id']:<5} {rec['status']:<9} {rec['submitted_at']:%Y-%m-%d}  {unit:<14} {what[:90]}"


def _list(args: argparse.Namespace) -> int:
    from epu_mapper import db

    recs = db.list_corrections(db.get_engine(args.db), args.status)
    if args.json:
        _print_json([_jsonable(r) for r in recs])
        return 0
    for r in recs:
        print(_line(r))
    print(f"{len(recs)} correction(s)" + (f" {args.status}" if args.status else ""))
    return 0


def _show(args: argparse.Namespace) -> int:
    from epu_mapper import db

    rec = db.get_correction(db.get_engine(args.db), args.id)
    if args.json:
        _print_json(_jsonable(rec))
        return 0
    print(_line(rec))
    for key, value in rec["fields"].items():
        print(f"  {key}: {rec['base'].get(key, '')!r} -> {value!r}")
    print(f"  source: {rec['source_url'] or '(none given)'}")
    print(f"  how they know: {rec['relation']}")
    if rec["note"]:
        print(f"  note: {rec['note']!r}")
    if rec["reviewer"]:
        print(f"  {rec['status']} by {rec['reviewer']} at {rec['reviewed_at']:%Y-%m-%d %H:%M} UTC"
              + (f": {rec['reason']!r}" if rec["reason"] else ""))
    return 0


def _accept(args: argparse.Namespace) -> int:
    from epu_mapper import upkeep

    rec = upkeep.accept(args.id, args.reviewer, url=args.db, units=args.units)
    if args.json:
        _print_json(_jsonable(rec))
    else:
        print(f"accepted #{rec['id']}: unit {rec['unit_id']} updated; run `epu-mapper units validate` "
              "and commit data/units.csv")
    return 0


def _reject(args: argparse.Namespace) -> int:
    from epu_mapper import upkeep

    rec = upkeep.reject(args.id, args.reviewer, args.reason, url=args.db)
    if args.json:
        _print_json(_jsonable(rec))
    else:
        print(f"rejected #{rec['id']} (the directory is unchanged)")
    return 0


def _submit(args: argparse.Namespace) -> int:
    from epu_mapper import db, upkeep

    form = {"unit_id": args.unit, "opening_hours": args.opening_hours, "phone": args.phone,
            "self_referral": args.self_referral, "min_weeks": args.min_weeks, "max_weeks": args.max_weeks,
            "closed": args.closed, "source_url": args.source_url, "relation": args.relation,
            "note": args.note}
    cid = upkeep.submit(form, url=args.db, units=args.units)
    if args.json:
        _print_json(_jsonable(db.get_correction(db.get_engine(args.db), cid)))
    else:
        print(f"stored correction #{cid} (pending review)")
    return 0


def _hash_password(_args: argparse.Namespace) -> int:
    import getpass

    from epu_mapper import upkeep

    if sys.stdin.isatty():
        password = getpass.getpass("Reviewer password (12+ characters): ")
    else:
        password = sys.stdin.readline().rstrip("\n")
    print(upkeep.hash_password(password))
    return 0
