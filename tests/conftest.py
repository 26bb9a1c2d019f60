"""Shared test fixtures.

Unit tests are offline and use tiny fixtures. Tests marked ``integration`` read
the real data from ``EPU_MAPPER_DATA`` (the Makefile points it at
``../shared/data/raw``) and the build folder that ``make test`` fills first.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from epu_mapper.settings import REPO_ROOT, Settings, get_settings

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="session")
def real_settings() -> Settings:
    """Settings for the real data; fails loudly (never skips) when the data is absent."""
    settings = get_settings()
    if settings.data_dir is None:
        default = (REPO_ROOT.parent / "shared" / "data" / "raw").resolve()
        os.environ["EPU_MAPPER_DATA"] = str(default)
        settings = get_settings()
    assert settings.data_dir is not None and settings.data_dir.is_dir(), (
        f"integration tests need the raw data directory; looked in {settings.data_dir}"
    )
    return settings


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
