"""`equity` performance target on the full UK data (run: pytest benchmarks/bench_equity.py
--benchmark-only).

Target (issue 11): `api.equity` for every region level <= 1 s warm (the context loaded and the
typical-week bands of the policy computed once; each call then picks a new time). Needs the
build folder (`epu-mapper data build`, `epu-mapper travel build`).
"""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from epu_mapper import api


@pytest.fixture(scope="module")
def ctx(real_settings):
    """The analysis context of the real build (``real_settings`` is the root conftest's)."""
    assert Path(real_settings.build_dir, "area_equity.parquet").exists(), "run `make build` first"
    return api.load_context(real_settings)


@pytest.mark.parametrize("by", ["deprivation", "car"])
@pytest.mark.parametrize("level", api.LEVELS)
def test_equity_warm(benchmark, ctx, level, by):
    api.equity(ctx, level, hour_of_week=147, by=by)  # warm: bands of the week for this level
    hours = itertools.cycle(range(168))
    res = benchmark(lambda: api.equity(ctx, level, hour_of_week=next(hours), by=by))
    # Scottish and NI regions have no car figure: by car they have no rows at all
    assert res.by_group.empty == (by == "car" and level in ("scot_hb", "hsct"))
    assert benchmark.stats.stats.max <= 1.0
