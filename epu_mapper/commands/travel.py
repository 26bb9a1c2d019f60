"""`epu-mapper travel ...`: road networks, the travel matrix, calibration, single-point queries."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from epu_mapper import store
from epu_mapper.errors import BuildDamagedError
from epu_mapper.inputs import check_pbf
from epu_mapper.settings import get_settings
from epu_mapper.travel.calibrate import DEFAULT_DESTINATIONS, DEFAULT_ORIGINS
from epu_mapper.travel.candidates import DEFAULT_K
from epu_mapper.travel.osrm import DEFAULT_CHUNK


def _network(args: argparse.Namespace) -> int:
    from epu_mapper.commands.travel_engines import network_source
    from epu_mapper.travel import network
    from epu_mapper.travel import osrm as osrm_mod

    settings = get_settings()
    pbf = network_source(args, settings.build_dir)
    build = network.prepare_network if args.force else network.ensure_network
    path = build(pbf, settings.build_dir, name=args.name, threads=args.threads,
                 keep_filtered=args.keep_filtered,
                 boundary=Path(args.boundary) if args.boundary else None,
                 boundary_code=args.boundary_code, drivable_only=not args.all_highways)
    meta = osrm_mod.read_network_meta(path)
    steps = meta["steps"]
    print(f"road network {meta['name']!r} in {path}")
    print(f"  source {meta['source_pbf']} ({meta['source_bytes'] / 1e6:.1f} MB, OSM {meta['osm_timestamp']})")
    print(f"  {meta['road_ways']:,} ways kept ({meta.get('road_filter', 'highway ways')}); "
          f"graph {meta['graph_bytes'] / 1e6:.1f} MB")
    if meta.get("boundary"):
        b = meta["boundary"]
        print(f"  boundary {b['file']}" + (f" ({b['code']})" if b.get("code") else ""))
    for step, s in steps.items():
        peak = f"peak {s['peak_rss_mb']} MB" if s.get("peak_rss_mb") else ""
        print(f"  {step:<8} {s['seconds']:>7.2f} s  {peak}")
    return 0


def _build(args: argparse.Namespace) -> int:
    from epu_mapper.travel import osrm as osrm_mod
    from epu_mapper.travel.build import build_matrix

    if args.engine == "osrm-http" or args.osrm_url:
        from epu_mapper.commands.travel_engines import build_with_server

        return build_with_server(args, _print_summary)
    engines = [args.engine]
    if args.engine is None:
        # The estimate is always built (the fallback wherever a road network does not
        # reach); OSRM as well when a road network has been built.
        engines = ["estimate"]
        if osrm_mod.find_network(get_settings().build_dir, args.network) is not None:
            engines.append("osrm")
    for engine in engines:
        _, prov, _ = build_matrix(
            engine=engine, network=args.network, force=args.force, k=args.k,
            chunk=args.chunk, progress=not args.no_progress,
        )
        _print_summary(prov)
    if (get_settings().build_dir / "likely_sites.parquet").exists():
        from epu_mapper.travel import with_likely

        print("with the likely EPU sites as extra columns (--directory with-likely):")
        _, prov, _ = with_likely.build(force=args.force)
        _print_summary(prov)
    return 0


def _print_summary(prov: dict) -> None:
    c = prov["counts"]
    print(f"engine {prov['engine']}: {c['areas']:,} areas x {c['units']} units; "
          f"{c['pairs_kept']:,} pairs kept, {c['pairs_skipped']:,} skipped, {c['pairs_routed']:,} with a time")
    for reason, n in c["unreachable"].items():
        if n:
            print(f"  NaN ({reason}): {n:,}")
    if prov["engine"] == "osrm":
        far = prov["far_snapped_origins"]
        print(f"  origins snapped > {far['threshold_m']:g} m from a road: {far['count']}")
        print(f"  areas outside network {prov['network']['name']!r}: {prov['areas_outside_network']:,}; "
              f"covers all areas and units: {prov['covers_all']}")
    print(f"  {prov['caption']}")


def _calibrate(args: argparse.Namespace) -> int:
    settings = get_settings()
    if not (args.pbf or args.network):
        from epu_mapper.travel.national import calibrate_national, report_national

        ncal = calibrate_national(settings.data_dir)
        print(report_national(ncal))
        if args.json:
            Path(args.json).write_text(json.dumps(ncal.to_dict(), indent=2) + "\n", encoding="utf-8")
        return 0
    from epu_mapper.travel import osrm as osrm_mod
    from epu_mapper.travel.calibrate import calibrate, read_postcodes, report
    from epu_mapper.travel.network import ensure_network

    if args.pbf:
        net = ensure_network(check_pbf(args.pbf), settings.build_dir, name=args.network)
    else:
        net = osrm_mod.find_network(settings.build_dir, args.network)
        if net is None:
            from epu_mapper.errors import BuildMissingError

            raise BuildMissingError("A road network", settings.build_dir / "osrm",
                                    "epu-mapper travel calibrate --pbf FILE.osm.pbf")
    router = osrm_mod.OsrmRouter(net)
    cal = calibrate(router, read_postcodes(settings.data_dir), seed=args.seed, district=args.district,
                    n_origins=args.origins, n_destinations=args.destinations)
    print(report(cal))
    if args.json:
        Path(args.json).write_text(json.dumps(cal.params.to_dict(), indent=2) + "\n", encoding="utf-8")
    return 0


def _point(args: argparse.Namespace) -> int:
    from epu_mapper.travel.build import load_mappable_units
    from epu_mapper.travel.point import from_point

    units = load_mappable_units(get_settings())
    df = from_point(args.lat, args.lon, units).sort_values("minutes").head(args.limit)
    print(df.to_string(index=False))
    if df.attrs.get("far_from_road"):
        print("note: the point is far from any road; times start from the nearest road")
    print(df.attrs.get("caption", ""))
    return 0


def _status(_args: argparse.Namespace) -> int:
    from epu_mapper.travel import osrm as osrm_mod
    from epu_mapper.travel.pairs import ENGINES
    from epu_mapper.travel.store import matrix_paths

    settings = get_settings()
    nets = osrm_mod.list_networks(settings.build_dir)
    print(f"road networks in {settings.build_dir / 'osrm'}: {len(nets) or 'none'}")
    for net in nets:
        meta = osrm_mod.read_network_meta(net)
        print(f"  {meta['name']}: {Path(meta['source_pbf']).name}, OSM {meta['osm_timestamp']}, "
              f"built {meta['built_at']}")
    for engine in ENGINES:
        out, meta_path = matrix_paths(settings.build_dir, engine)
        if not (out.is_file() and meta_path.is_file()):
            print(f"matrix {engine}: not built")
            continue
        prov = store.read_json_dict(meta_path, f"The travel matrix provenance ({engine})",
                                    f"epu-mapper travel build --engine {engine}")
        if not store.looks_intact(out):
            raise BuildDamagedError(f"The travel matrix ({engine})", out,
                                    f"epu-mapper travel build --engine {engine} --force",
                                    "not a readable Parquet file")
        print(f"matrix {engine}: {out} (built {prov.get('created_at', '?')})")
        _print_summary(prov)
    return 0


def _pairs(args: argparse.Namespace) -> int:
    from epu_mapper.commands.travel_engines import pairs_command

    return pairs_command(args)


def register(sub: argparse._SubParsersAction) -> None:
    """Add this group's subcommands to the parser."""
    p = sub.add_parser("travel", help="travel times: road network (OSRM), matrix, calibration")
    tsub = p.add_subparsers(dest="travel_command", metavar="SUBCOMMAND", parser_class=type(p))
    p.set_defaults(func=lambda _args: (p.print_help(), 2)[1])

    n = tsub.add_parser("network", help="build an OSRM car graph from an OpenStreetMap extract")
    src = n.add_mutually_exclusive_group(required=True)
    src.add_argument("--pbf", help="OpenStreetMap extract (.osm.pbf)")
    src.add_argument("--download", metavar="NAME",
                     help="download this extract first, e.g. europe/great-britain (from --mirror)")
    n.add_argument("--mirror", help="extract URL pattern with {name} (default: $EPU_MAPPER_OSM_MIRROR, "
                   "else https://download.geofabrik.de/{name}-latest.osm.pbf)")
    n.add_argument("--all-highways", action="store_true",
                   help="keep every highway=* way (default: only drivable roads and ferries)")
    n.add_argument("--no-progress", action="store_true")
    n.add_argument("--name", help="network name (default: from the file name)")
    n.add_argument("--threads", type=int, default=2)
    n.add_argument("--keep-filtered", action="store_true", help="keep the road-filtered .osm.pbf")
    n.add_argument("--boundary", help="the area the extract stands for (.poly or GeoJSON): points "
                   "outside it are 'outside network' even where cut roads reach them")
    n.add_argument("--boundary-code", help="with a GeoJSON boundary: keep features with this property "
                   "value (e.g. E06000017)")
    n.add_argument("--force", action="store_true", help="rebuild even if built from the same file")
    n.set_defaults(func=_network)

    b = tsub.add_parser("build", help="compute the area x unit travel matrix")
    b.add_argument("--engine", choices=["osrm", "estimate", "osrm-http"],
                   help="default: the estimate, plus osrm when a road network is built; osrm-http: "
                   "the osrm matrix from a running OSRM server (--osrm-url)")
    b.add_argument("--network", help="network name under build/osrm (default: the newest)")
    b.add_argument("--force", action="store_true", help="rebuild even when inputs are unchanged")
    b.add_argument("--k", type=int, default=DEFAULT_K,
                   help=f"units kept per area by straight line (default {DEFAULT_K})")
    b.add_argument("--chunk", type=int, default=DEFAULT_CHUNK, help="areas per OSRM request")
    b.add_argument("--no-progress", action="store_true")
    from epu_mapper.commands.travel_engines import add_osrm_http_arguments

    add_osrm_http_arguments(b)
    b.set_defaults(func=_build)

    c = tsub.add_parser("calibrate", help="fit the straight-line estimate: by default on the national "
                        "reference times (travel_reference/), with --pbf/--network against OSRM")
    c.add_argument("--pbf", help="OpenStreetMap extract (built into a network if needed): calibrate "
                   "against OSRM instead of the national reference")
    c.add_argument("--network", help="calibrate against this built network (OSRM) instead")
    c.add_argument("--district", help="keep postcodes of this local authority code (e.g. E06000017)")
    c.add_argument("--seed", type=int, default=0)
    c.add_argument("--origins", type=int, default=DEFAULT_ORIGINS)
    c.add_argument("--destinations", type=int, default=DEFAULT_DESTINATIONS)
    c.add_argument("--json", help="also write the fitted parameters to this JSON file")
    c.set_defaults(func=_calibrate)

    pr = tsub.add_parser("pairs", help="travel time for each origin -> destination row of a CSV file")
    from epu_mapper.commands.travel_engines import add_pairs_arguments

    add_pairs_arguments(pr)
    pr.set_defaults(func=_pairs)

    st = tsub.add_parser("status", help="list built road networks and travel matrices")
    st.set_defaults(func=_status)

    q = tsub.add_parser("point", help="travel from one point to every unit")
    q.add_argument("lat", type=float)
    q.add_argument("lon", type=float)
    q.add_argument("--limit", type=int, default=10)
    q.set_defaults(func=_point)
