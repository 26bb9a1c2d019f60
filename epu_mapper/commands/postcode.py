"""`epu-mapper postcode "sw1a 1aa" [--json]`: where a postcode is and which areas it is in."""

from __future__ import annotations

import argparse
import json

from epu_mapper.levels import LEVEL_LABELS, LEVELS
from epu_mapper.settings import get_settings

_PRECISION_LABELS = {
    "unit": "unit postcode point (OS Code-Point Open)",
    "sector": "postcode sector centre (approximate)",
    "district": "postcode district centre (approximate, can be several km out)",
    "ni_sdz": "super data zone point (NI postcodes have no coordinates offline)",
    "online": "postcodes.io (online)",
}


_METHOD_LABELS = {
    "nearest_point_in_lad": "nearest small-area point in the postcode's local authority",
    "nearest_point_any_lad": "nearest small-area point (local authority unknown)",
    "ni_postcode_to_sdz": "the postcode's super data zone (ONSPD)",
    "modal_sdz_of_ni_postcodes": "the most common super data zone of the postcodes there",
    "postcodes_io_lsoa": "the small area postcodes.io gives",
}


def register(sub: argparse._SubParsersAction) -> None:
    """Add this group's subcommands to the parser."""
    p = sub.add_parser("postcode", help="locate a UK postcode: point, precision, small area, regions")
    p.add_argument("postcode", help='a UK postcode, any spacing or case (e.g. "sw1a 1aa")')
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument("--online", action="store_true",
                   help="ask postcodes.io when the postcode is not in the offline data "
                        "(same as EPU_MAPPER_ONLINE=1)")
    p.set_defaults(func=_postcode)


def _postcode(args: argparse.Namespace) -> int:
    import dataclasses

    from epu_mapper.postcodes import get_index

    settings = get_settings()
    if args.online:
        settings = dataclasses.replace(settings, online=True)
    result = get_index(settings).lookup(args.postcode)
    if args.json:
        print(json.dumps(result.to_dict(), indent=2, ensure_ascii=False))
        return 0
    print(f"{result.postcode}: {result.lat:.5f}, {result.lon:.5f}")
    print(f"  precision: {result.precision} — {_PRECISION_LABELS[result.precision]}")
    if result.precision != "unit" and result.matched and result.matched != result.postcode:
        print(f"  matched: {result.matched}")
    if result.area_code:
        method = ""
        if result.area_method:
            method = "; " + _METHOD_LABELS.get(result.area_method, result.area_method)
        print(f"  small area: {result.area_code} {result.area_name or ''} "
              f"({result.area_type or '?'}{method})")
    r = result.regions
    if r.get("nation"):
        print(f"  nation: {r['nation']}")
    for level in LEVELS[1:]:
        label = LEVEL_LABELS[level]
        code, name = r.get(f"{level}_code"), r.get(f"{level}_name")
        if code:
            print(f"  {label}: {name} ({code})")
    if result.note:
        print(f"  note: {result.note}")
    return 0
