"""The region levels: one list, their labels and the nations they apply to (pure, no I/O).

Every other module (geography, the api, the app, the CLI, the build) takes the levels from here.
"""

from __future__ import annotations

#: Region levels, in display order; ``<level>_code`` / ``<level>_name`` columns in
#: ``regions.parquet`` (``nation`` is its own column).
LEVELS: tuple[str, ...] = ("nation", "nhs_region", "icb", "lhb", "scot_hb", "hsct", "lad")

#: What each level is called on screen and in the CLI.
LEVEL_LABELS: dict[str, str] = {
    "nation": "Nation",
    "nhs_region": "NHS England region",
    "icb": "Integrated care board (England)",
    "lhb": "Local health board (Wales)",
    "scot_hb": "Health board (Scotland)",
    "hsct": "HSC trust (Northern Ireland)",
    "lad": "Local authority",
}

#: Which levels apply to each nation (every area has exactly one region at each of them).
LEVELS_BY_NATION: dict[str, tuple[str, ...]] = {
    "England": ("nation", "nhs_region", "icb", "lad"),
    "Wales": ("nation", "lhb", "lad"),
    "Scotland": ("nation", "scot_hb", "lad"),
    "Northern Ireland": ("nation", "hsct", "lad"),
}

#: The region columns of a small area: ``nation`` then ``<level>_code, <level>_name`` per level.
REGION_FIELDS: tuple[str, ...] = (
    "nation", *(f"{level}_{part}" for level in LEVELS[1:] for part in ("code", "name")),
)


def region_columns(level: str) -> tuple[str, str]:
    """The ``(code, name)`` columns of ``regions.parquet`` for a level.

    Parameters
    ----------
    level : str
        One of :data:`LEVELS`; ``nation`` uses the ``nation`` column for both.

    Returns
    -------
    tuple of str

    Raises
    ------
    ValueError
        For an unknown level.
    """
    if level not in LEVELS:
        raise ValueError(f"unknown region level {level!r}; expected one of {LEVELS}")
    return ("nation", "nation") if level == "nation" else (f"{level}_code", f"{level}_name")
