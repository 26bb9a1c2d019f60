"""Fixtures shared by ``tests/`` and ``benchmarks/``."""

from __future__ import annotations

import os

import pytest

from epu_mapper.settings import REPO_ROOT, Settings, get_settings


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
