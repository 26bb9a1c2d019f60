"""Damaged build files: a clear message naming the file and the rebuild command, never a traceback.

Each case mirrors the real build folder (``make test`` fills it) with symbolic links and
replaces one file by a damaged copy (truncated, garbage, empty, wrong JSON), then runs the
CLI commands that read it. The expected answer: exit status 2, one message that names the
damaged file and the command that rebuilds it, and no Python traceback.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from epu_mapper import cli, store
from epu_mapper.errors import BuildDamagedError
from epu_mapper.settings import get_settings

pytestmark = pytest.mark.integration

DATA_FILES = [
    "demand.parquet", "regions.parquet", "postcodes.parquet", "postcode_sectors.parquet",
    "postcode_districts.parquet", "postcodes_ni.parquet", "manifest.json",
]
DAMAGE = {
    "truncated": lambda raw: raw[: max(1, min(len(raw) // 2, 65_536))],
    "garbage": lambda raw: b"PAR1 this is not a table \x00\xff" * 40,
    "empty": lambda raw: b"",
}
JSON_DAMAGE = {
    "truncated": lambda raw: raw[: len(raw) // 2],
    "garbage": lambda raw: b"\x89PNG\r\n\x1a\n\x00\x00 not json",
    "not-an-object": lambda raw: b"[1, 2, 3]",
}
#: commands that read the data tables (nearest: postcodes + context; gaps: context; status)
COMMANDS = {
    "nearest": ["nearest", "LE15 6RB", "--at", "2026-11-30T10:00"],
    "gaps": ["gaps", "--at", "2026-11-30T10:00"],
    "postcode": ["postcode", "LE15 6RB"],
}
#: which commands read which file
READS = {
    "demand.parquet": {"nearest", "gaps", "postcode"},
    "regions.parquet": {"nearest", "gaps", "postcode"},
    "postcodes.parquet": {"nearest", "postcode"},
    "postcode_sectors.parquet": {"nearest", "postcode"},
    "postcode_districts.parquet": {"nearest", "postcode"},
    "postcodes_ni.parquet": {"nearest", "postcode"},
    "manifest.json": {"nearest", "gaps", "data status"},
}


@pytest.fixture(scope="module")
def real_build_dir(real_settings) -> Path:
    build = get_settings().build_dir
    assert (build / "manifest.json").is_file() and (build / "travel").is_dir(), (
        f"the damaged-build tests need a full build in {build} (make test builds it)")
    return build


def mirror(src: Path, dst: Path, damaged: str | tuple[str, ...], raw_damage) -> Path:
    """``dst`` mirroring ``src`` with symlinks, except ``damaged`` (damaged copies of real files)."""
    names = {damaged} if isinstance(damaged, str) else set(damaged)
    for path in src.rglob("*"):
        rel = path.relative_to(src)
        target = dst / rel
        if path.is_dir():
            target.mkdir(parents=True, exist_ok=True)
        elif str(rel) in names:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(raw_damage(path.read_bytes()))
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            os.symlink(path, target)
    return dst


def run(argv: list[str], capsys) -> tuple[int, str, str]:
    rc = cli.main(argv)
    out, err = capsys.readouterr()
    return rc, out, err


def assert_clear(rc: int, out: str, err: str, damaged: Path, command: str) -> None:
    assert rc == 2, (rc, out[-500:], err[-500:])
    assert "Traceback" not in out + err
    assert str(damaged) in err
    assert command in err
    assert len(err.strip().splitlines()) <= 3 and len(err) < 1200, err


CASES = [(name, kind) for name in DATA_FILES
         for kind in (JSON_DAMAGE if name.endswith(".json") else DAMAGE)
         if kind != "empty" or name == "demand.parquet"]


@pytest.mark.parametrize(("name", "kind"), CASES)
def test_damaged_data_table(real_build_dir, tmp_path, monkeypatch, capsys, name, kind):
    damage = (JSON_DAMAGE if name.endswith(".json") else DAMAGE)[kind]
    build = mirror(real_build_dir, tmp_path / "build", name, damage)
    monkeypatch.setenv("EPU_MAPPER_BUILD", str(build))
    argvs = dict(COMMANDS)
    argvs["data status"] = ["data", "status"]
    for label in sorted(READS[name]):
        rc, out, err = run(argvs[label], capsys)
        assert_clear(rc, out, err, build / name, "epu-mapper data build --force")


def test_guarded_reader_names_file_and_command(tmp_path):
    bad = tmp_path / "demand.parquet"
    bad.write_bytes(b"garbage")
    with pytest.raises(BuildDamagedError) as exc:
        store.read_parquet_file(bad, "The demand table")
    msg = str(exc.value)
    assert str(bad) in msg and "epu-mapper data build --force" in msg and "damaged" in msg
    assert not store.looks_intact(bad)
    (tmp_path / "m.json").write_text("{", encoding="utf-8")
    with pytest.raises(BuildDamagedError, match="m.json"):
        store.read_json_dict(tmp_path / "m.json", "The manifest")
    assert store.read_json_dict(tmp_path / "none.json", "The manifest") == {}


MATRIX = "travel/matrix_estimate.parquet"
PROVENANCE = "travel/matrix_estimate.json"
CACHE = "travel/matrix_estimate.cache.npz"
REBUILD_MATRIX = "epu-mapper travel build --engine estimate"


@pytest.fixture(scope="module")
def clean_nearest(real_build_dir):
    """The answer of ``nearest`` on the undamaged build (what a damaged cache must not change)."""
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        assert cli.main(COMMANDS["nearest"]) == 0
    return out.getvalue()


@pytest.mark.parametrize("kind", sorted(JSON_DAMAGE))
def test_damaged_matrix_provenance(real_build_dir, tmp_path, monkeypatch, capsys, kind):
    build = mirror(real_build_dir, tmp_path / "build", PROVENANCE, JSON_DAMAGE[kind])
    monkeypatch.setenv("EPU_MAPPER_BUILD", str(build))
    for argv in (COMMANDS["nearest"], COMMANDS["gaps"], ["travel", "status"]):
        rc, out, err = run(argv, capsys)
        assert_clear(rc, out, err, build / PROVENANCE, REBUILD_MATRIX)


@pytest.mark.parametrize("kind", ["truncated", "garbage"])
def test_damaged_dense_cache_falls_back_to_the_matrix(real_build_dir, tmp_path, monkeypatch, capsys,
                                                      clean_nearest, kind):
    assert (real_build_dir / CACHE).is_file()
    build = mirror(real_build_dir, tmp_path / "build", CACHE, DAMAGE[kind])
    monkeypatch.setenv("EPU_MAPPER_BUILD", str(build))
    rc, out, err = run(COMMANDS["nearest"], capsys)
    assert rc == 0 and "Traceback" not in err
    assert out == clean_nearest  # nothing lost: the same answer from the Parquet matrix


@pytest.mark.parametrize("kind", ["truncated", "garbage"])
def test_damaged_matrix(real_build_dir, tmp_path, monkeypatch, capsys, kind):
    build = mirror(real_build_dir, tmp_path / "build", MATRIX, DAMAGE[kind])
    monkeypatch.setenv("EPU_MAPPER_BUILD", str(build))
    rc, out, err = run(["travel", "status"], capsys)
    assert_clear(rc, out, err, build / MATRIX, REBUILD_MATRIX + " --force")
    # with its dense cache damaged too, the matrix itself is read: a clear message
    build2 = mirror(real_build_dir, tmp_path / "build2", (MATRIX, CACHE), DAMAGE[kind])
    monkeypatch.setenv("EPU_MAPPER_BUILD", str(build2))
    rc, out, err = run(COMMANDS["nearest"], capsys)
    assert_clear(rc, out, err, build2 / MATRIX, REBUILD_MATRIX + " --force")
