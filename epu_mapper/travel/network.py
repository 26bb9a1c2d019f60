"""Building an OSRM road network from an OpenStreetMap extract (I/O): :func:`prepare_network`.

Pre-filter an ``.osm.pbf`` to roads with pyosmium, run the ``osrm-extract`` (bundled ``car.lua``)
and ``osrm-contract`` executables shipped inside the ``osrm-bindings`` wheel, and write the
contraction-hierarchy graph plus ``network.json`` (source file, hash, OSM timestamp, timings, peak
memory) and ``extent.npz`` (where the network has roads) into ``<build>/osrm/<name>/``. Querying a
built network is :mod:`~epu_mapper.travel.osrm`.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from epu_mapper.sources import file_sha256
from epu_mapper.travel.osrm import (
    EXTENT_CELL_DEG,
    GRAPH_STEM,
    NetworkError,
    cell_keys,
    osrm_package_dir,
    read_network_meta,
)
from epu_mapper.travel.roadfilter import read_header


def osrm_binary(name: str) -> Path:
    """Path of a bundled OSRM executable, e.g. ``osrm-extract``."""
    path = osrm_package_dir() / "bin" / name
    if not path.is_file():
        found = shutil.which(name)
        if not found:
            raise NetworkError(f"OSRM executable {name} not found in the osrm-bindings wheel")
        path = Path(found)
    return path


def car_profile() -> Path:
    """The ``car.lua`` profile bundled with ``osrm-bindings``."""
    return osrm_package_dir() / "share" / "profiles" / "car.lua"


def osrm_version() -> str:
    """Installed ``osrm-bindings`` version (the OSRM backend version it wraps)."""
    try:
        return metadata.version("osrm-bindings")
    except metadata.PackageNotFoundError:  # pragma: no cover
        return "unknown"


def filter_roads(src: Path, dst: Path) -> dict:
    """Write the ``highway=*`` ways (+ turn restrictions and every node they use) of ``src``.

    Parameters
    ----------
    src : Path
        Input ``.osm.pbf`` (or ``.osm``) extract.
    dst : Path
        Output ``.osm.pbf``; node tags are kept (barriers and traffic signals matter
        to the car profile).

    Returns
    -------
    dict
        ``ways``, ``restrictions`` written, ``osm_timestamp`` (replication timestamp
        from the header, or None) and ``header_bbox``.
    """
    import osmium

    stamp, header_bbox = read_header(src)
    ways = restrictions = 0
    with osmium.BackReferenceWriter(str(dst), ref_src=str(src), remove_tags=False) as writer:
        obj: Any  # a way or a relation (the processor's filter)
        for obj in osmium.FileProcessor(str(src), osmium.osm.WAY | osmium.osm.RELATION):
            if obj.is_way():
                if "highway" in obj.tags:
                    writer.add(obj)
                    ways += 1
            elif obj.tags.get("type") == "restriction":
                writer.add(obj)
                restrictions += 1
    return {"ways": ways, "restrictions": restrictions, "osm_timestamp": stamp,
            "header_bbox": header_bbox}


def extent_cells(pbf: Path, cell_deg: float = EXTENT_CELL_DEG) -> tuple[np.ndarray, list[float]]:
    """Grid cells that hold at least one node of a (road-filtered) extract.

    Returns
    -------
    (cells, bbox) : tuple
        ``cells``: sorted unique int64 cell keys (see :func:`cell_keys`);
        ``bbox``: ``[min_lon, min_lat, max_lon, max_lat]`` of the nodes.
    """
    import osmium

    keys: set[int] = set()
    lo_lon = lo_lat = np.inf
    hi_lon = hi_lat = -np.inf
    batch_lat: list[float] = []
    batch_lon: list[float] = []

    def flush() -> None:
        nonlocal lo_lon, lo_lat, hi_lon, hi_lat
        if not batch_lat:
            return
        la, lo = np.asarray(batch_lat), np.asarray(batch_lon)
        keys.update(np.unique(cell_keys(la, lo, cell_deg)).tolist())
        lo_lon, hi_lon = min(lo_lon, lo.min()), max(hi_lon, lo.max())
        lo_lat, hi_lat = min(lo_lat, la.min()), max(hi_lat, la.max())
        batch_lat.clear()
        batch_lon.clear()

    node: Any  # a node (the processor's filter)
    for node in osmium.FileProcessor(str(pbf), osmium.osm.NODE):
        loc = node.location
        if loc.valid():
            batch_lat.append(loc.lat)
            batch_lon.append(loc.lon)
            if len(batch_lat) >= 1_000_000:
                flush()
    flush()
    if not keys:
        raise NetworkError(f"{pbf} holds no road nodes: is it an OpenStreetMap extract with roads?")
    # fallback used only when the OSRM graph's node file cannot be read
    return np.array(sorted(keys), dtype=np.int64), [float(lo_lon), float(lo_lat),
                                                    float(hi_lon), float(hi_lat)]


def osrm_node_coordinates(graph: Path) -> tuple[np.ndarray, np.ndarray] | None:
    """(lat, lon) of every node of the routable road graph written by ``osrm-extract``.

    OSRM files are tar archives; ``<graph>.nbg_nodes`` holds
    ``/common/nbn_data/coordinates`` as int32 pairs (lon, lat) x 1e6. Returns None
    when the layout is not the expected one (other OSRM versions).
    """
    import tarfile

    try:
        with tarfile.open(f"{graph}.nbg_nodes") as tar:
            member = tar.extractfile("/common/nbn_data/coordinates")
            if member is None:
                return None
            xy = np.frombuffer(member.read(), dtype=np.int32).reshape(-1, 2)
    except (OSError, KeyError, ValueError, tarfile.TarError):
        return None
    return xy[:, 1] / 1e6, xy[:, 0] / 1e6


def extent_from_points(lat: np.ndarray, lon: np.ndarray, cell_deg: float = EXTENT_CELL_DEG
                       ) -> tuple[np.ndarray, list[float]]:
    """Sorted unique cell keys and ``[min_lon, min_lat, max_lon, max_lat]`` of points."""
    if len(lat) == 0:
        raise NetworkError("the road network has no nodes: is the extract empty of roads?")
    cells = np.unique(cell_keys(lat, lon, cell_deg))
    return cells.astype(np.int64), [float(lon.min()), float(lat.min()), float(lon.max()), float(lat.max())]


def read_poly(path: Path):
    """A polygon from an Osmosis ``.poly`` file (the boundary files Geofabrik publishes).

    Sections whose name starts with ``!`` are holes.
    """
    import shapely

    lines = [ln.strip() for ln in Path(path).read_text(encoding="utf-8").splitlines()]
    outers: list = []
    holes: list = []
    i = 1  # line 0 is the file's name
    while i < len(lines) and lines[i] != "END":
        name = lines[i]
        i += 1
        ring = []
        while i < len(lines) and lines[i] != "END":
            if lines[i]:
                x, y = lines[i].split()[:2]
                ring.append((float(x), float(y)))
            i += 1
        i += 1  # the section's END
        if len(ring) >= 3:
            (holes if name.startswith("!") else outers).append(shapely.Polygon(ring))
    if not outers:
        raise NetworkError(f"no polygon found in {path}")
    shape = shapely.union_all(outers)
    if holes:
        shape = shape.difference(shapely.union_all(holes))
    return shape


def read_boundary(path: Path, code: str | None = None):
    """A boundary polygon from a ``.poly`` file or a GeoJSON file (WGS84).

    Parameters
    ----------
    path : Path
        ``.poly`` (Osmosis/Geofabrik) or GeoJSON (FeatureCollection, Feature or geometry).
    code : str, optional
        Keep only GeoJSON features with a property equal to this value
        (e.g. ``E06000017`` in a local-authority file).

    Returns
    -------
    shapely geometry
        The union of the selected polygons.
    """
    import shapely
    from shapely.geometry import shape as to_shape

    path = Path(path).expanduser()
    if not path.is_file():
        raise NetworkError(f"boundary file not found: {path}")
    if path.suffix.lower() == ".poly":
        return read_poly(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise NetworkError(f"{path} is neither a .poly file nor GeoJSON: {exc}") from exc
    features = data.get("features") if data.get("type") == "FeatureCollection" else [data]
    geoms = []
    for feat in features:
        props = feat.get("properties") or {}
        if code is not None and code not in {str(v) for v in props.values()}:
            continue
        geoms.append(to_shape(feat.get("geometry", feat)))
    if not geoms:
        raise NetworkError(f"no feature in {path}" + (f" has a property equal to {code!r}" if code else ""))
    return shapely.union_all(geoms)


def _vm_hwm_kb(pid: int) -> int:
    """Peak resident memory (VmHWM, kB) of a running process; 0 when unreadable."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def _run(cmd: list[str], log: Path) -> dict:
    """Run one OSRM executable; return its wall time and peak memory.

    Peak memory is the child's own ``VmHWM`` polled from ``/proc`` every 20 ms
    (``getrusage`` of a child would include the parent's memory at fork time).
    """
    t0 = time.perf_counter()
    peak_kb = 0
    with open(log, "ab") as fh:
        fh.write(("$ " + " ".join(cmd) + "\n").encode())
        fh.flush()
        proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT)
        while proc.poll() is None:
            peak_kb = max(peak_kb, _vm_hwm_kb(proc.pid))
            time.sleep(0.02)
    seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        tail = log.read_text(errors="replace").splitlines()[-15:]
        raise NetworkError(
            f"{Path(cmd[0]).name} failed (exit {proc.returncode}); last log lines:\n"
            + "\n".join(tail)
        )
    return {"seconds": round(seconds, 3), "peak_rss_mb": round(peak_kb / 1024, 1) if peak_kb else None}


