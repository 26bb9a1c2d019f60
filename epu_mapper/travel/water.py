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

Pure core: :func:`classify`; the grid and its distances are built once per build by
:func:`load_model` / :func:`site_distances` (cached under ``build/travel/water/``).
"""

from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from epu_mapper.geography import haversine_km
from epu_mapper.travel.estimate import CALIBRATED, ROUTE_ROAD, EstimateParams, estimate_from_km

#: Grid cell size (metres, British National Grid).
RES_M = 1000.0
#: Over-land km longer than this × straight km (+ slack) = the straight line crosses water.
WATER_RATIO = 1.2
WATER_SLACK_KM = 3.0
#: Mean excess of an 8-neighbour grid path over a straight line (km per km).
GRID_FACTOR = 1.05
#: Points farther than this from land on the grid are not snapped (km).
SNAP_MAX_KM = 10.0
CROSSINGS_CSV = Path(__file__).resolve().parents[2] / "data" / "crossings.csv"
NI_REASON = "no road link between Northern Ireland and Great Britain"
NO_LINK_REASON = "no fixed link or sourced car ferry reaches this island (data/crossings.csv)"
OVERNIGHT_REASON = "no same-day link: only an overnight ferry ({})"

ROUTE_AROUND = "road around the water (over-land distance)"
#: A point in Northern Ireland (Belfast) marks the island of Ireland's land.
_BELFAST = (54.597, -5.930)


@dataclass
class WaterModel:
    """The land grid, its graph and the crossings.

    Attributes
    ----------
    x0, y0 : float
        BNG coordinates (m) of the grid's lower-left corner.
    shape : tuple of int
        ``(rows, columns)`` of the grid.
    node_of_cell : numpy.ndarray
        int32 ``(rows × columns,)``: node id of each cell's nearest land cell (-1 beyond
        :data:`SNAP_MAX_KM`).
    graph : scipy.sparse.csr_matrix
        Node adjacency (km), 8 neighbours plus the fixed links.
    component : numpy.ndarray
        int32 ``(n_nodes,)`` land labels (land joined by fixed links shares a label).
    ni_component : int
        Label of Northern Ireland's land (-1 when not in the grid).
    links : pandas.DataFrame
        Fixed links: ``name, length_km, node_a, node_b, crosses_water_on_grid`` (False when
        the grid already joins the two ends over land: such a link is never named).
    ferries : pandas.DataFrame
        ``name, crossing_min, wait_min, same_day, node_a, node_b``.
    ports : numpy.ndarray
        int64 distinct ferry port nodes.
    key : str
        Fingerprint of the boundaries, crossings and grid constants.
    cache_dir : Path or None
        Where grid distances are kept between processes (``build/travel/water``).
    land : numpy.ndarray
        bool ``(rows, columns)`` land grid (cell centre inside the boundaries).
    """

    x0: float
    y0: float
    shape: tuple[int, int]
    node_of_cell: np.ndarray
    graph: Any  # scipy.sparse.csr_matrix
    component: np.ndarray
    ni_component: int
    links: pd.DataFrame
    ferries: pd.DataFrame
    ports: np.ndarray
    key: str
    land: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), bool), repr=False)
    cache_dir: Path | None = None
    _cache: dict = field(default_factory=dict, repr=False)

    def cells(self, lat: np.ndarray, lon: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """BNG metres of WGS84 points relative to the grid corner (x, y)."""
        x, y = _to_bng(np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64))
        return x - self.x0, y - self.y0

    def nodes(self, lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
        """Grid node of each WGS84 point (-1 when missing or far from land)."""
        lat = np.asarray(lat, dtype=np.float64)
        lon = np.asarray(lon, dtype=np.float64)
        out = np.full(lat.shape, -1, dtype=np.int64)
        ok = np.isfinite(lat) & np.isfinite(lon)
        if not ok.any():
            return out
        x, y = _to_bng(lon[ok], lat[ok])
        r = np.floor((y - self.y0) / RES_M).astype(np.int64)
        c = np.floor((x - self.x0) / RES_M).astype(np.int64)
        inside = (r >= 0) & (r < self.shape[0]) & (c >= 0) & (c < self.shape[1])
        got = np.full(len(r), -1, dtype=np.int64)
        got[inside] = self.node_of_cell[r[inside] * self.shape[1] + c[inside]]
        out[ok] = got
        return out


@functools.lru_cache(maxsize=1)
def _transformer():
    from pyproj import Transformer

    return Transformer.from_crs("EPSG:4326", "EPSG:27700", always_xy=True)


def _to_bng(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x, y = _transformer().transform(np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64))
    return np.asarray(x), np.asarray(y)


def read_crossings(path: Path = CROSSINGS_CSV) -> pd.DataFrame:
    """The crossings table (``data/crossings.csv``), one row per fixed link or car ferry.

    Returns
    -------
    pandas.DataFrame
        ``kind`` (``fixed``/``ferry``), ``name``, ``a_name, a_lat, a_lon, b_name, b_lat,
        b_lon``, ``length_km`` (fixed links), ``crossing_min`` and ``wait_min`` (ferries;
        ``wait_min`` NaN = not sourced, not counted), ``same_day`` (bool), ``note``,
        ``source_url``, ``source_read``.
    """
    df = pd.read_csv(path, dtype={"kind": str, "name": str, "note": str, "source_url": str,
                                  "source_read": str, "same_day": str})
    df["same_day"] = df["same_day"].str.lower().eq("true")
    bad = df[~df["kind"].isin(["fixed", "ferry"]) | df["source_url"].isna() | df["source_read"].isna()]
    if len(bad):
        raise ValueError(f"{path}: rows {list(bad.index + 2)} lack a kind, source_url or source_read")
    return df


def _grid(geom, x0: float, y0: float, x1: float, y1: float) -> np.ndarray:
    import shapely

    xs = np.arange(x0 + RES_M / 2, x1, RES_M)
    ys = np.arange(y0 + RES_M / 2, y1, RES_M)
    gx, gy = np.meshgrid(xs, ys)
    return shapely.contains_xy(geom, gx.ravel(), gy.ravel()).reshape(gx.shape)


def _adjacency(land: np.ndarray, index: np.ndarray, extra: list[tuple[int, int, float]]):
    import scipy.sparse as sp

    h, w = land.shape
    ys, xs = np.nonzero(land)
    rows, cols, wts = [], [], []
    for dy, dx in ((0, 1), (1, 0), (1, 1), (1, -1)):
        ny, nx = ys + dy, xs + dx
        ok = (ny < h) & (nx >= 0) & (nx < w)
        ok[ok] &= land[ny[ok], nx[ok]]
        rows.append(index[ys[ok], xs[ok]])
        cols.append(index[ny[ok], nx[ok]])
        wts.append(np.full(int(ok.sum()), np.hypot(dy, dx) * RES_M / 1000.0))
    for a, b, km in extra:
        if a >= 0 and b >= 0 and a != b:
            rows.append(np.array([a]))
            cols.append(np.array([b]))
            wts.append(np.array([max(km, 0.01)]))
    n = int(land.sum())
    r, c, wt = np.concatenate(rows), np.concatenate(cols), np.concatenate(wts)
    g = sp.coo_matrix((np.r_[wt, wt], (np.r_[r, c], np.r_[c, r])), shape=(n, n)).tocsr()
    g.sum_duplicates()
    return g


def build_model(boundary_geojson: Path, crossings: pd.DataFrame) -> WaterModel:
    """Rasterise the land, link it with the fixed links and label the land masses.

    Parameters
    ----------
    boundary_geojson : Path
        Coastline-clipped polygons (``build/boundaries/nation.geojson``).
    crossings : pandas.DataFrame
        :func:`read_crossings`.
    """
    import geopandas as gpd
    import shapely
    from scipy import ndimage
    from scipy.sparse.csgraph import connected_components

    gdf = gpd.read_file(boundary_geojson).to_crs(27700)
    geom = shapely.union_all(gdf.geometry.values)
    shapely.prepare(geom)
    bx0, by0, bx1, by1 = geom.bounds
    x0, y0 = np.floor(bx0 / RES_M) * RES_M - RES_M, np.floor(by0 / RES_M) * RES_M - RES_M
    land = _grid(geom, x0, y0, bx1 + RES_M, by1 + RES_M)
    index = np.full(land.shape, -1, dtype=np.int64)
    index[land] = np.arange(int(land.sum()))
    dist, (ir, ic) = ndimage.distance_transform_edt(~land, return_indices=True)
    node_of_cell = index[ir, ic].astype(np.int32)
    node_of_cell[(dist * RES_M / 1000.0 > SNAP_MAX_KM).ravel().reshape(dist.shape)] = -1
    model = WaterModel(float(x0), float(y0), land.shape, node_of_cell.ravel(), None,
                       np.zeros(0, np.int32), -1, pd.DataFrame(), pd.DataFrame(), np.zeros(0, np.int64), "",
                       land=land)
    a = model.nodes(crossings["a_lat"].to_numpy(), crossings["a_lon"].to_numpy())
    b = model.nodes(crossings["b_lat"].to_numpy(), crossings["b_lon"].to_numpy())
    fixed = (crossings["kind"] == "fixed").to_numpy()
    extra = [(int(a[i]), int(b[i]), float(crossings["length_km"].iloc[i])) for i in np.flatnonzero(fixed)]
    model.graph = _adjacency(land, index, extra)
    _, comp = connected_components(model.graph, directed=False)
    model.component = comp.astype(np.int32)
    ni = model.nodes(np.array([_BELFAST[0]]), np.array([_BELFAST[1]]))[0]
    model.ni_component = int(comp[ni]) if ni >= 0 else -1
    model.links = pd.DataFrame({"name": crossings.loc[fixed, "name"].to_numpy(),
                                "length_km": crossings.loc[fixed, "length_km"].to_numpy(np.float64),
                                "node_a": a[fixed], "node_b": b[fixed]})
    seg = crossings[fixed]
    wet = ~_on_land(model, seg["a_lat"].to_numpy(), seg["a_lon"].to_numpy(), seg["b_lat"].to_numpy(),
                    seg["b_lon"].to_numpy(), seg["length_km"].to_numpy(np.float64), margin_km=0.0)
    model.links["crosses_water_on_grid"] = wet
    fer = crossings[~fixed]
    model.ferries = pd.DataFrame({
        "name": fer["name"].to_numpy(), "crossing_min": fer["crossing_min"].to_numpy(np.float64),
        "wait_min": fer["wait_min"].to_numpy(np.float64), "same_day": fer["same_day"].to_numpy(bool),
        "node_a": a[~fixed], "node_b": b[~fixed]})
    model.ports = np.unique(np.r_[model.ferries["node_a"], model.ferries["node_b"]])
    model.ports = model.ports[model.ports >= 0]
    return model


def model_key(boundary_geojson: Path, crossings_csv: Path) -> str:
    """Fingerprint of the inputs and constants of a model (cache key)."""
    h = hashlib.sha256()
    for p in (boundary_geojson, crossings_csv):
        h.update(Path(p).read_bytes())
    h.update(json.dumps([RES_M, SNAP_MAX_KM, 1]).encode())
    return h.hexdigest()[:16]


_MODELS: dict[tuple[str, str], WaterModel] = {}


def load_model(build_dir: Path | None = None, crossings_csv: Path = CROSSINGS_CSV) -> WaterModel | None:
    """The water model of a build (cached per process), None when the boundaries are not built."""
    if build_dir is None:
        from epu_mapper.settings import get_settings

        build_dir = get_settings().build_dir
    geo = Path(build_dir) / "boundaries" / "nation.geojson"
    if not geo.is_file() or not Path(crossings_csv).is_file():
        return None
    stamp = (str(geo), f"{geo.stat().st_mtime_ns}:{Path(crossings_csv).stat().st_mtime_ns}")
    if stamp not in _MODELS:
        model = build_model(geo, read_crossings(crossings_csv))
        model.key = model_key(geo, crossings_csv)
        model.cache_dir = Path(build_dir) / "travel" / "water"
        _MODELS.clear()
        _MODELS[stamp] = model
    return _MODELS[stamp]


#: Over-land distances from sites are searched up to this many km (inf beyond: such a pair on
#: the same land keeps its straight line). Ferry ports are searched without a limit.
SEARCH_LIMIT_KM = 150.0


def distances_from(model: WaterModel, nodes: np.ndarray, chunk: int = 24,
                   limit: float = SEARCH_LIMIT_KM) -> np.ndarray:
    """Over-land km from each node to every grid node: float32 ``(n_nodes_grid, len(nodes))``.

    Missing nodes (-1) give an all-inf column, and so do grid nodes beyond ``limit`` km. Stored
    transposed (grid node first) so one origin's distances to every source are one contiguous row.
    """
    from scipy.sparse.csgraph import dijkstra

    nodes = np.asarray(nodes, dtype=np.int64)
    n = model.graph.shape[0]
    out = np.full((n, len(nodes)), np.inf, dtype=np.float32)
    ok = np.flatnonzero(nodes >= 0)
    for start in range(0, len(ok), chunk):
        cols = ok[start:start + chunk]
        d = dijkstra(model.graph, directed=True, indices=nodes[cols], limit=limit)
        out[:, cols] = d.T.astype(np.float32)
    return out


def _cached_distances(model: WaterModel, slot: str, nodes: np.ndarray,
                      limit: float = SEARCH_LIMIT_KM) -> np.ndarray:
    """:func:`distances_from` these nodes, kept in memory and in ``model.cache_dir``.

    The file is ``dist_<slot>_<key>.npy``, memory-mapped when read back.
    """
    nodes = np.asarray(nodes, dtype=np.int64)
    held = model._cache.get(slot)
    if held is not None and held[3] == limit and np.array_equal(held[2], nodes):
        return held[1]
    key = hashlib.sha256(model.key.encode() + nodes.tobytes() + repr(limit).encode()).hexdigest()[:16]
    path = Path(model.cache_dir) / f"dist_{slot}_{key}.npy" if model.cache_dir is not None else None
    arr = None
    if path is not None and path.is_file():
        try:
            arr = np.load(path, mmap_mode="r")
            if arr.shape != (model.graph.shape[0], len(nodes)):
                arr = None
        except (OSError, ValueError):
            arr = None
    if arr is None:
        arr = distances_from(model, nodes, limit=limit)
        if path is not None:
            _save_distances(path, slot, arr)
    model._cache[slot] = (key, arr, nodes, limit)
    return arr


def _save_distances(path: Path, slot: str, arr: np.ndarray) -> None:
    from epu_mapper.store import atomic_write

    path.parent.mkdir(parents=True, exist_ok=True)

    def _save(tmp: Path) -> None:
        with open(tmp, "wb") as fh:
            np.save(fh, arr, allow_pickle=False)

    atomic_write(path, _save)
    # keep the two newest sets (e.g. the units, and the units with likely sites)
    olds = sorted(path.parent.glob(f"dist_{slot}_*.npy"), key=lambda f: f.stat().st_mtime, reverse=True)
    for old in olds[2:]:
        old.unlink(missing_ok=True)


def site_distances(model: WaterModel, nodes: np.ndarray) -> np.ndarray:
    """Over-land km from every grid node to each destination node (cached).

    See :func:`distances_from`. Each destination set (the directory's units, the acute
    hospitals of a patient answer, …) has its own cache slot, so queries on different sets do
    not evict each other.
    """
    nodes = np.asarray(nodes, dtype=np.int64)
    tag = hashlib.sha256(nodes.tobytes()).hexdigest()[:8]
    return _cached_distances(model, f"sites-{tag}", nodes)


def port_distances(model: WaterModel) -> np.ndarray:
    """Over-land km from every grid node to each ferry port: ``(n_nodes, n_ports)`` (cached)."""
    return _cached_distances(model, "ports", model.ports, limit=np.inf)


def link_distances(model: WaterModel) -> np.ndarray:
    """Over-land km from every grid node to each fixed link's ends.

    ``(n_nodes, 2 × n_links)`` (the ``a`` ends, then the ``b`` ends; cached).
    """
    ends = np.r_[model.links["node_a"].to_numpy(), model.links["node_b"].to_numpy()]
    return _cached_distances(model, "links", ends)


def provenance(model: WaterModel) -> dict:
    """What the water rule used (for the travel provenance JSON)."""
    return {
        "rule": (f"over-land km > {WATER_RATIO} x straight + {WATER_SLACK_KM} km, or other land: "
                 "fixed links and car ferries of data/crossings.csv"),
        "grid_m": RES_M, "grid_factor": GRID_FACTOR, "key": model.key,
        "crossings": str(CROSSINGS_CSV.name),
        "fixed_links": model.links["name"].tolist(),
        "ferries": model.ferries["name"].tolist(),
    }


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
    held = model._cache.get("dest_nodes")
    if held is None or held[0] != dkey:
        held = (dkey, model.nodes(d_lat, d_lon))
        model._cache["dest_nodes"] = held
    d_node = held[1]
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


def _on_land(model: WaterModel, o_lat, o_lon, d_lat, d_lon, x: np.ndarray,
             margin_km: float = 1.5) -> np.ndarray:
    """Pairs whose straight segment stays on land (a grid cell every km).

    The ``margin_km`` at each end are not checked: coastal points often fall in a sea cell.
    """
    if len(x) > 20000:
        return np.concatenate([_on_land(model, o_lat[i:i + 20000], o_lon[i:i + 20000], d_lat[i:i + 20000],
                                        d_lon[i:i + 20000], x[i:i + 20000], margin_km)
                               for i in range(0, len(x), 20000)])
    ox, oy = model.cells(o_lat, o_lon)
    dx, dy = model.cells(d_lat, d_lon)
    n_s = np.maximum(np.ceil(np.nan_to_num(x, nan=0.0) / (RES_M / 1000.0)).astype(np.int64), 1)
    rep = np.repeat(np.arange(len(x)), n_s)
    start = np.repeat(np.cumsum(n_s) - n_s, n_s)
    t = (np.arange(len(rep)) - start + 0.5) / n_s[rep]
    keep = (t * x[rep] > margin_km) & ((1 - t) * x[rep] > margin_km)
    px = ox[rep] + t * (dx[rep] - ox[rep])
    py = oy[rep] + t * (dy[rep] - oy[rep])
    r = np.floor(py / RES_M).astype(np.int64)
    c = np.floor(px / RES_M).astype(np.int64)
    h, w = model.land.shape
    inside = (r >= 0) & (r < h) & (c >= 0) & (c < w)
    land = np.zeros(len(rep), dtype=bool)
    land[inside] = model.land[r[inside], c[inside]]
    wet = keep & ~land
    return np.bincount(rep[wet], minlength=len(x)) == 0


def water_pairs(
    model: WaterModel, o_lat: np.ndarray, o_lon: np.ndarray, d_lat: np.ndarray, d_lon: np.ndarray,
    straight_km: np.ndarray, params: EstimateParams = CALIBRATED,
) -> tuple[np.ndarray, pd.DataFrame]:
    """The water rule for element-wise pairs.

    Pairs whose destination is a cached site (:func:`site_distances`, e.g. the units after
    ``travel build`` or a :func:`point` query) read their over-land distance from the cache; the
    others are checked on the grid first and only those whose straight segment leaves land get a
    shortest-path search (one per distinct destination).

    Returns
    -------
    (which, result)
        ``which``: int64 positions of the pairs given to :func:`classify` (the others keep the
        straight-line estimate); ``result``: their :func:`classify` rows (same order).
    """
    x = np.asarray(straight_km, dtype=np.float64)
    check = np.flatnonzero(np.isfinite(x))
    o_node = model.nodes(o_lat[check], o_lon[check])
    d_node = model.nodes(d_lat[check], d_lon[check])
    g = np.full(len(check), np.inf)
    pos = np.full(len(check), -1)
    sites = model._cache.get("sites")
    if sites is not None and len(sites[2]):  # destinations that are cached sites (two may share a cell)
        uniq, first = np.unique(sites[2], return_index=True)
        at = np.clip(np.searchsorted(uniq, d_node), 0, len(uniq) - 1)
        pos = np.where((uniq[at] == d_node) & (d_node >= 0), first[at], -1)
    cached = (pos >= 0) & (o_node >= 0)
    if cached.any():
        assert sites is not None  # pos >= 0 only with the sites cache
        g[cached] = sites[1][o_node[cached], pos[cached]]
    rest = np.flatnonzero(~cached & (o_node >= 0) & (d_node >= 0))
    if len(rest):
        wet = ~_on_land(model, o_lat[check[rest]], o_lon[check[rest]], d_lat[check[rest]],
                        d_lon[check[rest]], x[check[rest]])
        rest = rest[wet]
    if len(rest):
        uniq_d, inv = np.unique(d_node[rest], return_inverse=True)
        dist = distances_from(model, uniq_d)  # the same search limit as the cached sites
        g[rest] = dist[o_node[rest], inv]
    keep = np.zeros(len(check), dtype=bool)
    keep[cached] = True
    keep[rest] = True
    keep |= (o_node >= 0) & (d_node >= 0) & (model.component[np.maximum(o_node, 0)]
                                             != model.component[np.maximum(d_node, 0)])
    sel = np.flatnonzero(keep)
    if not len(sel):
        return check[:0], pd.DataFrame({"minutes": np.zeros(0, np.float32), "km": np.zeros(0, np.float32),
                                        "route": np.zeros(0, object), "reason": np.zeros(0, object)})
    res = _classify_subset(model, o_node[sel], d_node[sel], x[check][sel], g[sel], params)
    return check[sel], res
