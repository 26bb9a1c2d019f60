"""Water-aware travel benchmarks (run: pytest benchmarks/bench_water.py --benchmark-only).

Targets (issue 10): the estimate matrix for every UK area x ~300 sites (the mappable units plus
the acute hospitals standing in for likely sites), water-aware, <= 60 s and <= 2 GB peak memory
(`travel build` run as its own process, grid distances computed from scratch); `from_point`
warm (water rule on, grid distances cached) <= 5 ms; `estimate_pairs` >= 100k pairs/s on pairs
whose straight line stays on land. Needs the real build (epu-mapper data build).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from epu_mapper.settings import REPO_ROOT, get_settings
from epu_mapper.travel import water
from epu_mapper.travel.build import load_mappable_units
from epu_mapper.travel.estimate import estimate_pairs
from epu_mapper.travel.point import from_point

_BUILD = """
import json, os, resource, sys, time
from pathlib import Path
import pandas as pd
from epu_mapper.settings import Settings, get_settings
from epu_mapper.travel.build import build_matrix
s0 = get_settings()
b = Path(sys.argv[1])
s = Settings(data_dir=s0.data_dir, build_dir=b, units_csv=s0.units_csv)
sites = pd.read_parquet(b / "sites.parquet")
t = time.perf_counter()
_, prov, _ = build_matrix("estimate", s, units=sites, force=True, progress=False, log=lambda m: None)
print(json.dumps({"seconds": time.perf_counter() - t, "sites": len(sites),
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "pairs": prov["counts"]["pairs_kept"], "water": prov["water"]["pairs"]}))
"""


@pytest.fixture(scope="module")
def settings():
    if not os.environ.get("EPU_MAPPER_DATA"):
        os.environ["EPU_MAPPER_DATA"] = str((REPO_ROOT.parent / "shared" / "data" / "raw").resolve())
    s = get_settings()
    assert (s.build_dir / "boundaries" / "nation.geojson").is_file(), "run `epu-mapper data build` first"
    return s


@pytest.fixture(scope="module")
def sites(settings) -> pd.DataFrame:
    units = load_mappable_units(settings)
    h = pd.read_parquet(settings.build_dir / "hospitals.parquet")
    extra = pd.DataFrame({"unit_id": "H-" + h["site_code"].astype(str), "lat": h["lat"], "lon": h["lon"],
                          "nation": h["nation"]})
    out = pd.concat([units[["unit_id", "lat", "lon", "nation"]], extra], ignore_index=True)
    return out.drop_duplicates("unit_id").reset_index(drop=True)


def test_water_matrix_uk_build(benchmark, settings, sites, tmp_path):
    """`build_matrix("estimate")` for 43.5k areas x the sites, water rule on, from scratch."""
    runs: list[dict] = []

    def setup():
        b = tmp_path / f"build{len(runs)}"
        (b / "boundaries").mkdir(parents=True)
        os.symlink(settings.build_dir / "demand.parquet", b / "demand.parquet")
        os.symlink(settings.build_dir / "boundaries" / "nation.geojson", b / "boundaries" / "nation.geojson")
        sites.to_parquet(b / "sites.parquet")
        return (b,), {}

    def run(b: Path):
        out = subprocess.run([sys.executable, "-c", _BUILD, str(b)], capture_output=True, text=True,
                             check=False, env={**os.environ, "PYTHONPATH": str(REPO_ROOT)})
        assert out.returncode == 0, out.stderr[-2000:]
        runs.append(json.loads(out.stdout.strip().splitlines()[-1]))

    benchmark.pedantic(run, setup=setup, rounds=1, iterations=1)
    r = runs[-1]
    benchmark.extra_info.update(r)
    assert r["sites"] >= 250
    assert r["peak_mb"] <= 2048
    assert r["seconds"] <= 60.0


def test_from_point_warm_water(benchmark, settings, sites):
    """Patient finder (estimate engine, water rule on): one point to every site, warm."""
    model = water.load_model(settings.build_dir)
    from_point(51.5074, -3.1904, sites, router=None, water=model)  # fills the grid-distance cache
    df = benchmark(from_point, 51.5074, -3.1904, sites, router=None, water=model)
    assert df["route"].str.contains("Severn", na=False).any()
    assert benchmark.stats.stats.median <= 0.005


def test_estimate_pairs_on_land_throughput(benchmark, settings, sites):
    """200k element-wise pairs between English sites (the pairs CLI's path)."""
    model = water.load_model(settings.build_dir)
    rng = np.random.default_rng(0)
    eng = sites[sites["nation"] == "England"]
    i, j = rng.integers(0, len(eng), 200_000), rng.integers(0, len(eng), 200_000)
    args = (eng["lat"].to_numpy()[i], eng["lon"].to_numpy()[i], eng["lat"].to_numpy()[j],
            eng["lon"].to_numpy()[j])
    df = benchmark.pedantic(estimate_pairs, args=args, kwargs={"water": model}, rounds=1, iterations=1)
    rate = len(df) / benchmark.stats.stats.mean
    benchmark.extra_info["pairs_per_s"] = round(rate)
    assert df["minutes"].notna().all()
    assert rate >= 100_000
