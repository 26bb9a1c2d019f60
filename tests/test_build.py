"""The build pipeline on the tiny fixture: outputs, manifest, no-op reruns, atomic writes."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from epu_mapper import build as b
from epu_mapper import store
from epu_mapper.cli import main
from epu_mapper.errors import BuildMissingError
from epu_mapper.geography import LEVELS
from epu_mapper.settings import get_settings

STEPS = ["demand", "equity", "boundaries", "postcodes", "hospitals"]


@pytest.fixture
def tiny(tmp_path, tiny_raw):
    raw = tmp_path / "raw"
    shutil.copytree(tiny_raw, raw)
    return dataclasses.replace(get_settings(), data_dir=raw, build_dir=tmp_path / "build")


def _build(s, **kw):
    return b.build(s, only=STEPS, expected=None, quiet=True, **kw)


def test_build_writes_every_output_with_manifest(tiny):
    m = _build(tiny)
    assert m["ran"] == STEPS
    out = tiny.build_dir
    for step in b.STEPS:
        if step.name in STEPS:
            for rel in step.outputs:
                assert (out / rel).exists(), rel
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["rows"]["demand.parquet"] == 5
    assert manifest["rows"]["postcodes.parquet"] == 6
    assert manifest["rows"]["boundaries/lad.geojson"] == 5
    assert manifest["inputs"]["lsoa_demand"]["size"] == (tiny.data_dir / "demand/lsoa21_ew_demand_points.csv").stat().st_size
    assert len(manifest["inputs"]["lsoa_demand"]["sha256"]) == 64
    assert manifest["built_at"] and manifest["code_version"]
    assert any("E08000099" in w for w in manifest["warnings"])
    assert "ran" not in manifest


def test_rerun_is_a_noop_and_changed_input_rebuilds_only_its_steps(tiny):
    _build(tiny)
    demand_path = tiny.build_dir / "demand.parquet"
    mtime = demand_path.stat().st_mtime_ns
    assert _build(tiny)["ran"] == []
    assert demand_path.stat().st_mtime_ns == mtime
    # A hospital file changes: only the hospitals step reruns.
    hosp = tiny.data_dir / "hospitals/ni_acute_hospitals.csv"
    hosp.write_text(hosp.read_text() + "BT11AB,Second Toy,Belfest,0,0,54.602,-5.932\n")
    m = _build(tiny)
    assert m["ran"] == ["hospitals"]
    assert m["rows"]["hospitals.parquet"] == 5
    # The demand file changes: demand and everything that depends on it rebuild.
    lsoa = tiny.data_dir / "demand/lsoa21_ew_demand_points.csv"
    lsoa.write_text(lsoa.read_text().replace("1000,400.0,200.0", "1001,400.0,200.0"))
    assert _build(tiny)["ran"] == ["demand", "equity", "boundaries", "postcodes"]
    assert pd.read_parquet(demand_path)["population"].sum() == 9301.0


def test_missing_output_is_rebuilt(tiny):
    _build(tiny)
    (tiny.build_dir / "boundaries" / "icb.geojson").unlink()
    assert _build(tiny)["ran"] == ["boundaries"]


def test_force_rebuilds_everything(tiny):
    _build(tiny)
    assert _build(tiny, force=True)["ran"] == STEPS


def test_boundaries_properties_and_rounding(tiny):
    _build(tiny)
    for level in LEVELS:
        fc = json.loads((tiny.build_dir / "boundaries" / f"{level}.geojson").read_text())
        for f in fc["features"]:
            assert set(f["properties"]) == {"region_code", "region_name", "nation"}
            ring = f["geometry"]["coordinates"][0]
            if f["geometry"]["type"] == "MultiPolygon":
                ring = ring[0]
            assert all(round(x, 5) == x for pt in ring for x in pt)
    icb = json.loads((tiny.build_dir / "boundaries/icb.geojson").read_text())
    assert icb["features"][0]["properties"]["region_name"] == "NHS Toy London ICB"


def test_failing_writer_leaves_old_file_intact(tiny):
    _build(tiny)
    path = tiny.build_dir / "demand.parquet"
    before = path.read_bytes()

    def broken(tmp):
        Path(tmp).write_bytes(b"half a table")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        store.atomic_write(path, broken)
    assert path.read_bytes() == before
    assert not [p for p in tiny.build_dir.iterdir() if p.name.startswith(".demand.parquet")]


def test_step_failure_keeps_previous_outputs_and_manifest(tiny, monkeypatch):
    _build(tiny)
    old = (tiny.build_dir / "hospitals.parquet").read_bytes()
    hosp = tiny.data_dir / "hospitals/ni_acute_hospitals.csv"
    hosp.write_text(hosp.read_text() + "BT11AB,Second Toy,Belfest,0,0,54.602,-5.932\n")

    def boom(ctx):
        raise RuntimeError("interrupted")

    steps = [dataclasses.replace(s, run=boom) if s.name == "hospitals" else s for s in b.STEPS]
    monkeypatch.setattr(b, "STEPS", steps)
    with pytest.raises(RuntimeError):
        _build(tiny)
    assert (tiny.build_dir / "hospitals.parquet").read_bytes() == old
    monkeypatch.undo()
    assert _build(tiny)["ran"] == ["hospitals"]  # still stale, so it reruns


def test_known_totals_are_enforced(tiny):
    with pytest.raises(b.BuildCheckError, match="the region lookup has 5 rows, expected 43,498"):
        b.build(tiny, only=["demand"], quiet=True)  # default expected = the real UK totals
    assert not (tiny.build_dir / "demand.parquet").exists()


def test_structural_check_failure_writes_nothing(tiny):
    lookup = tiny.data_dir / "boundaries/lookup_small_area_to_health_regions_uk.csv"
    lines = lookup.read_text().splitlines()
    lookup.write_text("\n".join(lines[:-1]) + "\n")  # lose the NI area
    with pytest.raises(b.BuildCheckError, match="no region row"):
        _build(tiny)
    assert not (tiny.build_dir / "demand.parquet").exists()


def test_reading_an_unbuilt_table_names_the_command(tiny):
    with pytest.raises(BuildMissingError, match="epu-mapper data build"):
        store.read_built("demand.parquet", tiny)


def test_cli_build_and_status(tiny, monkeypatch, capsys):
    monkeypatch.setenv("EPU_MAPPER_DATA", str(tiny.data_dir))
    monkeypatch.setenv("EPU_MAPPER_BUILD", str(tiny.build_dir))
    assert main(["data", "build", "--quiet", "--only", "demand"]) == 2
    assert "expected 43,498" in capsys.readouterr().err
    args = ["data", "build", "--quiet", "--only", "demand", "--skip-known-totals"]
    assert main(args) == 0
    assert "built demand" in capsys.readouterr().out
    assert main(args) == 0
    assert "up to date" in capsys.readouterr().out
    assert main(["data", "status"]) == 0
    assert "demand.parquet: 5" in capsys.readouterr().out
    assert main(["data", "build", "--only", "nonsense"]) == 2
    assert "unknown build step" in capsys.readouterr().err


def test_code_fingerprint_covers_every_module_the_build_imports(monkeypatch, tmp_path):
    from epu_mapper import build

    modules = set(build.imported_modules())
    # imported inside build steps (units, sites) and through them (hours, csvrows)
    assert {"epu_mapper.units", "epu_mapper.sites", "epu_mapper.hours", "epu_mapper.csvrows",
            "epu_mapper.levels", "epu_mapper.geography"} <= modules
    assert not any(m.startswith(("epu_mapper.ui", "epu_mapper.api")) for m in modules)
    before = build._code_version()
    real = build._module_path
    root = Path(build.__file__).resolve().parent
    edited = tmp_path / "hours.py"
    edited.write_bytes(real(root, "epu_mapper.hours").read_bytes() + b"\n# a code change\n")
    monkeypatch.setattr(build, "_module_path",
                        lambda r, name: edited if name == "epu_mapper.hours" else real(r, name))
    assert build._code_version() != before  # a change to hours.py rebuilds the data
