"""Scenario results in plain words (pure): "12,400 more women within 60 minutes on Saturdays".

People are the app's weights: women aged 15–44 (see About the data). Numbers are rounded to
three significant figures, because the weights are estimates.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

DAY_PLURALS = ("Mondays", "Tuesdays", "Wednesdays", "Thursdays", "Fridays", "Saturdays",
               "Sundays")
#: Difference-map class edges (percentage points of the week's population-hours).
GAIN_EDGES = (0.0, 0.1, 0.5, 2.0, 5.0, 100.0)
CHANGE_EDGES = (-100.0, -2.0, -0.1, 0.1, 2.0, 100.0)


def people(n: Any) -> str:
    """``12437.2`` -> ``"12,400"`` (3 significant figures); ``"0"`` for missing or < 0.5."""
    try:
        x = float(n)
    except (TypeError, ValueError):
        return "0"
    if not math.isfinite(x) or abs(x) < 0.5:
        return "0"
    digits = 3 - math.floor(math.log10(abs(x))) - 1
    return f"{round(x, min(digits, 0)):,.0f}"


#: The headline totals of a what-if: (key in ``totals``, label).
TOTAL_LABELS = (
    ("population_newly_within_any_hour", "People newly within 60 min at some hour"),
    ("person_hours_week_gained", "Person-hours gained per week"),
    ("person_hours_week_lost", "Person-hours lost per week"),
)


def totals_table(totals: dict) -> str:
    """The headline totals of a what-if as a one-row Markdown table.

    Fixed labels (:data:`TOTAL_LABELS`) and numbers only, so nothing from the data is read as
    Markdown; each value in bold, whole numbers with thousands separators; a missing total is
    0 (the what-if reports none), a non-finite one "not known".
    """
    cells = []
    for key, _ in TOTAL_LABELS:
        try:
            x = float(totals.get(key, 0) or 0)
        except (TypeError, ValueError):
            x = math.nan
        cells.append(f"**{x:,.0f}**" if math.isfinite(x) else "not known")
    return "\n".join(["| " + " | ".join(label for _, label in TOTAL_LABELS) + " |",
                      "|" + " ---: |" * len(TOTAL_LABELS),
                      "| " + " | ".join(cells) + " |"])


def _hours_span(hours: list[int]) -> str:
    """``[9, 10, 11]`` -> ``"09:00–12:00"``; several runs joined with "and"."""
    runs: list[list[int]] = []
    for h in sorted(hours):
        if runs and h == runs[-1][-1] + 1:
            runs[-1].append(h)
        else:
            runs.append([h])
    return " and ".join(f"{r[0]:02d}:00–{(r[-1] + 1) % 24:02d}:00" for r in runs)


def effect_sentences(by_hour: pd.DataFrame, totals: dict, minutes: int = 60,
                     who: str = "women") -> list[str]:
    """The what-if effect as sentences.

    Parameters
    ----------
    by_hour : pandas.DataFrame
        ``hour_of_week`` (0…167 used), ``newly_covered``, ``no_longer_covered`` (weights).
    totals : dict
        ``population_newly_within_any_hour`` (weight newly within reach at some hour).
    minutes : int
        The travel band of the figures.
    who : str
        Who the weights count.

    Returns
    -------
    list of str
        A headline, then one sentence per day with a gain (peak hour count and hours), then
        one per day with a loss.
    """
    any_hour = float(totals.get("population_newly_within_any_hour", 0) or 0)
    week = by_hour[by_hour["hour_of_week"] < 168]
    gained = week.get("newly_covered", pd.Series(0.0, index=week.index)).fillna(0).to_numpy(float)
    lost = week.get("no_longer_covered", pd.Series(0.0, index=week.index)).fillna(0).to_numpy(float)
    how = week["hour_of_week"].to_numpy(int)
    if people(any_hour) == "0" and not (gained >= 0.5).any() and not (lost >= 0.5).any():
        return [(f"No change: nobody is newly within {minutes} minutes of an open unit, and "
                 "nobody loses one.")]
    out = [(f"{people(any_hour)} more {who} within {minutes} minutes of an open unit at some "
            "time of the week.")]
    for values, word in ((gained, "more"), (lost, "fewer")):
        for day in range(7):
            mask = (how // 24 == day) & (values >= 0.5)
            if not mask.any():
                continue
            peak = values[mask].max()
            span = _hours_span([int(h % 24) for h in how[mask]])
            prefix = "Up to " if np.unique(np.round(values[mask], -1)).size > 1 else ""
            out.append(f"{prefix}{people(peak)} {word} {who} within {minutes} minutes on "
                       f"{DAY_PLURALS[day]} ({span}).")
    return out


def difference_frame(by_region: pd.DataFrame) -> pd.DataFrame:
    """The difference map's data.

    ``region_code``, ``value`` (after − before, percentage points of the week's population-hours
    within reach) and a hover ``text``.
    """
    diff = (pd.to_numeric(by_region["after_pct"], errors="coerce")
            - pd.to_numeric(by_region["before_pct"], errors="coerce"))
    names = by_region.get("region_name", by_region["region_code"]).astype(str)
    text = [f"{n}: {'no data' if pd.isna(d) else f'{d:+.2f} points'}"
            for n, d in zip(names, diff, strict=True)]
    return pd.DataFrame({"region_code": by_region["region_code"].astype(str),
                         "value": diff.to_numpy(), "text": text})


def difference_edges(values: pd.Series) -> tuple[float, ...]:
    """Class edges: gains only -> :data:`GAIN_EDGES`, any loss -> :data:`CHANGE_EDGES`."""
    return CHANGE_EDGES if bool((values.dropna() < -0.05).any()) else GAIN_EDGES
