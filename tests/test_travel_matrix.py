"""The matrix layer on tiny fixtures (offline): long/dense tables, build/reuse/load,
honesty (NaN with a reason, never 0; engine always named), single-point queries."""

from __future__ import annotations

import json
from pathlib import Path
from typing import ClassVar

import numpy as np
import pandas as pd
import pytest

from epu_mapper.cli import main
from epu_mapper.errors import BuildMissingError
from epu_mapper.settings import Settings
from epu_mapper.travel import REASONS, from_point, load_matrix
from epu_mapper.travel.build import build_matrix
from epu_mapper.travel.estimate import CALIBRATED
from epu_mapper.travel.osrm import TableResult
from epu_mapper.travel.pairs import (
    AREA_OUTSIDE,
    NO_ROUTE,
    UNIT_OUTSIDE,
    compute_osrm,
    dense_from_long,
    to_long,
)

# 5 areas x 3 units, hand-placed around (52, -1); area A5 has no coordinates.
DEMAND = pd.DataFrame({
    "area_code": ["A1", "A2", "A3", "A4", "A5"],
    "lat": [52.00, 52.05, 52.10, 52.20, np.nan],
    "lon": [-1.00, -1.00, -1.00, -1.00, np.nan],
})
UNITS = pd.DataFrame({
    "unit_id": ["U1", "U2", "U3"],
    "lat": [52.00, 52.10, 52.30],
    "lon": [-1.00, -1.00, -1.00],
    "mappable": [True, True, True],
})


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=None, build_dir=tmp_path / "build", units_csv=tmp_path / "units.csv")


def test_build_load_estimate(settings):
    path, _, reused = build_matrix("estimate", settings, demand=DEMAND, units=UNITS, progress=False,
                                   log=lambda s: None)
    assert not reused and path.name == "matrix_estimate.parquet"
    long = pd.read_parquet(path)
    assert list(long.columns) == ["area_code", "unit_id", "minutes", "km", "reason", "engine"]
    assert long["minutes"].dtype == np.float32 and long["km"].dtype == np.float32
    assert (long["engine"] == "estimate").all()
    # A5 has no coordinates: NaN with a reason, never 0
    a5 = long[long["area_code"] == "A5"]
    assert a5["minutes"].isna().all() and (a5["reason"] == "no coordinates").all()
    assert (long["minutes"].dropna() > 0).all()
    assert long.loc[long["minutes"].notna(), "reason"].isna().all()

    meta = json.loads(path.with_suffix(".json").read_text())
    assert meta["engine"] == "estimate" and meta["approximate"] is True
    assert meta["typical_error_min"] == CALIBRATED.mae_min
    assert meta["counts"]["pairs_kept"] == 15 and meta["counts"]["unreachable"]["no coordinates"] == 3
    assert meta["params"]["estimate"]["intercept_min"] == CALIBRATED.intercept_min

    m = load_matrix(settings, demand=DEMAND, units=UNITS)
    assert m.engine == "estimate" and m.approximate and m.typical_error_min == CALIBRATED.mae_min
    assert m.minutes.shape == (5, 3) and m.minutes.dtype == np.float32
    # A1 sits on U1: the estimate's intercept only
    assert m.minutes[0, 0] == pytest.approx(CALIBRATED.intercept_min)
    assert np.isnan(m.minutes[4]).all()
    assert "approximate" in m.caption
    assert set(m.unreachable["reason"]) == {"no coordinates"}


def test_reuse_until_an_input_changes(settings):
    quiet = {"progress": False, "log": lambda s: None}
    _, first, _ = build_matrix("estimate", settings, demand=DEMAND, units=UNITS, **quiet)
    _, again, reused = build_matrix("estimate", settings, demand=DEMAND, units=UNITS, **quiet)
    assert reused and again["inputs_key"] == first["inputs_key"]
    moved = UNITS.assign(lat=[52.00, 52.11, 52.30])
    _, changed, reused = build_matrix("estimate", settings, demand=DEMAND, units=moved, **quiet)
    assert not reused and changed["inputs_key"] != first["inputs_key"]
    _, _, reused = build_matrix("estimate", settings, demand=DEMAND, units=moved, force=True, **quiet)
    assert not reused


def test_load_matrix_without_build_names_the_command(settings):
    with pytest.raises(BuildMissingError, match="epu-mapper travel build"):
        load_matrix(settings)


def test_osrm_engine_without_network_is_a_user_error(settings):
    with pytest.raises(BuildMissingError, match="epu-mapper travel network"):
        build_matrix("osrm", settings, demand=DEMAND, units=UNITS, log=lambda s: None)


