"""The travel matrix with the likely EPU sites as extra columns (``--directory with-likely``).

``epu-mapper travel build`` builds it beside the directory's matrix, under
``build/with_likely/travel/matrix_estimate.*``: every mappable directory unit plus every likely
site (:mod:`epu_mapper.sites`), with the same candidate-pair rule, so the directory's own
columns give the same nearest open unit as the main matrix. It uses the straight-line estimate
(the road network of the main build is not looked up here); its provenance says so.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from epu_mapper import store
from epu_mapper.settings import Settings, get_settings

SUBDIR = "with_likely"
ENGINE = "estimate"


def likely_settings(settings: Settings) -> Settings:
    """Settings whose build folder is ``<build>/with_likely`` (where this matrix lives)."""
    return dataclasses.replace(settings, build_dir=Path(settings.build_dir) / SUBDIR)


def directory_units(settings: Settings, units: pd.DataFrame | None = None) -> pd.DataFrame:
    """Mappable directory units followed by the likely sites as units (unknown hours).

    Parameters
    ----------
    settings : Settings
    units : pandas.DataFrame, optional
        The directory (default: :func:`epu_mapper.units.load_units`).

    Returns
    -------
    pandas.DataFrame
        Directory columns plus ``likely`` (bool); raises ``BuildMissingError`` naming
        ``epu-mapper data build`` when ``likely_sites.parquet`` is missing.
    """
    from epu_mapper.sites import as_units
    from epu_mapper.travel.pairs import mappable

    if units is None:
        from epu_mapper.units import load_units

        units = load_units(settings=settings)
    likely = store.read_built("likely_sites.parquet", settings, "The likely EPU sites table")
    known = mappable(units).assign(likely=False)
    extra = as_units(likely)
    extra = extra[~extra["unit_id"].isin(set(known["unit_id"].astype(str)))]
    return pd.concat([known, extra], ignore_index=True)


def link_boundaries(sub_dir: Path, build_dir: Path) -> None:
    """Point ``sub_dir/boundaries`` at ``build_dir/boundaries``.

    The same coastline, so the same water model as the main matrix. A link left by a build folder that was moved or copied (pointing elsewhere, or nowhere) is
    replaced.
    """
    link = Path(sub_dir) / "boundaries"
    target = Path(build_dir).resolve() / "boundaries"
    if link.is_symlink() and link.resolve() != target:
        link.unlink()
    if not link.exists() and target.is_dir():
        link.symlink_to(target, target_is_directory=True)


def build(settings: Settings | None = None, force: bool = False,
          log: Callable[[str], None] = print) -> tuple[Path, dict, bool]:
    """Build (or reuse) the with-likely matrix; same return as :func:`~epu_mapper.travel.matrix.build_matrix`."""
    from epu_mapper.travel.build import build_matrix, load_demand_points

    settings = settings or get_settings()
    sub = likely_settings(settings)
    sub.build_dir.mkdir(parents=True, exist_ok=True)
    link_boundaries(sub.build_dir, Path(settings.build_dir))
    out = build_matrix(engine=ENGINE, settings=sub, force=force, log=log, progress=False,
                       demand=load_demand_points(settings), units=directory_units(settings))
    warm_patient_sites(settings, log)
    return out


def warm_patient_sites(settings: Settings, log: Callable[[str], None] = print) -> None:
    """Precompute the water model's over-land distances to every acute hospital.

    The acute hospitals are the patient answer's destinations, so the first ``nearest`` after a
    build is fast.
    """
    from epu_mapper.travel import water

    path = Path(settings.build_dir) / "acute_sites.parquet"
    model = water.load_model(settings.build_dir)
    if model is None or not path.exists():
        return
    acute = store.read_built("acute_sites.parquet", settings, "The acute hospital sites table",
                             columns=["lat", "lon"])
    log(f"over-land distances to {len(acute)} acute hospitals (patient answers) ...")
    water.site_distances(model, model.nodes(acute["lat"].to_numpy(float), acute["lon"].to_numpy(float)))


def load(settings: Settings, demand: pd.DataFrame, units: pd.DataFrame):
    """The with-likely :class:`~epu_mapper.travel.TravelMatrix` in the given row/column order.

    Raises ``BuildMissingError`` naming ``epu-mapper travel build`` when missing or stale.
    """
    from epu_mapper.travel.load import load_matrix

    return load_matrix(likely_settings(settings), engine=ENGINE, demand=demand, units=units)
