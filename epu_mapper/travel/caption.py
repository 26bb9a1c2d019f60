"""What a travel figure is, in one line for users: the one place the travel captions are made.

The straight-line estimate's caption is its calibration's own
(:meth:`~epu_mapper.travel.estimate.EstimateParams.caption`, stating the typical error); a
road-routed figure's names the engine and the OpenStreetMap date of its network.
"""

from __future__ import annotations

from collections.abc import Iterable

from epu_mapper.travel.estimate import CALIBRATED


def engine_caption(
    engine: str, osm_timestamp: str | None = None, server_url: str | None = None
) -> str:
    """One line on what a travel figure made by ``engine`` is.

    Parameters
    ----------
    engine : str
        ``"estimate"`` or a road engine (``"osrm"``).
    osm_timestamp : str, optional
        The road network's OpenStreetMap timestamp (ISO; its date is shown).
    server_url : str, optional
        The OSRM server that routed the figures, named when the network's date is not known.

    Returns
    -------
    str
    """
    if engine == "estimate":
        return CALIBRATED.caption()
    day = (osm_timestamp or "")[:10]
    if day:
        return f"road travel time by car (OSRM, free-flow, OpenStreetMap {day})"
    if server_url:
        return f"road travel time by car (OSRM server {server_url}, free-flow)"
    return "road travel time by car (OSRM, free-flow)"


def shown_caption(engines: Iterable[str], osm_timestamp: str | None = None) -> str:
    """The caption of a set of figures: the estimate's when any of them is estimated.

    Parameters
    ----------
    engines : iterable of str
        The engine of each figure shown.
    osm_timestamp : str, optional
        As in :func:`engine_caption`.

    Returns
    -------
    str
        ``""`` when no figure is shown.
    """
    seen = {str(e) for e in engines}
    if not seen:
        return ""
    return engine_caption("estimate" if "estimate" in seen else "osrm", osm_timestamp)
