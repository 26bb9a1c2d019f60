"""The directory's completeness beside regional figures.

Words (pure) and the map's outline of regions whose figures rest on incomplete data (a GeoJSON
layer + legend entry).

A region is *incomplete* (``gaps`` column ``incomplete``) when fewer than half of its likely EPU
sites are in the directory, or it holds no placed unit (:mod:`epu_mapper.api.directory`).
"""

from __future__ import annotations

import math
from typing import Any

import folium
import pandas as pd
from branca.element import Template

from epu_mapper.ui import maps

OUTLINE_COLOUR = "#5b2a86"
LEGEND_TITLE = "Directory incomplete"
LEGEND_TEXT = ("dashed outline: fewer than half of the likely EPU sites here are in our "
               "directory, or it holds no unit here — figures rest on incomplete data")


def completeness_text(row: pd.Series | dict[str, Any]) -> str:
    """Describe one ``gaps`` row's completeness in words.

    E.g. ``"12 units placed (2 with hours), 15 likely sites without a record: directory 44 %
    complete"``; ``""`` when the row has no completeness columns.
    """
    get = row.get
    if get("placed_units") is None:
        return ""
    comp = get("completeness")
    pct = "unknown" if comp is None or (isinstance(comp, float) and math.isnan(comp)) \
        else f"{100 * float(comp):.0f} %"
    return (f"{int(get('placed_units'))} units placed ({int(get('units_known_hours'))} with hours), "
            f"{int(get('likely_sites'))} likely sites without a record: directory {pct} complete")


def no_unit_sentences(table: pd.DataFrame) -> list[str]:
    """One plain sentence per region with no placed unit (``gaps`` rows, ``no_placed_unit``)."""
    from epu_mapper.api.directory import no_unit_note

    if "no_placed_unit" not in table.columns:
        return []
    rows = table[table["no_placed_unit"].fillna(False).astype(bool)]
    if len(rows) > 6:
        names = ", ".join(rows["region_name"].astype(str).head(6)) + f" and {len(rows) - 6} more"
        return [no_unit_note(names)]
    # two columns only: a gaps table has a couple of hundred, and tuples of all of them
    # cost 20 ms a run
    return [no_unit_note(str(name), str(nation)) for name, nation
            in zip(rows["region_name"], rows["nation"], strict=True)]


def completeness_columns(table: pd.DataFrame) -> pd.DataFrame:
    """The completeness columns to show beside a ranked table (``region_code`` + counts, %)."""
    cols = ["region_code", "placed_units", "units_known_hours", "likely_sites", "completeness"]
    if not set(cols) <= set(table.columns):
        return pd.DataFrame(columns=cols)
    out = table[cols].copy()
    out["completeness"] = (100 * pd.to_numeric(out["completeness"], errors="coerce")).round(0)
    return out.rename(columns={"completeness": "directory complete %"})


class IncompleteLayer(maps.LayerMacro):
    """Dashed outlines of the regions whose figures rest on incomplete data (no fill)."""

    _template = Template(maps._LOAD_MACRO + """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = L.featureGroup().addTo({{ this._parent.get_name() }});
        (function(){
            var group = {{ this.get_name() }};
            var keep = {{ this.index_json }};
            ({{ load(this) }})(function(data){
                L.geoJSON(data, {
                    filter: function(f){ return keep.indexOf(f.properties._i) >= 0; },
                    style: function(){ return {color: {{ this.colour_json }}, weight: 2.5,
                                               dashArray: '6 4', fill: false}; },
                    interactive: false
                }).addTo(group);
                group.bringToFront();
            });
        })();
        {% endmacro %}
        """
    )

    def __init__(self, geometry: maps.PreparedGeometry, indices: list[int]):
        super().__init__()
        self._name = "IncompleteLayer"
        self.geometry_json = "" if geometry.url else geometry.json
        self.geometry_url = maps.safe_json(geometry.url) if geometry.url else ""
        self.index_json = maps.safe_json([int(i) for i in indices])
        self.colour_json = maps.safe_json(OUTLINE_COLOUR)


def add_incomplete(m: folium.Map, geometry: maps.PreparedGeometry, table: pd.DataFrame) -> int:
    """Outline the incomplete regions of ``table`` and add the legend entry.

    ``table`` has ``region_code`` and ``incomplete``; returns how many regions were outlined
    (0 adds nothing).
    """
    if "incomplete" not in table.columns:
        return 0
    codes = set(table.loc[table["incomplete"].fillna(False).astype(bool), "region_code"].astype(str))
    idx = [i for i, c in enumerate(geometry.codes) if c in codes]
    if not idx:
        return 0
    m.add_child(IncompleteLayer(geometry, idx))
    m.add_child(maps.Legend(LEGEND_TITLE, [("#ffffff", LEGEND_TEXT)]))
    return len(idx)