def network_name(pbf: Path) -> str:
    """Default network name from a file name: ``rutland-latest.osm.pbf`` → ``rutland-latest``."""
    name = Path(pbf).name
    for suffix in (".osm.pbf", ".pbf", ".osm.bz2", ".osm"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return Path(pbf).stem


def prepare_network(
    pbf: Path,
    build_dir: Path,
    name: str | None = None,
    threads: int = 2,
    keep_filtered: bool = False,
    boundary: Path | None = None,
    boundary_code: str | None = None,
    log=print,
    drivable_only: bool = True,
) -> Path:
    """Build an OSRM car graph (contraction hierarchies) from an OpenStreetMap extract.

    Parameters
    ----------
    pbf : Path
        Any OpenStreetMap extract (``.osm.pbf``), e.g. a Geofabrik county or GB file.
    build_dir : Path
        The build folder; the graph goes to ``build_dir/osrm/<name>/``.
    name : str, optional
        Network name (default from the file name).
    threads : int
        Threads for ``osrm-extract``/``osrm-contract``.
    keep_filtered : bool
        Keep the road-filtered ``.osm.pbf`` beside the graph.
    boundary : Path, optional
        The area the extract stands for (``.poly`` as published with Geofabrik
        extracts, or GeoJSON). Points outside it are "outside network" even where
        roads cut at the edge of the extract reach them.
    boundary_code : str, optional
        With a GeoJSON boundary, keep only features with a property equal to this.
    log : callable
        Progress messages.
    drivable_only : bool
        Pre-filter to drivable roads and ferries
        (:func:`~epu_mapper.travel.roadfilter.filter_drivable`, the default: same graph,
        less memory); False keeps every ``highway=*`` way (:func:`filter_roads`).

    Returns
    -------
    Path
        The network folder (written atomically: a failed build leaves any previous
        graph of that name untouched).
    """
    pbf = Path(pbf).expanduser().resolve()
    if not pbf.is_file():
        raise NetworkError(f"OpenStreetMap extract not found: {pbf}")
    name = name or network_name(pbf)
    if not name.replace("-", "").replace("_", "").isalnum():
        raise NetworkError(f"network name {name!r} must be letters, digits, '-' or '_'")
    boundary_shape = read_boundary(boundary, boundary_code) if boundary else None
    root = Path(build_dir) / "osrm"
    root.mkdir(parents=True, exist_ok=True)
    final = root / name
    work = Path(tempfile.mkdtemp(prefix=f".{name}.", dir=root))
    steps: dict[str, dict] = {}
    try:
        filtered = work / f"{GRAPH_STEM}.osm.pbf"
        log_path = work / "osrm.log"
        kept = "drivable roads and ferries" if drivable_only else "highway ways"
        log(f"filtering {pbf.name} to {kept} ...")
        # in a child process, so that its own peak memory is measured (pyosmium)
        counts = work / "filter.json"
        steps["filter"] = _run(
            [sys.executable, "-m", "epu_mapper.travel.roadfilter", str(pbf), str(filtered), str(counts),
             *([] if drivable_only else ["--all-highways"])],
            log_path,
        )
        info = json.loads(counts.read_text(encoding="utf-8"))
        counts.unlink()
        log(f"osrm-extract ({info['ways']} road ways) ...")
        steps["extract"] = _run(
            [str(osrm_binary("osrm-extract")), "-p", str(car_profile()), "-t", str(threads),
             str(filtered)],
            log_path,
        )
        t1 = time.perf_counter()
        coords = osrm_node_coordinates(work / f"{GRAPH_STEM}.osrm")
        if coords is not None:
            cells, bbox = extent_from_points(*coords)
            extent_source = "osrm node-based graph (routable car roads)"
        else:  # pragma: no cover - only with an unexpected OSRM file layout
            cells, bbox = extent_cells(filtered)
            extent_source = "every node of the road-filtered extract"
        steps["extent"] = {"seconds": round(time.perf_counter() - t1, 3), "peak_rss_mb": None}
        np.savez_compressed(work / "extent.npz", cells=cells, cell_deg=np.float64(EXTENT_CELL_DEG))
        if boundary_shape is not None:
            import shapely

            (work / "boundary.wkb").write_bytes(shapely.to_wkb(boundary_shape))
        log("osrm-contract ...")
        steps["contract"] = _run(
            [str(osrm_binary("osrm-contract")), "-t", str(threads),
             str(work / f"{GRAPH_STEM}.osrm")],
            log_path,
        )
        filtered_size = filtered.stat().st_size
        if not keep_filtered:
            filtered.unlink()
        graph_bytes = sum(p.stat().st_size for p in work.glob(f"{GRAPH_STEM}.osrm*"))
        meta = {
            "name": name,
            "engine": "osrm",
            "algorithm": "CH",
            "profile": "car.lua (bundled with osrm-bindings)",
            "osrm_bindings": osrm_version(),
            "source_pbf": str(pbf),
            "source_bytes": pbf.stat().st_size,
            "source_sha256": file_sha256(pbf),
            "osm_timestamp": info["osm_timestamp"],
            "header_bbox": info["header_bbox"],
            "road_bbox": bbox,
            "road_filter": kept,
            "road_ways": info["ways"],
            "ferry_ways": info.get("ferries"),
            "ways_dropped_by_filter": info.get("ways_dropped"),
            "restrictions": info["restrictions"],
            "filtered_bytes": filtered_size,
            "graph_bytes": graph_bytes,
            "extent_cells": len(cells),
            "extent_cell_deg": EXTENT_CELL_DEG,
            "extent_source": extent_source,
            "boundary": None if boundary is None else {
                "file": str(Path(boundary).expanduser().resolve()), "code": boundary_code,
                "sha256": file_sha256(Path(boundary).expanduser()),
            },
            "threads": threads,
            "steps": steps,
            "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        (work / "network.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
        if final.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{name}.old.", dir=root))
            os.replace(final, old / name)
            os.replace(work, final)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(work, final)
    finally:
        if work.exists():
            shutil.rmtree(work, ignore_errors=True)
    return final


def ensure_network(pbf: Path, build_dir: Path, name: str | None = None, log=print, **kwargs) -> Path:
    """The network built from ``pbf`` (reused when its source hash matches, else built)."""
    pbf = Path(pbf).expanduser().resolve()
    if not pbf.is_file():
        raise NetworkError(f"OpenStreetMap extract not found: {pbf}")
    name = name or network_name(pbf)
    path = Path(build_dir) / "osrm" / name
    if (path / "network.json").is_file() and (path / f"{GRAPH_STEM}.osrm.hsgr").is_file():
        meta = read_network_meta(path)
        wanted = kwargs.get("boundary")
        have = (meta.get("boundary") or {}).get("file")
        same_boundary = (wanted is None and have is None) or (
            wanted is not None and have == str(Path(wanted).expanduser().resolve())
            and (meta.get("boundary") or {}).get("code") == kwargs.get("boundary_code"))
        wanted_filter = ("drivable roads and ferries" if kwargs.get("drivable_only", True)
                         else "highway ways")
        same_filter = meta.get("road_filter", "highway ways") == wanted_filter
        if meta.get("source_sha256") == file_sha256(pbf) and same_boundary and same_filter:
            log(f"road network {name!r} is up to date: {path}")
            return path
    return prepare_network(pbf, build_dir, name=name, log=log, **kwargs)
