"""The corrections database: the one module that talks to it (SQLAlchemy 2, Alembic).

SQLite is the embedded default (``settings.db_url``: a file in the git-ignored
``data/local/``, WAL mode, ``BEGIN IMMEDIATE`` so writers queue instead of failing);
PostgreSQL is used by URL (``EPU_MAPPER_DB_URL=postgresql+psycopg://…``) when several
app replicas share one database. The schema is created and upgraded by the Alembic
migrations shipped in :mod:`epu_mapper.migrations`, run programmatically the first
time an engine is used (:func:`get_engine`).

Tables
------
``corrections``
    One row per submission: ``kind`` (``correction`` of a listed unit, or
    ``new_unit``), ``unit_id``, ``status`` (``pending`` / ``accepted`` /
    ``rejected``), ``fields`` (proposed values, JSON), ``base`` (the unit's values of
    those fields when submitted), ``base_version``, ``source_url``, ``relation`` (how
    the person knows), ``note``, ``client`` (a salted hash, for rate limits only),
    ``submitted_at``, ``reviewer``, ``reviewed_at``, ``reason``.
``unit_versions``
    ``unit_id`` -> ``version`` (number of accepted corrections) and the last
    ``correction_id``: accepting is a compare-and-set on this row, so of two
    corrections of the same unit submitted against the same version only one can land.
``audit``
    Every decision: ``correction_id``, ``action`` (``accept`` / ``reject``),
    ``unit_id``, ``reviewer``, ``at``, ``before`` and ``after`` (JSON),
    ``source_url``, ``source_seen``, ``reason``.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError, OperationalError

from epu_mapper.errors import EpuMapperError
from epu_mapper.settings import get_settings

STATUSES = ("pending", "accepted", "rejected")
KINDS = ("correction", "new_unit")

metadata = sa.MetaData()
corrections = sa.Table(
    "corrections", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("unit_id", sa.String(80), nullable=True),
    sa.Column("status", sa.String(16), nullable=False, server_default="pending", index=True),
    sa.Column("fields", sa.JSON, nullable=False),
    sa.Column("base", sa.JSON, nullable=False),
    sa.Column("base_version", sa.Integer, nullable=False, server_default="0"),
    sa.Column("source_url", sa.String(500), nullable=False),
    sa.Column("relation", sa.String(40), nullable=False, server_default=""),
    sa.Column("note", sa.Text, nullable=False, server_default=""),
    sa.Column("client", sa.String(64), nullable=False, server_default=""),
    sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("reviewer", sa.String(80), nullable=True),
    sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("reason", sa.Text, nullable=True),
)
unit_versions = sa.Table(
    "unit_versions", metadata,
    sa.Column("unit_id", sa.String(80), primary_key=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("correction_id", sa.Integer, sa.ForeignKey("corrections.id"), nullable=False),
)
audit = sa.Table(
    "audit", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("correction_id", sa.Integer, sa.ForeignKey("corrections.id"), nullable=False),
    sa.Column("action", sa.String(16), nullable=False),
    sa.Column("unit_id", sa.String(80), nullable=True, index=True),
    sa.Column("reviewer", sa.String(80), nullable=False),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("before", sa.JSON, nullable=True),
    sa.Column("after", sa.JSON, nullable=True),
    sa.Column("source_url", sa.String(500), nullable=True),
    sa.Column("source_seen", sa.String(10), nullable=True),
    sa.Column("reason", sa.Text, nullable=True),
)

#: Columns shown by ``--json`` and the review page (``client`` is a rate-limit key, not shown).
PUBLIC_COLUMNS = tuple(c.name for c in corrections.columns if c.name != "client")


class DatabaseError(EpuMapperError):
    """The database cannot be reached or used; the message says which URL and why."""


class NotFound(EpuMapperError):
    """No correction with that id."""


class ReviewConflict(EpuMapperError):
    """A decision was refused: already decided, or the unit changed since submission."""


_engines: dict[str, Engine] = {}
_lock = threading.Lock()


def _sqlite_setup(engine: Engine) -> None:
    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # SQLAlchemy emits BEGIN itself (below)
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def _safe_url(url: str) -> str:
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        return "(unparseable URL)"


def get_engine(url: str | None = None) -> Engine:
    """The engine for ``url`` (default ``settings.db_url``), migrated to the latest schema.

    Engines are cached per URL; the first call creates the SQLite folder and runs the
    Alembic migrations.

    Raises
    ------
    DatabaseError
        Unparseable URL, missing driver, or the server cannot be reached.
    """
    url = url or get_settings().db_url
    with _lock:
        if url in _engines:
            return _engines[url]
        try:
            parsed = sa.engine.make_url(url)
        except sa.exc.ArgumentError:
            raise DatabaseError(f"--db / EPU_MAPPER_DB_URL: {url!r} is not a database URL "
                                "(e.g. sqlite:///path/file.sqlite or postgresql+psycopg://user@host/db)") from None
        kwargs: dict[str, Any] = {}
        if parsed.get_backend_name() == "sqlite":
            if parsed.database and parsed.database != ":memory:":
                Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            kwargs["connect_args"] = {"timeout": 30, "check_same_thread": False}
        elif parsed.get_backend_name() != "postgresql":
            raise DatabaseError(f"{_safe_url(url)}: only SQLite and PostgreSQL are supported")
        try:
            engine = sa.create_engine(parsed, pool_pre_ping=True, **kwargs)
        except ImportError as exc:
            raise DatabaseError(f"{_safe_url(url)}: database driver missing ({exc})") from None
        if parsed.get_backend_name() == "sqlite":
            _sqlite_setup(engine)
        try:
            migrate(engine)
        except OperationalError as exc:
            engine.dispose()
            raise DatabaseError(f"{_safe_url(url)}: cannot use the database "
                                f"({str(exc.orig).strip().splitlines()[0]})") from None
        _engines[url] = engine
        return engine


def dispose(url: str) -> None:
    """Forget the cached engine for ``url`` and close its connections (tests, shutdown)."""
    with _lock:
        engine = _engines.pop(url, None)
    if engine is not None:
        engine.dispose()


def migrate(engine: Engine) -> None:
    """Upgrade the schema to the latest Alembic revision (safe to call concurrently)."""
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(Path(__file__).resolve().parent / "migrations"))
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("SELECT pg_advisory_xact_lock(72657)")  # one migrator at a time
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


def _now() -> datetime:
    return datetime.now(UTC)


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _record(row: Any) -> dict[str, Any]:
    rec = {c: getattr(row, c) for c in PUBLIC_COLUMNS}
    rec["submitted_at"] = _utc(rec["submitted_at"])
    rec["reviewed_at"] = _utc(rec["reviewed_at"])
    return rec


def unit_version(conn: Connection, unit_id: str) -> int:
    """Accepted corrections of ``unit_id`` so far (0 when none)."""
    v = conn.execute(sa.select(unit_versions.c.version).where(unit_versions.c.unit_id == unit_id)).scalar()
    return int(v or 0)


def insert_correction(engine: Engine, kind: str, unit_id: str | None, fields: dict[str, str],
                      base: dict[str, str], source_url: str, relation: str = "", note: str = "",
                      client: str = "") -> int:
    """Store a validated submission as ``pending``; return its id (the reference number)."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}")
    with engine.begin() as conn:
        version = unit_version(conn, unit_id) if unit_id else 0
        res = conn.execute(corrections.insert().values(
            kind=kind, unit_id=unit_id, status="pending", fields=fields, base=base,
            base_version=version, source_url=source_url, relation=relation, note=note,
            client=client, submitted_at=_now(),
        ))
        key = res.inserted_primary_key
        if key is None:
            raise DatabaseError("the database did not return the new correction's id")
        return int(key[0])


