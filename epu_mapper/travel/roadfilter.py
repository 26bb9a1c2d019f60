"""Pre-filter an OpenStreetMap extract to what a car can use: drivable roads and ferries.

The same idea as ``osmium tags-filter in.osm.pbf w/highway=motorway,… w/route=ferry``,
done in Python with the pinned ``osmium`` (pyosmium) package: a C++ key filter first
(ways with ``highway`` or ``route``, relations with ``type``), then the rules below, then
:class:`osmium.BackReferenceWriter` adds every node the kept ways use (node tags are kept:
barriers and traffic signals matter to the car profile).

Kept ways are a superset of what OSRM's bundled ``car.lua`` can route on, so the graph —
and every travel time — is the same as from the unfiltered file (a test checks this on
Rutland), while footways, paths, cycleways, bridleways and steps, a large share of a
national extract's ways and nodes, never reach ``osrm-extract``:

* ``highway`` in :data:`CAR_HIGHWAYS` (the highway types with a speed in ``car.lua``);
* ``route`` in :data:`CAR_ROUTES` (``ferry``, ``shuttle_train``: car ferries and the
  Channel Tunnel shuttle);
* any other ``highway`` whose car access tag (:data:`ACCESS_KEYS`, with ``:forward`` /
  ``:backward`` variants) is present and not one that ``car.lua`` refuses
  (:data:`ACCESS_REFUSED`) — e.g. ``highway=track`` + ``motor_vehicle=yes``;
* relations with ``type=restriction`` (turn restrictions).

Run as ``python -m epu_mapper.travel.roadfilter IN.osm.pbf OUT.osm.pbf COUNTS.json`` it
writes its counts as JSON: the network build runs it in a child process to measure the
filter's own peak memory.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

#: Highway types with a speed in the car.lua profile bundled with osrm-bindings 26.10.
CAR_HIGHWAYS = frozenset({
    "motorway", "motorway_link", "trunk", "trunk_link", "primary", "primary_link",
    "secondary", "secondary_link", "tertiary", "tertiary_link", "unclassified",
    "residential", "living_street", "service", "winter_road", "ice_road",
})
#: ``route=*`` values car.lua gives a speed (ferries; car-carrying trains).
CAR_ROUTES = frozenset({"ferry", "shuttle_train"})
#: car.lua's access-tag hierarchy (most specific first).
ACCESS_KEYS = ("motorcar", "motor_vehicle", "vehicle", "access")
#: car.lua's ``access_tag_blacklist``: values that refuse a car on other highway types.
ACCESS_REFUSED = frozenset({
    "no", "agricultural", "forestry", "emergency", "psv", "taxi", "share_taxi", "minibus",
    "bus", "foot", "emergency_vehicle", "restricted", "military", "official", "customers",
    "private", "delivery", "destination", "permit", "residents",
})


def is_drivable(tags) -> bool:
    """Whether a way with these OSM tags can be part of a car graph (see the module rules).

    Parameters
    ----------
    tags : mapping
        The way's tags (``osmium`` TagList or a dict).
    """
    highway = tags.get("highway")
    if highway in CAR_HIGHWAYS or tags.get("route") in CAR_ROUTES:
        return True
    if not highway:
        return False
    for key in ACCESS_KEYS:
        for variant in (key, f"{key}:forward", f"{key}:backward"):
            value = tags.get(variant)
            if value and value not in ACCESS_REFUSED:
                return True
    return False


def read_header(src: Path) -> tuple[str | None, list[float] | None]:
    """The replication timestamp (or None) and bounding box (or None) of an OSM file's header."""
    import osmium

    reader = osmium.io.Reader(str(src), osmium.osm.NOTHING)
    header = reader.header()
    stamp = header.get("osmosis_replication_timestamp") or header.get("timestamp") or None
    box = header.box()
    header_bbox = (
        [box.bottom_left.lon, box.bottom_left.lat, box.top_right.lon, box.top_right.lat]
        if box.valid() else None
    )
    reader.close()
    return stamp, header_bbox


def filter_drivable(src: Path, dst: Path) -> dict:
    """Write the drivable ways, ferries and turn restrictions of ``src`` (with their nodes).

    Parameters
    ----------
    src : Path
        Input ``.osm.pbf`` extract.
    dst : Path
        Output ``.osm.pbf`` (must not exist).

    Returns
    -------
    dict
        ``ways``, ``ferries`` (ways with ``route`` in :data:`CAR_ROUTES`), ``restrictions``,
        ``ways_dropped`` (highway/route ways left out), ``osm_timestamp`` (replication
        timestamp from the header, or None) and ``header_bbox``.
    """
    import osmium

    stamp, header_bbox = read_header(src)
    ways = ferries = restrictions = dropped = 0
    processor = osmium.FileProcessor(str(src), osmium.osm.WAY | osmium.osm.RELATION).with_filter(
        osmium.filter.KeyFilter("highway", "route", "type"))
    with osmium.BackReferenceWriter(str(dst), ref_src=str(src), remove_tags=False) as writer:
        obj: Any  # a way or a relation (the processor's filter)
        for obj in processor:
            if obj.is_way():
                if is_drivable(obj.tags):
                    writer.add(obj)
                    ways += 1
                    ferries += obj.tags.get("route") in CAR_ROUTES
                elif "highway" in obj.tags or "route" in obj.tags:
                    dropped += 1
            elif obj.tags.get("type") == "restriction":
                writer.add(obj)
                restrictions += 1
    return {"ways": ways, "ferries": ferries, "restrictions": restrictions, "ways_dropped": dropped,
            "osm_timestamp": stamp, "header_bbox": header_bbox}


def main(argv: list[str] | None = None) -> int:
    """``python -m epu_mapper.travel.roadfilter IN OUT [COUNTS.json] [--all-highways]``.

    Filters ``IN`` to ``OUT`` (drivable roads and ferries; with ``--all-highways`` every
    ``highway=*`` way, :func:`~epu_mapper.travel.network.filter_roads`) and writes the
    counts as JSON to ``COUNTS.json`` (else prints them).
    """
    args = sys.argv[1:] if argv is None else list(argv)
    every = "--all-highways" in args
    args = [a for a in args if a != "--all-highways"]
    if len(args) not in (2, 3):
        print("usage: python -m epu_mapper.travel.roadfilter IN.osm.pbf OUT.osm.pbf [COUNTS.json] "
              "[--all-highways]", file=sys.stderr)
        return 2
    if every:
        from epu_mapper.travel.network import filter_roads

        counts = filter_roads(Path(args[0]), Path(args[1]))
    else:
        counts = filter_drivable(Path(args[0]), Path(args[1]))
    text = json.dumps(counts)
    if len(args) == 3:
        Path(args[2]).write_text(text + "\n", encoding="utf-8")
    else:
        print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
