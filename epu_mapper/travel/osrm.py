"""The real engine: querying an OSRM (``osrm-bindings``) road graph in-process.

:class:`OsrmRouter` queries a built graph (``osrm.OSRM.Table``), in chunks, returning float
arrays; unreachable pairs are NaN, never 0. :func:`find_network` / :func:`list_networks` /
:func:`read_network_meta` read the networks in the build folder; building one is
:mod:`~epu_mapper.travel.network`.

Coordinates given to OSRM are (lon, lat).
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from epu_mapper.errors import BuildDamagedError, BuildMissingError, EpuMapperError

#: A snapped point further than this from the input (metres) is "far from any road".
SNAP_FAR_M = 500.0
#: Grid cell (degrees) of the network extent; a point is inside the network when its
#: cell or one of the 8 neighbouring cells holds a road node (so up to ~1-2 km
#: beyond the last road of an extract still counts as inside).
EXTENT_CELL_DEG = 0.01
#: Origins per OSRM table request.
DEFAULT_CHUNK = 2000
#: File stem of the graph inside a network folder.
GRAPH_STEM = "graph"


class NetworkError(EpuMapperError):
    """A road network cannot be built or read."""


def osrm_package_dir() -> Path:
    """Folder of the installed ``osrm`` package (holds ``bin/`` and ``share/profiles``)."""
    try:
        import osrm
    except ImportError as exc:  # pragma: no cover - requirements pin osrm-bindings
        raise NetworkError(
            "the OSRM engine needs the 'osrm-bindings' package (pip install osrm-bindings)"
        ) from exc
    return Path(osrm.__file__).resolve().parent


def cell_keys(lat: np.ndarray, lon: np.ndarray, cell_deg: float = EXTENT_CELL_DEG) -> np.ndarray:
    """Integer key of the grid cell of each point (NaN coordinates give -1)."""
    lat = np.asarray(lat, dtype=np.float64)
    lon = np.asarray(lon, dtype=np.float64)
    ok = np.isfinite(lat) & np.isfinite(lon)
    row = np.floor((np.where(ok, lat, 0.0) + 90.0) / cell_deg).astype(np.int64)
    col = np.floor((np.where(ok, lon, 0.0) + 180.0) / cell_deg).astype(np.int64)
    return np.where(ok, row * 100_000 + col, -1)


def list_networks(build_dir: Path) -> list[Path]:
    """Built network folders under ``build_dir/osrm``, newest first."""
    root = Path(build_dir) / "osrm"
    if not root.is_dir():
        return []
    found = [p for p in root.iterdir() if not p.name.startswith(".") and (p / "network.json").is_file()]
    return sorted(found, key=lambda p: (p / "network.json").stat().st_mtime, reverse=True)


def find_network(build_dir: Path, name: str | None = None) -> Path | None:
    """The named network folder, or the most recently built one; None when none is built."""
    if name:
        path = Path(build_dir) / "osrm" / name
        if not (path / "network.json").is_file():
            raise BuildMissingError(
                f"Road network {name!r}", path, f"epu-mapper travel network --pbf FILE --name {name}"
            )
        return path
    nets = list_networks(build_dir)
    return nets[0] if nets else None


def read_network_meta(network_dir: Path) -> dict:
    """The ``network.json`` of a built network."""
    path = Path(network_dir) / "network.json"
    from epu_mapper import store

    cmd = "epu-mapper travel network --pbf FILE"
    if not path.is_file():
        raise BuildMissingError("Road network", path, cmd)
    return store.read_json_dict(path, "The road network description", cmd)


# --------------------------------------------------------------------------- query


def _to_array(rows, n_rows: int, n_cols: int) -> np.ndarray:
    """OSRM ``Array`` of rows (floats or None) → float64 array with NaN for None."""
    out = np.empty((n_rows, n_cols), dtype=np.float64)
    for i, row in enumerate(rows):
        out[i] = [np.nan if v is None else v for v in row]
    return out


@dataclass
class TableResult:
    """One OSRM table: float arrays; NaN where OSRM found no route."""

    minutes: np.ndarray  # (n_o, n_d) float64
    km: np.ndarray  # (n_o, n_d) float64
    origin_snap_m: np.ndarray  # (n_o,)
    dest_snap_m: np.ndarray  # (n_d,)


class OsrmRouter:
    """Query a built OSRM network in-process.

    Parameters
    ----------
    network_dir : Path
        A folder written by :func:`prepare_network`.
    """

    def __init__(self, network_dir: Path):
        import osrm

        self.network_dir = Path(network_dir)
        self.meta = read_network_meta(self.network_dir)
        graph = self.network_dir / f"{GRAPH_STEM}.osrm"
        if not graph.with_suffix(".osrm.hsgr").is_file():
            raise BuildMissingError("OSRM graph", graph, "epu-mapper travel network --pbf FILE")
        from epu_mapper import store

        try:
            extent = np.load(self.network_dir / "extent.npz")
            self._cells = extent["cells"]
            self._cell_deg = float(extent["cell_deg"])
        except (*store.READ_ERRORS, zipfile.BadZipFile) as exc:
            raise BuildDamagedError("The road network extent", self.network_dir / "extent.npz",
                                    "epu-mapper travel network --pbf FILE --force",
                                    store.short_reason(exc)) from None
        self._boundary = None
        wkb = self.network_dir / "boundary.wkb"
        if wkb.is_file():
            import shapely

            self._boundary = shapely.from_wkb(wkb.read_bytes())
            shapely.prepare(self._boundary)
        try:
            # memory-mapped: the app holds the router without loading the whole graph
            self._engine = osrm.OSRM(
                storage_config=str(graph), algorithm="CH", use_shared_memory=False, use_mmap=True
            )
        except RuntimeError as exc:
            raise NetworkError(f"cannot open the OSRM graph {graph}: {exc}") from exc

    @property
    def name(self) -> str:
        """The network's name (its folder name unless ``network.json`` says otherwise)."""
        return str(self.meta.get("name", self.network_dir.name))

    def inside(self, lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
        """True where a point lies within the network's extent (:data:`EXTENT_CELL_DEG`).

        When the network was built with a boundary, the point must also lie inside it.
        """
        lat = np.atleast_1d(np.asarray(lat, dtype=np.float64))
        lon = np.atleast_1d(np.asarray(lon, dtype=np.float64))
        ok = np.isfinite(lat) & np.isfinite(lon)
        hit = np.zeros(lat.shape, dtype=bool)
        d = self._cell_deg
        for dr in (-1, 0, 1):
            for dc in (-1, 0, 1):
                keys = cell_keys(lat + dr * d, lon + dc * d, d)
                pos = np.searchsorted(self._cells, keys)
                pos = np.clip(pos, 0, len(self._cells) - 1)
                hit |= self._cells[pos] == keys
        hit &= ok
        if self._boundary is not None and hit.any():
            import shapely

            hit[hit] = shapely.contains_xy(self._boundary, lon[hit], lat[hit])
        return hit

    def table(
        self,
        o_lat: np.ndarray,
        o_lon: np.ndarray,
        d_lat: np.ndarray,
        d_lon: np.ndarray,
    ) -> TableResult:
        """One OSRM table request: every origin to every destination.

        Parameters
        ----------
        o_lat, o_lon, d_lat, d_lon : numpy.ndarray
            WGS84 coordinates (no NaN).

        Returns
        -------
        TableResult
            Minutes and km (float64, NaN = no route) and snap distances (metres).
        """
        import osrm

        n_o, n_d = len(o_lat), len(d_lat)
        coords = list(zip(np.concatenate([o_lon, d_lon]).tolist(),
                          np.concatenate([o_lat, d_lat]).tolist(), strict=True))
        params = osrm.TableParameters(
            coordinates=coords,
            sources=list(range(n_o)),
            destinations=list(range(n_o, n_o + n_d)),
            annotations=["duration", "distance"],
            generate_hints=False,
        )
        try:
            res = self._engine.Table(params)
        except RuntimeError as exc:
            raise NetworkError(f"OSRM table request failed: {exc}") from exc
        seconds = _to_array(res["durations"], n_o, n_d)
        metres = _to_array(res["distances"], n_o, n_d)
        o_snap = np.array([w["distance"] for w in res["sources"]], dtype=np.float64)
        d_snap = np.array([w["distance"] for w in res["destinations"]], dtype=np.float64)
        return TableResult(seconds / 60.0, metres / 1000.0, o_snap, d_snap)

    def table_chunks(
        self,
        o_lat: np.ndarray,
        o_lon: np.ndarray,
        d_lat: np.ndarray,
        d_lon: np.ndarray,
        chunk: int = DEFAULT_CHUNK,
    ) -> Iterator[tuple[slice, TableResult]]:
        """:meth:`table` over origin chunks; yields ``(origin_slice, result)``."""
        for start in range(0, len(o_lat), chunk):
            sl = slice(start, min(start + chunk, len(o_lat)))
            yield sl, self.table(o_lat[sl], o_lon[sl], d_lat, d_lon)
