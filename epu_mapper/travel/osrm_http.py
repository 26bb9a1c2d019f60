"""The ``osrm-http`` engine: OSRM ``/table`` requests to a running OSRM server.

For people whose road network is too big for one machine's memory, or who already run
OSRM: ``osrm-routed`` on a bigger machine, or several behind a load balancer.
:class:`HttpRouter` has the same ``inside`` / ``table`` / ``table_chunks`` interface as
the in-process :class:`~epu_mapper.travel.osrm.OsrmRouter`, so the travel matrix and
``travel pairs`` use either.

Requests are split so each has at most ``max_table_size`` origins and as many
destinations (the server's ``--max-table-size``; ``osrm-routed`` defaults to 100 and
refuses more than that squared), sent by a few threads,
each with a timeout and retried (with back-off) on connection errors, timeouts and
5xx answers. Whatever still fails raises :class:`OsrmHttpError` with a message that
says what to do (no traceback reaches the user).

Where the network is: the server does not publish its extent, so a point counts as
inside when OSRM snaps it to a road within ``snap_limit_m`` metres (default
:data:`SNAP_INSIDE_M`). A built in-process network uses its road-cell grid instead
(up to ~1–2 km beyond the last road), so the two agree everywhere except within a
km or two of the edge of an extract.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import numpy as np

from epu_mapper.travel.osrm import DEFAULT_CHUNK, NetworkError, TableResult

#: A point snapped to a road further than this (metres) is outside the server's network.
SNAP_INSIDE_M = 2000.0
#: osrm-routed's default ``--max-table-size``.
DEFAULT_MAX_TABLE_SIZE = 100
#: Coordinates per request at most, whatever the table size: osrm-routed drops a
#: connection whose URL is much over ~20 kB (about 1,000 coordinates), seen with 26.10.
MAX_REQUEST_COORDS = 800
DEFAULT_TIMEOUT_S = 30.0
DEFAULT_RETRIES = 3
DEFAULT_WORKERS = 4


class OsrmHttpError(NetworkError):
    """The OSRM server cannot be reached or refused a request (exit 2, no traceback)."""


def check_url(url: str) -> str:
    """The server's base URL without a trailing slash; raises on anything but http(s)."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise OsrmHttpError(f"--osrm-url must be an http:// or https:// address of an OSRM server, "
                            f"such as http://127.0.0.1:5000 (got {url!r})")
    return url.strip().rstrip("/")


def _blocks(n: int, size: int) -> list[slice]:
    return [slice(s, min(s + size, n)) for s in range(0, n, size)]


