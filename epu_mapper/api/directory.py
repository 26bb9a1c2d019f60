"""The directory dimension of every statistic, and how complete the directory is by region.

``known``: the directory's placed units (today's figures). ``with-likely``: the same units plus
every likely EPU site (:mod:`epu_mapper.sites`) as a unit with **unknown hours**, so the
unknown-hours policy decides whether it counts as open: under ``exclude`` a likely site never
counts, under ``always`` it always does. A likely site's hours are never presented as known.

The default range of ``gaps --policy range`` spans "known units, known hours"
(``known``/``exclude``) to "every likely site, always open" (``with-likely``/``always``).

Completeness (:func:`completeness`) per region: ``placed_units``, ``units_known_hours``
(``verified`` or ``partial`` hours), ``likely_sites`` (acute hospitals with no record) and
``completeness = placed_units / (placed_units + likely_sites)``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from epu_mapper import store
from epu_mapper.api.args import CoverageArgumentError
from epu_mapper.api.context import Context, build_context

DIRECTORIES = ("known", "with-likely")
#: A region whose completeness is below this (or with no placed unit) is marked incomplete.
INCOMPLETE_BELOW = 0.5
COMPLETENESS_COLUMNS = ["placed_units", "units_known_hours", "likely_sites", "completeness",
                        "no_placed_unit", "incomplete"]
_KEY = "directory:with-likely"


def check_directory(directory: str | None) -> str | None:
    """``known`` / ``with-likely`` / None (the default of the caller); else a clear error."""
    if directory is None or directory in DIRECTORIES:
        return directory
    raise CoverageArgumentError(
        f"unknown directory {directory!r}; choose 'known' (units in the directory) or "
        "'with-likely' (also every likely EPU site, with unknown hours)")


def attach_likely(ctx: Context, likely_units: pd.DataFrame, matrix: object) -> Context:
    """Build the with-likely context from given tables and cache it on ``ctx`` (tests, fixtures).

    Parameters
    ----------
    ctx : Context
        The ``known`` context.
    likely_units : pandas.DataFrame
        :func:`epu_mapper.sites.as_units` rows.
    matrix : TravelMatrix
        Columns: the known context's units, then ``likely_units`` (any order; matched by id).
    """
    units = pd.concat([ctx.units.assign(likely=False), likely_units], ignore_index=True)
    demand = ctx.demand
    ext = build_context(ctx.settings, units, demand, ctx.regions, matrix, ctx.manifest,
                        ctx.hospitals)
    ctx._cache[_KEY] = ext
    return ext


def with_likely(ctx: Context) -> Context:
    """The with-likely context (built from ``build/`` on first use, then cached on ``ctx``).

    Raises
    ------
    BuildMissingError
        When ``likely_sites.parquet`` or the with-likely matrix is not built (names the
        command).
    """
    if _KEY not in ctx._cache:
        from epu_mapper.travel import with_likely as wl

        units = wl.directory_units(ctx.settings, ctx.units)
        matrix = wl.load(ctx.settings, ctx.demand, units[units["mappable"].astype(bool)])
        extra = units[units["likely"].astype(bool)]
        attach_likely(ctx, extra, matrix)
    return ctx._cache[_KEY]


def has_likely(ctx: Context) -> bool:
    """Whether the with-likely context is available (built or attached)."""
    if _KEY in ctx._cache:
        return True
    from epu_mapper.errors import BuildMissingError

    try:
        with_likely(ctx)
    except BuildMissingError:
        return False
    return True


def context_for(ctx: Context, directory: str | None) -> Context:
    """``ctx`` for ``known``/None, the with-likely context for ``with-likely``."""
    return with_likely(ctx) if check_directory(directory) == "with-likely" else ctx


def bounds(ctx: Context, policy: str, directory: str | None) -> dict[str, tuple[Context, str]]:
    """The context and directory name each computed policy uses.

    Parameters
    ----------
    ctx : Context
    policy : str
        ``range`` or one policy.
    directory : str or None
        None: ``range`` spans ``known``/``exclude`` to ``with-likely``/``always`` when the
        likely sites are built (else ``known`` for both); any other policy uses ``known``.

    Returns
    -------
    dict
        ``{policy: (context, directory)}`` for each policy computed.
    """
    check_directory(directory)
    if policy != "range":
        d = directory or "known"
        return {policy: (context_for(ctx, d), d)}
    if directory is None:
        hi = "with-likely" if has_likely(ctx) else "known"
        return {"exclude": (ctx, "known"), "always": (context_for(ctx, hi), hi)}
    c = context_for(ctx, directory)
    return {"exclude": (c, directory), "always": (c, directory)}


def likely_area_rows(ctx: Context) -> np.ndarray:
    """Row in ``ctx.demand`` of each likely site's small area (-1 when unplaced), cached."""
    key = ("likely_rows",)
    if key not in ctx._cache:
        path = ctx.settings.build_dir / "likely_sites.parquet"
        if _KEY in ctx._cache:
            ext = ctx._cache[_KEY]
            rows = ext.mapped.loc[ext.mapped["likely"].astype(bool), "area_index"].to_numpy(np.int64)
        elif path.exists():
            codes = store.read_built("likely_sites.parquet", ctx.settings, "The likely EPU sites table",
                                     columns=["area_code"])["area_code"].astype(str)
            rows = pd.Index(ctx.demand["area_code"].astype(str)).get_indexer(codes)
        else:
            rows = np.zeros(0, dtype=np.int64)
        ctx._cache[key] = np.asarray(rows, dtype=np.int64)
    return ctx._cache[key]


