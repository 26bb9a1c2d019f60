"""Fast look-ups for the water rule on element-wise pairs (:func:`~epu_mapper.travel.water.water_pairs`).

Two pieces, neither of which changes an answer:

* **Over-land distance columns kept per destination node** (:func:`over_land_km`). A column is
  the over-land km from every grid node to one destination (:func:`~epu_mapper.travel.water_model.
  distances_from`, the same search and limit as the matrix). Columns are found, in order, in the
  site sets already held by the model (:func:`~epu_mapper.travel.water_model.site_distances`, e.g.
  the directory's units after ``travel build``, memory-mapped from ``build/travel/water/``), in a
  bounded in-memory cache (:data:`COLUMN_CACHE_MB`, least recently used out first), else they are
  searched (and cached). A file of pairs read in chunks searches each destination once.
* **A proof that the straight grid line stays on land** (:func:`land_path_km`). The cells of the
  8-connected grid line between the two nodes are checked with the land grid's distance to the
  nearest water cell, so an inland segment takes a few jumps instead of a check every km. When
  every cell is land, that line is a path of the graph, so its length bounds the over-land
  distance from above: a pair whose bound is within the rule's ratio keeps its straight line with
  no search, exactly as the matrix would decide with the searched distance.

Pure core (no I/O beyond the model's own distance cache).
"""

from __future__ import annotations

import threading
from collections import OrderedDict

import numpy as np

from epu_mapper.travel.water_model import (
    RES_M,
    SEARCH_LIMIT_KM,
    WaterModel,
    distances_from,
    hold_site_sets_on_disk,
)

#: Memory for over-land distance columns kept per destination (MB; one column is 4 bytes per node,
#: about 1 MB on the UK grid, so about 250 destinations).
COLUMN_CACHE_MB = 256
#: Destinations searched together (one Dijkstra call).
SEARCH_CHUNK = 24
_LOCK = threading.Lock()


def _lru(model: WaterModel) -> OrderedDict:
    got = model._cache.get("dest_columns")
    if got is None:
        got = model._cache["dest_columns"] = OrderedDict()
    return got


def _held_site_columns(model: WaterModel, nodes: np.ndarray) -> list[tuple[np.ndarray, int] | None]:
    """``(array, column)`` of each node in a site set the model holds (same search limit), else None.

    The narrowest set holding a node is used (a memory-mapped set is read a page per origin).
    """
    out: list[tuple[np.ndarray, int] | None] = [None] * len(nodes)
    sets = [held for slot, held in list(model._cache.items())
            if isinstance(slot, str) and slot.startswith("sites-") and held[3] == SEARCH_LIMIT_KM]
    for held in sorted(sets, key=lambda h: len(h[2])):
        arr, site_nodes = held[1], np.asarray(held[2], dtype=np.int64)
        if not len(site_nodes):
            continue
        uniq, first = np.unique(site_nodes, return_index=True)
        at = np.clip(np.searchsorted(uniq, nodes), 0, len(uniq) - 1)
        for i in np.flatnonzero((uniq[at] == nodes) & (nodes >= 0)):
            if out[i] is None:
                out[i] = (arr, int(first[at[i]]))
    return out


def cached_column_nodes(model: WaterModel) -> np.ndarray:
    """Destination nodes whose over-land column is held now, sorted.

    The site sets the model holds (also those saved on disk) and the cache.
    """
    hold_site_sets_on_disk(model)
    held = [np.asarray(h[2], dtype=np.int64) for s, h in model._cache.items()
            if isinstance(s, str) and s.startswith("sites-") and h[3] == SEARCH_LIMIT_KM]
    held.append(np.fromiter(_lru(model).keys(), dtype=np.int64))
    nodes = np.unique(np.concatenate(held))
    return nodes[nodes >= 0]


