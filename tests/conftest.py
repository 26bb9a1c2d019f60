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
