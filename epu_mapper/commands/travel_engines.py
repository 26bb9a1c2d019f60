"""`epu-mapper travel pairs`, the ``osrm-http`` engine options and ``travel network --download``.

Kept apart from :mod:`epu_mapper.commands.travel` so that file stays small; it registers
these through :func:`add_pairs_arguments` / :func:`pairs_command` and friends.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from epu_mapper.errors import BuildMissingError, EpuMapperError
from epu_mapper.inputs import check_pbf
from epu_mapper.settings import get_settings
from epu_mapper.travel.od_pairs import DEFAULT_CHUNK_ROWS, PAIR_ENGINES
from epu_mapper.travel.osrm_http import (
    DEFAULT_MAX_TABLE_SIZE,
    DEFAULT_RETRIES,
    DEFAULT_TIMEOUT_S,
    DEFAULT_WORKERS,
    SNAP_INSIDE_M,
)

#: Bad rows printed one by one before the rest are only counted.
MAX_PRINTED_PROBLEMS = 200


def add_osrm_http_arguments(p: argparse.ArgumentParser) -> None:
    """The ``--osrm-url`` options of the ``osrm-http`` engine."""
    p.add_argument("--osrm-url", help="base URL of a running OSRM server (osrm-routed, or a cluster "
                   "behind a load balancer), e.g. http://127.0.0.1:5000")
    p.add_argument("--osrm-timeout", type=float, default=DEFAULT_TIMEOUT_S,
                   help=f"seconds to wait for each answer (default {DEFAULT_TIMEOUT_S:g})")
    p.add_argument("--osrm-retries", type=int, default=DEFAULT_RETRIES,
                   help=f"retries after a failed request (default {DEFAULT_RETRIES})")
    p.add_argument("--osrm-max-table", type=int, default=DEFAULT_MAX_TABLE_SIZE,
                   help="origins (and destinations) per table request: the server's "
                   f"--max-table-size (default {DEFAULT_MAX_TABLE_SIZE}, osrm-routed's default)")
    p.add_argument("--osrm-workers", type=int, default=DEFAULT_WORKERS,
                   help=f"requests in flight at once (default {DEFAULT_WORKERS})")
    p.add_argument("--osrm-snap-limit", type=float, default=SNAP_INSIDE_M,
                   help="a point further than this many metres from the server's roads is outside "
                   f"its network (default {SNAP_INSIDE_M:g})")


def http_router(args: argparse.Namespace):
    """An :class:`~epu_mapper.travel.osrm_http.HttpRouter` from the ``--osrm-*`` options."""
    from epu_mapper.travel.osrm_http import HttpRouter, OsrmHttpError

    if not args.osrm_url:
        raise OsrmHttpError("the osrm-http engine needs --osrm-url (e.g. http://127.0.0.1:5000)")
    return HttpRouter(args.osrm_url, timeout=args.osrm_timeout, retries=args.osrm_retries,
                      max_table_size=args.osrm_max_table, snap_limit_m=args.osrm_snap_limit,
                      workers=args.osrm_workers)


def network_source(args: argparse.Namespace, build_dir: Path) -> Path:
    """The extract for ``travel network``: ``--pbf``, or ``--download NAME`` into ``build/osm/``."""
    if not args.download:
        if args.mirror:
            raise EpuMapperError("--mirror is for --download")
        return check_pbf(args.pbf)
    from epu_mapper.travel.download import download_extract

    return check_pbf(download_extract(args.download, Path(build_dir) / "osm", mirror=args.mirror,
                                      progress=not args.no_progress), "the downloaded extract")


def build_with_server(args: argparse.Namespace, print_summary) -> int:
    """``travel build --engine osrm-http --osrm-url URL``: the osrm matrix from an OSRM server."""
    from epu_mapper.travel.build import build_matrix

    if args.engine not in (None, "osrm-http"):
        raise EpuMapperError(f"--osrm-url is for --engine osrm-http, not {args.engine}")
    _, prov, _ = build_matrix(engine="osrm", router=http_router(args), force=args.force, k=args.k,
                              chunk=args.chunk, progress=not args.no_progress)
    print_summary(prov)
    return 0


def add_pairs_arguments(p: argparse.ArgumentParser) -> None:
    """Options of ``travel pairs``."""
    p.add_argument("--in", dest="in_path", required=True, metavar="FILE.csv",
                   help="CSV with origin_lat, origin_lon, destination_lat, destination_lon "
                   "(other columns are passed through)")
    p.add_argument("--out", dest="out_path", required=True, metavar="FILE.csv",
                   help="output CSV: the input columns + minutes, km, engine, route, reason")
    p.add_argument("--engine", choices=PAIR_ENGINES, default="auto",
                   help="auto (default): OSRM where both ends are inside the road network "
                   "(--osrm-url, else a built network), else the estimate; estimate; osrm (built "
                   "network only); osrm-http (--osrm-url only)")
    p.add_argument("--network", help="network name under build/osrm (default: the newest)")
    p.add_argument("--chunk-rows", type=int, default=DEFAULT_CHUNK_ROWS,
                   help=f"rows per step (default {DEFAULT_CHUNK_ROWS:,})")
    p.add_argument("--no-progress", action="store_true")
    add_osrm_http_arguments(p)


def _pairs_router(args: argparse.Namespace) -> tuple[object | None, bool, str]:
    """(router, road_only, engine name) for ``travel pairs``."""
    from epu_mapper.travel import osrm as osrm_mod

    if args.osrm_url and args.engine not in ("auto", "osrm-http"):
        raise EpuMapperError(f"--osrm-url is for --engine osrm-http or auto, not {args.engine}")
    if args.engine == "estimate":
        return None, False, "estimate"
    if args.engine == "osrm-http" or (args.engine == "auto" and args.osrm_url):
        return http_router(args), args.engine == "osrm-http", "osrm-http"
    build_dir = get_settings().build_dir
    net = osrm_mod.find_network(build_dir, args.network)
    if net is None:
        if args.engine == "osrm":
            raise BuildMissingError("A road network for the OSRM engine", Path(build_dir) / "osrm",
                                    "epu-mapper travel network --pbf FILE.osm.pbf")
        return None, False, "estimate"
    return osrm_mod.OsrmRouter(net), args.engine == "osrm", "osrm"


def pairs_command(args: argparse.Namespace) -> int:
    """Run ``travel pairs``; exit 0, or 1 when some rows were invalid (the rest are written)."""
    from epu_mapper.travel.od_pairs import pairs_file

    if args.chunk_rows < 1:
        raise EpuMapperError("--chunk-rows must be at least 1")
    router, road_only, name = _pairs_router(args)
    printed = 0

    def warn(line: str) -> None:
        nonlocal printed
        if printed < MAX_PRINTED_PROBLEMS:
            print(line, file=sys.stderr)
        printed += 1

    extra = {}
    if router is not None and hasattr(router, "max_table_coords"):
        extra["max_coords"] = router.max_table_coords
    summary = pairs_file(Path(args.in_path), Path(args.out_path), router=router, road_only=road_only,
                         engine_name=name, chunk_rows=args.chunk_rows,
                         progress=not args.no_progress, warn=warn, **extra)
    if printed > MAX_PRINTED_PROBLEMS:
        print(f"... and {printed - MAX_PRINTED_PROBLEMS:,} more problems", file=sys.stderr)
    engines = ", ".join(f"{k} {v:,}" for k, v in sorted(summary.by_engine.items()))
    print(f"wrote {args.out_path}: {summary.rows:,} pairs ({engines or 'none computed'})")
    for reason, n in sorted(summary.no_time.items()):
        print(f"  no time ({reason}): {n:,}")
    if summary.invalid_rows:
        print(f"{summary.invalid_rows:,} rows had invalid input (listed above; their minutes are empty)",
              file=sys.stderr)
        return 1
    return 0
