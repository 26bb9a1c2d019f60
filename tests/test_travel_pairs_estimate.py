"""estimate_pairs: element-wise pairs, the interface the pairs CLI and the water rule share."""

import numpy as np
import pandas as pd
import pytest

from epu_mapper.spatial import haversine_km
from epu_mapper.travel.estimate import CALIBRATED, PAIR_COLUMNS, estimate_from_km, estimate_pairs


def test_pairs_are_element_wise_with_reasons():
    o_lat, o_lon = np.array([52.67, np.nan]), np.array([-0.73, -1.0])
    d_lat, d_lon = np.array([52.63, 52.0]), np.array([-1.13, -1.0])
    df = estimate_pairs(o_lat, o_lon, d_lat, d_lon)
    assert list(df.columns) == PAIR_COLUMNS
    want, _ = estimate_from_km(haversine_km(o_lat[:1], o_lon[:1], d_lat[:1], d_lon[:1]), CALIBRATED)
    assert df.loc[0, "minutes"] == pytest.approx(float(want[0]))
    assert pd.isna(df.loc[0, "reason"]) and df.loc[0, "route"]
    assert np.isnan(df.loc[1, "minutes"]) and df.loc[1, "reason"] == "no coordinates"


def test_pairs_need_equal_lengths():
    with pytest.raises(ValueError, match="same length"):
        estimate_pairs(np.zeros(2), np.zeros(2), np.zeros(3), np.zeros(3))
