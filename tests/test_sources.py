"""The data directory setting and the raw-file registry (offline, tiny fixtures)."""

from __future__ import annotations

import dataclasses
import hashlib
import shutil

import pytest

from epu_mapper import sources
from epu_mapper.cli import main
from epu_mapper.errors import DataDirectoryError
from epu_mapper.settings import get_settings


def _settings(data_dir, tmp_path):
    return dataclasses.replace(get_settings(), data_dir=data_dir, build_dir=tmp_path / "build")


def test_unset_data_dir_says_what_to_set(tmp_path):
    with pytest.raises(DataDirectoryError, match="EPU_MAPPER_DATA"):
        sources.data_dir(_settings(None, tmp_path))


def test_missing_data_dir_names_the_folder(tmp_path):
    missing = tmp_path / "nowhere"
    with pytest.raises(DataDirectoryError) as exc:
        sources.data_dir(_settings(missing, tmp_path))
    assert str(missing) in str(exc.value)
    assert "does not exist" in str(exc.value)


def test_every_missing_file_is_named_once_with_the_folder(tiny_raw, tmp_path):
    root = tmp_path / "raw"
    shutil.copytree(tiny_raw, root)
    (root / sources.RAW_FILES["gb_postcodes"]).unlink()
    (root / sources.RAW_FILES["lad_bnd"]).unlink()
    with pytest.raises(DataDirectoryError) as exc:
        sources.require(sources.RAW_FILES, _settings(root, tmp_path))
    msg = str(exc.value)
    assert "2 raw file(s) missing" in msg
    assert sources.RAW_FILES["gb_postcodes"] in msg and sources.RAW_FILES["lad_bnd"] in msg
    assert str(root) in msg
    assert sources.RAW_FILES["lsoa_demand"] not in msg


def test_fixture_has_every_raw_file(tiny_raw, tmp_path):
    paths = sources.require(sources.RAW_FILES, _settings(tiny_raw, tmp_path))
    assert set(paths) == set(sources.RAW_FILES)
    assert all(p.is_file() for p in paths.values())


def test_unknown_key_is_a_programming_error(tiny_raw, tmp_path):
    with pytest.raises(KeyError):
        sources.require(["no_such_file"], _settings(tiny_raw, tmp_path))


def test_sha256_matches_hashlib(tmp_path):
    f = tmp_path / "x.bin"
    data = b"abc" * 1_000_000
    f.write_bytes(data)
    assert sources.file_sha256(f, chunk=4096) == hashlib.sha256(data).hexdigest()


def test_unreadable_csv_is_a_clear_error(tiny_raw, tmp_path):
    root = tmp_path / "raw"
    shutil.copytree(tiny_raw, root)
    (root / sources.RAW_FILES["lsoa_demand"]).write_text("not,a\n\"broken", encoding="utf-8")
    with pytest.raises(DataDirectoryError, match="could not read"):
        sources.read_demand_inputs(_settings(root, tmp_path))


def test_readers_return_documented_columns(tiny_raw, tmp_path):
    s = _settings(tiny_raw, tmp_path)
    d = sources.read_demand_inputs(s)
    assert {"lsoa21_code", "est_female_15_44_halfsplit", "lat", "lon"} <= set(d["lsoa"].columns)
    assert {"dz11_code", "female_15_44"} <= set(d["dz"].columns)
    assert {"sdz21_code", "est_population_mid2020_by_households"} <= set(d["sdz"].columns)
    pc = sources.read_gb_postcodes(s)
    assert list(pc.columns) == ["postcode", "pq", "lat", "lon", "admin_district_code"]
    assert len(pc) == 6 and pc["lat"].isna().sum() == 1


def test_cli_reports_missing_data_dir_without_traceback(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("EPU_MAPPER_DATA", str(tmp_path / "absent"))
    monkeypatch.setenv("EPU_MAPPER_BUILD", str(tmp_path / "build"))
    assert main(["data", "build", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "absent" in err and "Traceback" not in err


def test_parent_folder_gets_a_did_you_mean(tiny_raw, tmp_path):
    shutil.copytree(tiny_raw, tmp_path / "data" / "raw")
    with pytest.raises(DataDirectoryError) as exc:
        sources.require(sources.RAW_FILES, _settings(tmp_path / "data", tmp_path))
    assert f"Did you mean EPU_MAPPER_DATA={tmp_path / 'data' / 'raw'}" in str(exc.value)
    assert f"{len(sources.RAW_FILES)} raw file(s) missing" in str(exc.value)
