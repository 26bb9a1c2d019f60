"""`epu-mapper data ...`: build the project's tables from the raw open data."""

from __future__ import annotations

import argparse
import json
import sys

from epu_mapper.settings import get_settings


def register(sub: argparse._SubParsersAction) -> None:
    """Add this group's subcommands to the parser."""
    data = sub.add_parser("data", help="build and inspect the tables derived from the raw data")
    dsub = data.add_subparsers(dest="data_command", metavar="SUBCOMMAND")
    b = dsub.add_parser(
        "build",
        help="build demand points, regions, boundaries, postcodes, hospitals, units_geo "
             "(a no-op when the inputs are unchanged)",
    )
    b.add_argument("--force", action="store_true", help="rebuild every step")
    b.add_argument("--only", action="append", metavar="STEP",
                   help="build only this step (repeatable): demand, boundaries, postcodes, "
                        "hospitals, units, sites")
    b.add_argument("--quiet", action="store_true", help="no progress bars")
    b.add_argument("--skip-known-totals", action="store_true",
                   help="do not require the known UK totals (for another data vintage or a "
                        "test fixture); structural checks still run")
    b.set_defaults(func=_build)
    s = dsub.add_parser("status", help="show the build manifest (row counts, date, warnings)")
    s.add_argument("--json", action="store_true", help="print the whole manifest as JSON")
    s.set_defaults(func=_status)
    data.set_defaults(func=lambda _args: (data.print_help(sys.stderr), 2)[1])


def _build(args: argparse.Namespace) -> int:
    from epu_mapper.build import EXPECTED, STEPS, build

    if args.only:
        unknown = sorted(set(args.only) - {s.name for s in STEPS})
        if unknown:
            from epu_mapper.errors import EpuMapperError

            raise EpuMapperError(
                f"unknown build step(s) {unknown}; choose from {[s.name for s in STEPS]}"
            )
    settings = get_settings()
    manifest = build(settings, force=args.force, only=args.only, quiet=args.quiet,
                     expected=None if args.skip_known_totals else EXPECTED)
    ran = manifest["ran"]
    if not ran:
        print(f"data build: up to date ({settings.build_dir})")
    else:
        print(f"data build: built {', '.join(ran)} into {settings.build_dir}")
        for name in ran:
            step = manifest["steps"][name]
            rows = ", ".join(f"{k} {v:,}" for k, v in step["rows"].items())
            print(f"  {name} ({step['seconds']} s): {rows}")
    for w in manifest.get("warnings", []):
        print(f"  warning: {w}", file=sys.stderr)
    return 0


def _status(args: argparse.Namespace) -> int:
    from epu_mapper import store
    from epu_mapper.build import MANIFEST
    from epu_mapper.errors import EpuMapperError

    settings = get_settings()
    manifest = store.read_json_dict(settings.build_dir / MANIFEST, "The build manifest")
    if not manifest:
        raise EpuMapperError(f"nothing built yet in {settings.build_dir}; run: epu-mapper data build")
    if args.json:
        print(json.dumps(manifest, indent=2, sort_keys=True))
        return 0
    print(f"build folder {settings.build_dir}, built {manifest.get('built_at', '?')}")
    for name, n in sorted(manifest.get("rows", {}).items()):
        print(f"  {name}: {n:,}")
    for w in manifest.get("warnings", []):
        print(f"  warning: {w}")
    return 0
