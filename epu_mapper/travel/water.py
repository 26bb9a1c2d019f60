"""No straight line across the sea: the estimate over land, fixed links and car ferries.

The straight-line estimate is right only where the straight segment stays on land. This
module measures, for every pair, the shortest **over-land** distance on a 1 km land grid
(the build's coastline-clipped nation boundaries, ``build/boundaries/nation.geojson``)
whose only ways across water are the fixed links of ``data/crossings.csv`` (bridges,
causeways). The rule, the same for the matrix, :func:`~epu_mapper.travel.matrix.from_point`
and :func:`~epu_mapper.travel.estimate.estimate_pairs`:

* **road** — the over-land distance is at most ``WATER_RATIO × straight + WATER_SLACK_KM``
  (the straight line stays on land, or nearly): the ordinary estimate of the straight line;
* **around the water** — the two points are on the same land (or land joined by a fixed
  link) but the over-land distance is longer: the estimate of that distance
  (÷ :data:`GRID_FACTOR`, the grid's own excess over a straight line), with the links used
  named in ``route`` ("via Prince of Wales Bridge (M4 Severn crossing)");
* **ferry** — different land: the best chain of road legs and the car ferries of
  ``data/crossings.csv`` (each leg estimated, plus each ferry's crossing time and, where
  sourced, its typical wait); ``route`` names the ferry ("ferry Ullapool-Stornoway
  (CalMac) 2 h 40");
* **NaN** with a ``reason`` when no link in the table reaches the other land, or only an
  overnight ferry does (Shetland), and for Northern Ireland <-> Great Britain.

Ferries are used only to reach land with no fixed link (a mainland-to-mainland ferry such
as a firth crossing is not used). ``km`` counts road only (not the sea). Over-land distances
from a site are searched up to :data:`SEARCH_LIMIT_KM` (150 km, for speed): a pair farther
apart over land, on the same land, keeps its straight line. Ferry ports are searched without
a limit, so islands always get their ferry.

Pure core: :func:`classify`; the grid and its distances (:mod:`epu_mapper.travel.water_model`)
are built once per build by :func:`load_model` / :func:`site_distances` (cached under
``build/travel/water/``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from epu_mapper.spatial import haversine_km
from epu_mapper.travel.estimate import CALIBRATED, ROUTE_ROAD, EstimateParams, estimate_from_km
from epu_mapper.travel.water_lookup import cached_column_nodes, land_path_km, over_land_km
from epu_mapper.travel.water_model import (  # noqa: F401  (re-exported: one import for callers)
    CROSSINGS_CSV,
    GRID_FACTOR,
    NI_REASON,
    NO_LINK_REASON,
    OVERNIGHT_REASON,
    RES_M,
    ROUTE_AROUND,
    SEARCH_LIMIT_KM,
    SNAP_MAX_KM,
    WATER_RATIO,
    WATER_SLACK_KM,
    WaterModel,
    _on_land,
    _to_bng,
    build_model,
    distances_from,
    link_distances,
    load_model,
    model_key,
    port_distances,
    provenance,
    read_crossings,
    site_distances,
)


def point(model: WaterModel, lat: float, lon: float, d_lat: np.ndarray, d_lon: np.ndarray,
          params: EstimateParams = CALIBRATED) -> pd.DataFrame:
    """The water rule from one point to every destination (the patient finder's query).

    Uses the destinations' cached grid distances (written by ``epu-mapper travel build``), so a
    warm call reads one row.

    Returns
    -------
    (minutes, km, route, reason) : tuple of numpy.ndarray
        :func:`classify` columns, one per destination (input order).
    """
    d_lat = np.asarray(d_lat, dtype=np.float64)
    d_lon = np.asarray(d_lon, dtype=np.float64)
    o_lat = np.full(len(d_lat), float(lat))
    o_lon = np.full(len(d_lat), float(lon))
    x = haversine_km(o_lat, o_lon, d_lat, d_lon)
    dkey = d_lat.tobytes() + d_lon.tobytes()
    # a patient answer alternates between destination sets (the units, the acute hospitals):
    # keep the grid nodes of a few sets, not just the last one
    held = model._cache.setdefault("dest_nodes", {})
    d_node = held.get(dkey)
    if d_node is None:
        if len(held) >= 8:
            held.pop(next(iter(held)))
        d_node = held[dkey] = model.nodes(d_lat, d_lon)
    o_node = np.full(len(d_lat), model.nodes(np.array([lat]), np.array([lon]))[0])
    g = np.full(len(d_lat), np.inf)
    if o_node[0] >= 0:
        g = np.asarray(site_distances(model, d_node)[o_node[0]], dtype=np.float64)
        g = np.where(d_node >= 0, g, np.inf)
    return _classify_subset(model, o_node, d_node, x, g, params, as_arrays=True)


def _ferry_tables(model: WaterModel, port_dist: np.ndarray, params: EstimateParams):
    """Port × port best minutes (all ferries; same-day ferries only) and the next hop."""
    ports = model.ports
    p = len(ports)
    road = np.full((p, p), np.inf)
    if p:
        km = port_dist[ports][:, :]  # (p, p): rows grid node = port, cols source port
        same = model.component[ports][:, None] == model.component[ports][None, :]
        fin = np.isfinite(km) & same
        road[fin] = estimate_from_km(km[fin] / GRID_FACTOR, params)[0]
        np.fill_diagonal(road, 0.0)
    pos = {int(n): i for i, n in enumerate(ports)}
    tables = {}
    for only_same_day in (False, True):
        t = road.copy()
        hop_ferry = np.full((p, p), -1, dtype=np.int64)
        for k, row in model.ferries.iterrows():
            if row["node_a"] < 0 or row["node_b"] < 0 or (only_same_day and not row["same_day"]):
                continue
            i, j = pos[int(row["node_a"])], pos[int(row["node_b"])]
            cost = row["crossing_min"] + (0.0 if np.isnan(row["wait_min"]) else row["wait_min"])
            if cost < t[i, j]:
                t[i, j] = t[j, i] = cost
                hop_ferry[i, j] = hop_ferry[j, i] = k
        nxt = np.tile(np.arange(p), (p, 1))
        for m in range(p):
            via = t[:, m:m + 1] + t[m:m + 1, :]
            better = via < t
            t = np.where(better, via, t)
            nxt = np.where(better, nxt[:, m:m + 1], nxt)
        tables[only_same_day] = (t, nxt, hop_ferry)
    return tables


def _ferry_names(nxt: np.ndarray, hop: np.ndarray, i: int, j: int) -> list[int]:
    """Ferry row indices on the best port path i -> j (walk the next-hop table)."""
    out, guard = [], 0
    while i != j and guard < 64:
        k = int(nxt[i, j])
        if hop[i, k] >= 0 and k != i:
            out.append(int(hop[i, k]))
        elif hop[i, j] >= 0 and k == j:
            out.append(int(hop[i, j]))
        i, guard = k, guard + 1
    return out


def _fmt_min(m: float) -> str:
    h, mm = divmod(round(float(m)), 60)
    return f"{h} h {mm:02d}" if h else f"{mm} min"


def ferry_route_text(row: pd.Series) -> str:
    """``ferry NAME 2 h 40`` (+ typical wait when sourced)."""
    text = f"ferry {row['name']} {_fmt_min(row['crossing_min'])}"
    if np.isfinite(row["wait_min"]):
        text += f" (+ typical wait {_fmt_min(row['wait_min'])})"
    return text


def classify(
    model: WaterModel,
    o_node: np.ndarray,
    d_node: np.ndarray,
    straight_km: np.ndarray,
    geo_km: np.ndarray,
    o_port_km: np.ndarray,
    d_port_km: np.ndarray,
    link_km: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None = None,
    params: EstimateParams = CALIBRATED,
    as_arrays: bool = False,
):
    """Apply the water rule to element-wise pairs.

    Parameters
    ----------
    model : WaterModel
    o_node, d_node : numpy.ndarray
        Grid nodes of origin and destination (-1 = off the grid: the straight line is kept).
    straight_km, geo_km : numpy.ndarray
        Great-circle and over-land km of each pair (``geo_km`` inf when not on the same land).
    o_port_km, d_port_km : numpy.ndarray
        ``(n, n_ports)`` over-land km from each origin / destination to each ferry port.
    link_km : tuple of numpy.ndarray, optional
        ``(o_a, o_b, d_a, d_b)``: ``(n, n_links)`` over-land km from origin / destination to
        each link's ends, used to name the links on the over-land path.
    params : EstimateParams
    as_arrays : bool
        Return the four columns as a tuple of arrays (no DataFrame: the single-point path).

    Returns
    -------
    pandas.DataFrame
        ``minutes, km`` (float32), ``route``, ``reason`` (one row per pair).
    """
    n = len(straight_km)
    x = np.asarray(straight_km, dtype=np.float64)
    g = np.asarray(geo_km, dtype=np.float64)
    minutes, km = estimate_from_km(x, params)
    minutes, km = minutes.astype(np.float64), km.astype(np.float64)
    route = np.full(n, ROUTE_ROAD, dtype=object)
    reason = np.full(n, None, dtype=object)
    on_grid = (o_node >= 0) & (d_node >= 0)
    comp_o = np.where(on_grid, model.component[np.maximum(o_node, 0)], -1)
    comp_d = np.where(on_grid, model.component[np.maximum(d_node, 0)], -1)
    same = on_grid & (comp_o == comp_d)
    around = same & np.isfinite(g) & (g > WATER_RATIO * x + WATER_SLACK_KM)
    if around.any():
        m2, k2 = estimate_from_km(g[around] / GRID_FACTOR, params)
        minutes[around], km[around] = m2, k2
        route[around] = _link_notes(model, g[around], link_km, around, ROUTE_AROUND)
    near = same & np.isfinite(g) & ~around
    if near.any() and link_km is not None:
        route[near] = _link_notes(model, g[near], link_km, near, ROUTE_ROAD,
                                  segment=(o_node[near], d_node[near]))
    cross = on_grid & ~same
    ni = cross & ((comp_o == model.ni_component) | (comp_d == model.ni_component))
    reason[ni] = NI_REASON
    ferry = cross & ~ni
    if ferry.any():
        _ferries(model, ferry, o_port_km, d_port_km, minutes, km, route, reason, params)
    bad = np.array([r is not None for r in reason], dtype=bool)
    minutes[bad], km[bad] = np.nan, np.nan
    route[bad] = None
    if as_arrays:
        return minutes.astype(np.float32), km.astype(np.float32), route, reason
    return pd.DataFrame({"minutes": minutes.astype(np.float32), "km": km.astype(np.float32),
                         "route": route, "reason": reason})


#: A link is named on a path close to the straight line only when it lies this near the line (km).
LINK_NEAR_LINE_KM = 15.0


def _link_arrays(model: WaterModel) -> dict[str, np.ndarray]:
    """The fixed links as plain arrays (cached): ``length, wet, names, mid_x, mid_y``."""
    if "link_arrays" not in model._cache:
        lk = model.links
        ax, ay = _node_xy(model, lk["node_a"].to_numpy())
        bx, by = _node_xy(model, lk["node_b"].to_numpy())
        model._cache["link_arrays"] = {
            "length": lk["length_km"].to_numpy(np.float64),
            "wet": lk["crosses_water_on_grid"].to_numpy(bool),
            "names": lk["name"].to_numpy(object),
            "mid_x": (ax + bx) / 2, "mid_y": (ay + by) / 2,
        }
    return model._cache["link_arrays"]


def _node_xy(model: WaterModel, nodes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Grid-corner-relative metres of node centres."""
    if "node_rc" not in model._cache:
        model._cache["node_rc"] = np.nonzero(model.land)
    r, c = model._cache["node_rc"]
    nodes = np.maximum(np.asarray(nodes, dtype=np.int64), 0)
    return (c[nodes] + 0.5) * RES_M, (r[nodes] + 0.5) * RES_M


def _near_line(model: WaterModel, o_node: np.ndarray, d_node: np.ndarray) -> np.ndarray:
    """Which fixed links lie near the straight line of each pair.

    ``(n, n_links)`` True where a link's midpoint lies within :data:`LINK_NEAR_LINE_KM` of the
    straight segment origin → destination.
    """
    ox, oy = _node_xy(model, o_node)
    dx, dy = _node_xy(model, d_node)
    lk = _link_arrays(model)
    mx, my = lk["mid_x"][None, :], lk["mid_y"][None, :]
    vx, vy = (dx - ox)[:, None], (dy - oy)[:, None]
    length2 = np.maximum(vx * vx + vy * vy, 1.0)
    t = np.clip(((mx - ox[:, None]) * vx + (my - oy[:, None]) * vy) / length2, 0.0, 1.0)
    dist = np.hypot(ox[:, None] + t * vx - mx, oy[:, None] + t * vy - my)
    return dist < LINK_NEAR_LINE_KM * 1000.0


def _link_notes(model: WaterModel, geo: np.ndarray, link_km, sel: np.ndarray, plain: str,
                segment: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """Route notes naming the fixed links on each over-land path.

    Route notes naming the fixed links on each over-land path (within 0.1 km of the shortest), else
    ``plain``. With ``segment`` (origin and destination nodes of paths close to the straight line),
    a link is named only when it lies near the line (``road via …``).
    """
    notes = np.full(len(geo), plain, dtype=object)
    if link_km is None or len(model.links) == 0:
        return notes
    o_a, o_b, d_a, d_b = (np.asarray(a, dtype=np.float64)[sel] for a in link_km)
    lk = _link_arrays(model)
    length = lk["length"][None, :]
    via = np.minimum(o_a + length + d_b, o_b + length + d_a)
    # a link whose ends the 1 km grid already joins over land is not named
    used = (np.abs(via - geo[:, None]) < 0.1) & lk["wet"][None, :]
    if segment is not None:
        used &= _near_line(model, *segment)
    names = lk["names"]
    prefix = "via " if plain == ROUTE_AROUND else "road via "
    bits = used.astype(np.int64) @ (np.int64(1) << np.arange(used.shape[1], dtype=np.int64))
    rows = np.flatnonzero(bits)
    if len(rows):
        codes, inv = np.unique(bits[rows], return_inverse=True)
        texts = np.array([prefix + " and ".join(names[(int(c) >> np.arange(len(names))) & 1 == 1])
                          for c in codes], dtype=object)
        notes[rows] = texts[inv.ravel()]
    return notes


def _ferries(model, sel, o_port_km, d_port_km, minutes, km, route, reason, params) -> None:
    """Fill ferry pairs in place (see :func:`classify`): best same-day chain, else the reason."""
    idx = np.flatnonzero(sel)
    ports = model.ports
    if len(ports) == 0:
        reason[idx] = NO_LINK_REASON
        return
    tables = model._cache.setdefault("ferry_tables", {})
    if params not in tables:
        tables[params] = _ferry_tables(model, port_distances(model), params)
    p = len(ports)
    op = np.asarray(o_port_km, dtype=np.float64)[idx]
    dp = np.asarray(d_port_km, dtype=np.float64)[idx]
    a = _leg_minutes(op, params)
    b = _leg_minutes(dp, params)
    done = np.zeros(len(idx), dtype=bool)
    for same_day in (True, False):
        t, nxt, hop = tables[params][same_day]
        val = np.full(len(idx), np.inf)
        flat = np.zeros(len(idx), dtype=np.int64)
        for lo in range(0, len(idx), 20000):
            tot = (a[lo:lo + 20000, :, None] + t[None, :, :] + b[lo:lo + 20000, None, :]).reshape(-1, p * p)
            flat[lo:lo + 20000] = tot.argmin(axis=1)
            val[lo:lo + 20000] = tot[np.arange(len(tot)), flat[lo:lo + 20000]]
        hit = ~done & np.isfinite(val)
        texts, names, same = _ferry_texts(model)
        for combo in np.unique(flat[hit]):
            pi, qi = divmod(int(combo), p)
            legs = _ferry_names(nxt, hop, pi, qi)
            sub = hit & (flat == combo)
            rows = idx[sub]
            if same_day:
                minutes[rows] = val[sub]
                km[rows] = params.detour * (op[sub, pi] + dp[sub, qi]) / GRID_FACTOR
                route[rows] = "; ".join(texts[k] for k in legs) or ROUTE_AROUND
            else:
                night = [names[k] for k in legs if not same[k]]
                reason[rows] = OVERNIGHT_REASON.format(", ".join(night) or "?")
        done |= hit
    reason[idx[~done]] = NO_LINK_REASON


def _ferry_texts(model: WaterModel) -> tuple[list[str], list[str], list[bool]]:
    """Route text, name and same-day flag of each ferry row (cached)."""
    if "ferry_texts" not in model._cache:
        f = model.ferries
        model._cache["ferry_texts"] = ([ferry_route_text(r) for _, r in f.iterrows()],
                                       f["name"].tolist(), f["same_day"].tolist())
    return model._cache["ferry_texts"]


def _leg_minutes(km: np.ndarray, params: EstimateParams) -> np.ndarray:
    """Estimated minutes of over-land legs (inf stays inf)."""
    fin = np.isfinite(km)
    out = np.full(km.shape, np.inf)
    out[fin] = estimate_from_km(km[fin] / GRID_FACTOR, params)[0]
    return out


def _needs_water(model: WaterModel, o_node: np.ndarray, d_node: np.ndarray, x: np.ndarray,
                 g: np.ndarray) -> np.ndarray:
    """Pairs the straight line does not describe: other land, or a much longer over-land path."""
    on_grid = (o_node >= 0) & (d_node >= 0)
    comp = model.component
    other = on_grid & (comp[np.maximum(o_node, 0)] != comp[np.maximum(d_node, 0)])
    return other | (on_grid & np.isfinite(g) & (g > WATER_RATIO * x + WATER_SLACK_KM))


def _classify_subset(model, o_node, d_node, x, g, params, as_arrays: bool = False):
    """:func:`classify` with the port and link distances looked up for these pairs."""
    pdist = port_distances(model)
    ldist = link_distances(model)
    n_l = len(model.links)
    o_l, d_l = ldist[np.maximum(o_node, 0)], ldist[np.maximum(d_node, 0)]
    return classify(model, o_node, d_node, x, g, pdist[np.maximum(o_node, 0)],
                    pdist[np.maximum(d_node, 0)],
                    (o_l[:, :n_l], o_l[:, n_l:], d_l[:, :n_l], d_l[:, n_l:]), params, as_arrays)


#: Reason codes of :func:`water_matrix` (0 = a time).
CODE_NI, CODE_NO_LINK, CODE_OVERNIGHT = 1, 2, 3


def water_matrix(
    model: WaterModel,
    o_lat: np.ndarray, o_lon: np.ndarray, d_lat: np.ndarray, d_lon: np.ndarray,
    mask: np.ndarray, straight_km: np.ndarray, params: EstimateParams = CALIBRATED,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict]:
    """The water rule for an origin × destination matrix.

    Parameters
    ----------
    model : WaterModel
    o_lat, o_lon, d_lat, d_lon : numpy.ndarray
        Origins (n_o,) and destinations (n_d,), WGS84.
    mask : numpy.ndarray
        ``(n_o, n_d)`` bool pairs to compute.
    straight_km : numpy.ndarray
        ``(n_o, n_d)`` great-circle km.
    params : EstimateParams

    Returns
    -------
    (minutes, km, code, counts)
        ``minutes``/``km``: float32 ``(n_o, n_d)`` for the pairs the straight line does not
        describe (NaN elsewhere: keep the straight estimate there); ``code``: int8 reason codes
        (:data:`CODE_NI`, :data:`CODE_NO_LINK`, :data:`CODE_OVERNIGHT`); ``counts``: pairs
        ``around_water``, ``ferry``, ``via_fixed_link`` and per reason.
    """
    o_node = model.nodes(o_lat, o_lon)
    d_node = model.nodes(d_lat, d_lon)
    dist = site_distances(model, d_node)
    n_o, n_d = mask.shape
    minutes = np.full((n_o, n_d), np.nan, dtype=np.float32)
    km = np.full((n_o, n_d), np.nan, dtype=np.float32)
    code = np.zeros((n_o, n_d), dtype=np.int8)
    counts = {"around_water": 0, "via_fixed_link": 0, "ferry": 0, "no_same_day": 0, "no_link": 0}
    for lo in range(0, n_o, 4096):
        rows = slice(lo, min(lo + 4096, n_o))
        on = o_node[rows]
        g = np.where(on[:, None] >= 0, dist[np.maximum(on, 0)], np.inf).astype(np.float64)
        need = _needs_water(model, on[:, None], d_node[None, :], straight_km[rows], g) & mask[rows]
        ii, jj = np.nonzero(need)
        if not len(ii):
            continue
        res = _classify_subset(model, on[ii], d_node[jj], straight_km[rows][ii, jj], g[ii, jj], params)
        minutes[lo + ii, jj] = res["minutes"].to_numpy()
        km[lo + ii, jj] = res["km"].to_numpy()
        why = res["reason"].astype("string").fillna("")
        code[lo + ii, jj] = np.select(
            [why.eq(NI_REASON).to_numpy(), why.eq(NO_LINK_REASON).to_numpy(),
             why.str.startswith("no same-day").to_numpy()], [CODE_NI, CODE_NO_LINK, CODE_OVERNIGHT], 0)
        r = res["route"].astype("string").fillna("")
        counts["around_water"] += int(r.str.startswith("road around").sum())
        counts["via_fixed_link"] += int(r.str.startswith("via ").sum())
        counts["ferry"] += int(r.str.startswith("ferry").sum())
        counts["no_same_day"] += int(why.str.startswith("no same-day").sum())
        counts["no_link"] += int(why.eq(NO_LINK_REASON).sum())
    return minutes, km, code, counts


def _nodes_once(model: WaterModel, lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """:meth:`WaterModel.nodes` of each point, converting each distinct point once."""
    lat = np.asarray(lat, dtype=np.float64)
    lon = np.asarray(lon, dtype=np.float64)
    if len(lat) < 64:
        return model.nodes(lat, lon)
    uniq, inv = np.unique(lat + 1j * lon, return_inverse=True)
    if len(uniq) > 0.8 * len(lat):
        return model.nodes(lat, lon)
    return model.nodes(uniq.real, uniq.imag)[inv.ravel()]


def _link_candidates(model: WaterModel, o_node: np.ndarray, d_node: np.ndarray, bound: np.ndarray,
                     sel: np.ndarray) -> np.ndarray:
    """Pairs on whose shortest over-land path a fixed link could be named (``road via …``).

    A link is named (:func:`_link_notes`) only when it crosses water on the grid, lies near the
    straight line and the path through it is within 0.1 km of the shortest; ``bound`` is the
    over-land km or an upper bound of it, so this is a superset of the pairs with a note.
    """
    out = np.zeros(len(o_node), dtype=bool)
    idx = np.flatnonzero(sel)
    n_l = len(model.links)
    if not len(idx) or n_l == 0:
        return out
    lk = _link_arrays(model)
    if not lk["wet"].any():
        return out
    wet = np.flatnonzero(lk["wet"])
    ldist = link_distances(model)
    length = lk["length"][wet][None, :]
    if "wet_end_km" not in model._cache:  # each node's over-land km to the nearest end of a wet link
        model._cache["wet_end_km"] = np.minimum(ldist[:, wet].min(axis=1), ldist[:, n_l + wet].min(axis=1))
    near_end = model._cache["wet_end_km"]
    # via a link >= (origin to its nearest wet link end) + shortest wet link + (the same for the destination)
    idx = idx[near_end[o_node[idx]] + length.min() + near_end[d_node[idx]] < bound[idx] + 0.1 + 1e-3]
    for lo in range(0, len(idx), 50_000):
        part = idx[lo:lo + 50_000]
        o_l, d_l = ldist[o_node[part]], ldist[d_node[part]]
        via = np.minimum(o_l[:, wet] + length + d_l[:, n_l + wet], o_l[:, n_l + wet] + length + d_l[:, wet])
        close = via < bound[part, None] + 0.1 + 1e-3
        maybe = np.flatnonzero(close.any(axis=1))
        if len(maybe):
            near = _near_line(model, o_node[part[maybe]], d_node[part[maybe]])[:, wet]
            out[part[maybe]] = (close[maybe] & near).any(axis=1)
    return out


def water_pairs(
    model: WaterModel, o_lat: np.ndarray, o_lon: np.ndarray, d_lat: np.ndarray, d_lon: np.ndarray,
    straight_km: np.ndarray, params: EstimateParams = CALIBRATED,
) -> tuple[np.ndarray, pd.DataFrame]:
    """The water rule for element-wise pairs: the matrix's rule (:func:`water_matrix`), pair by pair.

    A pair goes around the water, by ferry or to NaN exactly when the matrix would send it
    (:func:`_needs_water` on the over-land km searched from the destination). The over-land km
    comes from the destination's kept column (:func:`~epu_mapper.travel.water_lookup.over_land_km`:
    a site set the model holds, e.g. the units after ``travel build``, or a column searched
    earlier in this process). Without one, a pair whose straight grid line is proven on land
    within the rule's ratio (:func:`~epu_mapper.travel.water_lookup.land_path_km`) keeps its
    straight line with no search; the others search their destination once. A pair that keeps
    its straight line is named ``road via`` a fixed link only when its straight segment leaves
    land (checked every km) and the shortest path uses that link near the line.

    Returns
    -------
    (which, result)
        ``which``: int64 positions of the pairs given to :func:`classify` (the others keep the
        straight-line estimate); ``result``: their :func:`classify` rows (same order).
    """
    x = np.asarray(straight_km, dtype=np.float64)
    check = np.flatnonzero(np.isfinite(x))
    xc = x[check]
    o_node = _nodes_once(model, o_lat[check], o_lon[check])
    d_node = _nodes_once(model, d_lat[check], d_lon[check])
    on_grid = (o_node >= 0) & (d_node >= 0)
    comp = model.component
    same = on_grid & (comp[np.maximum(o_node, 0)] == comp[np.maximum(d_node, 0)])
    limit = WATER_RATIO * xc + WATER_SLACK_KM
    # without a kept column, first try to prove the straight grid line on land (no search)
    screen = same & ~np.isin(d_node, cached_column_nodes(model))
    bound = np.full(len(check), np.inf)
    bound[screen] = land_path_km(model, o_node[screen], d_node[screen])
    proven = screen & (bound * (1.0 + 1e-6) <= limit)
    named = _link_candidates(model, o_node, d_node, bound, proven)
    wet = np.zeros(len(check), dtype=bool)  # straight segment leaves land (sampled every km)
    seen = np.zeros(len(check), dtype=bool)

    def leaves_land(sel: np.ndarray) -> np.ndarray:
        todo = np.flatnonzero(sel & ~seen)
        if len(todo):
            i = check[todo]
            wet[todo] = ~_on_land(model, o_lat[i], o_lon[i], d_lat[i], d_lon[i], xc[todo])
            seen[todo] = True
        return sel & wet

    want = (same & ~proven) | leaves_land(named)
    g = over_land_km(model, o_node, d_node, want)
    around = want & np.isfinite(g) & (g > limit)
    near = want & ~around & np.isfinite(g)
    noted = leaves_land(near & _link_candidates(model, o_node, d_node, g, near))
    sel = np.flatnonzero(around | (on_grid & ~same) | noted)
    if not len(sel):
        return check[:0], pd.DataFrame({"minutes": np.zeros(0, np.float32), "km": np.zeros(0, np.float32),
                                        "route": np.zeros(0, object), "reason": np.zeros(0, object)})
    res = _classify_subset(model, o_node[sel], d_node[sel], xc[sel], g[sel], params)
    return check[sel], res