def _remember(model: WaterModel, node: int, column: np.ndarray) -> None:
    lru = _lru(model)
    with _LOCK:
        lru[node] = column
        lru.move_to_end(node)
        budget = max(int(COLUMN_CACHE_MB * 2**20 // max(column.nbytes, 1)), 1)
        while len(lru) > budget:
            lru.popitem(last=False)


def over_land_km(model: WaterModel, o_node: np.ndarray, d_node: np.ndarray,
                 want: np.ndarray) -> np.ndarray:
    """Over-land km of the wanted pairs, from kept columns or a search per missing destination.

    Parameters
    ----------
    model : WaterModel
    o_node, d_node : numpy.ndarray
        int64 grid nodes of origin and destination of each pair (both >= 0 where ``want``).
    want : numpy.ndarray
        bool, the pairs whose distance is needed.

    Returns
    -------
    numpy.ndarray
        float64 per pair: the over-land km (float32 values of :func:`distances_from`, inf beyond
        :data:`~epu_mapper.travel.water_model.SEARCH_LIMIT_KM` or on other land); inf where not
        wanted.
    """
    g = np.full(len(o_node), np.inf)
    idx = np.flatnonzero(want)
    if not len(idx):
        return g
    uniq, inv = np.unique(d_node[idx], return_inverse=True)
    order = np.argsort(inv, kind="stable")
    bounds = np.searchsorted(inv[order], np.arange(len(uniq) + 1))

    def fill(i: int, arr: np.ndarray, col: int | None) -> None:
        rows = idx[order[bounds[i]:bounds[i + 1]]]
        g[rows] = arr[o_node[rows]] if col is None else arr[o_node[rows], col]

    lru = _lru(model)
    sites = _held_site_columns(model, uniq)
    missing = []
    for i, node in enumerate(uniq.tolist()):
        site = sites[i]
        if site is not None:
            fill(i, site[0], site[1])
            continue
        with _LOCK:
            column = lru.get(node)
            if column is not None:
                lru.move_to_end(node)
        if column is None:
            missing.append(i)
        else:
            fill(i, column, None)
    for start in range(0, len(missing), SEARCH_CHUNK):
        part = missing[start:start + SEARCH_CHUNK]
        block = distances_from(model, uniq[part], chunk=SEARCH_CHUNK)
        for j, i in enumerate(part):
            column = np.ascontiguousarray(block[:, j])
            fill(i, column, None)
            _remember(model, int(uniq[i]), column)
    return g


def _land_edt(model: WaterModel) -> np.ndarray:
    """Distance (grid cells) from each cell to the nearest water cell of the grid (0 on water)."""
    got = model._cache.get("land_edt")
    if got is None:
        from scipy import ndimage

        land = np.asarray(model.land, dtype=bool)
        got = (ndimage.distance_transform_edt(land) if (~land).any()
               else np.full(land.shape, float(land.size))).astype(np.float64)
        model._cache["land_edt"] = got
    return got


def node_rc(model: WaterModel) -> tuple[np.ndarray, np.ndarray]:
    """Grid row and column of every node (cached)."""
    if "node_rc" not in model._cache:
        model._cache["node_rc"] = np.nonzero(model.land)
    return model._cache["node_rc"]


def land_path_km(model: WaterModel, o_node: np.ndarray, d_node: np.ndarray) -> np.ndarray:
    """Length of the straight 8-connected grid line between two nodes when all of it is land.

    The line visits one cell per step along its longer axis (``L`` steps, ``m`` of them
    diagonal, ``m`` the shorter axis): a path of the graph of length ``L - m + m·√2`` km, so an
    upper bound of the over-land distance. Each visited cell ``i`` with distance ``e`` (cells)
    to the nearest water cell proves the next cells land while ``(j - i)·s + 1 < e`` (``s`` the
    line's length per step; ``+ 1`` the rounding of the shorter axis), so inland lines take a
    few jumps.

    Parameters
    ----------
    model : WaterModel
    o_node, d_node : numpy.ndarray
        int64 grid nodes (>= 0).

    Returns
    -------
    numpy.ndarray
        float64 km per pair; inf when the line meets a water cell.
    """
    o_node = np.asarray(o_node, dtype=np.int64)
    d_node = np.asarray(d_node, dtype=np.int64)
    rows, cols = node_rc(model)
    r0, c0 = rows[o_node].astype(np.int64), cols[o_node].astype(np.int64)
    dr, dc = rows[d_node] - r0, cols[d_node] - c0
    steps = np.maximum(np.abs(dr), np.abs(dc))
    diag = np.minimum(np.abs(dr), np.abs(dc))
    km = ((steps - diag) + diag * np.sqrt(2.0)) * (RES_M / 1000.0)
    per = np.maximum(steps, 1).astype(np.float64)
    kr, kc = dr / per, dc / per
    stride = np.hypot(kr, kc)
    edt = _land_edt(model)
    pos = np.zeros(len(o_node), dtype=np.int64)
    ok = np.ones(len(o_node), dtype=bool)
    live = np.flatnonzero(steps > 0)
    while len(live):
        i = pos[live]
        r = r0[live] + np.floor(i * kr[live] + 0.5).astype(np.int64)
        c = c0[live] + np.floor(i * kc[live] + 0.5).astype(np.int64)
        e = edt[r, c]
        wet = e <= 0
        ok[live[wet]] = False
        jump = np.floor(np.maximum(e - 1.0 - 1e-6, 0.0) / stride[live]).astype(np.int64) + 1
        pos[live] = i + jump
        live = live[~wet & (pos[live] <= steps[live])]
    return np.where(ok, km, np.inf)
