"""UK postcodes: normalise, validate, and place them on the map.

* :func:`normalise_postcode` — any spacing/case -> ``"SW1A 1AA"`` (no validation).
* :func:`validate_postcode` — the normalised postcode, or :class:`PostcodeError` with a
  message a person can act on ("that doesn't look like a UK postcode", Crown dependencies,
  BFPO, overseas territories, only half a postcode ...).
* :class:`PostcodeIndex` — loads the built postcode tables once and answers
  :meth:`PostcodeIndex.lookup` in microseconds: a GB unit postcode resolves to its Code-Point
  point (``precision="unit"``); an unknown or terminated one falls back to its sector, then
  its district centroid (``"sector"`` / ``"district"``); an NI postcode resolves to its
  super data zone point (``"ni_sdz"``). With ``settings.online`` a postcode missing from the
  offline data is asked of postcodes.io first (``"online"``; timeouts, cached).

The small area of a GB postcode is the nearest demand point inside the postcode's own
local authority (Code-Point has no LSOA/DZ code); ``area_method`` says so.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from epu_mapper import store
from epu_mapper.errors import BuildDamagedError, BuildMissingError, PostcodeError
from epu_mapper.levels import REGION_FIELDS
from epu_mapper.settings import Settings, get_settings

#: Outward code + inward code, spaces removed. The letters allowed in each position follow
#: the Royal Mail format (e.g. no Q/V/X first, no C/I/K/M/O/V in the inward code).
_UNIT_RE = re.compile(
    r"^(?P<out>[A-PR-UWYZ](?:[0-9][0-9A-HJKPS-UW]?|[A-HK-Y][0-9][0-9ABEHMNPRV-Y]?))"
    r"(?P<in>[0-9][ABD-HJLNP-UW-Z]{2})$"
)
#: Looser "it is shaped like a postcode" pattern, to tell a typo from junk.
_SHAPE_RE = re.compile(r"^(?P<out>[A-Z]{1,2}[0-9][A-Z0-9]?)(?P<in>[0-9][A-Z]{2})$")
_OUTWARD_RE = re.compile(r"^[A-Z]{1,2}[0-9][A-Z0-9]?$")
_SECTOR_RE = re.compile(r"^[A-Z]{1,2}[0-9][A-Z0-9]? ?[0-9]$")
_BFPO_RE = re.compile(r"^(BFPO ?[0-9]{1,4}|BF1 ?[0-9][A-Z]{2})$")
_CROWN = {"JE": "Jersey", "GY": "Guernsey", "IM": "the Isle of Man"}
_OVERSEAS = {
    "ASCN1ZZ": "Ascension Island", "STHL1ZZ": "St Helena", "TDCU1ZZ": "Tristan da Cunha",
    "BBND1ZZ": "the British Indian Ocean Territory", "BIQQ1ZZ": "the British Antarctic Territory",
    "FIQQ1ZZ": "the Falkland Islands", "PCRN1ZZ": "the Pitcairn Islands",
    "SIQQ1ZZ": "South Georgia and the South Sandwich Islands", "TKCA1ZZ": "the Turks and Caicos Islands",
    "GX111AA": "Gibraltar", "MSR1110": "Montserrat",
}
_MAX_INPUT = 40

PRECISIONS = ("unit", "sector", "district", "ni_sdz", "online")
_REGION_FIELDS = REGION_FIELDS
NOT_UK = "that doesn't look like a UK postcode"


def is_written_postcode(text: str) -> bool:
    """True when ``text`` is a full UK postcode written canonically (no normalising).

    Canonical: upper case, one space before the inward code, e.g. ``SW17 0QT``; ``GIR 0AA``
    included.
    """
    compact = text.replace(" ", "")
    return text == f"{compact[:-3]} {compact[-3:]}" and (
        compact == "GIR0AA" or _UNIT_RE.match(compact) is not None
    )


def normalise_postcode(text: object) -> str:
    """The canonical spelling of a postcode (``" sw1a1aa "`` -> ``"SW1A 1AA"``), unvalidated.

    Upper case, Unicode-compatibility folded, all whitespace removed, one space before the last
    three characters.

    Returns ``""`` for empty input; non-strings give ``""`` too.
    """
    if not isinstance(text, str):
        return ""
    if len(text) > 4 * _MAX_INPUT:
        text = text[: 4 * _MAX_INPUT]
    s = unicodedata.normalize("NFKC", text).upper()
    s = "".join(s.split())
    if len(s) >= 5:
        s = f"{s[:-3]} {s[-3:]}"
    return s


def validate_postcode(text: object) -> str:
    """Return the normalised postcode, or raise :class:`PostcodeError` explaining why not.

    Raises
    ------
    PostcodeError
        With a message for the person who typed it: empty, not a postcode, outside the UK
        NHS area (Crown dependencies, BFPO, overseas territories), or only half a postcode.
    """
    if not isinstance(text, str) or not text.strip():
        raise PostcodeError("please enter a postcode (for example SW1A 1AA)")
    raw = text.strip()
    if len(raw) > _MAX_INPUT:
        raise PostcodeError(f"{NOT_UK} (the input is {len(raw):,} characters long)")
    pc = normalise_postcode(raw)
    compact = pc.replace(" ", "")
    if not compact.isascii() or not compact.isalnum():
        raise PostcodeError(f"{NOT_UK}: {_show(raw)} (postcodes are letters and digits only)")
    if _BFPO_RE.match(pc) or _BFPO_RE.match(compact):
        raise PostcodeError(
            f"{_show(raw)} is a British Forces Post Office (BFPO) address, which is not a place "
            "on the map; outside the NHS UK area covered here"
        )
    if compact in _OVERSEAS:
        raise PostcodeError(
            f"{pc} is in {_OVERSEAS[compact]}, outside the NHS UK area covered here"
        )
    if compact == "GIR0AA":
        raise PostcodeError("GIR 0AA is a non-geographic postcode (formerly Girobank); "
                            "please give the postcode of a place")
    crown = _CROWN.get(compact[:2]) if compact[2:3].isdigit() else None
    if crown and _SHAPE_RE.match(compact):
        raise PostcodeError(
            f"{pc} is in {crown}, a Crown dependency outside the NHS UK area covered here"
        )
    if _UNIT_RE.match(compact):
        return pc
    if _OUTWARD_RE.match(compact):
        raise PostcodeError(
            f"{compact} is only the first half of a postcode (the district); "
            "please give the full postcode, e.g. {compact} 1AA".replace("{compact}", compact)
        )
    if _SECTOR_RE.match(raw.upper().strip()) or _SECTOR_RE.match(compact):
        raise PostcodeError(f"{_show(raw)} is not a full postcode; it needs two letters at the end")
    hint = _typo_hint(compact)
    if hint:
        raise PostcodeError(f"{NOT_UK}: {_show(raw)} ({hint})")
    if _SHAPE_RE.match(compact):
        raise PostcodeError(f"{NOT_UK}: {pc} uses letters in places no UK postcode does")
    raise PostcodeError(f"{NOT_UK}: {_show(raw)} (expected something like SW1A 1AA)")


def _show(text: str, limit: int = 20) -> str:
    text = text.strip()
    return repr(text if len(text) <= limit else text[:limit] + "…")


def _typo_hint(compact: str) -> str:
    """A hint when swapping letter O/I for digit 0/1 in the inward code would fix it."""
    if len(compact) < 5:
        return ""
    fixed = compact[:-3] + compact[-3].replace("O", "0").replace("I", "1") + compact[-2:]
    if fixed != compact and _UNIT_RE.match(fixed):
        return f"did you mean {fixed[:-3]} {fixed[-3:]}? the inward code starts with a digit"
    return ""


def sector_of(pc: str) -> str:
    """``"SW1A 1AA"`` -> ``"SW1A 1"``."""
    return pc[:-2]


def district_of(pc: str) -> str:
    """``"SW1A 1AA"`` -> ``"SW1A"``."""
    return pc.split(" ")[0]


@dataclass
class PostcodeResult:
    """Where a postcode is, how precisely, and which small area and regions it falls in."""

    postcode: str
    lat: float
    lon: float
    precision: str
    area_code: str | None
    area_name: str | None = None
    area_type: str | None = None
    area_method: str | None = None
    matched: str | None = None
    regions: dict[str, str] = field(default_factory=dict)
    note: str = ""

    @property
    def nation(self) -> str | None:
        """The nation the postcode is in (None when not placed)."""
        return self.regions.get("nation")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (``postcode, lat, lon, precision, area_code, ..., regions, note``)."""
        d = asdict(self)
        d["nation"] = self.nation
        return d


