"""Coverage performance targets on the full UK data (run: pytest benchmarks/bench_coverage.py --benchmark-only).

Targets (issue 5): full-week recompute (168 hours + a bank-holiday day, every area, every unit)
<= 0.3 s and >= 20x faster than the naive per-hour NumPy minimum (both run side by side and
must agree exactly); one what-if <= 100 ms; greedy ranking of 10 units <= 5 s; `nearest` for a
postcode <= 20 ms warm. Needs the build folder (`epu-mapper data build`, `epu-mapper travel build`).
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from epu_mapper import api
from epu_mapper import coverage as cov


@pytest.fixture(scope="module")
def ctx(real_settings):
    """The analysis context of the real build (``real_settings`` is the root conftest's)."""
    assert Path(real_settings.build_dir, "demand.parquet").exists(), "run `make build` first"
    return api.load_context(real_settings)


def _full_week(ctx, policy: str = "exclude") -> cov.NearestOpen:
    """Everything that depends on hours: states -> open mask -> nearest open for 192 slots."""
    mask = cov.open_mask(ctx.states, policy)
    return cov.nearest_open(ctx.minutes, mask, ctx.order, by_unit=ctx.by_unit)


def _best_of(fn, n: int) -> float:
    best = float("inf")
    for _ in range(n):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def test_full_week_fast(benchmark, ctx):
    res = benchmark(_full_week, ctx)
    assert res.minutes.shape == (len(ctx.demand), cov.N_SLOTS)
    assert benchmark.stats.stats.median <= 0.3


def test_full_week_naive(benchmark, ctx):
    mask = cov.open_mask(ctx.states, "exclude")
    res = benchmark.pedantic(cov.nearest_open_naive, args=(ctx.minutes, mask), rounds=2, iterations=1)
    assert res.minutes.shape == (len(ctx.demand), cov.N_SLOTS)


@pytest.mark.parametrize("policy", cov.POLICIES)
def test_fast_agrees_with_naive_and_is_20x_faster(benchmark, ctx, policy):
    mask = cov.open_mask(ctx.states, policy)
    fast = benchmark(_full_week, ctx, policy)
    slow = cov.nearest_open_naive(ctx.minutes, mask)
    np.testing.assert_array_equal(fast.minutes, slow.minutes)
    np.testing.assert_array_equal(fast.unit, slow.unit)
    t_naive = _best_of(lambda: cov.nearest_open_naive(ctx.minutes, mask), 2)
    t_fast = _best_of(lambda: _full_week(ctx, policy), 7)
    t_fast_sort = _best_of(lambda: cov.nearest_open(ctx.minutes, mask), 3)
    benchmark.extra_info.update(naive_s=t_naive, fast_s=t_fast, fast_with_sort_s=t_fast_sort,
                                speedup=t_naive / t_fast,
                                distinct_open_sets=len(np.unique(mask.T, axis=0)))
    print(f"\n{policy}: naive {t_naive:.3f} s, fast {t_fast * 1000:.1f} ms "
          f"({t_naive / t_fast:.0f}x; with the per-matrix sort {t_fast_sort * 1000:.1f} ms)")
    assert t_fast <= 0.3
    assert t_naive / t_fast >= 20


def test_whatif_one_unit(benchmark, ctx):
    uid = "RTK01" if "RTK01" in set(ctx.mapped.unit_id) else ctx.mapped.unit_id[0]
    api.whatif(ctx, {uid: "Sa,Su 09:00-17:00"})  # warm the per-policy caches
    res = benchmark(api.whatif, ctx, {uid: "Sa,Su 09:00-17:00"})
    assert res.totals["person_hours_week_lost"] == 0
    assert benchmark.stats.stats.median <= 0.1


def test_rank_ten_units_cold(benchmark, ctx):
    def cold_rank():
        for key in [k for k in ctx._cache if k[0] == "extended"]:
            del ctx._cache[key]  # recompute every unit's extended hours each round
        return api.rank(ctx, k=10)

    res = benchmark.pedantic(cold_rank, rounds=3, iterations=1)
    assert len(res) == 10
    assert (np.diff(res.gain_person_hours) <= 1e-6).all()  # greedy gains never increase
    assert benchmark.stats.stats.median <= 5.0


def test_nearest_postcode_warm(benchmark, ctx):
    api.nearest(ctx, "LE15 6RB", at="2026-11-29T03:00")  # warm postcode index and hours cache
    res = benchmark(api.nearest, ctx, "LE15 6RB", at="2026-11-29T03:00")
    assert len(res.units) == 10
    assert benchmark.stats.stats.median <= 0.02