def count_recent(engine: Engine, client: str, since: datetime) -> int:
    """Submissions from ``client`` since ``since`` (rate limit shared by every replica)."""
    with engine.connect() as conn:
        q = sa.select(sa.func.count()).select_from(corrections).where(
            corrections.c.client == client, corrections.c.submitted_at >= since)
        return int(conn.execute(q).scalar() or 0)


def get_correction(engine: Engine, cid: int) -> dict[str, Any]:
    """One correction as a dict of :data:`PUBLIC_COLUMNS`.

    Raises
    ------
    NotFound
    """
    with engine.connect() as conn:
        row = conn.execute(sa.select(corrections).where(corrections.c.id == cid)).first()
    if row is None:
        raise NotFound(f"no correction #{cid}")
    return _record(row)


def list_corrections(engine: Engine, status: str | None = None) -> list[dict[str, Any]]:
    """Corrections (optionally of one status), oldest first."""
    q = sa.select(corrections).order_by(corrections.c.id)
    if status:
        q = q.where(corrections.c.status == status)
    with engine.connect() as conn:
        return [_record(r) for r in conn.execute(q)]


def audit_trail(engine: Engine, unit_id: str | None = None) -> list[dict[str, Any]]:
    """Audit rows (optionally of one unit), oldest first."""
    q = sa.select(audit).order_by(audit.c.id)
    if unit_id:
        q = q.where(audit.c.unit_id == unit_id)
    with engine.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(q)]
    for r in rows:
        r["at"] = _utc(r["at"])
    return rows


