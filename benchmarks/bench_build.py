"""Full ``data build`` of the real data into a fresh folder (run with --benchmark-only).

Targets (issue 3): full build <= 120 s and peak memory <= 2 GB on the 2-core machine.
Measured here: ~13 s and ~0.9 GB peak RSS (``/usr/bin/time -v epu-mapper data build --force``).
The peak RSS recorded below is this pytest process's high-water mark, an upper bound.
"""

from __future__ import annotations

import dataclasses
import resource

from epu_mapper.build import build


def test_full_build(benchmark, real_settings, tmp_path):
    settings = dataclasses.replace(real_settings, build_dir=tmp_path / "build")

    def run():
        return build(settings, force=True, quiet=True)

    manifest = benchmark.pedantic(run, rounds=1, iterations=1)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    benchmark.extra_info["peak_rss_mb"] = round(peak_mb)
    assert manifest["rows"]["demand.parquet"] == 43_498
    assert benchmark.stats["mean"] <= 120
    assert peak_mb <= 2048


def test_noop_rebuild(benchmark, real_settings, tmp_path):
    settings = dataclasses.replace(real_settings, build_dir=tmp_path / "build")
    build(settings, quiet=True)
    manifest = benchmark.pedantic(build, args=(settings,), kwargs={"quiet": True}, rounds=3,
                                  iterations=1)
    assert manifest["ran"] == []
