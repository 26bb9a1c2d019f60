"""Pure text and table assembly for the Equity page (no Streamlit; tested directly)."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from epu_mapper.ui.format import md_escape

#: Measures the chart can show: key -> (column, label, unit).
MEASURES: dict[str, tuple[str, str, str]] = {
    "pct60": ("pct_within_60", "% of women within 60 min of an open unit", "%"),
    "pct30": ("pct_within_30", "% of women within 30 min of an open unit", "%"),
    "pct90": ("pct_within_90", "% of women within 90 min of an open unit", "%"),
    "median": ("median_minutes", "Median minutes to the nearest open unit", "min"),
    "hours": ("hours_covered", "Hours with an open unit within 60 min", "h"),
}
#: Bands in chart order.
BAND_ORDER = ("selected", "weekday_day", "evening", "night", "weekend", "bank_holiday", "week")
BY_LABELS = {
    "deprivation": "Deprivation (each nation's own index)",
    "uk-deprivation": "Deprivation (UK composite index)",
    "core20": "Core20: most deprived 20 % of England",
    "car": "Households without a car (England & Wales)",
}


def chart_frame(by_group: pd.DataFrame, region_code: str, measure: str) -> pd.DataFrame:
    """Rows for the grouped bar chart of one region.

    Parameters
    ----------
    by_group : pandas.DataFrame
        :attr:`epu_mapper.api.EquityResult.by_group` (``region_code, group, group_label, band,
        band_label`` and the statistic columns).
    region_code : str
    measure : str
        A key of :data:`MEASURES`.

    Returns
    -------
    pandas.DataFrame
        ``band_label, group_label, group, value`` in band then group order; infinite minutes
        (no open unit) become NaN so the chart leaves a gap rather than an infinite bar.
    """
    col = MEASURES[measure][0]
    d = by_group[by_group["region_code"].astype(str) == str(region_code)].copy()
    d["order"] = d["band"].map({b: i for i, b in enumerate(BAND_ORDER)})
    d = d.sort_values(["order", "group"], kind="stable")
    v = pd.to_numeric(d[col], errors="coerce").astype(float)
    v = v.where(v.map(math.isfinite), other=float("nan"))
    return pd.DataFrame({"band_label": d["band_label"].to_numpy(),
                         "group_label": d["group_label"].to_numpy(),
                         "group": d["group"].to_numpy(), "value": v.round(1).to_numpy()})


def display_table(by_group: pd.DataFrame, band: str = "selected") -> pd.DataFrame:
    """The plain table under the chart: one row per region × group for one band."""
    d = by_group[by_group["band"] == band]
    med = pd.to_numeric(d["median_minutes"], errors="coerce").astype(float)
    return pd.DataFrame({
        "region": d["region_name"].astype(str).to_numpy(),
        "group": d["group_label"].astype(str).to_numpy(),
        "women 15–44": pd.to_numeric(d["weight"], errors="coerce").round(0).to_numpy(),
        "% within 30 min": d["pct_within_30"].round(1).to_numpy(),
        "% within 60 min": d["pct_within_60"].round(1).to_numpy(),
        "% within 90 min": d["pct_within_90"].round(1).to_numpy(),
        "median minutes": [fmt_minutes_text(m) for m in med],
        "hours covered": d["hours_covered"].round(1).to_numpy(),
    })


def fmt_minutes_text(m: Any) -> str:
    """Minutes as text: ``"no open unit"`` for inf, ``"–"`` for NaN."""
    try:
        f = float(m)
    except (TypeError, ValueError):
        return "–"
    if math.isnan(f):
        return "–"
    if math.isinf(f):
        return "no open unit"
    return f"{f:.0f}"


def gap_sentence(summary_row: pd.Series | dict, by: str) -> str:
    """One plain sentence on the gap between the most and least disadvantaged groups.

    Parameters
    ----------
    summary_row : mapping
        A row of :attr:`EquityResult.summary` (``region_name, band_label, gap_pct_within_60,
        concentration_index``).
    by : str
        The grouping (decides the words for the two ends).
    """
    most, least = {
        "car": ("areas where most households have no car", "areas where most have one"),
        "core20": ("the Core20 areas", "the rest of England"),
    }.get(by, ("the most deprived fifth", "the least deprived fifth"))
    gap = summary_row.get("gap_pct_within_60")
    ci = summary_row.get("concentration_index")
    where = md_escape(summary_row.get("region_name", ""))
    when = md_escape(summary_row.get("band_label", ""))
    if gap is None or (isinstance(gap, float) and math.isnan(gap)):
        return f"{where}, {when}: not enough women in both groups to compare."
    if abs(gap) < 0.5:
        text = f"{where}, {when}: {most} and {least} are equally likely to be within 60 min"
    elif gap < 0:
        text = (f"{where}, {when}: women in {most} are {abs(gap):.1f} points less likely than "
                f"those in {least} to be within 60 min of an open unit")
    else:
        text = (f"{where}, {when}: women in {most} are {gap:.1f} points more likely than "
                f"those in {least} to be within 60 min of an open unit")
    if ci is not None and not (isinstance(ci, float) and math.isnan(ci)):
        text += f" (concentration index {ci:+.2f})"
    return text + "."


def effect_lines(effect: dict | None) -> list[str]:
    """Scenario lines: women newly within reach in the most deprived quintile, and its share."""
    if not effect:
        return []
    within = effect.get("newly_within_any_hour_by_quintile") or {}
    share = effect.get("most_deprived_share_pct")
    q1 = float(within.get("1", 0.0))
    q5 = float(within.get("5", 0.0))
    first = (f"Most deprived fifth (each nation's own index): {q1:,.0f} women aged 15–44 newly "
             f"within 60 min of an open unit at some hour (least deprived fifth: {q5:,.0f}).")
    lines = [first]
    if share is not None:
        lines.append(f"{share:.0f} % of the women-hours gained are in the most deprived fifth "
                     "(an even spread would be 20 %).")
    return lines
