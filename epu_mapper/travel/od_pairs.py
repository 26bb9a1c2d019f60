"""Travel times for a list of origin → destination pairs (``epu-mapper travel pairs``).

Pure core (:func:`check_coordinates`, :func:`route_pairs`, :func:`compute_pairs`) and a
streaming CSV edge (:func:`pairs_file`). The engines and their rules are the travel
matrix's:

* ``auto`` (default): OSRM for a pair whose origin *and* destination lie inside the
  road network (a built network, or an OSRM server given by URL), else the estimate;
* ``estimate``: the straight-line estimate for every pair;
* ``osrm`` / ``osrm-http``: road routing only; a pair with an end outside the network
  has no time (NaN) and the reason says which end.

Every output row says which engine made its time (``engine``), any crossing on the way
(``route``, from the estimate) and why a time is missing (``reason``; never a 0).
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np
import pandas as pd

from epu_mapper.csvsafe import _NUMBER_RE, FORMULA_STARTS
from epu_mapper.errors import EpuMapperError, Problem
from epu_mapper.travel.estimate import estimate_pairs
from epu_mapper.units import UK_LAT, UK_LON

#: Input columns, in the order they are checked.
INPUT_COLUMNS = ("origin_lat", "origin_lon", "destination_lat", "destination_lon")
#: Columns added to every row.
OUTPUT_COLUMNS = ("minutes", "km", "engine", "route", "reason")
#: ``--engine`` choices.
PAIR_ENGINES = ("auto", "estimate", "osrm", "osrm-http")
#: Rows read, computed and written per step.
DEFAULT_CHUNK_ROWS = 100_000
#: Coordinates per OSRM table request for an in-process graph (origins + destinations).
DEFAULT_TABLE_COORDS = 500

ORIGIN_OUTSIDE = "origin outside network"
DESTINATION_OUTSIDE = "destination outside network"
NO_ROUTE = "no route"
INVALID = "invalid input"

EstimateFn = Callable[[np.ndarray, np.ndarray, np.ndarray, np.ndarray], pd.DataFrame]


class PairsError(EpuMapperError):
    """The pairs file cannot be read or written."""


class Router(Protocol):
    """What :func:`compute_pairs` needs of a road engine (in-process or HTTP)."""

    def inside(self, lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
        """True where a point lies inside the network."""
        ...

    def table(self, o_lat: np.ndarray, o_lon: np.ndarray, d_lat: np.ndarray,
              d_lon: np.ndarray):  # -> osrm.TableResult
        """Every origin to every destination: ``.minutes`` and ``.km`` (NaN = no route)."""
        ...


# --------------------------------------------------------------------------- pure core


#: A plain decimal number (what a coordinate cell must be; surrounding spaces allowed).
NUMBER_PATTERN = r"^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$"
#: A whole cell that a spreadsheet reads as a number, not a formula (csvsafe's rule).
PLAIN_NUMBER_PATTERN = "^" + _NUMBER_RE.pattern + "$"


def _to_float(text) -> np.ndarray:
    """float64 of plain-number text cells, NaN for anything else (``nan``, ``inf``, words)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    try:  # fast path: every cell parses
        num = pc.cast(text, pa.float64()).to_numpy(zero_copy_only=False)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        is_num = pc.match_substring_regex(text, NUMBER_PATTERN)
        num = pc.cast(pc.if_else(is_num, text, "nan"), pa.float64()).to_numpy(zero_copy_only=False)
    return np.where(np.isfinite(num), num, np.nan)


