"""Writes on a read-only or full disk fail with one clear message and leave the old files whole.

The tests run as root in CI, where a read-only folder is still writable, so the operating
system's refusal is simulated at the point every write goes through (store.atomic_path):
``EROFS`` when the temporary file is created, ``ENOSPC`` halfway through writing it.
"""

from __future__ import annotations

import dataclasses
import errno
import os
import shutil
import tempfile
from pathlib import Path

import pandas as pd
import pytest

from epu_mapper import store
from epu_mapper.cli import main
from epu_mapper.errors import EpuMapperError
from epu_mapper.settings import get_settings

BUILD_ARGS = ["data", "build", "--quiet", "--force", "--skip-known-totals",
              "--only", "demand", "--only", "boundaries"]


@pytest.fixture
def tiny_built(tmp_path, tiny_raw, monkeypatch):
    raw = tmp_path / "raw"
    shutil.copytree(tiny_raw, raw)
    monkeypatch.setenv("EPU_MAPPER_DATA", str(raw))
    monkeypatch.setenv("EPU_MAPPER_BUILD", str(tmp_path / "build"))
    assert main(BUILD_ARGS) == 0
    return dataclasses.replace(get_settings())


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _read_only(monkeypatch):
    """Creating, replacing and removing files all fail as on a read-only mount."""
    def refuse(*_a, **_k):
        raise OSError(errno.EROFS, "Read-only file system")

    for module, name in ((tempfile, "mkstemp"), (os, "replace"), (os, "unlink"), (os, "remove")):
        monkeypatch.setattr(module, name, refuse)


def test_data_build_force_on_a_read_only_folder(tiny_built, monkeypatch, capsys):
    before = _snapshot(tiny_built.build_dir)
    _read_only(monkeypatch)
    rc = main(BUILD_ARGS)
    err = capsys.readouterr().err
    assert rc == 2
    assert "Traceback" not in err and "read-only" in err and str(tiny_built.build_dir) in err
    assert len(err.strip().splitlines()) == 1
    assert _snapshot(tiny_built.build_dir) == before


def test_travel_build_force_on_a_read_only_folder(tiny_built, monkeypatch, capsys):
    assert main(["travel", "build", "--engine", "estimate"]) == 0
    capsys.readouterr()
    before = _snapshot(tiny_built.build_dir)
    _read_only(monkeypatch)
    rc = main(["travel", "build", "--engine", "estimate", "--force"])
    err = capsys.readouterr().err
    assert rc == 2
    assert "Traceback" not in err and "read-only" in err
    assert _snapshot(tiny_built.build_dir) == before


def test_full_disk_midway_leaves_the_old_file(tmp_path):
    path = tmp_path / "t.parquet"
    store.write_parquet(path, pd.DataFrame({"a": [1, 2]}))
    before = path.read_bytes()

    def half_then_full(tmp):
        Path(tmp).write_bytes(b"PAR1 half")
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(EpuMapperError, match="the disk is full") as exc:
        store.atomic_write(path, half_then_full)
    assert str(path) in str(exc.value) and "nothing was changed" in str(exc.value)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["t.parquet"]  # no temporary file left
