"""The off-chain SQL database: engines for SQLite (the embedded default) and PostgreSQL (production)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from sqlmodel import SQLModel, create_engine

logger = logging.getLogger(__name__)


def utcnow() -> datetime:
    """Now, in UTC: the default of every table's timestamp columns."""
    return datetime.now(UTC)


def make_engine(url: str, *, echo: bool = False) -> Engine:
    """An engine for ``url`` (``sqlite:///path`` or ``postgresql+psycopg://...``), ready for concurrent workers.

    SQLite gets WAL journaling and a busy timeout, so readers never block the writer and several threads can
    share the file; PostgreSQL gets a connection pool with pre-ping, so a restarted database server is reconnected
    to transparently.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, echo=echo, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            # Let SQLAlchemy issue BEGIN itself (IMMEDIATE, below) instead of pysqlite's deferred implicit one.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(connection: Any) -> None:
            # Take the write lock at BEGIN: two writers never deadlock upgrading a read lock.
            connection.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
        url = parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    return create_engine(url, echo=echo, pool_pre_ping=True, pool_size=10, max_overflow=20)


def is_postgres(engine: Engine) -> bool:
    """Whether ``engine`` talks to PostgreSQL (row locks with SKIP LOCKED are available)."""
    return engine.dialect.name == "postgresql"


def create_tables(engine: Engine, *models: type[SQLModel]) -> None:
    """Create the tables of ``models`` (idempotent): a package's own tables, without everyone else's."""
    tables = [getattr(model, "__table__") for model in models]  # noqa: B009 (SQLModel declares no type for it)
    SQLModel.metadata.create_all(engine, tables=tables)


def create_schema(engine: Engine) -> None:
    """Create every table node_adapter defines, and those of modules already imported (idempotent)."""
    import node_adapter.outbox  # noqa: PLC0415 (registers the tables)
    import node_adapter.readmodel  # noqa: F401, PLC0415

    SQLModel.metadata.create_all(engine)