def check_coordinates(columns: Mapping[str, Sequence[str]]
                      ) -> tuple[dict[str, np.ndarray], list[tuple[int, str, str]]]:
    """Parse and check the four coordinate columns.

    Parameters
    ----------
    columns : mapping
        ``origin_lat, origin_lon, destination_lat, destination_lon`` → text cells
        (a ``pyarrow`` string array, a pandas Series or a list of str).

    Returns
    -------
    (values, problems) : tuple
        ``values``: column → float64 array (NaN where the cell is bad);
        ``problems``: ``(row position, column, message)`` for every bad cell: empty,
        not a number, or outside the UK (:data:`~epu_mapper.units.UK_LAT`/``UK_LON``).
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    values: dict[str, np.ndarray] = {}
    problems: list[tuple[int, str, str]] = []
    for col in INPUT_COLUMNS:
        raw = columns[col]
        text = raw if isinstance(raw, pa.Array | pa.ChunkedArray) else pa.array(list(raw), pa.string())
        text = pc.utf8_trim_whitespace(pc.fill_null(text, ""))
        num = _to_float(text)
        lo, hi = UK_LAT if col.endswith("_lat") else UK_LON
        bad = ~(num >= lo) | ~(num <= hi)  # NaN fails both
        for pos in np.flatnonzero(bad).tolist():
            cell = text[pos].as_py()
            if not cell:
                msg = "empty"
            elif not np.isfinite(num[pos]):
                msg = f"{cell!r} is not a number"
            else:
                kind = "latitude" if col.endswith("_lat") else "longitude"
                msg = f"{cell} is outside the UK ({kind} {lo} to {hi})"
            problems.append((pos, col, msg))
        values[col] = np.where(bad, np.nan, num)
    return values, problems


def _pair_blocks(o_key: np.ndarray, d_key: np.ndarray, max_coords: int) -> Iterator[np.ndarray]:
    """Positions of pairs grouped so each group's distinct origins + destinations ≤ ``max_coords``.

    Pairs are taken in (origin, destination) order, so pairs sharing ends share a table.
    """
    order = np.lexsort((d_key, o_key))
    start = 0
    origins: set[int] = set()
    dests: set[int] = set()
    half = max(1, max_coords // 2)
    for i, pos in enumerate(order.tolist()):
        o, d = int(o_key[pos]), int(d_key[pos])
        n_o = len(origins) + (o not in origins)
        n_d = len(dests) + (d not in dests)
        if i > start and (n_o + n_d > max_coords or (n_o > half and n_d > half)):
            yield order[start:i]
            start, origins, dests = i, set(), set()
        origins.add(o)
        dests.add(d)
    if start < len(order):
        yield order[start:]


def route_pairs(router: Router, o_lat: np.ndarray, o_lon: np.ndarray, d_lat: np.ndarray,
                d_lon: np.ndarray, max_coords: int = DEFAULT_TABLE_COORDS
                ) -> tuple[np.ndarray, np.ndarray]:
    """Road minutes and km for each pair, through table requests on distinct ends.

    Parameters
    ----------
    router : Router
        An :class:`~epu_mapper.travel.osrm.OsrmRouter` or an
        :class:`~epu_mapper.travel.osrm_http.HttpRouter`.
    o_lat, o_lon, d_lat, d_lon : numpy.ndarray
        WGS84 degrees of ``n`` pairs (no NaN).
    max_coords : int
        Distinct origins + destinations per table request.

    Returns
    -------
    (minutes, km) : tuple of numpy.ndarray
        float64 ``(n,)``; NaN where the engine found no route.
    """
    n = len(o_lat)
    minutes = np.full(n, np.nan)
    km = np.full(n, np.nan)
    if n == 0:
        return minutes, km
    _, o_key = np.unique(np.column_stack([o_lat, o_lon]), axis=0, return_inverse=True)
    _, d_key = np.unique(np.column_stack([d_lat, d_lon]), axis=0, return_inverse=True)
    o_key, d_key = o_key.ravel(), d_key.ravel()
    for block in _pair_blocks(o_key, d_key, max_coords):
        uo, o_pos = np.unique(o_key[block], return_index=True)
        ud, d_pos = np.unique(d_key[block], return_index=True)
        oi, di = block[o_pos], block[d_pos]
        res = router.table(o_lat[oi], o_lon[oi], d_lat[di], d_lon[di])
        row = np.searchsorted(uo, o_key[block])
        col = np.searchsorted(ud, d_key[block])
        minutes[block] = res.minutes[row, col]
        km[block] = res.km[row, col]
    return minutes, km


def compute_pairs(
    o_lat: np.ndarray,
    o_lon: np.ndarray,
    d_lat: np.ndarray,
    d_lon: np.ndarray,
    router: Router | None = None,
    road_only: bool = False,
    engine_name: str = "osrm",
    estimate: EstimateFn | None = None,
    max_coords: int = DEFAULT_TABLE_COORDS,
) -> pd.DataFrame:
    """Travel time of each origin → destination pair.

    Parameters
    ----------
    o_lat, o_lon, d_lat, d_lon : numpy.ndarray
        WGS84 degrees of ``n`` pairs; a pair with a NaN end gets reason ``invalid input``.
    router : Router, optional
        A road engine; pairs with both ends :meth:`~Router.inside` it are routed.
        None: the estimate only.
    road_only : bool
        True: pairs outside the router's network are NaN (reason ``origin outside
        network`` / ``destination outside network``) instead of estimated.
    engine_name : str
        ``engine`` value of routed rows (``osrm`` or ``osrm-http``).
    estimate : callable, optional
        ``(o_lat, o_lon, d_lat, d_lon) -> DataFrame[minutes, km, route, reason]``;
        default :func:`~epu_mapper.travel.estimate.estimate_pairs` (water-aware).
    max_coords : int
        Distinct ends per table request (:func:`route_pairs`).

    Returns
    -------
    pandas.DataFrame
        ``n`` rows, ``minutes``, ``km`` (float32; NaN = no time), ``engine``
        (``osrm``/``osrm-http``/``estimate``, None for invalid rows), ``route`` (crossing
        note from the estimate, else None), ``reason`` (why NaN, else None).
    """
    o_lat, o_lon, d_lat, d_lon = (np.asarray(a, dtype=np.float64) for a in (o_lat, o_lon, d_lat, d_lon))
    n = len(o_lat)
    minutes = np.full(n, np.nan, dtype=np.float32)
    km = np.full(n, np.nan, dtype=np.float32)
    engine = np.full(n, None, dtype=object)
    route = np.full(n, None, dtype=object)
    reason = np.full(n, None, dtype=object)
    ok = np.isfinite(o_lat) & np.isfinite(o_lon) & np.isfinite(d_lat) & np.isfinite(d_lon)
    reason[~ok] = INVALID
    routed = np.zeros(n, dtype=bool)
    if router is not None and ok.any():
        o_in = np.zeros(n, dtype=bool)
        d_in = np.zeros(n, dtype=bool)
        o_in[ok] = router.inside(o_lat[ok], o_lon[ok])
        d_in[ok] = router.inside(d_lat[ok], d_lon[ok])
        routed = ok & o_in & d_in
        if routed.any():
            m, k = route_pairs(router, o_lat[routed], o_lon[routed], d_lat[routed], d_lon[routed],
                               max_coords=max_coords)
            minutes[routed], km[routed] = m, k
            engine[routed] = engine_name
            reason[routed & ~np.isfinite(minutes)] = NO_ROUTE
        if road_only:
            reason[ok & ~o_in] = ORIGIN_OUTSIDE
            reason[ok & o_in & ~d_in] = DESTINATION_OUTSIDE
            engine[ok & ~routed] = engine_name
    est = ok & ~routed if not road_only else np.zeros(n, dtype=bool)
    if est.any():
        fn = estimate or estimate_pairs
        got = fn(o_lat[est], o_lon[est], d_lat[est], d_lon[est])
        minutes[est] = got["minutes"].to_numpy(np.float32)
        km[est] = got["km"].to_numpy(np.float32)
        engine[est] = "estimate"
        route[est] = got["route"].to_numpy(object)
        reason[est] = got["reason"].to_numpy(object)
    for arr in (route, reason):  # one missing value for text: None
        arr[pd.isna(arr)] = None
    text = {name: pd.Series(arr, dtype=object) for name, arr in
            (("engine", engine), ("route", route), ("reason", reason))}  # no str inference: fast
    return pd.DataFrame({"minutes": minutes, "km": km, **text})


def neutralise_formulas(table):
    """Text cells that a spreadsheet would run as a formula, prefixed with ``'``.

    The rule of :mod:`epu_mapper.csvsafe` (the product's one CSV writer), vectorised
    with Arrow for files of millions of rows: a cell starting with one of
    :data:`~epu_mapper.csvsafe.FORMULA_STARTS` (``= + - @``, tab, carriage return) is
    prefixed unless the whole cell is a plain number (``-0.72`` stays a number). Other
    columns are kept.

    Parameters
    ----------
    table : pyarrow.Table or pandas.DataFrame

    Returns
    -------
    Same type as ``table``.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    if isinstance(table, pd.DataFrame):
        return neutralise_formulas(pa.Table.from_pandas(table, preserve_index=False)).to_pandas()
    for i, name in enumerate(table.column_names):
        col = table.column(i)
        if not (pa.types.is_string(col.type) or pa.types.is_large_string(col.type)):
            continue
        first = pc.utf8_slice_codeunits(col, 0, 1)
        risky = pc.fill_null(pc.is_in(first, value_set=pa.array(FORMULA_STARTS, col.type)), False)
        if not pc.any(risky).as_py():
            continue
        cells = pc.filter(col, risky)
        if np.isfinite(_to_float(cells)).all():  # e.g. negative longitudes: numbers, not formulas
            continue
        number = pc.fill_null(pc.match_substring_regex(col, PLAIN_NUMBER_PATTERN), False)
        hit = pc.and_(risky, pc.invert(number))
        if pc.any(hit).as_py():
            quote = pa.scalar("'", col.type)
            fixed = pc.if_else(hit, pc.binary_join_element_wise(quote, col, pa.scalar("", col.type)),
                               col)
            table = table.set_column(i, name, fixed)
    return table


# --------------------------------------------------------------------------- CSV edge


@dataclass
class PairsSummary:
    """What :func:`pairs_file` did."""

    rows: int = 0
    invalid_rows: int = 0
    by_engine: dict[str, int] = field(default_factory=dict)
    no_time: dict[str, int] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)


