"""Database setup shared by the services: one engine and one session per app and request.

Operations only `flush()`; the request boundary (or a CLI command, or a worker loop) commits,
and rolls back on any error — the one commit point of STYLE.md.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import Flask, current_app, g
from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

log = logging.getLogger("frontdesk.db")

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    """Now, as a timezone-aware UTC datetime."""
    return datetime.now(UTC)


class UTCDateTime(sa.types.TypeDecorator):
    """A datetime stored in UTC and always returned timezone-aware.

    Naive values are refused: a time without a zone is a bug waiting for a DST change.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        value = value.astimezone(UTC)
        # SQLite has no zone type: store naive UTC there, aware UTC elsewhere.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def make_base() -> type[DeclarativeBase]:
    """Return a declarative base with its own metadata and the shared naming convention."""

    class ServiceBase(DeclarativeBase):
        metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)
        type_annotation_map = {datetime: UTCDateTime()}

    return ServiceBase


def dialect_insert(session: Session) -> Callable[[sa.Table], Any]:
    """The `insert()` of the session's database dialect, for INSERT ... ON CONFLICT."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert
    return sqlite.insert


def _casefold(text: str | None) -> str | None:
    return None if text is None else text.casefold()


def folded(session: Session, column: sa.ColumnElement) -> sa.ColumnElement:
    """`column` case-folded in SQL, beyond ASCII on both databases (for case-blind search)."""
    if session.get_bind().dialect.name == "sqlite":
        return sa.func.casefold(column)
    return sa.func.lower(column)


def _prepare_sqlite(engine: Engine) -> None:
    """Make SQLite safe for concurrent writers: WAL, a busy timeout, BEGIN IMMEDIATE.

    With BEGIN IMMEDIATE every transaction takes the write lock at its start, so a
    check-then-insert inside one transaction is serialized against every other writer.
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):  # pragma: no cover - driver hook
        dbapi_connection.isolation_level = None  # let SQLAlchemy emit BEGIN itself
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        # Freed space is overwritten with zeros: an erased client's data must not stay
        # readable in free pages and cells (see reclaim_after_commit for the WAL).
        cursor.execute("PRAGMA secure_delete=ON")
        cursor.close()
        # SQLite's lower() folds ASCII only; searches fold with this (PostgreSQL: lower()).
        dbapi_connection.create_function("casefold", 1, _casefold, deterministic=True)

    @event.listens_for(engine, "begin")
    def _on_begin(connection):  # pragma: no cover - driver hook
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def create_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine with the settings Frontdesk relies on for the given database."""
    url_obj = sa.make_url(url)
    if url_obj.get_backend_name() == "sqlite":
        if url_obj.database and url_obj.database != ":memory:":
            Path(url_obj.database).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(
            url, connect_args={"timeout": 30, "check_same_thread": False}, **kwargs
        )
        _prepare_sqlite(engine)
        return engine
    # No ping before each checkout: it was a round trip on every request (a quarter of a small
    # one). A connection found dead instead fails its one request with 503 + Retry-After
    # (shared.errors) and SQLAlchemy then recycles every older connection of the pool, so after
    # a database restart each worker answers one 503 and reconnects.
    kwargs.setdefault("pool_pre_ping", False)
    kwargs.setdefault("pool_size", 5)
    kwargs.setdefault("max_overflow", 10)
    return sa.create_engine(url, **kwargs)


class Database:
    """An engine and a session factory bound to one Flask app."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = create_engine(url)
        self.sessionmaker = sessionmaker(bind=self.engine, expire_on_commit=False)

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session that commits on success and rolls back on any exception."""
        session = self.sessionmaker()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    @contextlib.contextmanager
    def reader(self) -> Iterator[sa.Connection]:
        """A connection for one read-only statement outside any transaction.

        On PostgreSQL it runs in autocommit, so the statement is one round trip instead of
        three (BEGIN, the statement, COMMIT): for hot paths that answer from one small query,
        like a feed's 304. Only for a single statement: two reads here see two snapshots.
        """
        with self.engine.connect() as connection:
            if self.engine.dialect.name == "postgresql":
                connection = connection.execution_options(isolation_level="AUTOCOMMIT")
            yield connection

    @contextlib.contextmanager
    def autocommit(self) -> Iterator[sa.Connection]:
        """A PostgreSQL connection in autocommit, for one statement that is its own
        transaction (a write with its CTEs commits whole or not at all): one round trip."""
        if self.engine.dialect.name != "postgresql":
            raise RuntimeError("autocommit() is for PostgreSQL; use transaction()")
        with self.engine.connect() as connection:
            yield connection.execution_options(isolation_level="AUTOCOMMIT")


def _quiet_rollback(session: Session) -> None:
    """Roll back; a connection that is already gone has nothing left to undo."""
    try:
        session.rollback()
    except sa.exc.DBAPIError:
        session.invalidate()


def reclaim_after_commit(session: Session) -> None:
    """Once `session` commits, leave what it erased in no database file.

    On SQLite, secure_delete (every connection) zeroes what a write frees, but the WAL still
    holds the earlier versions of the pages and the database file their old content until a
    checkpoint: a TRUNCATE checkpoint after the commit copies the new pages into the file and
    empties the WAL. On PostgreSQL the old row versions stay in the table's files until VACUUM
    (autovacuum) reclaims them (README: "Erased data and the database files").
    """
    bind = session.get_bind()
    engine = getattr(bind, "engine", bind)
    if engine.dialect.name == "sqlite":
        event.listen(session, "after_commit", lambda _s: _checkpoint(engine), once=True)


def _checkpoint(engine: Engine) -> None:
    """Checkpoint a SQLite WAL into the database file and truncate it (outside a transaction)."""
    connection = engine.raw_connection()
    try:
        cursor = connection.cursor()
        busy, _, _ = cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        cursor.close()
    finally:
        connection.close()
    if busy:  # readers kept it past the busy timeout: the next checkpoint finishes the job
        log.warning("WAL checkpoint after an erasure did not complete")


def init_app(app: Flask) -> Database:
    """Attach a Database for `app.config['DATABASE_URL']` and the per-request commit point."""
    database = Database(app.config["DATABASE_URL"])
    app.extensions["frontdesk_db"] = database

    @app.after_request
    def _commit(response):
        session = g.pop("db_session", None)
        if session is not None:
            try:
                if response.status_code < 400:
                    session.commit()
                else:
                    _quiet_rollback(session)
            finally:
                session.close()
        return response

    @app.teardown_request
    def _rollback(_exc):
        session = g.pop("db_session", None)
        if session is not None:
            _quiet_rollback(session)
            session.close()

    return database


def get_db(app: Flask | None = None) -> Database:
    """The Database of the given (or current) app."""
    return (app or current_app).extensions["frontdesk_db"]


def session() -> Session:
    """The current request's session, created on first use."""
    if "db_session" not in g:
        g.db_session = get_db().sessionmaker()
    return g.db_session


@contextlib.contextmanager
def read_session() -> Iterator[Session]:
    """A session for a read-only request. On PostgreSQL it runs on a reader() connection: no
    BEGIN/COMMIT round trips, each statement its own snapshot (order the reads so that does no
    harm). On SQLite, where a second connection would wait for the request's own write lock,
    it is the request's session."""
    database = get_db()
    if database.engine.dialect.name != "postgresql":
        yield session()
        return
    with database.reader() as connection, Session(bind=connection) as read:
        yield read
