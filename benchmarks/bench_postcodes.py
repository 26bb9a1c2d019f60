"""Postcode lookup benchmarks on the real build (run with --benchmark-only).

Target: a warm lookup (index loaded once) <= 5 ms; measured ~10 us on the 2-core machine.
Builds the tables first if needed (a no-op when the build folder is up to date).
"""

from __future__ import annotations

import pytest

from epu_mapper.build import build
from epu_mapper.postcodes import PostcodeIndex

WARM_TARGET_S = 0.005


@pytest.fixture(scope="module")
def index(real_settings):
    build(real_settings, quiet=True, only=["demand", "postcodes"])
    return PostcodeIndex.load(real_settings)


@pytest.mark.parametrize(("text", "precision"), [
    ("sw1a 1aa", "unit"), ("EH11YZ", "unit"), ("SW1A 9ZZ", "district"),
    ("BT12 6BA", "ni_sdz"), ("LE15 6XX", "sector"),
])
def test_warm_lookup(benchmark, index, text, precision):
    result = benchmark(index.lookup, text)
    assert result.precision == precision
    assert benchmark.stats["mean"] <= WARM_TARGET_S


def test_invalid_input_rejected_fast(benchmark, index):
    from epu_mapper.errors import PostcodeError

    def bad():
        try:
            index.lookup("x" * 10_000)
        except PostcodeError:
            return True
        return False

    assert benchmark(bad)
    assert benchmark.stats["mean"] <= WARM_TARGET_S


def test_cold_index_load(benchmark, index, real_settings):
    loaded = benchmark.pedantic(PostcodeIndex.load, args=(real_settings,), rounds=3, iterations=1)
    assert len(loaded) == 1_744_635
