"""The straight-line estimate: hand-checkable arithmetic, fitting, and the stored calibration."""

from __future__ import annotations

import numpy as np
import pytest

from epu_mapper.travel.candidates import EARTH_RADIUS_KM
from epu_mapper.travel.estimate import (
    CALIBRATED,
    EstimateParams,
    estimate_errors,
    estimate_from_km,
    estimate_matrix,
    fit_estimate,
)

P = EstimateParams(intercept_min=5.0, min_per_km=1.5, detour=1.4, mae_min=2.0, p90_min=4.0,
                   n_pairs=10, source="test")


def test_estimate_from_km_by_hand():
    minutes, km = estimate_from_km(np.array([0.0, 10.0, 20.0]), P)
    np.testing.assert_allclose(minutes, [5.0, 20.0, 35.0])
    np.testing.assert_allclose(km, [0.0, 14.0, 28.0])
    assert minutes.dtype == np.float32 and km.dtype == np.float32


def test_implied_speed():
    # 1.4 road km per straight km in 1.5 minutes -> 56 km/h
    assert P.implied_speed_kmh == pytest.approx(56.0)


def test_estimate_matrix_mask_and_missing_coordinates():
    one_deg = EARTH_RADIUS_KM * np.pi / 180
    minutes, km = estimate_matrix(
        np.array([0.0, np.nan]), np.array([0.0, 0.0]),
        np.array([0.0, 1.0]), np.array([0.0, 0.0]),
        mask=np.array([[True, False], [True, True]]), params=P,
    )
    assert minutes[0, 0] == pytest.approx(5.0)
    assert np.isinf(minutes[0, 1]) and np.isinf(km[0, 1])  # skipped, not 0
    assert np.isnan(minutes[1]).all()  # no coordinates -> NaN, never 0
    m, k = estimate_matrix(np.array([0.0]), np.array([0.0]), np.array([1.0]), np.array([0.0]), params=P)
    assert m[0, 0] == pytest.approx(5.0 + 1.5 * one_deg, rel=1e-6)
    assert k[0, 0] == pytest.approx(1.4 * one_deg, rel=1e-6)


def test_fit_recovers_exact_parameters():
    x = np.linspace(1, 30, 50)
    fitted = fit_estimate(x, 3.0 + 1.2 * x, 1.3 * x, source="synthetic")
    assert (fitted.intercept_min, fitted.min_per_km, fitted.detour) == (3.0, 1.2, 1.3)
    assert fitted.mae_min == 0.0 and fitted.p90_min == 0.0 and fitted.n_pairs == 50


def test_fit_ignores_non_finite_pairs_and_needs_data():
    x = np.array([1.0, 2.0, 3.0, 4.0])
    y = np.array([4.0, 5.0, np.nan, 7.0])
    fitted = fit_estimate(x, y, x * 1.5, "t")
    assert fitted.n_pairs == 3 and fitted.intercept_min == 3.0 and fitted.min_per_km == 1.0
    with pytest.raises(ValueError, match="at least 3 routed pairs"):
        fit_estimate(x[:2], y[:2], x[:2], "t")


def test_estimate_errors_by_hand():
    # estimates 5 + 1.5x at x = 0, 10 -> 5, 20; routed 7, 17 -> errors -2, +3
    e = estimate_errors(P, np.array([0.0, 10.0]), np.array([7.0, 17.0]))
    assert e["mae_min"] == pytest.approx(2.5)
    assert e["bias_min"] == pytest.approx(0.5)
    assert e["n"] == 2


def test_calibrated_parameters_are_sane_and_labelled():
    c = CALIBRATED
    assert 0 < c.intercept_min < 10 and 0.5 < c.min_per_km < 3 and 1.0 < c.detour < 2.0
    assert 0 < c.mae_min < c.p90_min
    assert c.n_pairs > 10_000
    assert "England & Wales" in c.source and "held-out" in c.checked_on
    assert "Rutland" not in c.caption()  # the national check replaced the Rutland claim
    text = c.caption()
    assert "approximate" in text and f"{c.mae_min:.0f} minutes" in text
