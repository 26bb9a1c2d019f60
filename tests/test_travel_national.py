"""The national calibration of the estimate (epu_mapper.travel.national)."""

import json

import numpy as np
import pandas as pd
import pytest

from epu_mapper.cli import main
from epu_mapper.travel.estimate import CALIBRATED, estimate_from_km
from epu_mapper.travel.national import (
    STORED_FILE,
    STROKE_FIXED_MIN,
    calibrate_national,
    error_table,
    fit_national,
    held_out,
)


def _synthetic(rng):
    """Reference-shaped pairs whose drive follows 1 + 0.7 km + 2 sqrt(km) exactly."""
    km = rng.uniform(0.2, 120, 4000)
    drive = 1.0 + 0.7 * km + 2.0 * np.sqrt(km)
    stroke = pd.DataFrame({"lad_code": [f"E0{i % 300:07d}" for i in range(len(km))],
                           "ruc": np.where(km < 20, "Urban", "Rural"), "straight_km": km,
                           "minutes": drive + STROKE_FIXED_MIN})
    nk = rng.uniform(5, 300, 500)
    neo = pd.DataFrame({"origin": [f"AB{i % 40} 1AA" for i in range(len(nk))], "straight_km": nk,
                        "minutes": 1.0 + 0.7 * nk + 2.0 * np.sqrt(nk), "road_km": 1.3 * nk})
    return stroke, neo


def test_fit_takes_off_the_fixed_part_and_recovers_the_curve():
    cal = fit_national(*_synthetic(np.random.default_rng(0)))
    p = cal.params
    assert (p.intercept_min, p.min_per_km, p.sqrt_min, p.detour) == pytest.approx((1.0, 0.7, 2.0, 1.3),
                                                                                   abs=0.002)
    assert p.mae_min == pytest.approx(0.0, abs=0.01)  # the fixed part is not counted as error
    assert cal.counts["stroke_train"] + cal.counts["stroke_test"] == 4000
    assert 0 < cal.counts["stroke_test"] < 4000


def test_held_out_split_is_stable_and_by_key():
    keys = pd.Series(["E06000017", "E06000017", "W06000015", "E08000025"])
    first, again = held_out(keys), held_out(keys)
    assert (first == again).all() and first[0] == first[1]


def test_error_table_bands_and_groups():
    km = np.array([1.0, 3.0, 7.0, 150.0])
    diff = np.array([1.0, -3.0, 2.0, -10.0])
    t = error_table(km, diff, np.array(["Urban", "Urban", "Rural", "Rural"]))
    row = t[(t["ruc"] == "all") & (t["band"] == "0-5 km")].iloc[0]
    assert row["n"] == 2 and row["mae_min"] == 2.0 and row["median_bias_min"] == -1.0
    assert t[(t["ruc"] == "Rural") & (t["band"] == ">= 100 km")]["mae_min"].item() == 10.0
    assert set(t["ruc"]) == {"all", "Urban", "Rural"}


@pytest.mark.integration
def test_national_calibration_reproduces_the_stored_figures(real_settings):
    """Re-runs `epu-mapper travel calibrate` on the real reference files: the constants in
    estimate.CALIBRATED and data/travel_calibration.json are exactly what it gives."""
    cal = calibrate_national(real_settings.data_dir)
    assert cal.params == CALIBRATED
    assert json.loads(json.dumps(cal.to_dict())) == json.loads(STORED_FILE.read_text(encoding="utf-8"))
    # the figures the README states
    assert (CALIBRATED.mae_min, CALIBRATED.p90_min, CALIBRATED.median_bias_min) == (3.05, 6.04, 0.31)
    overall = cal.stroke_bands[(cal.stroke_bands["ruc"] == "all") & (cal.stroke_bands["band"] == "all")]
    assert overall["n"].item() == cal.counts["stroke_test"] > 25000
    # the old Rutland line was far worse on the same held-out pairs (issue 10: MAE about 5.9)
    assert cal.urban_term["mae_min"] >= CALIBRATED.mae_min - 0.05  # the urban term does not help


@pytest.mark.integration
def test_cli_calibrate_prints_the_held_out_error(real_settings, capsys):
    assert main(["travel", "calibrate"]) == 0
    out = capsys.readouterr().out
    assert f"MAE {CALIBRATED.mae_min:.2f} min, p90 {CALIBRATED.p90_min:.2f} min" in out
    assert "Urban" in out and "Rural" in out and ">= 100 km" in out


def test_estimate_rises_with_distance_and_pace_quickens():
    km = np.array([1.0, 10.0, 100.0])
    minutes, _ = estimate_from_km(km, CALIBRATED)
    speed = 60 * km / minutes
    assert (np.diff(minutes) > 0).all() and (np.diff(speed) > 0).all()