def _claim(conn: Connection, cid: int, status: str, reviewer: str, reason: str | None) -> dict[str, Any]:
    row = conn.execute(sa.select(corrections).where(corrections.c.id == cid)).first()
    if row is None:
        raise NotFound(f"no correction #{cid}")
    if row.status != "pending":
        raise ReviewConflict(f"correction #{cid} was already {row.status} by {row.reviewer} "
                             f"at {_utc(row.reviewed_at):%Y-%m-%d %H:%M} UTC; nothing changed")
    res = conn.execute(corrections.update().where(
        corrections.c.id == cid, corrections.c.status == "pending",
    ).values(status=status, reviewer=reviewer, reviewed_at=_now(), reason=reason))
    if res.rowcount != 1:
        raise ReviewConflict(f"correction #{cid} was decided by another reviewer at the same moment; "
                             "nothing changed")
    return _record(row)


def _stale_message(conn: Connection, rec: dict[str, Any]) -> str:
    last = conn.execute(sa.select(unit_versions.c.correction_id).where(
        unit_versions.c.unit_id == rec["unit_id"])).scalar()
    by = f" by correction #{last}" if last else ""
    return (f"refused: unit {rec['unit_id']} was changed{by} after correction #{rec['id']} was "
            f"submitted; compare them (`epu-mapper corrections show {rec['id']}`), then reject it "
            "or submit it again against the current directory")


class AcceptTx:
    """An open accept: the claimed correction (``record``) and :meth:`write_audit`."""

    def __init__(self, conn: Connection, record: dict[str, Any], reviewer: str):
        self.conn, self.record, self.reviewer = conn, record, reviewer

    def write_audit(self, before: dict[str, Any] | None, after: dict[str, Any] | None,
                    source_url: str, source_seen: str) -> None:
        """Record who accepted what, when, the unit before and after, and the source."""
        self.conn.execute(audit.insert().values(
            correction_id=self.record["id"], action="accept", unit_id=self.record["unit_id"],
            reviewer=self.reviewer, at=_now(), before=before, after=after,
            source_url=source_url, source_seen=source_seen))


@contextlib.contextmanager
def accepting(engine: Engine, cid: int, reviewer: str) -> Iterator[AcceptTx]:
    """Claim a pending correction and its unit's next version, in one transaction.

    The caller applies the correction (writes the directory) inside the ``with`` block
    and calls :meth:`AcceptTx.write_audit`; an exception rolls everything back. On
    PostgreSQL the claimed rows stay locked until commit, so a concurrent accept of the
    same correction or the same unit waits and is then refused.

    Raises
    ------
    NotFound, ReviewConflict
    """
    try:
        with engine.begin() as conn:
            rec = _claim(conn, cid, "accepted", reviewer, None)
            uid = rec["unit_id"]
            if rec["kind"] == "correction" and uid:
                base = int(rec["base_version"])
                if base == 0:
                    try:
                        with conn.begin_nested():
                            conn.execute(unit_versions.insert().values(
                                unit_id=uid, version=1, correction_id=cid))
                    except IntegrityError:
                        raise ReviewConflict(_stale_message(conn, rec)) from None
                else:
                    res = conn.execute(unit_versions.update().where(
                        unit_versions.c.unit_id == uid, unit_versions.c.version == base,
                    ).values(version=base + 1, correction_id=cid))
                    if res.rowcount != 1:
                        raise ReviewConflict(_stale_message(conn, rec))
            rec["status"], rec["reviewer"] = "accepted", reviewer
            yield AcceptTx(conn, rec, reviewer)
    except OperationalError as exc:
        raise DatabaseError(f"the database refused the accept ({str(exc.orig).strip().splitlines()[0]}); "
                            "nothing changed") from None


def reject(engine: Engine, cid: int, reviewer: str, reason: str) -> dict[str, Any]:
    """Mark a pending correction rejected and audit it; the directory is not touched."""
    with engine.begin() as conn:
        rec = _claim(conn, cid, "rejected", reviewer, reason)
        conn.execute(audit.insert().values(
            correction_id=cid, action="reject", unit_id=rec["unit_id"], reviewer=reviewer,
            at=_now(), before=None, after=None, source_url=rec["source_url"], source_seen=None,
            reason=reason))
    return get_correction(engine, cid)
