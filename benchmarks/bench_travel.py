"""Travel-time benchmarks (run: .venv/bin/pytest benchmarks/bench_travel.py --benchmark-only).

Targets: estimate matrix for every UK area x every mappable unit <= 30 s; from_point
warm <= 50 ms; OSRM table throughput on Rutland reported as pairs/s (extra_info).
Needs the real data (EPU_MAPPER_DATA) and build/demand.parquet (epu-mapper data build).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from epu_mapper.settings import REPO_ROOT, Settings, get_settings
from epu_mapper.travel.build import build_matrix, load_mappable_units
from epu_mapper.travel.calibrate import read_postcodes
from epu_mapper.travel.candidates import candidate_mask
from epu_mapper.travel.network import prepare_network
from epu_mapper.travel.osrm import OsrmRouter
from epu_mapper.travel.pairs import compute_estimate
from epu_mapper.travel.point import from_point

RUTLAND = "E06000017"


@pytest.fixture(scope="module")
def settings() -> Settings:
    if not os.environ.get("EPU_MAPPER_DATA"):
        os.environ["EPU_MAPPER_DATA"] = str((REPO_ROOT.parent / "shared" / "data" / "raw").resolve())
    s = get_settings()
    assert (s.build_dir / "demand.parquet").is_file(), "run `epu-mapper data build` first"
    return s


@pytest.fixture(scope="module")
def demand(settings) -> pd.DataFrame:
    return pd.read_parquet(settings.build_dir / "demand.parquet")


@pytest.fixture(scope="module")
def units(settings) -> pd.DataFrame:
    return load_mappable_units(settings)


@pytest.fixture(scope="module")
def router(settings, tmp_path_factory) -> OsrmRouter:
    pbf = settings.data_dir / "osm" / "rutland-latest.osm.pbf"
    net = prepare_network(pbf, tmp_path_factory.mktemp("bench") / "build", name="rutland", log=lambda s: None)
    return OsrmRouter(net)


@pytest.fixture(scope="module")
def rutland_postcodes(settings) -> pd.DataFrame:
    pc = read_postcodes(settings.data_dir)
    return pc[pc["admin_district_code"] == RUTLAND].sort_values("postcode").reset_index(drop=True)


def test_estimate_matrix_uk_build(benchmark, settings, tmp_path, demand, units):
    """Full `travel build --engine estimate`: 43.5k areas x all mappable units, written to Parquet."""
    build = tmp_path / "build"
    build.mkdir()
    os.symlink(settings.build_dir / "demand.parquet", build / "demand.parquet")
    s = Settings(data_dir=settings.data_dir, build_dir=build, units_csv=settings.units_csv)

    def run():
        return build_matrix("estimate", s, force=True, progress=False, log=lambda m: None)

    _, prov, _ = benchmark.pedantic(run, rounds=3, iterations=1)
    benchmark.extra_info.update(areas=prov["counts"]["areas"], units=prov["counts"]["units"],
                                pairs=prov["counts"]["pairs_kept"])
    assert benchmark.stats.stats.max <= 30.0


def test_estimate_matrix_uk_compute(benchmark, demand, units):
    """The pure part only: candidate mask + estimate for every pair."""
    o_lat, o_lon = demand["lat"].to_numpy(), demand["lon"].to_numpy()
    d_lat, d_lon = units["lat"].to_numpy(float), units["lon"].to_numpy(float)

    def run():
        mask = candidate_mask(o_lat, o_lon, d_lat, d_lon)
        return compute_estimate(o_lat, o_lon, d_lat, d_lon, mask)

    res = benchmark(run)
    assert res.minutes.shape == (len(demand), len(units))


def test_osrm_table_throughput_rutland(benchmark, router, rutland_postcodes):
    """One 2,000 x 50 OSRM table between real Rutland postcodes (100,000 pairs)."""
    pc = rutland_postcodes
    rng = np.random.default_rng(0)
    o = pc.iloc[rng.choice(len(pc), 2000, replace=True)]
    d = pc.iloc[rng.choice(len(pc), 50, replace=False)]
    args = (o["lat"].to_numpy(), o["lon"].to_numpy(), d["lat"].to_numpy(), d["lon"].to_numpy())
    res = benchmark(router.table, *args)
    pairs = 2000 * 50
    benchmark.extra_info["pairs"] = pairs
    benchmark.extra_info["pairs_per_s"] = round(pairs / benchmark.stats.stats.mean)
    assert np.isfinite(res.minutes).mean() > 0.99


def test_from_point_warm_estimate(benchmark, units):
    """Patient finder, no road network: a point to every mappable unit."""
    from_point(52.6705, -0.7309, units, router=None)
    df = benchmark(from_point, 52.6705, -0.7309, units, router=None)
    assert len(df) == len(units)
    assert benchmark.stats.stats.mean < 0.050


def test_from_point_warm_osrm(benchmark, router, rutland_postcodes):
    """Patient finder with a road network: a 1 x 84 OSRM table (84 real Rutland postcodes
    stand in for units, as no EPU lies inside the Rutland extract)."""
    pc = rutland_postcodes.iloc[::15].head(84)
    dest = pd.DataFrame({"unit_id": pc["postcode"], "lat": pc["lat"], "lon": pc["lon"]})
    from_point(52.6705, -0.7309, dest, router=router)
    df = benchmark(from_point, 52.6705, -0.7309, dest, router=router)
    assert (df["engine"] == "osrm").all()
    assert benchmark.stats.stats.mean < 0.050


def test_osrm_network_build_rutland(benchmark, settings, tmp_path):
    """`travel network` on the Rutland extract (filter + extract + contract)."""
    pbf = settings.data_dir / "osm" / "rutland-latest.osm.pbf"
    counter = iter(range(100))

    def run():
        return prepare_network(pbf, tmp_path / f"b{next(counter)}", name="rutland", log=lambda s: None)

    net = benchmark.pedantic(run, rounds=2, iterations=1)
    assert (Path(net) / "graph.osrm.hsgr").is_file()


def test_osrm_matrix_uk_shape_on_rutland(benchmark, router, rutland_postcodes):
    """compute_osrm at the UK matrix's shape (43,498 origins x 84 destinations, chunks of
    2,000) on the Rutland graph, origins drawn from real Rutland postcodes. A national
    graph is larger, so per-query cost there is higher; this measures the chunking and
    conversion overhead of the matrix code itself."""
    from epu_mapper.travel.pairs import compute_osrm

    pc = rutland_postcodes
    rng = np.random.default_rng(1)
    o = pc.iloc[rng.choice(len(pc), 43_498, replace=True)]
    d = pc.iloc[rng.choice(len(pc), 84, replace=False)]
    o_lat, o_lon = o["lat"].to_numpy(), o["lon"].to_numpy()
    d_lat, d_lon = d["lat"].to_numpy(), d["lon"].to_numpy()
    mask = np.ones((len(o), len(d)), dtype=bool)
    res = benchmark.pedantic(compute_osrm, args=(router, o_lat, o_lon, d_lat, d_lon, mask),
                             rounds=2, iterations=1)
    benchmark.extra_info["pairs"] = int(mask.sum())
    benchmark.extra_info["pairs_per_s"] = round(mask.sum() / benchmark.stats.stats.mean)
    assert np.isfinite(res.minutes).mean() > 0.99