def test_cli_osrm_without_network_exits_2(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("EPU_MAPPER_BUILD", str(tmp_path / "b"))
    assert main(["travel", "build", "--engine", "osrm"]) == 2
    err = capsys.readouterr().err
    assert "epu-mapper travel network" in err and "Traceback" not in err


def test_long_dense_round_trip_keeps_inf_and_nan():
    from epu_mapper.travel.pairs import PairResult

    minutes = np.array([[1.0, np.inf], [np.nan, 4.0]], dtype=np.float32)
    km = minutes.copy()
    reason = np.array([[0, 0], [NO_ROUTE, 0]], dtype=np.int8)
    mask = np.array([[True, False], [True, True]])
    res = PairResult(minutes, km, reason, np.full(2, np.nan), np.full(2, np.nan))
    long = to_long(res, np.array(["a", "b"]), np.array(["u", "v"]), mask, "osrm")
    assert len(long) == 3  # the skipped pair is not stored
    assert long["reason"].tolist()[1] == "no route"
    m, _ = dense_from_long(long, np.array(["a", "b"]), np.array(["u", "v"]))
    assert m[0, 0] == 1.0 and np.isinf(m[0, 1]) and np.isnan(m[1, 0]) and m[1, 1] == 4.0


class FakeRouter:
    """A stand-in network: inside when lon > -2; time = 2 x |dlat| x 100 minutes; U3 unreachable."""

    name = "fake"
    meta: ClassVar[dict] = {"name": "fake", "osm_timestamp": "2026-10-01T20:21:02Z"}

    def inside(self, lat, lon):
        return np.asarray(lon) > -2

    def table(self, o_lat, o_lon, d_lat, d_lon):
        t = 200.0 * np.abs(np.asarray(o_lat)[:, None] - np.asarray(d_lat)[None, :])
        t[:, np.asarray(d_lat) == 52.30] = np.nan  # no route to U3
        return TableResult(t, t / 2, np.full(len(o_lat), 12.0), np.full(len(d_lat), 3.0))


def test_compute_osrm_reasons_with_a_fake_router():
    o_lat = np.array([52.0, 52.1, 52.2])
    o_lon = np.array([-1.0, -3.0, -1.0])  # area 1 outside
    d_lat = np.array([52.0, 52.1, 52.3, 52.0])
    d_lon = np.array([-1.0, -1.0, -1.0, -5.0])  # unit 3 outside
    mask = np.ones((3, 4), dtype=bool)
    mask[2, 1] = False  # skipped
    res = compute_osrm(FakeRouter(), o_lat, o_lon, d_lat, d_lon, mask, chunk=1)
    assert res.minutes[0, 1] == pytest.approx(20.0) and res.km[0, 1] == pytest.approx(10.0)
    assert np.isnan(res.minutes[1]).all() and (res.reason[1] == AREA_OUTSIDE).all()
    assert np.isnan(res.minutes[0, 3]) and res.reason[0, 3] == UNIT_OUTSIDE
    assert np.isnan(res.minutes[0, 2]) and res.reason[0, 2] == NO_ROUTE
    assert np.isinf(res.minutes[2, 1]) and res.reason[2, 1] == 0
    assert res.origin_snap_m[0] == 12.0 and np.isnan(res.origin_snap_m[1])
    # no NaN without a reason, no zero anywhere off the diagonal of identical points
    assert (res.reason[np.isnan(res.minutes)] > 0).all()
    assert set(REASONS) >= set(np.unique(res.reason[res.reason > 0]).tolist())


def test_from_point_estimate_only():
    units = UNITS.assign(lat=[52.00, 52.10, np.nan])
    df = from_point(52.0, -1.0, units, router=None)
    assert list(df.columns) == ["unit_id", "minutes", "km", "engine", "approximate", "reason",
                                "origin_snap_m", "route"]
    assert df["route"].iloc[:2].str.startswith("road").all() and pd.isna(df.loc[2, "route"])
    assert (df["engine"] == "estimate").all() and df["approximate"].all()
    assert df.loc[0, "minutes"] == pytest.approx(CALIBRATED.intercept_min)
    assert np.isnan(df.loc[2, "minutes"]) and df.loc[2, "reason"] == "no coordinates"
    assert df["reason"].iloc[:2].isna().all()


def test_from_point_mixes_engines_per_unit():
    # FakeRouter: units with lon <= -2 are outside the network -> estimate for them
    units = pd.DataFrame({"unit_id": ["in", "out"], "lat": [52.1, 52.1], "lon": [-1.0, -3.0]})
    df = from_point(52.0, -1.0, units, router=FakeRouter())
    assert df["engine"].tolist() == ["osrm", "estimate"]
    assert df["approximate"].tolist() == [False, True]
    assert df.loc[0, "minutes"] == pytest.approx(20.0)
    assert df.loc[0, "origin_snap_m"] == 12.0 and df.attrs["far_from_road"] is False


def test_load_matrix_refuses_a_stale_matrix(settings):
    from epu_mapper.travel.load import MatrixOutOfDateError

    build_matrix("estimate", settings, demand=DEMAND, units=UNITS, progress=False, log=lambda s: None)
    moved = UNITS.assign(lon=[-1.00, -1.01, -1.00])
    with pytest.raises(MatrixOutOfDateError, match="out of date.*epu-mapper travel build"):
        load_matrix(settings, demand=DEMAND, units=moved)
    with pytest.raises(BuildMissingError):  # the UI's "build now" path catches this class
        load_matrix(settings, demand=DEMAND.iloc[:3], units=UNITS)
    # unmappable rows are ignored, as in the build
    extra = pd.concat([UNITS, pd.DataFrame({"unit_id": ["U9"], "lat": [np.nan], "lon": [np.nan],
                                            "mappable": [False]})])
    assert load_matrix(settings, demand=DEMAND, units=extra).minutes.shape == (5, 3)


# --------------------------------------------------------------------------- dense .npy load cache


def _spy_parquet(monkeypatch) -> list:
    """Count the matrix loader's Parquet reads (the cache path reads none)."""
    import pyarrow.parquet as pq

    calls: list = []
    real = pq.read_table

    def spy(*args, **kwargs):
        calls.append(args[0])
        return real(*args, **kwargs)

    monkeypatch.setattr(pq, "read_table", spy)
    return calls


def _assert_same_matrix(a, b) -> None:
    np.testing.assert_array_equal(a.minutes, b.minutes)  # NaN == NaN, inf == inf
    np.testing.assert_array_equal(a.km, b.km)
    assert a.minutes.dtype == b.minutes.dtype == np.float32
    assert a.area_codes.tolist() == b.area_codes.tolist()
    assert a.unit_ids.tolist() == b.unit_ids.tolist()
    assert (a.engine, a.approximate, a.typical_error_min) == (b.engine, b.approximate, b.typical_error_min)
    assert a.provenance == b.provenance
    ua, ub = (m.unreachable.astype(str).reset_index(drop=True) for m in (a, b))
    pd.testing.assert_frame_equal(ua, ub)


def test_dense_cache_written_and_used_when_fresh(settings, monkeypatch):
    from epu_mapper.travel.store import cache_path

    _, prov, _ = build_matrix("estimate", settings, demand=DEMAND, units=UNITS, progress=False,
                              log=lambda s: None)
    path = cache_path(settings.build_dir, "estimate")
    assert path.is_file()
    assert sorted(p.name for p in path.parent.iterdir() if "cache" in p.name) == [path.name]
    with np.load(path) as npz:
        key = json.loads(str(npz["key"]))
        assert npz["minutes"].dtype == np.float32 and npz["minutes"].shape == (5, 3)
    assert key["inputs_key"] == prov["inputs_key"] and key["created_at"] == prov["created_at"]
    calls = _spy_parquet(monkeypatch)
    for demand, units in ((DEMAND, UNITS), (None, None)):
        cached = load_matrix(settings, demand=demand, units=units)
        assert calls == [], "a fresh cache is read instead of the Parquet"
        path.unlink()  # no cache: the Parquet path
        from_parquet = load_matrix(settings, demand=demand, units=units)
        assert len(calls) == 1
        calls.clear()
        _assert_same_matrix(cached, from_parquet)
        assert set(cached.unreachable["reason"]) == {"no coordinates"} and len(cached.unreachable) == 3
        build_matrix("estimate", settings, demand=DEMAND, units=UNITS, progress=False,
                     log=lambda s: None)  # up to date: rewrites only the missing cache
        assert path.is_file()
        calls.clear()  # (that reads the Parquet once)


def test_dense_cache_follows_a_reordered_request(settings):
    from epu_mapper.travel.store import cache_path

    build_matrix("estimate", settings, demand=DEMAND, units=UNITS, progress=False, log=lambda s: None)
    # unmappable rows are dropped and the column order follows the (mappable) units given
    extra = pd.concat([UNITS, pd.DataFrame({"unit_id": ["U9"], "lat": [np.nan], "lon": [np.nan],
                                            "mappable": [False]})])
    cached = load_matrix(settings, demand=DEMAND, units=extra)
    cache_path(settings.build_dir, "estimate").unlink()
    _assert_same_matrix(cached, load_matrix(settings, demand=DEMAND, units=extra))


def test_stale_or_damaged_cache_is_ignored(settings, monkeypatch):
    from epu_mapper.travel.store import cache_path

    quiet = {"progress": False, "log": lambda s: None}
    build_matrix("estimate", settings, demand=DEMAND, units=UNITS, **quiet)
    path = cache_path(settings.build_dir, "estimate")
    good = path.read_bytes()
    with np.load(path) as npz:
        arrays = {name: npz[name] for name in npz.files}
    good_key = json.loads(str(arrays["key"]))
    reference = load_matrix(settings, demand=DEMAND, units=UNITS)
    calls = _spy_parquet(monkeypatch)

    def check_parquet_used() -> None:
        m = load_matrix(settings, demand=DEMAND, units=UNITS)
        assert len(calls) == 1, "the stale cache was not used"
        calls.clear()
        _assert_same_matrix(m, reference)

    def write(key: dict | None = None, **replace) -> None:
        out = {**arrays, **replace}
        if key is not None:
            out["key"] = np.array(json.dumps(key))
        out = {k: v for k, v in out.items() if v is not None}
        with open(path, "wb") as fh:
            np.savez(fh, **out)

    write({**good_key, "inputs_key": "0" * 64})  # a cache made for other inputs
    check_parquet_used()
    # same inputs but another build of the matrix (e.g. rebuilt by a version without the cache)
    write({**good_key, "created_at": "2000-01-01T00:00:00+00:00"})
    check_parquet_used()
    write(minutes=np.zeros((2, 2), dtype=np.float32))  # an array of the wrong shape
    check_parquet_used()
    write(minutes=None)  # a missing array
    check_parquet_used()
    path.write_bytes(good[: len(good) // 2])  # a truncated file
    check_parquet_used()
    path.write_bytes(b"not a zip")
    check_parquet_used()
    path.write_bytes(good)  # and the good one is used again
    load_matrix(settings, demand=DEMAND, units=UNITS)
    assert calls == []


def test_rebuild_replaces_the_cache(settings):
    quiet = {"progress": False, "log": lambda s: None}
    build_matrix("estimate", settings, demand=DEMAND, units=UNITS, **quiet)
    old = load_matrix(settings, demand=DEMAND, units=UNITS)
    moved = UNITS.assign(lat=[52.00, 52.11, 52.30])
    build_matrix("estimate", settings, demand=DEMAND, units=moved, **quiet)
    new = load_matrix(settings, demand=DEMAND, units=moved)
    assert new.minutes[1, 1] != old.minutes[1, 1]  # the new matrix, not the old cache
    from epu_mapper.travel.store import cache_path

    cache_path(settings.build_dir, "estimate").unlink()
    _assert_same_matrix(new, load_matrix(settings, demand=DEMAND, units=moved))


def test_one_caption_per_engine():
    from epu_mapper.travel.caption import engine_caption, shown_caption

    assert engine_caption("estimate") == CALIBRATED.caption()
    assert engine_caption("osrm", "2026-10-01T20:21:02Z") == (
        "road travel time by car (OSRM, free-flow, OpenStreetMap 2026-10-01)")
    assert engine_caption("osrm", None, "http://127.0.0.1:5000") == (
        "road travel time by car (OSRM server http://127.0.0.1:5000, free-flow)")
    assert shown_caption([]) == ""
    assert shown_caption(["osrm", "osrm"], "2026-10-01") == engine_caption("osrm", "2026-10-01")
    assert shown_caption(["osrm", "estimate"]) == CALIBRATED.caption()  # any estimate says so


def test_matrix_and_point_captions_come_from_the_engine(settings):
    _, prov, _ = build_matrix("estimate", settings, demand=DEMAND, units=UNITS, progress=False,
                              log=lambda s: None)
    m = load_matrix(settings, demand=DEMAND, units=UNITS)
    assert prov["caption"] == m.caption == CALIBRATED.caption()
    tp = from_point(52.0, -1.0, UNITS, settings=settings, router=None)
    assert tp.attrs["caption"] == CALIBRATED.caption()


def test_with_likely_boundaries_link_survives_a_moved_build_folder(tmp_path):
    from epu_mapper.travel.with_likely import link_boundaries

    old, new = tmp_path / "old_build", tmp_path / "build"
    for b in (old, new):
        (b / "boundaries").mkdir(parents=True)
    sub = new / "with_likely"
    sub.mkdir()
    (sub / "boundaries").symlink_to(old / "boundaries", target_is_directory=True)
    link_boundaries(sub, new)  # a link into the folder the build was copied from
    assert (sub / "boundaries").resolve() == (new / "boundaries").resolve()
    (old / "boundaries").rmdir()
    (sub / "boundaries").unlink()
    (sub / "boundaries").symlink_to(old / "boundaries", target_is_directory=True)  # now dangling
    link_boundaries(sub, new)
    assert (sub / "boundaries").resolve() == (new / "boundaries").resolve()
    link_boundaries(sub, new)  # and again: nothing to do
    assert (sub / "boundaries").is_dir()
