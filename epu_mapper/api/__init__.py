"""The facade the Streamlit app and the CLI share.

Everything here loads the built tables once (:func:`load_context`) and calls the pure cores
(:mod:`epu_mapper.coverage`, :mod:`epu_mapper.scenarios`, :mod:`epu_mapper.hours`). Results are
DataFrames/dataclasses with documented columns; user mistakes raise
:class:`~epu_mapper.errors.EpuMapperError` subclasses with a plain message.

Weights
-------
Every population statistic is weighted by ``demand.weight``: women aged 15–44 where known
in every nation (Scotland: Census 2022 exact; England & Wales and Northern Ireland: estimates,
methods in :mod:`epu_mapper.population`). ``weight_kind`` says which weight a row used
(``female_15_44 (census + estimate)`` for a region spanning Scotland and another nation).

Times
-----
A naive datetime (or ISO string without offset) is UK local time; an aware one is converted
to Europe/London.

Modules
-------
``args`` (levels, policies, times, filters), ``context`` (loading the build), ``regional`` (region
helpers), ``equity_view`` (access by deprivation and car access), ``gap_stats`` (gaps, small areas), ``local_area`` (one region's provision), ``find``
(nearest units from a postcode), ``scenario`` (what-if, rank), ``about`` (provenance, boundaries).
The public names are re-exported here, so callers use ``from epu_mapper import api``.
"""

from epu_mapper.api.about import boundaries, provenance
from epu_mapper.api.args import (
    GAPS_POLICIES,
    LEVELS,
    CoverageArgumentError,
    NationHoliday,
    check_level,
    check_policy,
    parse_when,
)
from epu_mapper.api.context import Context, build_context, build_stamp, load_context
from epu_mapper.api.equity_view import EquityResult, double_disadvantage, equity
from epu_mapper.api.find import NearestResult, nearest
from epu_mapper.api.gap_stats import (
    GAPS_STAT_COLUMNS,
    gaps,
    gaps_by_hour,
    small_areas,
    travel_caption,
)
from epu_mapper.api.local_area import LocalResult, coverage_by_hour, local
from epu_mapper.api.regional import regions
from epu_mapper.api.scenario import DEFAULT_EXTENSION, WhatIfResult, rank, whatif

__all__ = [
    "DEFAULT_EXTENSION",
    "GAPS_POLICIES",
    "GAPS_STAT_COLUMNS",
    "LEVELS",
    "Context",
    "CoverageArgumentError",
    "EquityResult",
    "LocalResult",
    "NationHoliday",
    "NearestResult",
    "WhatIfResult",
    "boundaries",
    "build_context",
    "build_stamp",
    "check_level",
    "check_policy",
    "coverage_by_hour",
    "double_disadvantage",
    "equity",
    "gaps",
    "gaps_by_hour",
    "load_context",
    "local",
    "nearest",
    "parse_when",
    "provenance",
    "rank",
    "regions",
    "small_areas",
    "travel_caption",
    "whatif",
]
