"""Directory upkeep at the I/O edge: submit, accept and reject corrections.

Ties the pure rules (:mod:`epu_mapper.corrections`), the database (:mod:`epu_mapper.db`)
and the directory file together. An accept holds an exclusive lock on the directory
file (``.<name>.lock`` beside it) while it reads the file, applies the correction,
checks the whole directory with :func:`epu_mapper.units.validate_units`, writes it
atomically (temp file + rename) and commits the decision with its audit row; if
anything fails, the file is left (or put back) as it was and the correction stays
pending.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import hmac
import os
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd

from epu_mapper import db
from epu_mapper.convert import units_to_csv_text
from epu_mapper.corrections import (
    SubmissionError,
    apply_correction,
    validate_correction,
    validate_new_unit,
)
from epu_mapper.errors import DirectoryValidationError, EpuMapperError
from epu_mapper.importer import read_directory
from epu_mapper.settings import get_settings
from epu_mapper.store import write_text

#: Submissions one client may make per hour (shared by every replica through the database).
CLIENT_LIMIT_PER_HOUR = 5


class RateLimited(EpuMapperError):
    """Too many submissions from one client or session."""


def _units_path(units: Path | None) -> Path:
    return Path(units) if units is not None else get_settings().units_csv


@contextlib.contextmanager
def directory_lock(path: Path) -> Iterator[None]:
    """Exclusive lock on the directory file for a read-modify-write (blocks until free)."""
    lock = path.with_name(f".{path.name}.lock")
    lock.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def client_key(raw: str, salt: str | None = None) -> str:
    """A salted hash of a client address (rate limits never store the address itself)."""
    salt = salt if salt is not None else os.environ.get("EPU_MAPPER_CLIENT_SALT", "epu-mapper")
    return hmac.new(salt.encode(), raw.encode(), hashlib.sha256).hexdigest()[:32]


def _rows(df: pd.DataFrame) -> dict[str, dict[str, str]]:
    return {r["unit_id"]: r for r in df.to_dict("records")}


def submit(form: dict[str, Any], url: str | None = None, units: Path | None = None,
           client: str = "", now: datetime | None = None) -> int:
    """Validate and store a submission; return its reference number.

    Parameters
    ----------
    form : dict
        ``kind`` (``correction``, default, or ``new_unit``) and the fields of
        :func:`~epu_mapper.corrections.validate_correction` /
        :func:`~epu_mapper.corrections.validate_new_unit`.
    url : str, optional
        Database URL (default ``settings.db_url``).
    units : path, optional
        The directory (default ``data/units.csv``).
    client : str
        Hashed client key (:func:`client_key`); when given, at most
        :data:`CLIENT_LIMIT_PER_HOUR` submissions per hour are stored for it.

    Raises
    ------
    SubmissionError
        Invalid; nothing stored.
    RateLimited
        Too many recent submissions from this client; nothing stored.
    """
    form = dict(form)
    kind = str(form.pop("kind", "correction") or "correction")
    rows = _rows(read_directory(_units_path(units)))
    if kind == "correction":
        uid = str(form.get("unit_id", "")).strip()
        if uid not in rows:
            raise SubmissionError([("unit_id", f"no unit {uid[:80]!r} in the directory")])
        sub = validate_correction(form, rows[uid])
    elif kind == "new_unit":
        sub = validate_new_unit(form, next(iter(rows.values())))
    else:
        raise SubmissionError([("kind", "must be 'correction' or 'new_unit'")])
    engine = db.get_engine(url)
    if client:
        now = now or datetime.now(UTC)
        if db.count_recent(engine, client, now - timedelta(hours=1)) >= CLIENT_LIMIT_PER_HOUR:
            raise RateLimited("thank you: we have several suggestions from you in the last hour "
                              "already; please try again later")
    return db.insert_correction(engine, sub.kind, sub.unit_id, sub.fields, sub.base, sub.source_url,
                                sub.relation, sub.note, client)


def accept(cid: int, reviewer: str, url: str | None = None, units: Path | None = None,
           today: date | None = None) -> dict[str, Any]:
    """Apply a pending correction to the directory; return the stored record.

    Raises
    ------
    db.NotFound, db.ReviewConflict
        Unknown id, already decided, a new-unit report, or the unit changed since the
        correction was submitted (nothing changed).
    DirectoryValidationError
        The directory would not pass ``units validate`` (nothing changed).
    """
    reviewer = _reviewer(reviewer)
    path = _units_path(units)
    engine = db.get_engine(url)
    seen = today or datetime.now(UTC).date()
    with directory_lock(path):
        before_text = path.read_text(encoding="utf-8")
        df = read_directory(path)
        written = False
        try:
            with db.accepting(engine, cid, reviewer) as tx:
                rec = tx.record
                new_df, before, after = _applied(df, rec, seen)
                _, problems = _validate(new_df, path)
                if problems:
                    raise DirectoryValidationError(problems)
                write_text(path, units_to_csv_text(new_df))
                written = True
                tx.write_audit(before, after, rec["source_url"], seen.isoformat())
        except BaseException:
            if written:
                write_text(path, before_text)
            raise
    return db.get_correction(engine, cid)


def _validate(df: pd.DataFrame, path: Path) -> tuple[pd.DataFrame, list]:
    """``units validate`` on the directory as it would be written."""
    from epu_mapper.units import validate_units

    return validate_units(df, name=str(path))


def _applied(df: pd.DataFrame, rec: dict[str, Any], seen: date
             ) -> tuple[pd.DataFrame, dict[str, str], dict[str, str] | None]:
    cid, uid = rec["id"], rec["unit_id"]
    if rec["kind"] != "correction":
        raise db.ReviewConflict(
            f"correction #{cid} reports a unit we do not list: add it to data/units.csv by hand or "
            "through `epu-mapper units import` once its site is known, then reject this report "
            "with a reason saying where it went")
    rows = _rows(df)
    if uid not in rows:
        raise db.ReviewConflict(f"refused: unit {uid} is no longer in the directory; nothing changed")
    row = rows[uid]
    drifted = {k: v for k, v in rec["base"].items() if k != "closed" and row.get(k, "") != v}
    if drifted:
        raise db.ReviewConflict(
            f"refused: unit {uid} changed since correction #{cid} was submitted "
            f"({', '.join(sorted(drifted))}); compare them (`epu-mapper corrections show {cid}`), "
            "then reject it or submit it again")
    new = apply_correction(row, rec["fields"], rec["source_url"], seen)
    if new is None:
        out = df[df["unit_id"] != uid]
    else:
        out = df.copy()
        pos = out.index[out["unit_id"] == uid][0]
        for k, v in new.items():
            out.at[pos, k] = v
    return out.reset_index(drop=True), row, new


def _reviewer(name: str) -> str:
    name = (name or "").strip()
    if not name or len(name) > 80 or any(ord(c) < 32 for c in name):
        raise EpuMapperError("--reviewer: give your name (1 to 80 characters)")
    return name


def reject(cid: int, reviewer: str, reason: str, url: str | None = None) -> dict[str, Any]:
    """Reject a pending correction with a reason; the directory is not touched."""
    reason = (reason or "").strip()
    if not reason or len(reason) > 1000:
        raise EpuMapperError("--reason: say why (1 to 1000 characters)")
    return db.reject(db.get_engine(url), cid, _reviewer(reviewer), reason)


# --------------------------------------------------------------------------- reviewer password

_SCRYPT = {"n": 2**14, "r": 8, "p": 1}


def hash_password(password: str, salt: bytes | None = None) -> str:
    """``scrypt$N$r$p$<salt hex>$<hash hex>`` for :data:`epu_mapper.settings.REVIEWER_HASH_ENV`."""
    if len(password) < 12:
        raise EpuMapperError("the reviewer password must be at least 12 characters long")
    salt = salt if salt is not None else os.urandom(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, dklen=32, **_SCRYPT)
    return f"scrypt${_SCRYPT['n']}${_SCRYPT['r']}${_SCRYPT['p']}${salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str) -> bool:
    """Whether ``password`` matches ``stored`` (constant-time comparison; False if malformed)."""
    try:
        scheme, n, r, p, salt_hex, digest_hex = stored.strip().split("$")
        if scheme != "scrypt":
            return False
        expected = bytes.fromhex(digest_hex)
        digest = hashlib.scrypt(password.encode()[:1024], salt=bytes.fromhex(salt_hex), dklen=len(expected),
                                n=int(n), r=int(r), p=int(p), maxmem=2**26)
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(digest, expected)


