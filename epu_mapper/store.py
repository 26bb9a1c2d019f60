"""Where built outputs live, and the one way they are written: atomically.

Every writer goes through :func:`atomic_write`, which writes to a temporary file
in the destination folder and renames it into place, so an interrupted build
never leaves a half-written table behind.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd

from epu_mapper.errors import BuildMissingError
from epu_mapper.settings import Settings, get_settings


@contextlib.contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it over ``path`` on success."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        if tmp_path.exists():  # mkstemp makes 0600 files; built tables are ordinary readable files
            os.chmod(tmp_path, 0o644)
        os.replace(tmp_path, path)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def atomic_write(path: Path, writer: Callable[[Path], Any]) -> Path:
    """Call ``writer(tmp_path)`` and move the result to ``path`` atomically."""
    with atomic_path(path) as tmp:
        writer(tmp)
    return Path(path)


def write_text(path: Path, text: str) -> Path:
    """Write text atomically (UTF-8)."""
    return atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def write_json(path: Path, obj: Any) -> Path:
    """Write JSON atomically, pretty-printed with sorted keys."""
    return write_text(path, json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n")


def write_parquet(path: Path, df: pd.DataFrame) -> Path:
    """Write a (Geo)DataFrame to Parquet atomically (GeoParquet for GeoDataFrames)."""
    return atomic_write(path, lambda tmp: df.to_parquet(tmp, index=False))


def read_built(
    name: str,
    settings: Settings | None = None,
    what: str | None = None,
    command: str = "epu-mapper data build",
    columns: list[str] | None = None,
) -> pd.DataFrame:
    """Read the built table ``build_dir/name``.

    Raises
    ------
    BuildMissingError
        When it has not been built; the message says what it is (``what``, default the file
        name) and the command that builds it.
    """
    path = (settings or get_settings()).build_dir / name
    if not path.exists():
        raise BuildMissingError(what or name, path, command)
    return pd.read_parquet(path, columns=columns)