def region_counts(
    unit_group: np.ndarray, known_hours: np.ndarray, likely_group: np.ndarray, n_groups: int,
) -> pd.DataFrame:
    """Completeness per region from group labels (pure).

    Parameters
    ----------
    unit_group : numpy.ndarray
        ``int (n_units,)``: region of each placed unit (-1 = none).
    known_hours : numpy.ndarray
        ``bool (n_units,)``: the unit publishes hours (``verified`` or ``partial``).
    likely_group : numpy.ndarray
        ``int (n_likely,)``: region of each likely site (-1 = none).
    n_groups : int

    Returns
    -------
    pandas.DataFrame
        One row per region (index 0…n_groups-1): :data:`COMPLETENESS_COLUMNS` —
        ``placed_units, units_known_hours, likely_sites`` (int), ``completeness`` (0–1; NaN
        when the region has neither), ``no_placed_unit`` (bool) and ``incomplete``
        (completeness below :data:`INCOMPLETE_BELOW`, or no placed unit).
    """
    ug = np.asarray(unit_group)
    lg = np.asarray(likely_group)
    placed = np.bincount(ug[ug >= 0], minlength=n_groups)
    known = np.bincount(ug[(ug >= 0) & np.asarray(known_hours, bool)], minlength=n_groups)
    likely = np.bincount(lg[lg >= 0], minlength=n_groups)
    total = placed + likely
    with np.errstate(invalid="ignore", divide="ignore"):
        comp = np.where(total > 0, placed / np.maximum(total, 1), np.nan)
    return pd.DataFrame({
        "placed_units": placed, "units_known_hours": known, "likely_sites": likely,
        "completeness": comp, "no_placed_unit": placed == 0,
        "incomplete": (placed == 0) | (np.nan_to_num(comp, nan=1.0) < INCOMPLETE_BELOW),
    })


def completeness(ctx: Context, level: str) -> pd.DataFrame:
    """Directory completeness of every region of a level, in ``ctx.groups(level)`` order.

    Parameters
    ----------
    ctx : Context
    level : str

    Returns
    -------
    pandas.DataFrame
        ``region_code`` and :data:`COMPLETENESS_COLUMNS` (:func:`region_counts`). Units are
        placed by their site's nearest small area (as ``units_in_region``), likely sites by
        theirs (within their own nation).
    """
    g, uniq = ctx.groups(level)
    ua = ctx.mapped["area_index"].to_numpy()
    ug = np.where(ua >= 0, g[np.clip(ua, 0, None)], -1)
    known = ctx.mapped["hours_status"].astype(str).isin(["verified", "partial"]).to_numpy()
    la = likely_area_rows(ctx)
    lg = np.where(la >= 0, g[np.clip(la, 0, None)], -1) if len(la) else la
    out = region_counts(ug, known, lg, len(uniq))
    out.insert(0, "region_code", uniq.astype(str))
    return out


def no_unit_note(region_name: str, nation: str | None = None) -> str:
    """The plain sentence for a region with no placed unit (pure).

    ``"The directory holds no unit in Wales: these figures use units across the border."``
    """
    where = region_name if not nation or nation == region_name else f"{region_name} ({nation})"
    return f"The directory holds no unit in {where}: these figures use units across the border."
