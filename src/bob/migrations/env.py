"""Alembic environment: async engines, Bob's settings, and the naming convention from Base."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

from bob import models
from bob.db.migrate import include_name
from bob.db.session import create_engine
from bob.settings import Settings

config = context.config
settings: Settings = config.attributes.get("settings") or Settings()
target_metadata = models.metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copying
        compare_type=True,
        include_name=include_name,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_async() -> None:
    engine = create_engine(settings.database_url)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_run)
            await connection.commit()
    finally:
        await engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline (SQL script) migrations are not supported; run `bob migrate`")

connection = config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    asyncio.run(_run_async())
