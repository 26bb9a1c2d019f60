"""Peak memory of a road-network build as the network grows (run: .venv/bin/pytest
benchmarks/bench_network_memory.py --benchmark-only; a few minutes on 2 shared cores).

The drivable-filtered Rutland extract is tiled 1, 8 and 32 times side by side (new ids,
shifted 0.45° east per copy), and ``osrm-extract`` / ``osrm-contract`` are run on each,
recording each step's peak resident memory (``VmHWM``, as ``travel network`` does). The
slope between the sizes is the basis of the README's projection for Great Britain.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from epu_mapper.settings import REPO_ROOT, get_settings
from epu_mapper.travel.network import _run, car_profile, osrm_binary
from epu_mapper.travel.roadfilter import filter_drivable

OFFSET = 10_000_000_000  # id offset per copy (above any OSM id of the 2022 file)


def tile(src: Path, dst: Path, copies: int) -> None:
    """Write ``copies`` disjoint copies of an extract side by side."""
    import osmium
    from osmium.osm.mutable import Node, Relation, Way

    with osmium.SimpleWriter(str(dst)) as w:
        for c in range(copies):
            for o in osmium.FileProcessor(str(src), osmium.osm.NODE):
                w.add_node(Node(id=o.id + c * OFFSET, tags=dict(o.tags),
                                location=(o.location.lon + c * 0.45, o.location.lat)))
        for c in range(copies):
            for o in osmium.FileProcessor(str(src), osmium.osm.WAY):
                w.add_way(Way(id=o.id + c * OFFSET, nodes=[n.ref + c * OFFSET for n in o.nodes],
                              tags=dict(o.tags)))
        for c in range(copies):
            for o in osmium.FileProcessor(str(src), osmium.osm.RELATION):
                w.add_relation(Relation(id=o.id + c * OFFSET, tags=dict(o.tags),
                                        members=[(m.type, m.ref + c * OFFSET, m.role) for m in o.members]))


@pytest.fixture(scope="module")
def filtered(tmp_path_factory) -> Path:
    if not os.environ.get("EPU_MAPPER_DATA"):
        os.environ["EPU_MAPPER_DATA"] = str((REPO_ROOT.parent / "shared" / "data" / "raw").resolve())
    src = get_settings().data_dir / "osm" / "rutland-latest.osm.pbf"
    out = tmp_path_factory.mktemp("filtered") / "rutland-drivable.osm.pbf"
    filter_drivable(src, out)
    return out


@pytest.mark.parametrize("copies", [1, 8, 32])
def test_build_memory_by_size(benchmark, filtered, tmp_path, copies):
    pbf = tmp_path / "graph.osm.pbf"
    tile(filtered, pbf, copies)
    log = tmp_path / "osrm.log"
    steps: dict = {}

    def build():
        steps["extract"] = _run([str(osrm_binary("osrm-extract")), "-p", str(car_profile()), "-t", "2",
                                 str(pbf)], log)
        steps["contract"] = _run([str(osrm_binary("osrm-contract")), "-t", "2",
                                  str(tmp_path / "graph.osrm")], log)

    benchmark.pedantic(build, rounds=1, iterations=1)
    benchmark.extra_info.update(
        copies=copies, filtered_mb=round(pbf.stat().st_size / 1e6, 2),
        extract_peak_mb=steps["extract"]["peak_rss_mb"], contract_peak_mb=steps["contract"]["peak_rss_mb"],
        graph_mb=round(sum(p.stat().st_size for p in tmp_path.glob("graph.osrm*")) / 1e6, 1),
    )
    assert steps["extract"]["peak_rss_mb"] and steps["contract"]["peak_rss_mb"]
