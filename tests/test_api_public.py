"""The public names of :mod:`epu_mapper.api` stay importable from the package after its split."""

from __future__ import annotations

import importlib

import pytest

# Every public name api.py defined before it became a package (callers import these).
PUBLIC = (
    "DEFAULT_EXTENSION", "GAPS_POLICIES", "GAPS_STAT_COLUMNS", "LEVELS",
    "Context", "CoverageArgumentError", "LocalResult", "NationHoliday", "NearestResult",
    "WhatIfResult", "boundaries", "build_context", "build_stamp", "check_level", "check_policy",
    "coverage_by_hour", "gaps", "gaps_by_hour", "load_context", "local", "nearest", "parse_when",
    "provenance", "rank", "regions", "small_areas", "travel_caption", "whatif",
    # added after the split (#11)
    "EquityResult", "double_disadvantage", "equity",
)


@pytest.mark.parametrize("name", PUBLIC)
def test_public_name_is_importable_from_the_package(name):
    api = importlib.import_module("epu_mapper.api")
    obj = getattr(api, name)
    assert obj is not None
    # a re-export, not a submodule shadowing it: the object is defined in one api module
    if callable(obj):
        assert obj.__module__.startswith("epu_mapper.api.")


def test_all_lists_exactly_the_public_names():
    from epu_mapper import api

    assert sorted(api.__all__) == sorted(PUBLIC)
    missing = [name for name in api.__all__ if not hasattr(api, name)]  # a star import would fail
    assert missing == []
