"""Test harness.

Every database test runs on SQLite and, when BOB_TEST_DATABASE_URL is given, on PostgreSQL too.
Each backend gets one migrated database per run; each test runs inside a transaction that is
rolled back at the end (the app's own commits become savepoints). Tests that need real commits
or other processes use `fresh_database`, a database of their own.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import make_url, text
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from bob.db import migrate
from bob.db.session import Database
from bob.main import create_app
from bob.ratelimit import RateLimiter, make_storage
from bob.settings import Settings

IN_CI = os.environ.get("CI", "").lower() == "true"
PG_URL = os.environ.get("BOB_TEST_DATABASE_URL", "")
REDIS_URL = os.environ.get("BOB_TEST_REDIS_URL", "")
TEST_SECRET = "test-secret-" + secrets.token_urlsafe(32)
PUBLIC_URL = "http://bob.localhost:8000"


def _unavailable(what: str, reason: str) -> None:
    if IN_CI:
        pytest.fail(f"{what} is required under CI=true: {reason}", pytrace=False)
    pytest.skip(f"{what} not available: {reason}")


def make_settings(database_url: str, data_dir: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "env": "development",
        "data_dir": data_dir,
        "database_url": database_url,
        "secret_key": TEST_SECRET,
        "public_url": PUBLIC_URL,
        "platform_business_id": "bob-platform",
        # Tests that deliver webhooks run a worker themselves, when they choose.
        "inprocess_worker": False,
    }
    values.update(overrides)
    # model_validate skips environment variables and .env, so tests do not depend on the shell.
    return Settings.model_validate(values)


# ---- PostgreSQL databases ----------------------------------------------------------------


async def _pg_admin(statement: str) -> None:
    engine = create_async_engine(PG_URL, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            await connection.execute(text(statement))
    finally:
        await engine.dispose()


async def create_pg_database() -> str:
    name = f"bob_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    await _pg_admin(f'CREATE DATABASE "{name}"')
    return make_url(PG_URL).set(database=name).render_as_string(hide_password=False)


async def drop_pg_database(url: str) -> None:
    name = make_url(url).database
    await _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def _check_pg() -> None:
    if not PG_URL:
        _unavailable("PostgreSQL", "set BOB_TEST_DATABASE_URL to test on it")
    try:
        await asyncio.wait_for(_pg_admin("SELECT 1"), timeout=10)
    except Exception as exc:  # any failure to connect means "unreachable"
        _unavailable("PostgreSQL", f"{PG_URL} is unreachable ({exc!r})")


# ---- backends ------------------------------------------------------------------------------


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@dataclass
class MigratedDatabase:
    url: str
    settings: Settings
    database: Database


@pytest.fixture(scope="session")
async def migrated(
    backend: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[MigratedDatabase]:
    """One migrated database per backend for the whole run."""
    data_dir = tmp_path_factory.mktemp(f"bob-{backend}")
    if backend == "postgresql":
        await _check_pg()
        url = await create_pg_database()
    else:
        url = f"sqlite+aiosqlite:///{data_dir / 'bob.db'}"
    settings = make_settings(url, data_dir)
    await asyncio.to_thread(migrate.upgrade, settings)
    database = Database.of(settings)
    yield MigratedDatabase(url, settings, database)
    await database.dispose()
    if backend == "postgresql":
        await drop_pg_database(url)


@pytest.fixture
async def db(migrated: MigratedDatabase) -> AsyncIterator[Database]:
    """The shared database, with everything this test writes rolled back afterwards."""
    async with migrated.database.engine.connect() as connection:
        outer = await connection.begin()
        bound = migrated.database.bound_to(connection)
        try:
            yield bound
        finally:
            await outer.rollback()


@pytest.fixture
async def session(db: Database) -> AsyncIterator[AsyncSession]:
    async with db.sessionmaker() as session:
        yield session


@pytest.fixture
def settings(migrated: MigratedDatabase, tmp_path: Path) -> Settings:
    return make_settings(migrated.url, tmp_path)


@pytest.fixture
def app(settings: Settings, db: Database) -> FastAPI:
    return create_app(settings, database=db)


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 40000))
    async with httpx.AsyncClient(transport=transport, base_url=PUBLIC_URL) as client:
        yield client


@dataclass
class FreshDatabase:
    url: str
    settings: Settings
    data_dir: Path

    def env(self) -> dict[str, str]:
        """Environment for a `bob` subprocess using this database."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("BOB_")}
        env.update(
            BOB_DATABASE_URL=self.url,
            BOB_DATA_DIR=str(self.data_dir),
            BOB_SECRET_KEY=TEST_SECRET,
            BOB_PUBLIC_URL=PUBLIC_URL,
        )
        return env


@pytest.fixture
async def fresh_database(backend: str, tmp_path: Path) -> AsyncIterator[FreshDatabase]:
    """An empty, unmigrated database of this test's own, for real commits and subprocesses."""
    if backend == "postgresql":
        await _check_pg()
        url = await create_pg_database()
    else:
        url = f"sqlite+aiosqlite:///{tmp_path / 'fresh.db'}"
    yield FreshDatabase(url, make_settings(url, tmp_path), tmp_path)
    if backend == "postgresql":
        await drop_pg_database(url)


@pytest.fixture
def redis_url() -> str:
    if not REDIS_URL:
        _unavailable("Redis", "set BOB_TEST_REDIS_URL to test on it")
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=5).ping()
    except Exception as exc:  # any failure to connect means "unreachable"
        _unavailable("Redis", f"{REDIS_URL} is unreachable ({exc!r})")
    return REDIS_URL


def redis_limiter(url: str) -> RateLimiter:
    # A namespace per test keeps counters apart on a shared Redis without flushing it.
    return RateLimiter(make_storage(url, namespace=f"bobtest-{uuid.uuid4().hex}"))
