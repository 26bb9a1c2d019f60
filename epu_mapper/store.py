"""Where built outputs live, the one way they are written (atomically) and read (guarded).

Every writer goes through :func:`atomic_write`, which writes to a temporary file
in the destination folder and renames it into place, so an interrupted build
never leaves a half-written table behind; a folder that cannot be written (read-only,
full disk) raises :class:`~epu_mapper.errors.EpuMapperError` naming the file, and
the old file is left as it was.

Every built table and JSON file is read through :func:`read_parquet_file` /
:func:`read_built` / :func:`read_json_file`: a missing file raises
:class:`~epu_mapper.errors.BuildMissingError`, a damaged or unreadable one
:class:`~epu_mapper.errors.BuildDamagedError`; both name the file and the command
that (re)builds it, so neither the CLI nor the app ever shows a traceback.
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

from epu_mapper.errors import BuildDamagedError, BuildMissingError, EpuMapperError
from epu_mapper.settings import Settings, get_settings


@contextlib.contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it over ``path`` on success."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        os.close(fd)
    except OSError as exc:
        raise write_error(path, exc) from None
    tmp_path = Path(tmp)
    try:
        try:
            yield tmp_path
            if tmp_path.exists():  # mkstemp makes 0600 files; built tables are ordinary readable files
                os.chmod(tmp_path, 0o644)
            os.replace(tmp_path, path)
        except OSError as exc:
            raise write_error(path, exc) from None
    finally:
        with contextlib.suppress(OSError):
            if tmp_path.exists():
                tmp_path.unlink()


def write_error(path: Path, exc: OSError) -> EpuMapperError:
    """A clear message for a write that failed (read-only folder, full disk, permissions)."""
    why = exc.strerror or type(exc).__name__
    hint = {30: "the folder is read-only", 28: "the disk is full", 13: "permission denied",
            122: "the disk quota is exceeded"}.get(exc.errno or 0, why)
    return EpuMapperError(f"cannot write {path}: {hint} ({why}); nothing was changed. "
                          "Free space or choose a writable build folder (EPU_MAPPER_BUILD).")


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
    """Read the built table ``build_dir/name``. See :func:`read_parquet_file`."""
    path = (settings or get_settings()).build_dir / name
    return read_parquet_file(path, what or name, command, columns=columns)


def rebuild_command(command: str) -> str:
    """The command that rebuilds a damaged file: ``command`` with ``--force``."""
    return command if "--force" in command else f"{command} --force"


def short_reason(exc: BaseException) -> str:
    """One line (at most 160 characters) saying why a read failed."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 160 else text[:157] + "..."


#: What reading a damaged file can raise (pyarrow's errors derive from these; a file whose
#: columns are wrong raises KeyError/TypeError in the readers).
READ_ERRORS = (OSError, ValueError, KeyError, TypeError, IndexError, RuntimeError, EOFError,
                UnicodeDecodeError, MemoryError)


def read_parquet_file(path: Path, what: str, command: str = "epu-mapper data build",
                      columns: list[str] | None = None) -> pd.DataFrame:
    """Read a built Parquet table, guarded.

    Parameters
    ----------
    path : Path
        The table.
    what : str
        What it is, for messages (``"The demand table"``).
    command : str
        The command that builds it (``--force`` is added for a damaged file).
    columns : list of str, optional
        Only these columns (a missing one makes the file "damaged").

    Returns
    -------
    pandas.DataFrame
        The table (a GeoDataFrame is read back as a plain frame).

    Raises
    ------
    BuildMissingError
        When the file does not exist.
    BuildDamagedError
        When it exists but cannot be read (truncated, not Parquet, columns missing).
    """
    path = Path(path)
    if not path.exists():
        raise BuildMissingError(what, path, command)
    try:
        return pd.read_parquet(path, columns=columns)
    except READ_ERRORS as exc:
        raise BuildDamagedError(what, path, rebuild_command(command), short_reason(exc)) from None


def read_json_file(path: Path, what: str, command: str = "epu-mapper data build",
                   missing_ok: bool = False) -> Any:
    """Read a built JSON file (manifest, provenance, boundaries), guarded.

    Parameters
    ----------
    path : Path
        The file.
    what : str
        What it is, for messages.
    command : str
        The command that builds it (``--force`` is added for a damaged file).
    missing_ok : bool, default False
        Return None instead of raising when the file does not exist.

    Returns
    -------
    object
        The parsed JSON (None when missing and ``missing_ok``).

    Raises
    ------
    BuildMissingError
        When the file does not exist (and not ``missing_ok``).
    BuildDamagedError
        When it is not readable UTF-8 JSON.
    """
    path = Path(path)
    if not path.exists():
        if missing_ok:
            return None
        raise BuildMissingError(what, path, command)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except READ_ERRORS as exc:  # JSONDecodeError is a ValueError
        raise BuildDamagedError(what, path, rebuild_command(command), short_reason(exc)) from None


def looks_intact(path: Path) -> bool:
    """Whether a built file exists and its structure reads (Parquet footer, JSON text).

    Cheap enough for every build step's freshness check, so that ``data build`` rebuilds a
    truncated or garbage table instead of calling it up to date.

    Parameters
    ----------
    path : Path
        A built file (``.parquet``, ``.json``, ``.geojson``; other files: exists).

    Returns
    -------
    bool
    """
    path = Path(path)
    if not path.is_file():
        return path.is_dir()
    try:
        if path.suffix == ".parquet":
            import pyarrow.parquet as pq

            pq.read_metadata(path)
        elif path.suffix in (".json", ".geojson"):
            json.loads(path.read_text(encoding="utf-8"))
    except READ_ERRORS:
        return False
    return True


def read_json_dict(path: Path, what: str, command: str = "epu-mapper data build") -> dict:
    """A JSON object from :func:`read_json_file` (``{}`` when missing; damaged when not an object)."""
    obj = read_json_file(path, what, command, missing_ok=True)
    if obj is None:
        return {}
    if not isinstance(obj, dict):
        raise BuildDamagedError(what, Path(path), rebuild_command(command),
                                f"expected a JSON object, found {type(obj).__name__}")
    return obj