_NOTES = {
    "unit": "",
    "sector": "The full postcode is not in the offline postcode data (it may be terminated, "
              "new or mistyped): placed at the centre of its postcode sector {m}.",
    "district": "Neither the postcode nor its sector is in the offline data: placed at the "
                "centre of its postcode district {m} (can be several km out).",
    "ni_sdz": "Northern Ireland postcodes have no coordinates offline: placed at the point of "
              "their super data zone {a}.",
    "online": "Not in the offline data; located with postcodes.io.",
}


class PostcodeIndex:
    """In-memory postcode tables for fast lookups (load once, reuse).

    Parameters
    ----------
    units
        GB unit postcodes: ``postcode, lat, lon, area_code, area_method`` (any order).
    sectors, districts
        ``sector``/``district, lat, lon, area_code, area_method``.
    ni
        NI postcodes: ``postcode, lat, lon, area_code``.
    regions
        ``regions.parquet`` columns (``area_code`` + :data:`_REGION_FIELDS`).
    areas
        ``area_code, area_name, area_type`` (from ``demand.parquet``).
    settings
        For the optional online fallback (``online``, ``postcodes_io_url``, ``http_timeout_s``).
    """

    def __init__(
        self,
        units: pd.DataFrame,
        sectors: pd.DataFrame,
        districts: pd.DataFrame,
        ni: pd.DataFrame,
        regions: pd.DataFrame,
        areas: pd.DataFrame,
        settings: Settings | None = None,
    ):
        self.settings = settings or get_settings()
        units = units.sort_values("postcode", kind="stable")
        self._keys = _fixed_width_keys(pa.array(units["postcode"].to_numpy(dtype=object),
                                                type=pa.string()))
        self._lat = units["lat"].to_numpy("float64")
        self._lon = units["lon"].to_numpy("float64")
        self._area = _encoded(pa.array(units["area_code"].to_numpy(dtype=object), type=pa.string()))
        self._method = _encoded(pa.array(units["area_method"].to_numpy(dtype=object),
                                         type=pa.string()))
        self._init_small_tables(sectors, districts, ni, regions, areas)

    def _init_small_tables(self, sectors, districts, ni, regions, areas) -> None:
        self._sectors = _keyed(sectors, "sector")
        self._districts = _keyed(districts, "district")
        self._ni = _keyed(ni, "postcode")
        self._regions_df = regions.drop_duplicates("area_code").set_index("area_code")[
            list(_REGION_FIELDS)]
        self._areas_df = areas.drop_duplicates("area_code").set_index("area_code")[
            ["area_name", "area_type"]]
        self._regions_cache: dict[str, dict[str, str]] = {}
        self._area_cache: dict[str, tuple[str | None, str | None]] = {}
        self._online_cache: dict[str, dict | None] = {}
        self._lock = threading.Lock()

    @classmethod
    def _from_arrow(cls, units: pa.Table, sectors, districts, ni, regions, areas,
                    settings: Settings) -> PostcodeIndex:
        """Fast constructor from an Arrow table already sorted by postcode (the build's order)."""
        self = cls.__new__(cls)
        self.settings = settings
        self._keys = _fixed_width_keys(units.column("postcode"))
        if len(self._keys) > 1 and not bool((self._keys[1:] > self._keys[:-1]).all()):
            order = np.argsort(self._keys, kind="stable")
            units = units.take(pa.array(order))
            self._keys = self._keys[order]
        self._lat = units.column("lat").to_numpy()
        self._lon = units.column("lon").to_numpy()
        self._area = _encoded(units.column("area_code"))
        self._method = _encoded(units.column("area_method"))
        self._init_small_tables(sectors, districts, ni, regions, areas)
        return self

    def _regions_of(self, area: str) -> dict[str, str]:
        hit = self._regions_cache.get(area)
        if hit is None:
            if area in self._regions_df.index:
                row = self._regions_df.loc[area]
                hit = {k: v for k, v in row.items() if isinstance(v, str) and v}
            else:
                hit = {}
            self._regions_cache[area] = hit
        return dict(hit)

    def _area_info(self, area: str) -> tuple[str | None, str | None]:
        hit = self._area_cache.get(area)
        if hit is None:
            hit = (None, None)
            if area in self._areas_df.index:
                row = self._areas_df.loc[area]
                hit = (row["area_name"], row["area_type"])
            self._area_cache[area] = hit
        return hit

    def __len__(self) -> int:
        return len(self._keys)

    # -- loading ----------------------------------------------------------------

    @classmethod
    def load(cls, settings: Settings | None = None) -> PostcodeIndex:
        """Load the built tables from ``settings.build_dir`` (about 1 s; then reuse)."""
        settings = settings or get_settings()
        b = settings.build_dir

        def read(name: str, columns: list[str] | None = None) -> pd.DataFrame:
            return store.read_parquet_file(b / name, f"The postcode table {name}",
                                           "epu-mapper data build", columns=columns)

        try:
            units = pq.read_table(b / "postcodes.parquet",
                                  columns=["postcode", "lat", "lon", "area_code", "area_method"])
        except FileNotFoundError:
            raise BuildMissingError("the postcode table", b / "postcodes.parquet",
                                    "epu-mapper data build") from None
        except (OSError, ValueError, KeyError) as exc:
            raise BuildDamagedError("The postcode table postcodes.parquet", b / "postcodes.parquet",
                                    "epu-mapper data build --force",
                                    " ".join(str(exc).split())[:160]) from None
        return cls._from_arrow(
            units,
            sectors=read("postcode_sectors.parquet"),
            districts=read("postcode_districts.parquet"),
            ni=read("postcodes_ni.parquet"),
            regions=read("regions.parquet"),
            areas=read("demand.parquet", columns=["area_code", "area_name", "area_type"]),
            settings=settings,
        )

    # -- lookups ----------------------------------------------------------------

    def find_unit(self, pc: str) -> int | None:
        """Row of a normalised GB unit postcode, or None."""
        key = pc.encode("ascii", "ignore")
        i = int(np.searchsorted(self._keys, key))
        if i < len(self._keys) and self._keys[i] == key:
            return i
        return None

    def lookup(self, text: object) -> PostcodeResult:
        """Place a postcode.

        Raises
        ------
        PostcodeError
            Malformed input, outside the area covered, or not found at any precision
            (the message says which).
        """
        pc = validate_postcode(text)
        if pc.startswith("BT"):
            return self._lookup_ni(pc)
        i = self.find_unit(pc)
        note = ""
        if i is not None:
            if not np.isnan(self._lat[i]):
                return self._result(pc, self._lat[i], self._lon[i], "unit", self._area[i],
                                    self._method[i], pc, "")
            note = ("This postcode exists but has no coordinates in Code-Point Open "
                    "(positional quality 90). ")
        elif self.settings.online:
            hit = self._online(pc)
            if hit is not None:
                return hit
        return self._fallback(pc, note, self._sectors, self._districts)

    def _lookup_ni(self, pc: str) -> PostcodeResult:
        row = self._ni.get(pc)
        if row is not None:
            return self._result(pc, row["lat"], row["lon"], "ni_sdz", row["area_code"],
                                "ni_postcode_to_sdz", pc, "")
        if self.settings.online:
            hit = self._online(pc)
            if hit is not None:
                return hit
        return self._fallback(pc, "", self._sectors, self._districts)

    def _fallback(self, pc: str, note: str, sectors: dict, districts: dict) -> PostcodeResult:
        for precision, key, table in (("sector", sector_of(pc), sectors),
                                      ("district", district_of(pc), districts)):
            row = table.get(key)
            if row is not None and not np.isnan(row["lat"]):
                return self._result(pc, row["lat"], row["lon"], precision, row["area_code"],
                                    row["area_method"], key, note)
        raise PostcodeError(
            f"postcode {pc} was not found: neither it, its sector ({sector_of(pc)}) nor its "
            f"district ({district_of(pc)}) is in the UK postcode data"
            + ("" if self.settings.online else " (online lookup is off)")
        )

    def _result(self, pc, lat, lon, precision, area, method, matched, note) -> PostcodeResult:
        area = area if isinstance(area, str) and area else None
        name, kind = self._area_info(area) if area else (None, None)
        text = note + _NOTES[precision].format(m=matched, a=area)
        return PostcodeResult(
            postcode=pc, lat=round(float(lat), 6), lon=round(float(lon), 6), precision=precision,
            area_code=area, area_name=name, area_type=kind,
            area_method=method if isinstance(method, str) and method else None,
            matched=matched, regions=self._regions_of(area) if area else {},
            note=text.strip(),
        )

    # -- online fallback (postcodes.io) -------------------------------------------

    def _online(self, pc: str) -> PostcodeResult | None:
        """Ask postcodes.io (live, then terminated postcodes); None when unavailable."""
        with self._lock:
            cached = self._online_cache.get(pc, ...)
        if cached is ...:
            cached = _fetch_postcodes_io(pc, self.settings)
            with self._lock:
                self._online_cache[pc] = cached
        if not cached:
            return None
        lat, lon = cached["lat"], cached["lon"]
        area = cached.get("area_code")
        method = "postcodes_io_lsoa"
        if area not in self._areas_df.index:
            area, method = self._nearest_area(lat, lon, cached.get("lad_code"))
        note = "Located with postcodes.io" + (" (a terminated postcode)." if cached.get(
            "terminated") else ".")
        res = self._result(pc, lat, lon, "online", area, method, pc, "")
        res.note = note
        return res

    def _nearest_area(self, lat: float, lon: float, lad: str | None) -> tuple[str | None, str]:
        from epu_mapper.spatial import nearest_area

        demand = self._demand_points()
        a, m = nearest_area(np.array([lat]), np.array([lon]), np.array([lad or ""], dtype=object),
                            demand)
        return a[0], m[0]

    def _demand_points(self) -> pd.DataFrame:
        if not hasattr(self, "_demand_cache"):
            path = self.settings.build_dir / "demand.parquet"
            self._demand_cache = store.read_parquet_file(
                path, "The demand table", "epu-mapper data build",
                columns=["area_code", "lat", "lon", "lad_code"])
        return self._demand_cache


