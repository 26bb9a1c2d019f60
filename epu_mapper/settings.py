"""One small typed settings object.

Every public function that needs a path or a threshold takes it as an explicit
argument that defaults to :func:`get_settings`. Values come from environment
variables so the Makefile, ``.ci/run`` and tests can point the project at data
without editing code.

Environment variables
---------------------
EPU_MAPPER_DATA
    Folder holding the raw open data (``../shared/data/raw`` beside the repo).
EPU_MAPPER_BUILD
    Git-ignored folder for built tables (default ``<repo>/build``).
EPU_MAPPER_UNITS
    The EPU directory CSV (default ``<repo>/data/units.csv``).
EPU_MAPPER_ONLINE
    ``1`` enables the optional postcodes.io fallback (off by default).
EPU_MAPPER_POSTCODES_IO
    Base URL of the postcodes.io service (tests point it at a local stub).
EPU_MAPPER_DB_URL
    SQLAlchemy URL of the corrections database (default: an SQLite file in the
    git-ignored ``data/local/``); e.g. ``postgresql+psycopg://user@host/db``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
TIMEZONE = "Europe/London"
NATIONS = ("England", "Wales", "Scotland", "Northern Ireland")


@dataclass(frozen=True)
class Settings:
    """Paths and thresholds used across the project."""

    data_dir: Path | None
    build_dir: Path
    units_csv: Path
    online: bool = False
    postcodes_io_url: str = "https://api.postcodes.io"
    #: Corrections database (SQLAlchemy URL); see :mod:`epu_mapper.db`.
    db_url: str = f"sqlite:///{REPO_ROOT / 'data' / 'local' / 'corrections.sqlite'}"
    http_timeout_s: float = 5.0
    timezone: str = TIMEZONE
    #: Travel-time bands (minutes) reported by the coverage statistics.
    travel_bands: tuple[int, ...] = (30, 60, 90)
    #: The band used for "within reach" (hours covered, NICE 7-day test, what-if).
    reach_minutes: float = 60.0
    #: Quantiles reported per region besides the median.
    extra_quantiles: tuple[float, ...] = field(default=(0.9,))


def _env_path(name: str) -> Path | None:
    value = os.environ.get(name, "").strip()
    return Path(value).expanduser().resolve() if value else None


def get_settings() -> Settings:
    """Read the settings from the environment (cheap; call it where needed).

    Returns
    -------
    Settings
        ``data_dir`` is ``None`` when ``EPU_MAPPER_DATA`` is unset; code that needs
        the raw data raises :class:`epu_mapper.errors.DataDirectoryError` then.
    """
    return Settings(
        data_dir=_env_path("EPU_MAPPER_DATA"),
        build_dir=_env_path("EPU_MAPPER_BUILD") or REPO_ROOT / "build",
        units_csv=_env_path("EPU_MAPPER_UNITS") or REPO_ROOT / "data" / "units.csv",
        online=os.environ.get("EPU_MAPPER_ONLINE", "0").strip().lower() in {"1", "true", "yes"},
        postcodes_io_url=os.environ.get("EPU_MAPPER_POSTCODES_IO", "https://api.postcodes.io"),
        db_url=os.environ.get("EPU_MAPPER_DB_URL", "").strip()
        or f"sqlite:///{REPO_ROOT / 'data' / 'local' / 'corrections.sqlite'}",
    )


#: Environment variable holding the reviewer password's hash (never the password; never in the repo).
REVIEWER_HASH_ENV = "EPU_MAPPER_REVIEWER_HASH"


def reviewer_hash() -> str | None:
    """The configured reviewer password hash, or None (then the review page is not shown).

    Read from :data:`REVIEWER_HASH_ENV`; here rather than in :mod:`epu_mapper.upkeep` so the
    app's menu can ask without importing the database layer.
    """
    value = os.environ.get(REVIEWER_HASH_ENV, "").strip()
    return value or None
