"""Engines and the unit of work: one session per request, committed by the dependency."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event, make_url
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import ConnectionPoolEntry

from bob.settings import Settings, derive_key


def create_engine(url: str) -> AsyncEngine:
    if url.startswith("sqlite"):
        database = make_url(url).database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, connect_args={"timeout": 30})
        _configure_sqlite(engine)
        return engine
    return create_async_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)


def _configure_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        # Take transaction control away from the driver so BEGIN below is the only one issued.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # SQLite has one writer. Taking the write lock when the transaction starts makes writers
        # queue (busy_timeout) instead of failing with SQLITE_BUSY when a read turns into a write.
        conn.exec_driver_sql("BEGIN IMMEDIATE")


# Every session carries the key the audit log's chain is signed with (audit.py),
# derived once from the installation secret, so writing an audit entry needs only the session.
AUDIT_PURPOSE = "audit"
_AUDIT_KEY = "bob.audit_key"


def session_audit_key(session: AsyncSession) -> bytes:
    key = session.info.get(_AUDIT_KEY)
    if not isinstance(key, bytes):
        raise RuntimeError(
            "this session cannot sign audit entries: make its Database with the "
            "installation secret (Database(url, secret=settings.secret))"
        )
    return key


class Database:
    """The engine and how sessions are made; kept on app.state so tests can rebind it.
    `secret` (the installation's) signs the audit entries written in its sessions."""

    def __init__(self, url: str, *, secret: bytes | None = None) -> None:
        self.url = url
        self.engine = create_engine(url)
        self._info = {_AUDIT_KEY: derive_key(secret, AUDIT_PURPOSE)} if secret is not None else {}
        self.sessionmaker: async_sessionmaker[AsyncSession] = async_sessionmaker(
            self.engine, expire_on_commit=False, info=self._info
        )

    def bound_to(self, connection: AsyncConnection) -> Database:
        """This database with every session inside `connection`'s transaction, as savepoints
        (the tests roll everything back at the end)."""
        bound = copy.copy(self)
        bound.sessionmaker = async_sessionmaker(
            bind=connection,
            expire_on_commit=False,
            join_transaction_mode="create_savepoint",
            info=self._info,
        )
        return bound

    @classmethod
    def of(cls, settings: Settings) -> Database:
        """The installation's database, as its settings name it."""
        return cls(settings.database_url, secret=settings.secret)

    @property
    def is_sqlite(self) -> bool:
        return self.url.startswith("sqlite")

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A unit of work outside a request (CLI, startup, workers): commit or roll back."""
        async with self.sessionmaker() as session:
            try:
                yield session
                await session.commit()
            except BaseException:
                await session.rollback()
                raise

    async def dispose(self) -> None:
        await self.engine.dispose()