def _count_rows(path: Path) -> int:
    """Lines after the header (a progress-bar total; quoted newlines make it an overcount)."""
    n = 0
    with open(path, "rb") as fh:
        while block := fh.read(1 << 20):
            n += block.count(b"\n")
    return max(n - 1, 0)


def _read_header(path: Path) -> list[str]:
    """Column names of a CSV (UTF-8, optional byte-order mark); checks the pair columns."""
    try:
        with open(path, encoding="utf-8-sig", newline="") as fh:
            header = next(csv.reader(fh), [])
    except FileNotFoundError as exc:
        raise PairsError(f"input file not found: {path}") from exc
    except (UnicodeDecodeError, csv.Error) as exc:
        raise PairsError(f"{path}:1: cannot read as a UTF-8 CSV file: {exc}") from exc
    missing = [c for c in INPUT_COLUMNS if c not in header]
    if missing:
        raise PairsError(f"{path}:1: {missing[0]}: missing column (needs "
                         f"{', '.join(INPUT_COLUMNS)}; the header has {', '.join(header) or 'nothing'})")
    clash = [c for c in OUTPUT_COLUMNS if c in header]
    if clash:
        raise PairsError(f"{path}:1: {clash[0]}: the input already has this output column; "
                         "rename or drop it")
    dup = sorted({c for c in header if header.count(c) > 1})
    if dup:
        raise PairsError(f"{path}:1: {dup[0]}: the column name appears more than once")
    return header


