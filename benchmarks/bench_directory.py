"""Performance with the likely EPU sites added (issue 9; run: pytest benchmarks/bench_directory.py
--benchmark-only). Needs the build folder with the likely sites (`epu-mapper data build`,
`epu-mapper travel build`).

Targets: a full-week recompute (168 hours + a bank-holiday day, every area) on the with-likely
directory (directory units + about 160 likely sites, unknown hours) <= 0.3 s and >= 50x the naive
per-hour minimum measured in the same run (both must agree exactly); `nearest` (which now also
routes to every acute hospital) <= 20 ms warm.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from bench_coverage import _best_of, _full_week

from epu_mapper import api
from epu_mapper import coverage as cov
from epu_mapper.api import directory as dirs


@pytest.fixture(scope="module")
def ctx(real_settings):
    """The analysis context of the real build (``real_settings`` is the root conftest's)."""
    assert Path(real_settings.build_dir, "likely_sites.parquet").exists(), "run `make build` first"
    return api.load_context(real_settings)


@pytest.fixture(scope="module")
def ext(ctx):
    return dirs.with_likely(ctx)


@pytest.mark.parametrize("policy", ["exclude", "always"])
def test_with_likely_full_week_fast_and_50x_naive(benchmark, ctx, ext, policy):
    n_likely = int(ext.mapped["likely"].sum())
    assert n_likely >= 100 and ext.minutes.shape[1] == len(ctx.mapped) + n_likely
    fast = benchmark(_full_week, ext, policy)
    mask = cov.open_mask(ext.states, policy)
    slow = cov.nearest_open_naive(ext.minutes, mask)
    np.testing.assert_array_equal(fast.minutes, slow.minutes)
    np.testing.assert_array_equal(fast.unit, slow.unit)
    t_naive = _best_of(lambda: cov.nearest_open_naive(ext.minutes, mask), 2)
    t_fast = _best_of(lambda: _full_week(ext, policy), 7)
    benchmark.extra_info.update(naive_s=t_naive, fast_s=t_fast, speedup=t_naive / t_fast,
                                n_likely=n_likely, n_columns=ext.minutes.shape[1])
    print(f"\nwith-likely {policy} ({ext.minutes.shape[1]} columns, {n_likely} likely): "
          f"naive {t_naive:.3f} s, fast {t_fast * 1000:.1f} ms ({t_naive / t_fast:.0f}x)")
    assert t_fast <= 0.3
    assert t_naive / t_fast >= 50


def test_nearest_with_hospitals_warm(benchmark, ctx):
    api.nearest(ctx, "LE15 6RB", at="2026-11-29T03:00")  # warm caches (water distances, tables)
    res = benchmark(api.nearest, ctx, "LE15 6RB", at="2026-11-29T03:00")
    assert res.nearer is not None and not res.likely_sites.empty
    assert benchmark.stats.stats.median <= 0.02