class HttpRouter:
    """Query an OSRM server's ``/table`` service.

    Parameters
    ----------
    url : str
        Base URL, e.g. ``http://127.0.0.1:5000`` (a path prefix before ``/table`` is kept).
    profile : str
        The profile segment of the URL (``driving``; osrm-routed ignores it).
    timeout : float
        Seconds to wait for each answer.
    retries : int
        Further tries after a connection error, timeout or 5xx answer.
    max_table_size : int
        Origins, and destinations, per request (at most the server's ``--max-table-size``).
    snap_limit_m : float
        A point snapped further than this from a road is outside the network.
    workers : int
        Requests in flight at once (a load-balanced cluster answers them in parallel).
    """

    engine = "osrm-http"

    def __init__(self, url: str, profile: str = "driving", timeout: float = DEFAULT_TIMEOUT_S,
                 retries: int = DEFAULT_RETRIES, max_table_size: int = DEFAULT_MAX_TABLE_SIZE,
                 snap_limit_m: float = SNAP_INSIDE_M, workers: int = DEFAULT_WORKERS):
        if max_table_size < 1:
            raise OsrmHttpError("--osrm-max-table must be at least 1")
        self.url = check_url(url)
        self.profile = profile
        self.timeout = float(timeout)
        self.retries = max(0, int(retries))
        self.max_table_size = int(max_table_size)
        # distinct ends per request that ``travel pairs`` groups its pairs into
        self.max_table_coords = min(2 * self.max_table_size, MAX_REQUEST_COORDS)
        self.snap_limit_m = float(snap_limit_m)
        self.workers = max(1, int(workers))
        self._local = threading.local()
        self.requests_sent = 0
        self.meta = {"name": self.url, "engine": "osrm-http", "url": self.url, "profile": profile,
                     "max_table_size": self.max_table_size, "snap_limit_m": self.snap_limit_m}

    @property
    def name(self) -> str:
        """The server URL (stands for a network name in messages and provenance)."""
        return self.url

    # ------------------------------------------------------------------ transport

    def _session(self):
        import requests

        if not hasattr(self._local, "session"):
            self._local.session = requests.Session()
        return self._local.session

    def _get(self, coords: list[tuple[float, float]], sources: list[int],
             destinations: list[int]) -> dict:
        """One ``/table`` request (``coords`` as (lon, lat)); the parsed JSON answer."""
        import requests

        path = ";".join(f"{lon:.6f},{lat:.6f}" for lon, lat in coords)
        url = f"{self.url}/table/v1/{self.profile}/{path}"
        params = {"sources": ";".join(map(str, sources)),
                  "destinations": ";".join(map(str, destinations)),
                  "annotations": "duration,distance", "generate_hints": "false"}
        last = ""
        for attempt in range(self.retries + 1):
            if attempt:
                time.sleep(min(0.25 * 2 ** (attempt - 1), 4.0))
            try:
                resp = self._session().get(url, params=params, timeout=self.timeout)
            except requests.Timeout:
                last = f"no answer within {self.timeout:g} s"
                continue
            except requests.ConnectionError as exc:
                last = f"cannot connect ({type(exc).__name__})"
                continue
            self.requests_sent += 1
            if resp.status_code >= 500:
                last = f"HTTP {resp.status_code}"
                continue
            return self._parse(resp, len(coords))
        raise OsrmHttpError(
            f"the OSRM server at {self.url} failed: {last} (after {self.retries + 1} tries). "
            "Is osrm-routed running there? Check --osrm-url, or raise --osrm-timeout"
        )

    def _parse(self, resp, n_coords: int) -> dict:
        try:
            body = resp.json()
        except ValueError:
            body = None
        if not isinstance(body, dict) or "code" not in body:
            raise OsrmHttpError(
                f"{self.url} did not answer like an OSRM server (HTTP {resp.status_code}, "
                f"{resp.headers.get('content-type', 'no content type')}); check --osrm-url")
        code, message = body.get("code"), body.get("message", "")
        if code == "TooBig":
            raise OsrmHttpError(
                f"the OSRM server at {self.url} refused a table of {n_coords} places "
                f"({message}); pass a smaller --osrm-max-table or start osrm-routed with a larger "
                "--max-table-size")
        if code != "Ok":
            raise OsrmHttpError(f"the OSRM server at {self.url} answered {code}: {message}")
        return body

    # ------------------------------------------------------------------ queries

    def _block_table(self, o_lat: np.ndarray, o_lon: np.ndarray, d_lat: np.ndarray,
                     d_lon: np.ndarray) -> TableResult:
        n_o, n_d = len(o_lat), len(d_lat)
        coords = list(zip(np.concatenate([o_lon, d_lon]).tolist(),
                          np.concatenate([o_lat, d_lat]).tolist(), strict=True))
        body = self._get(coords, list(range(n_o)), list(range(n_o, n_o + n_d)))
        seconds = _matrix(body.get("durations"), n_o, n_d)
        metres = _matrix(body.get("distances"), n_o, n_d)
        o_snap = np.array([w.get("distance", np.nan) for w in body.get("sources", [])], dtype=np.float64)
        d_snap = np.array([w.get("distance", np.nan) for w in body.get("destinations", [])],
                          dtype=np.float64)
        if o_snap.shape != (n_o,) or d_snap.shape != (n_d,):
            raise OsrmHttpError(f"the OSRM server at {self.url} sent a table of the wrong size")
        return TableResult(seconds / 60.0, metres / 1000.0, o_snap, d_snap)

    def table(self, o_lat: np.ndarray, o_lon: np.ndarray, d_lat: np.ndarray,
              d_lon: np.ndarray) -> TableResult:
        """Every origin to every destination, in requests of at most ``max_table_size`` squared.

        Parameters
        ----------
        o_lat, o_lon, d_lat, d_lon : numpy.ndarray
            WGS84 coordinates of ``n_o`` origins and ``n_d`` destinations (no NaN).

        Returns
        -------
        TableResult
            ``minutes``, ``km`` float64 ``(n_o, n_d)`` (NaN = no route) and the snap
            distances (metres) of origins and destinations.
        """
        o_lat, o_lon, d_lat, d_lon = (np.asarray(a, dtype=np.float64) for a in (o_lat, o_lon, d_lat, d_lon))
        n_o, n_d = len(o_lat), len(d_lat)
        o_size = d_size = min(self.max_table_size, MAX_REQUEST_COORDS // 2)
        jobs = [(so, sd) for so in _blocks(n_o, o_size) for sd in _blocks(n_d, d_size)]
        minutes = np.full((n_o, n_d), np.nan)
        km = np.full((n_o, n_d), np.nan)
        o_snap = np.full(n_o, np.nan)
        d_snap = np.full(n_d, np.nan)

        def run(job: tuple[slice, slice]) -> tuple[slice, slice, TableResult]:
            so, sd = job
            return so, sd, self._block_table(o_lat[so], o_lon[so], d_lat[sd], d_lon[sd])

        for so, sd, res in self._map(run, jobs):
            minutes[so, sd], km[so, sd] = res.minutes, res.km
            o_snap[so], d_snap[sd] = res.origin_snap_m, res.dest_snap_m
        return TableResult(minutes, km, o_snap, d_snap)

    def _map(self, fn, jobs: list) -> Iterator:
        if self.workers == 1 or len(jobs) <= 1:
            return map(fn, jobs)
        pool = ThreadPoolExecutor(max_workers=self.workers)
        try:
            return iter(list(pool.map(fn, jobs)))
        finally:
            pool.shutdown(wait=True, cancel_futures=True)

    def table_chunks(self, o_lat: np.ndarray, o_lon: np.ndarray, d_lat: np.ndarray,
                     d_lon: np.ndarray, chunk: int = DEFAULT_CHUNK
                     ) -> Iterator[tuple[slice, TableResult]]:
        """:meth:`table` over origin chunks; yields ``(origin_slice, result)``."""
        for sl in _blocks(len(o_lat), chunk):
            yield sl, self.table(o_lat[sl], o_lon[sl], d_lat, d_lon)

    def snap_m(self, lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
        """Metres from each point to the road OSRM snaps it to (NaN for NaN input)."""
        lat = np.atleast_1d(np.asarray(lat, dtype=np.float64))
        lon = np.atleast_1d(np.asarray(lon, dtype=np.float64))
        out = np.full(len(lat), np.nan)
        ok = np.flatnonzero(np.isfinite(lat) & np.isfinite(lon))
        if len(ok) == 0:
            return out

        def run(sl: slice) -> tuple[slice, np.ndarray]:
            idx = ok[sl]
            coords = list(zip(lon[idx].tolist(), lat[idx].tolist(), strict=True))
            body = self._get(coords, list(range(len(idx))), [0])
            return sl, np.array([w.get("distance", np.nan) for w in body.get("sources", [])],
                                dtype=np.float64)

        size = min(self.max_table_size ** 2, MAX_REQUEST_COORDS - 1)
        for sl, snap in self._map(run, _blocks(len(ok), size)):
            out[ok[sl]] = snap
        return out

    def inside(self, lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
        """True where OSRM snaps the point to a road within ``snap_limit_m`` metres."""
        return self.snap_m(lat, lon) <= self.snap_limit_m


def _matrix(rows: object, n_rows: int, n_cols: int) -> np.ndarray:
    """JSON rows (numbers or null) → float64 ``(n_rows, n_cols)`` with NaN for null."""
    if not isinstance(rows, list) or len(rows) != n_rows:
        raise OsrmHttpError("the OSRM server sent a table without durations and distances")
    out = np.array([[np.nan if v is None else v for v in row] for row in rows], dtype=np.float64)
    return out.reshape(n_rows, n_cols)