class _RecordLines:
    """Physical line of every record, across batches and rows skipped as malformed.

    pyarrow numbers records (the header is record 1); quoted cells may hold newlines, so
    a record's line is its number plus every newline inside the records before it.
    """

    def __init__(self) -> None:
        self.skipped: list[tuple[int, int, str]] = []  # (record, newlines, text) from the handler
        self.next_record = 2
        self.extra_lines = 0

    def handler(self, row) -> str:
        """Pyarrow ``invalid_row_handler``: remember the row, skip it."""
        text = row.text or ""
        self.skipped.append((int(row.number), text.count("\n"), text))
        return "skip"

    def assign(self, newlines: np.ndarray) -> tuple[np.ndarray, list[tuple[int, str]]]:
        """Lines of the next ``len(newlines)`` good records, and the skipped rows before them.

        Returns
        -------
        (lines, skipped) : tuple
            int64 ``(n,)``; ``[(line, text)]`` of the malformed rows among or before them.
        """
        n = len(newlines)
        rec = self.next_record + np.arange(n, dtype=np.int64)
        if n and not self.skipped:  # the common case: no malformed row so far
            before = np.concatenate([[0], np.cumsum(newlines)[:-1]])
            lines = rec + self.extra_lines + before
            self.extra_lines += int(newlines.sum())
            self.next_record += n
            return lines, []
        self.skipped.sort()
        done = []
        for number, _, _ in self.skipped:
            if n and number <= rec[-1]:
                rec[rec >= number] += 1
                done.append(number)
            elif not n and number < self.next_record:
                done.append(number)
        last = int(rec[-1]) if n else self.next_record - 1
        extra_by_rec = dict(zip(rec.tolist(), newlines.tolist(), strict=True))
        gone = {number: (nl, text) for number, nl, text in self.skipped if number <= last}
        for number, (nl, _) in gone.items():
            extra_by_rec[number] = nl
        order = sorted(extra_by_rec)
        lines_of: dict[int, int] = {}
        extra = self.extra_lines
        for number in order:
            lines_of[number] = number + extra
            extra += extra_by_rec[number]
        self.extra_lines = extra
        self.next_record = last + 1
        self.skipped = [s for s in self.skipped if s[0] > last]
        lines = np.array([lines_of[r] for r in rec.tolist()], dtype=np.int64)
        return lines, [(lines_of[number], text) for number, (_, text) in sorted(gone.items())]


