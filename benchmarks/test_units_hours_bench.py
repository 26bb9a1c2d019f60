"""Benchmarks for the directory and the hours model (run with --benchmark-only).

Targets (2-core CI machine): loading + validating the 94-unit directory < 0.5 s;
the typical-week grid for every unit from a cold cache < 0.5 s, warm < 5 ms;
a 15-minute-resolution week for 1,000 what-if strings < 2 s.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest

from epu_mapper import hours as H
from epu_mapper.units import load_units

UNITS_CSV = Path(__file__).resolve().parent.parent / "data" / "units.csv"


def _clear() -> None:
    for f in (H._compiled, H._week_row, H._day_row):
        f.cache_clear()


@pytest.fixture(scope="module")
def units():
    return load_units(UNITS_CSV, strict=True)


def test_load_and_validate_directory(benchmark):
    df = benchmark(load_units, UNITS_CSV)
    assert len(df) == 94


def test_week_states_cold(benchmark, units):
    def run():
        _clear()
        return H.week_states(units)
    grid = benchmark(run)
    assert grid.shape == (94, 168)


def test_week_states_warm(benchmark, units):
    H.week_states(units)
    grid = benchmark(H.week_states, units)
    assert grid.shape == (94, 168)


def test_day_states_christmas(benchmark, units):
    grid = benchmark(H.day_states, units, date(2026, 12, 25))
    assert grid.shape == (94, 24)


def test_states_at(benchmark, units):
    s = benchmark(H.states_at, units, datetime(2026, 11, 30, 10))
    assert s.shape == (94,)


def test_whatif_many_strings_fine_grid(benchmark, units):
    base = [h for h in units["opening_hours"] if h]
    extras = [f"Sa,Su {9 + k % 4:02d}:00-{15 + k % 5:02d}:00" for k in range(40)]
    strings = [H.combine_hours(b, e) for b in base for e in extras][:1000]

    def run():
        _clear()
        return H.week_states_for(strings, step_minutes=15)
    grid = benchmark.pedantic(run, rounds=3, iterations=1)
    assert grid.shape == (len(strings), 672)