def _keyed(df: pd.DataFrame, key: str) -> dict[str, dict]:
    cols = [c for c in ("lat", "lon", "area_code", "area_method") if c in df.columns]
    values = [df[c].tolist() for c in cols]
    return {k: dict(zip(cols, row, strict=True))
            for k, *row in zip(df[key].tolist(), *values, strict=True)}


class _encoded:
    """A dictionary-encoded string column: ``obj[i]`` -> str or None, cheap to build."""

    def __init__(self, arr: pa.Array | pa.ChunkedArray):
        if isinstance(arr, pa.ChunkedArray):
            arr = arr.combine_chunks()
        enc = arr.dictionary_encode()
        self._codes = enc.indices.to_numpy(zero_copy_only=False)
        self._valid = ~np.asarray(enc.indices.is_null().to_numpy(zero_copy_only=False))
        self._values = np.array(enc.dictionary.to_pylist(), dtype=object)

    def __getitem__(self, i: int) -> str | None:
        return self._values[int(self._codes[i])] if self._valid[i] else None


def _fixed_width_keys(col: pa.Array | pa.ChunkedArray, width: int = 8) -> np.ndarray:
    """Postcodes as a NUL-padded ``S8`` NumPy array (same sort order as the strings)."""
    if isinstance(col, pa.ChunkedArray):
        col = col.combine_chunks()
    padded = pc.utf8_rpad(col.fill_null(""), width=width, padding="\x00")
    fixed = padded.cast(pa.binary()).cast(pa.binary(width))
    return np.frombuffer(fixed.buffers()[1], dtype=f"S{width}", count=len(fixed),
                         offset=fixed.offset * width)


