"""`bob knowledge reindex`: the real command, on a database of the test's own."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import func, select

from bob import audit
from bob.db import migrate
from bob.db.session import Database
from bob.jobs.models import Job
from bob.knowledge import embeddings
from bob.knowledge import service as knowledge
from bob.knowledge.models import KnowledgeVector
from tests.cli.test_cli import bob, one_error_line
from tests.conftest import FreshDatabase, make_settings
from tests.factories import make_tenant


async def _vectors(db: Database) -> list[tuple[str, str]]:
    async with db.transaction() as session:
        rows = await session.execute(select(KnowledgeVector.model, KnowledgeVector.created_at))
        return [(model, created.isoformat()) for model, created in rows]


async def test_reindex_embeds_what_is_missing_and_everything_with_all(
    fresh_database: FreshDatabase, tmp_path: Path
) -> None:
    await asyncio.to_thread(migrate.upgrade, fresh_database.settings)
    db = Database.of(fresh_database.settings)
    try:
        off = make_settings(fresh_database.url, tmp_path, embeddings="off")
        shop, empty = await make_tenant(db, off), await make_tenant(db, off)
        rows = "\n".join(f"Where is desk {n}?,Desk {n} is by window {n}." for n in range(12))
        async with db.transaction() as session:
            await knowledge.import_file(
                session=session,
                settings=off,
                tenant_id=shop.tenant.id,
                actor=audit.CLI,
                filename="desks.csv",
                data=rows.encode(),
            )

        result = await bob(fresh_database, "knowledge", "reindex")
        assert result.returncode == 0, result.stderr
        business = shop.tenant.business_id
        # Only tenants with knowledge are indexed.
        assert f"{business}: 12 of 12 passages embedded (done)" in result.stdout
        assert empty.tenant.business_id not in result.stdout
        first = await _vectors(db)
        assert len(first) == 12
        assert {model for model, _ in first} == {embeddings.LOCAL_MODEL}

        result = await bob(fresh_database, "knowledge", "reindex", "--business-id", business)
        assert result.returncode == 0, result.stderr
        assert f"{business}: 0 of 0 passages embedded (done)" in result.stdout
        assert await _vectors(db) == first

        result = await bob(
            fresh_database, "knowledge", "reindex", "--business-id", business, "--all"
        )
        assert result.returncode == 0, result.stderr
        assert f"{business}: 12 of 12 passages embedded (done)" in result.stdout
        again = await _vectors(db)
        assert len(again) == 12
        assert set(again).isdisjoint(first)
        async with db.transaction() as session:
            statuses = list(await session.scalars(select(Job.status)))
            assert statuses == ["done"] * 3
            assert await session.scalar(select(func.count()).select_from(KnowledgeVector)) == 12

        refused = await bob(fresh_database, "knowledge", "reindex", env={"BOB_EMBEDDINGS": "off"})
        assert "search by meaning is switched off" in one_error_line(refused)
        unknown = await bob(fresh_database, "knowledge", "reindex", "--business-id", "nobody")
        assert unknown.returncode == 2
    finally:
        await db.dispose()
