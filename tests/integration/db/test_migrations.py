from __future__ import annotations

import asyncio

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from pydantic import SecretStr
from sqlalchemy import inspect, text

from bob import models
from bob.db import migrate
from bob.db.session import create_engine
from tests.conftest import FreshDatabase


async def _tables(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            return set(await connection.run_sync(lambda c: inspect(c).get_table_names()))
    finally:
        await engine.dispose()


async def _diff(url: str) -> list[object]:
    engine = create_engine(url)
    metadata = models.metadata
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(
                lambda c: compare_metadata(
                    MigrationContext.configure(
                        c, opts={"compare_type": True, "include_name": migrate.include_name}
                    ),
                    metadata,
                )
            )
    finally:
        await engine.dispose()


async def _platform_tenants(url: str) -> list[str]:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            rows = await connection.execute(
                text("SELECT business_id FROM tenants WHERE business_id = 'bob-platform'")
            )
            return [r[0] for r in rows]
    finally:
        await engine.dispose()


async def test_upgrade_downgrade_upgrade(fresh_database: FreshDatabase) -> None:
    settings = fresh_database.settings
    await asyncio.to_thread(migrate.upgrade, settings)
    assert {"tenants", "users", "audit_log", "auth_sessions"} <= await _tables(fresh_database.url)
    assert await _platform_tenants(fresh_database.url) == ["bob-platform"]

    await asyncio.to_thread(migrate.downgrade, settings, "base")
    assert await _tables(fresh_database.url) <= {"alembic_version"}

    await asyncio.to_thread(migrate.upgrade, settings)
    assert await _platform_tenants(fresh_database.url) == ["bob-platform"]


async def test_models_match_migrations(fresh_database: FreshDatabase) -> None:
    await asyncio.to_thread(migrate.upgrade, fresh_database.settings)
    assert await _diff(fresh_database.url) == []


async def test_migration_files_follow_the_naming_rule() -> None:
    import re

    names = [p.name for p in (migrate.MIGRATIONS_DIR / "versions").glob("*.py")]
    assert names
    for name in names:
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}_[a-z0-9_]+_[0-9a-z]+\.py", name), name
        source = (migrate.MIGRATIONS_DIR / "versions" / name).read_text()
        assert "def downgrade() -> None:" in source
        assert "    pass\n" not in source.split("def downgrade() -> None:")[1][:20]


async def test_sqlite_runs_in_wal_mode_with_foreign_keys(tmp_path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'wal.db'}")
    try:
        async with engine.connect() as connection:
            journal = (await connection.execute(text("PRAGMA journal_mode"))).scalar()
            foreign_keys = (await connection.execute(text("PRAGMA foreign_keys"))).scalar()
    finally:
        await engine.dispose()
    assert journal == "wal"
    assert foreign_keys == 1


async def test_app_refuses_an_unmigrated_database(fresh_database: FreshDatabase) -> None:
    import pytest

    from bob.errors import ConfigurationError
    from bob.main import create_app

    app = create_app(fresh_database.settings)
    with pytest.raises(ConfigurationError, match="bob migrate"):
        async with app.router.lifespan_context(app):
            pass
    await app.state.db.dispose()


async def test_bootstrap_admin_is_created_on_start_once(fresh_database: FreshDatabase) -> None:
    import httpx

    from bob.main import create_app

    await asyncio.to_thread(migrate.upgrade, fresh_database.settings)
    settings = fresh_database.settings.model_copy(
        update={
            "bootstrap_admin_email": "Root@Example.com",
            "bootstrap_admin_password": SecretStr("bootstrap password 1"),
        }
    )
    for _ in range(2):  # a second start finds the admin and leaves it alone
        app = create_app(settings)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://bob.localhost") as c:
                response = await c.post(
                    "/api/auth/login",
                    json={"email": "root@example.com", "password": "bootstrap password 1"},
                )
        assert response.status_code == 200, response.text
        assert response.json()["user"]["role"] == "platform_admin"