def _text_newlines(batch) -> np.ndarray:
    """Newlines inside each record's cells."""
    import pyarrow.compute as pc

    out = np.zeros(batch.num_rows, dtype=np.int64)
    for col in batch.columns:
        out += pc.fill_null(pc.count_substring(col, "\n"), 0).to_numpy(zero_copy_only=False)
    return out


def _batches(path: Path, header: list[str], chunk_rows: int, lines: _RecordLines) -> Iterator:
    """Record batches of at most ``chunk_rows`` rows, every cell as text."""
    import pyarrow as pa
    import pyarrow.csv as pcsv

    reader = pcsv.open_csv(
        path,
        read_options=pcsv.ReadOptions(use_threads=False, block_size=1 << 22, encoding="utf8"),
        parse_options=pcsv.ParseOptions(newlines_in_values=True, invalid_row_handler=lines.handler),
        convert_options=pcsv.ConvertOptions(column_types=dict.fromkeys(header, pa.string()),
                                            strings_can_be_null=False,
                                            quoted_strings_can_be_null=False),
    )
    for batch in reader:
        for start in range(0, batch.num_rows, chunk_rows):
            yield batch.slice(start, chunk_rows)


def _output_table(batch, res: pd.DataFrame):
    """The input cells plus the five output columns, spreadsheet-safe."""
    import pyarrow as pa

    cols = list(batch.columns)
    names = list(batch.schema.names)
    for name in ("minutes", "km"):
        v = np.round(res[name].to_numpy(np.float64), 2)
        cols.append(pa.array(v, type=pa.float64(), mask=~np.isfinite(v)))
        names.append(name)
    for name in ("engine", "route", "reason"):
        cols.append(pa.array(res[name].to_numpy(object), type=pa.string(), from_pandas=True))
        names.append(name)
    return neutralise_formulas(pa.Table.from_arrays(cols, names=names))


