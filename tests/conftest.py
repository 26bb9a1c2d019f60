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