def _fetch_postcodes_io(pc: str, settings: Settings) -> dict | None:
    """GET ``/postcodes/<pc>`` then ``/terminated_postcodes/<pc>``; None on any failure."""
    import requests

    base = settings.postcodes_io_url.rstrip("/")
    compact = pc.replace(" ", "")
    for path, terminated in (("postcodes", False), ("terminated_postcodes", True)):
        try:
            resp = requests.get(f"{base}/{path}/{compact}", timeout=settings.http_timeout_s)
        except requests.RequestException:
            return None
        if resp.status_code == 404:
            continue
        if resp.status_code != 200:
            return None
        try:
            result = resp.json().get("result") or {}
            lat, lon = float(result["latitude"]), float(result["longitude"])
        except (ValueError, KeyError, TypeError, AttributeError):
            continue
        codes = result.get("codes") or {}
        return {"lat": lat, "lon": lon, "terminated": terminated,
                "area_code": codes.get("lsoa21") or codes.get("lsoa"),
                "lad_code": codes.get("admin_district")}
    return None


_DEFAULT_INDEX: dict[tuple, PostcodeIndex] = {}


def get_index(settings: Settings | None = None) -> PostcodeIndex:
    """A process-wide cached :class:`PostcodeIndex` for these settings."""
    settings = settings or get_settings()
    try:  # a rebuilt table (new mtime) gets a fresh index
        stamp = (settings.build_dir / "postcodes.parquet").stat().st_mtime_ns
    except OSError:
        stamp = 0
    key = (str(settings.build_dir), settings.online, settings.postcodes_io_url, stamp)
    if key not in _DEFAULT_INDEX:
        for old in [k for k in _DEFAULT_INDEX if k[:3] == key[:3]]:
            del _DEFAULT_INDEX[old]
        _DEFAULT_INDEX[key] = PostcodeIndex.load(settings)
    return _DEFAULT_INDEX[key]


def lookup_postcode(text: object, settings: Settings | None = None) -> PostcodeResult:
    """Convenience: :meth:`PostcodeIndex.lookup` on the cached index."""
    return get_index(settings).lookup(text)
