"""The water model: a 1 km land grid of the UK with its fixed links and car ferries.

Built once per build from the coastline-clipped nation boundaries
(``build/boundaries/nation.geojson``) and ``data/crossings.csv``; over-land distances from
sites and ferry ports are searched on it and cached under ``build/travel/water/``. The rule
that uses it (road, around the water, ferry, or NaN with a reason) is in
:mod:`epu_mapper.travel.water`.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

#: Grid cell size (metres, British National Grid).

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


def _to_bng(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    # the project's one projection (a transformer per thread: pyproj's are not thread-safe)
    from epu_mapper.spatial import to_british_grid

    return to_british_grid(np.asarray(lat, dtype=np.float64), np.asarray(lon, dtype=np.float64))


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
    key = _set_key(model, nodes, limit)
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
    if path is not None and not _nodes_path(path).is_file():
        # also for sets saved before the nodes were kept; best effort (a read-only build folder)
        with contextlib.suppress(OSError):
            _save_array(_nodes_path(path), nodes)
    model._cache[slot] = (key, arr, nodes, limit)
    return arr


def _set_key(model: WaterModel, nodes: np.ndarray, limit: float) -> str:
    """Cache key of a set of searched nodes: the model, the nodes and the search limit."""
    return hashlib.sha256(model.key.encode() + nodes.tobytes() + repr(limit).encode()).hexdigest()[:16]


def _nodes_path(dist_path: Path) -> Path:
    """``nodes_<slot>_<key>.npy``: the searched nodes of ``dist_<slot>_<key>.npy`` (int64)."""
    return dist_path.with_name("nodes_" + dist_path.name[len("dist_"):])


def hold_site_sets_on_disk(model: WaterModel) -> None:
    """Hold (memory-mapped) every site set of this model saved in ``model.cache_dir``.

    Each set found (``dist_sites-*`` with its ``nodes_sites-*`` file, this model's key and the
    site search limit) goes in the model's cache as :func:`site_distances` would put it, so
    element-wise pairs to those sites (the directory's units after ``travel build``) read their
    over-land km instead of searching. Rescanned only when the folder changes.
    """
    if model.cache_dir is None:
        return
    folder = Path(model.cache_dir)
    try:
        stamp = folder.stat().st_mtime_ns
    except OSError:
        return
    if model._cache.get("disk_sets_seen") == stamp:
        return
    for side in sorted(folder.glob("nodes_sites-*_*.npy")):
        slot, key = side.stem[len("nodes_"):].rsplit("_", 1)
        if slot in model._cache:
            continue
        try:
            nodes = np.load(side, allow_pickle=False).astype(np.int64)
            if key != _set_key(model, nodes, SEARCH_LIMIT_KM):
                continue
            arr = np.load(folder / f"dist_{slot}_{key}.npy", mmap_mode="r")
        except (OSError, ValueError):
            continue
        if arr.shape == (model.graph.shape[0], len(nodes)):
            model._cache[slot] = (key, arr, nodes, SEARCH_LIMIT_KM)
    model._cache["disk_sets_seen"] = stamp


def _save_array(path: Path, arr: np.ndarray) -> None:
    from epu_mapper.store import atomic_write

    path.parent.mkdir(parents=True, exist_ok=True)

    def _save(tmp: Path) -> None:
        with open(tmp, "wb") as fh:
            np.save(fh, arr, allow_pickle=False)

    atomic_write(path, _save)


def _save_distances(path: Path, slot: str, arr: np.ndarray) -> None:
    _save_array(path, arr)
    # keep the two newest sets (e.g. the units, and the units with likely sites)
    olds = sorted(path.parent.glob(f"dist_{slot}_*.npy"), key=lambda f: f.stat().st_mtime, reverse=True)
    for old in olds[2:]:
        old.unlink(missing_ok=True)
        _nodes_path(old).unlink(missing_ok=True)


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