def pairs_file(
    in_path: Path,
    out_path: Path,
    router: Router | None = None,
    road_only: bool = False,
    engine_name: str = "osrm",
    estimate: EstimateFn | None = None,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    progress: bool = True,
    warn: Callable[[str], None] | None = None,
    max_coords: int = DEFAULT_TABLE_COORDS,
) -> PairsSummary:
    """Read pairs from ``in_path`` in chunks and write them with their travel times.

    Parameters
    ----------
    in_path : Path
        UTF-8 CSV with ``origin_lat, origin_lon, destination_lat, destination_lon``
        (WGS84); any other columns are passed through unchanged, in place.
    out_path : Path
        Output CSV: the input columns, then ``minutes, km`` (2 decimals; empty = no
        time), ``engine``, ``route``, ``reason``. Written to a temporary file beside it
        and renamed at the end (never half-written). Text cells are spreadsheet-safe
        (:func:`neutralise_formulas`). A row with invalid coordinates is kept with an
        empty time and ``reason`` ``invalid input: …``; a row with the wrong number of
        fields cannot be kept and is only reported.
    router, road_only, engine_name, estimate, max_coords
        As :func:`compute_pairs`.
    chunk_rows : int
        Rows per chunk (at most; the reader also cuts at about 4 MB).
    progress : bool
        Progress bar on stderr.
    warn : callable, optional
        Receives each bad row's ``file:line: column: message`` as it is found.

    Returns
    -------
    PairsSummary
        Rows, invalid rows, rows per engine, rows without a time per reason, problems.
    """
    import pyarrow as pa
    import pyarrow.csv as pcsv
    from tqdm import tqdm

    from epu_mapper.store import atomic_path

    in_path, out_path = Path(in_path), Path(out_path)
    header = _read_header(in_path)
    if out_path.exists() and in_path.resolve() == out_path.resolve():
        raise PairsError(f"{out_path}: the output would overwrite the input; choose another file")
    summary = PairsSummary()
    lines = _RecordLines()

    def report(line: int, column: str, message: str) -> None:
        problem = Problem(str(in_path), line, column, message)
        summary.problems.append(problem)
        if warn is not None:
            warn(str(problem))

    bar = tqdm(total=_count_rows(in_path) if progress else None, unit="pair", desc="travel pairs",
               disable=not progress, leave=False)
    out_header = header + list(OUTPUT_COLUMNS)
    options = pcsv.WriteOptions(include_header=False, quoting_style="needed")
    with atomic_path(out_path) as tmp, open(tmp, "wb") as fh:
        head = pa.table({name: pa.array([name], pa.string()) for name in out_header})
        pcsv.write_csv(neutralise_formulas(head), fh, write_options=options)
        try:
            for batch in _batches(in_path, header, chunk_rows, lines):
                row_lines, skipped = lines.assign(_text_newlines(batch))
                for line, text in skipped:
                    report(line, "row", f"expected {len(header)} fields: {text[:60]!r}")
                values, problems = check_coordinates(
                    {c: batch.column(header.index(c)) for c in INPUT_COLUMNS})
                first: dict[int, str] = {}
                for pos, col, msg in problems:
                    report(int(row_lines[pos]), col, msg)
                    first.setdefault(pos, f"{INVALID}: {col} {msg}")
                o_lat, o_lon, d_lat, d_lon = (values[c] for c in INPUT_COLUMNS)
                res = compute_pairs(o_lat, o_lon, d_lat, d_lon, router=router,
                                    road_only=road_only, engine_name=engine_name,
                                    estimate=estimate, max_coords=max_coords)
                if first:
                    res.loc[list(first), "reason"] = list(first.values())
                _tally(summary, res)
                pcsv.write_csv(_output_table(batch, res), fh, write_options=options)
                bar.update(batch.num_rows)
            _, skipped = lines.assign(np.zeros(0, dtype=np.int64))
            for line, text in skipped:
                report(line, "row", f"expected {len(header)} fields: {text[:60]!r}")
        except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
            raise PairsError(f"{in_path}: cannot read as a UTF-8 CSV file: {exc}") from exc
        finally:
            bar.close()
    summary.invalid_rows += sum(1 for p in summary.problems if p.column == "row")
    return summary


def _tally(summary: PairsSummary, res: pd.DataFrame) -> None:
    from collections import Counter

    summary.rows += len(res)
    reason = res["reason"].to_numpy(object)
    missing = [INVALID if str(r).startswith(INVALID) else ("no reason" if r is None else str(r))
               for r in reason[~np.isfinite(res["minutes"].to_numpy(np.float64))]]
    counts = Counter(missing)
    summary.invalid_rows += counts.get(INVALID, 0)
    for name, n in counts.items():
        summary.no_time[name] = summary.no_time.get(name, 0) + n
    for name, n in Counter(res["engine"].to_numpy(object).tolist()).items():
        if name is not None:
            summary.by_engine[str(name)] = summary.by_engine.get(str(name), 0) + n
