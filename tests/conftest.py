"""Shared test fixtures (``real_settings`` lives in the root ``conftest.py``, shared with benchmarks).

Unit tests are offline and use tiny fixtures. Tests marked ``integration`` read
the real data from ``EPU_MAPPER_DATA`` (the Makefile points it at
``../shared/data/raw``) and the build folder that ``make test`` fills first.
"""

from __future__ import annotations

from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="session")
def real_build(real_settings, tmp_path_factory):
    """The full ``data build`` of the real data into a fresh session folder (built once).

    Returns ``(settings, manifest)``; ``settings.build_dir`` is the fresh folder.
    """
    import dataclasses

    from epu_mapper.build import build

    settings = dataclasses.replace(real_settings, build_dir=tmp_path_factory.mktemp("real_build"))
    manifest = build(settings, quiet=True)
    return settings, manifest


@pytest.fixture(scope="session")
def tiny_raw(tmp_path_factory) -> Path:
    """A toy raw-data directory with the real file names and columns (made-up places and
    people; see ``tests/_tiny_raw.py``), written once per session. Tests that change it copy it."""
    from _tiny_raw import write_tiny_raw

    return write_tiny_raw(tmp_path_factory.mktemp("tiny") / "raw")


@pytest.fixture(scope="session")
def postgres_server():
    """A real PostgreSQL server on 127.0.0.1 (tests/_postgres.py), stopped by PID at the end."""
    import _postgres

    server = _postgres.start()
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    """A fresh, empty corrections database: an SQLite file, or a new database on the test server."""
    import uuid

    from epu_mapper import db

    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'corrections.sqlite'}"
    else:
        server = request.getfixturevalue("postgres_server")
        url = server.create_database(f"t_{uuid.uuid4().hex[:12]}")
    yield url
    db.dispose(url)
