"""Where a travel matrix lives in the build folder, its inputs fingerprint and its dense load cache."""

from __future__ import annotations

import hashlib
import json
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

from epu_mapper.travel.pairs import REASONS, _indexer, dense_from_long


def _fingerprint(*arrays: np.ndarray) -> str:
    h = hashlib.sha256()
    for a in arrays:
        a = np.asarray(a)
        if a.dtype == object or a.dtype.kind in "UT":
            h.update("\x1f".join(map(str, a.tolist())).encode())
        else:
            h.update(np.ascontiguousarray(a, dtype=np.float64).tobytes())
        h.update(b"\x1e")
    return h.hexdigest()[:16]


def matrix_paths(build_dir: Path, engine: str) -> tuple[Path, Path]:
    """``travel/matrix_<engine>.parquet`` and its ``.json`` provenance."""
    base = Path(build_dir) / "travel" / f"matrix_{engine}"
    return base.with_suffix(".parquet"), base.with_suffix(".json")


#: Arrays of the dense cache, one ``.npz`` beside the Parquet (``travel/matrix_<engine>.cache.npz``).
CACHE_ARRAYS = ("minutes", "km", "area_codes", "unit_ids", "long_rows", "long_cols", "unreachable")


def cache_path(build_dir: Path, engine: str) -> Path:
    """The dense cache of a matrix: one file ``travel/matrix_<engine>.cache.npz``.

    It holds the dense float32 ``minutes``/``km`` in build order (``area_codes`` rows,
    ``unit_ids`` columns, unicode arrays), ``long_rows``/``long_cols`` (the row/column order
    the Parquet's own order gives, for a load without ``demand``/``units``), ``unreachable``
    (``int32 (n, 3)``: row, column, reason code of each NaN pair, in Parquet order) and ``key``
    (JSON: the provenance's ``inputs_key`` and ``created_at`` it was made for). It is a derived
    copy of the Parquet for a fast load; the Parquet stays the output.
    """
    return Path(build_dir) / "travel" / f"matrix_{engine}.cache.npz"


def _dense_cache_arrays(
    long: pd.DataFrame, area_codes: np.ndarray, unit_ids: np.ndarray
) -> dict[str, np.ndarray]:
    """The cache arrays (:func:`cache_paths`) from a matrix's long table and its build order."""
    area_codes = np.asarray(area_codes).astype(str)
    unit_ids = np.asarray(unit_ids).astype(str)
    minutes, km = dense_from_long(long, area_codes, unit_ids)
    rows = _indexer(area_codes, long["area_code"])
    cols = _indexer(unit_ids, long["unit_id"])
    bad = long["reason"].notna().to_numpy()
    reason_codes = {label: code for code, label in REASONS.items()}
    codes = long.loc[bad, "reason"].astype(str).map(reason_codes).to_numpy(np.int32)
    return {
        "minutes": minutes,
        "km": km,
        "area_codes": area_codes,
        "unit_ids": unit_ids,
        "long_rows": pd.unique(rows).astype(np.int64),
        "long_cols": pd.unique(cols).astype(np.int64),
        "unreachable": np.column_stack([rows[bad], cols[bad], codes]).astype(np.int32).reshape(-1, 3),
    }


def write_dense_cache(
    build_dir: Path, engine: str, long: pd.DataFrame, area_codes: np.ndarray,
    unit_ids: np.ndarray, provenance: dict,
) -> Path:
    """Write the dense cache of a matrix (:func:`cache_path`), atomically.

    The file records the provenance's ``inputs_key`` and ``created_at``: :func:`read_dense_cache`
    uses it only when both match, so a stale cache is never used, and the atomic write means
    a half-written one never exists.

    Returns
    -------
    Path
        The cache file.
    """
    from epu_mapper.store import atomic_write

    path = cache_path(build_dir, engine)
    arrays = _dense_cache_arrays(long, area_codes, unit_ids)
    arrays["key"] = np.array(json.dumps({
        "inputs_key": provenance.get("inputs_key"),
        "created_at": provenance.get("created_at"),
        "engine": engine,
    }))

    def save(tmp: Path) -> None:
        with open(tmp, "wb") as fh:  # a file object: np.savez would add ".npz" to a bare name
            np.savez(fh, allow_pickle=False, **arrays)

    atomic_write(path, save)
    return path


def drop_dense_cache(build_dir: Path, engine: str) -> None:
    """Remove a matrix's dense cache (and the eight files of the older ``.npy`` cache)."""
    path = cache_path(build_dir, engine)
    stale = [path, *path.parent.glob(f"matrix_{engine}.*.npy"),
             path.with_name(f"matrix_{engine}.cache.json")]
    for old in stale:
        try:
            old.unlink(missing_ok=True)
        except OSError as exc:  # read-only folder: say so (nothing has been changed yet)
            from epu_mapper.store import write_error

            raise write_error(old, exc) from None


def read_dense_cache(build_dir: Path, engine: str, provenance: dict) -> dict[str, np.ndarray] | None:
    """The cache arrays when present, readable and made for this provenance; else None.

    Made for it: the same ``inputs_key`` and ``created_at``, and consistent shapes.
    """
    if not provenance.get("inputs_key"):
        return None
    try:
        with np.load(cache_path(build_dir, engine), allow_pickle=False) as npz:
            key = json.loads(str(npz["key"]))
            if (key.get("inputs_key") != provenance.get("inputs_key")
                    or key.get("created_at") != provenance.get("created_at")):
                return None
            out = {n: npz[n] for n in CACHE_ARRAYS}
    except (OSError, KeyError, TypeError, ValueError, EOFError, zipfile.BadZipFile):
        return None
    shape = (len(out["area_codes"]), len(out["unit_ids"]))
    if out["minutes"].shape != shape or out["km"].shape != shape:
        return None
    return out
