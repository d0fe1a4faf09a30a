"""Search by meaning: vectors follow the knowledge (create, edit, import, delete), a large import
is indexed by a background job with progress, the per-process matrix follows the tenant's
knowledge version, and without a usable embedder Bob searches by words and says so."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, insert, select

from bob import audit
from bob.db import migrate
from bob.db.session import Database
from bob.jobs import service as jobs
from bob.jobs.models import Job
from bob.jobs.runner import JobRunner
from bob.knowledge import embeddings, vectors
from bob.knowledge import jobs as knowledge_jobs
from bob.knowledge import service as knowledge
from bob.knowledge.models import KnowledgeChunk, KnowledgeVector
from bob.main import create_app
from bob.settings import Settings
from bob.webhooks.worker import Worker
from tests.conftest import PUBLIC_URL, FreshDatabase, make_settings
from tests.engines_server import FakeOpenAI, fake_openai, fake_openai_server
from tests.factories import bearer, make_admin, make_tenant
from tests.integration.knowledge.conftest import Business
from tests.integration.portal.conftest import Pages

__all__ = ["fake_openai", "fake_openai_server"]

PETS = "Aceitamos animais de estimação em todos os quartos, sem custo extra."
PARKING = "The car park is underground and opens at six in the morning."


async def vector_models(db: Database, tenant_id: uuid.UUID) -> dict[int, tuple[str, int]]:
    async with db.transaction() as session:
        rows = await session.execute(
            select(KnowledgeVector.chunk_id, KnowledgeVector.model, KnowledgeVector.dim).where(
                KnowledgeVector.tenant_id == tenant_id
            )
        )
        return {chunk_id: (model, dim) for chunk_id, model, dim in rows}


async def chunk_ids(db: Database, item_id: str | uuid.UUID) -> set[int]:
    async with db.transaction() as session:
        rows = await session.scalars(
            select(KnowledgeChunk.id).where(KnowledgeChunk.item_id == uuid.UUID(str(item_id)))
        )
        return set(rows)


async def nearest(
    db: Database, settings: Settings, tenant_id: uuid.UUID, question: str, limit: int = 3
) -> list[int]:
    async with db.transaction() as session:
        hits = await vectors.dense_candidates(
            session=session, settings=settings, tenant_id=tenant_id, query=question, limit=limit
        )
    assert [h.similarity for h in hits] == sorted((h.similarity for h in hits), reverse=True)
    return [hit.chunk_id for hit in hits]


async def jobs_of(db: Database, tenant_id: uuid.UUID) -> list[Job]:
    async with db.transaction() as session:
        return list(await session.scalars(select(Job).where(Job.tenant_id == tenant_id)))


def csv_of(rows: int, topic: str = "locker") -> bytes:
    lines = ["question,answer"] + [
        f"Where is {topic} {n}?,{topic.title()} {n} is on floor {n % 4} next to the stairs."
        for n in range(rows)
    ]
    return "\n".join(lines).encode()


async def upload(business: Business, filename: str, data: bytes) -> list[str]:
    response = await business.client.post(
        "/api/knowledge/import",
        files={"file": (filename, data, "text/csv")},
        headers=business.owner,
    )
    assert response.status_code == 201, response.text
    ids: list[str] = response.json()["item_ids"]
    return ids


async def indexing(business: Business) -> dict[str, Any]:
    response = await business.client.get("/api/knowledge/indexing", headers=business.owner)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


# ---- vectors follow the knowledge ----------------------------------------------------------


async def test_vectors_follow_items_through_create_edit_and_delete(
    business: Business, db: Database, settings: Settings
) -> None:
    tenant_id = business.made.tenant.id
    pets = await business.add("Animais", PETS)
    parking = await business.add("Parking", PARKING)
    pets_chunks = await chunk_ids(db, pets["id"])
    parking_chunks = await chunk_ids(db, parking["id"])
    stored = await vector_models(db, tenant_id)
    assert set(stored) == pets_chunks | parking_chunks
    assert set(stored.values()) == {(embeddings.LOCAL_MODEL, 384)}

    # The question shares no word with the Portuguese passage.
    assert (await nearest(db, settings, tenant_id, "Do you accept pets?"))[0] in pets_chunks

    response = await business.client.patch(
        f"/api/knowledge/{pets['id']}",
        json={"content": "Dogs and cats are welcome in every room; there is no extra charge."},
        headers=business.owner,
    )
    assert response.status_code == 200
    edited_chunks = await chunk_ids(db, pets["id"])
    assert edited_chunks.isdisjoint(pets_chunks)
    assert set(await vector_models(db, tenant_id)) == edited_chunks | parking_chunks
    assert (await nearest(db, settings, tenant_id, "Can I bring my dog?"))[0] in edited_chunks

    # Changing only the tags keeps the passages, and so their vectors.
    response = await business.client.patch(
        f"/api/knowledge/{pets['id']}", json={"tags": ["rooms"]}, headers=business.owner
    )
    assert response.status_code == 200
    assert await chunk_ids(db, pets["id"]) == edited_chunks

    response = await business.client.delete(f"/api/knowledge/{pets['id']}", headers=business.owner)
    assert response.status_code == 204
    assert set(await vector_models(db, tenant_id)) == parking_chunks
    assert await nearest(db, settings, tenant_id, "Can I bring my dog?") == list(parking_chunks)
    assert await jobs_of(db, tenant_id) == []


async def test_a_small_import_is_embedded_in_the_request(business: Business, db: Database) -> None:
    item_ids = await upload(business, "lockers.csv", csv_of(3))
    chunks: set[int] = set()
    for item_id in item_ids:
        chunks |= await chunk_ids(db, item_id)
    assert len(chunks) == 3
    assert set(await vector_models(db, business.made.tenant.id)) == chunks
    assert await jobs_of(db, business.made.tenant.id) == []
    state = await indexing(business)
    assert (state["state"], state["passages"], state["indexed"]) == ("ready", 3, 3)


async def test_a_large_import_is_indexed_by_a_job_with_progress(
    business: Business, db: Database, settings: Settings
) -> None:
    tenant_id = business.made.tenant.id
    rows = vectors.INLINE_MAX_CHUNKS + vectors.JOB_BATCH  # two batches of the job
    await upload(business, "lockers.csv", csv_of(rows))
    assert await vector_models(db, tenant_id) == {}
    [job] = await jobs_of(db, tenant_id)
    assert (job.kind, job.status) == (vectors.INDEX_JOB, "queued")
    state = await indexing(business)
    assert (state["state"], state["passages"], state["indexed"]) == ("queued", rows, 0)
    # Until the job is done, the import is found by its words.
    hits = await business.search("Where is locker 7?")
    assert hits
    assert hits[0]["title"] == "Where is locker 7?"

    # A second change while the job waits does not queue a second job.
    await upload(business, "more.csv", csv_of(vectors.INLINE_MAX_CHUNKS + 1, topic="shelf"))
    assert len(await jobs_of(db, tenant_id)) == 1
    rows += vectors.INLINE_MAX_CHUNKS + 1

    seen: list[tuple[int, int]] = []
    runner = JobRunner(db=db, settings=settings, name="test-worker", work=knowledge_jobs.WORK)
    claim = await runner.claim()
    assert claim is not None
    assert claim.job_id == job.id
    assert await runner.run(claim, on_progress=lambda done, total: seen.append((done, total)))
    assert seen[0] == (0, rows)
    assert seen[-1] == (rows, rows)
    assert (vectors.JOB_BATCH, rows) in seen
    assert [done for done, _ in seen] == sorted(done for done, _ in seen)

    assert len(await vector_models(db, tenant_id)) == rows
    state = await indexing(business)
    assert (state["state"], state["indexed"]) == ("ready", rows)
    assert state["job"]["status"] == "done"
    assert (state["job"]["done"], state["job"]["total"]) == (rows, rows)
    assert await runner.run_once() is False


async def test_the_matrix_is_reloaded_when_the_knowledge_version_changes(
    business: Business, db: Database, settings: Settings, tmp_path: Path
) -> None:
    tenant_id = business.made.tenant.id
    pets = await business.add("Animais", PETS)
    assert (await nearest(db, settings, tenant_id, "Do you accept pets?"))[0] in await chunk_ids(
        db, pets["id"]
    )
    # A passage added while embeddings were off: no vector, but the version changed.
    off = make_settings(settings.database_url, tmp_path, embeddings="off")
    async with db.transaction() as session:
        parking = await knowledge.create_item(
            session=session,
            settings=off,
            tenant_id=tenant_id,
            actor=audit.CLI,
            title="Parking",
            content=PARKING,
        )
    [parking_chunk] = await chunk_ids(db, parking.id)
    question = "Where can I leave my car?"
    assert parking_chunk not in await nearest(db, settings, tenant_id, question)

    # A vector written behind the version's back stays unseen: the cached matrix is current
    # as far as the version says.
    embedder = embeddings.embedder_for(settings)
    assert embedder is not None
    [vector] = await embedder.passages([vectors.passage_text("Parking", PARKING)])
    async with db.transaction() as session:
        await session.execute(
            insert(KnowledgeVector).values(
                chunk_id=parking_chunk,
                tenant_id=tenant_id,
                model=embedder.model,
                dim=384,
                vector=vectors.encode(vector),
            )
        )
    assert parking_chunk not in await nearest(db, settings, tenant_id, question)

    async with db.transaction() as session:
        await vectors.bump_version(session=session, tenant_id=tenant_id)
    assert (await nearest(db, settings, tenant_id, question))[0] == parking_chunk


async def test_another_tenants_passages_are_never_candidates(
    business: Business, db: Database, settings: Settings
) -> None:
    other = await make_tenant(db, settings)
    other_owner = await bearer(business.client, other.owner_email)
    response = await business.client.post(
        "/api/knowledge", json={"title": "Pets", "content": PETS}, headers=other_owner
    )
    assert response.status_code == 201
    await business.add("Parking", PARKING)
    mine = set(await vector_models(db, business.made.tenant.id))
    found = await nearest(db, settings, business.made.tenant.id, "Do you accept pets?", limit=10)
    assert set(found) == mine


# ---- the OpenAI-compatible embedder ----------------------------------------------------------


async def test_openai_embeddings_go_through_a_job_and_find_the_passage(
    db: Database, fake_openai: FakeOpenAI, tmp_path: Path, migrated_url: str
) -> None:
    settings = make_settings(
        migrated_url,
        tmp_path,
        embeddings="openai",
        embeddings_base_url=fake_openai.base_url,
        embeddings_model="fake-embed",
        embeddings_api_key="embed-key",
    )
    app = create_app(settings, database=db)
    transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 40000))
    async with httpx.AsyncClient(transport=transport, base_url=PUBLIC_URL) as client:
        made = await make_tenant(db, settings)
        business = Business(made, await bearer(client, made.owner_email), client)
        await business.add("Parking", PARKING)
        pets = await business.add("Pets", "Dogs and cats are welcome in every room.")
        # A network embedder is never called inside the request's transaction.
        assert fake_openai.requests == []
        assert (await indexing(business))["state"] == "queued"

        assert (
            await JobRunner(
                db=db, settings=settings, name="test-worker", work=knowledge_jobs.WORK
            ).drain()
            == 1
        )
        [request] = fake_openai.requests
        assert request.path == "/v1/embeddings"
        assert request.body["model"] == "fake-embed"
        assert len(request.body["input"]) == 2
        assert request.headers["authorization"] == "Bearer embed-key"
        stored = await vector_models(db, made.tenant.id)
        assert set(stored.values()) == {("openai:fake-embed", fake_openai.embedding_dim)}
        state = await indexing(business)
        assert (state["state"], state["model"]) == ("ready", "openai:fake-embed")

        top = await nearest(db, settings, made.tenant.id, "are dogs welcome in the room")
        assert top[0] in await chunk_ids(db, pets["id"])

        # The provider failing: the question is searched by words, an index job waits to retry.
        fake_openai.scenario, fake_openai.status = "status", 503
        assert await nearest(db, settings, made.tenant.id, "are dogs welcome") == []
        await business.add("Hours", "Open every day from nine to five.")
        assert (
            await JobRunner(
                db=db, settings=settings, name="test-worker", work=knowledge_jobs.WORK
            ).drain()
            == 1
        )
        [job] = [j for j in await jobs_of(db, made.tenant.id) if j.status != "done"]
        assert (job.status, job.attempts) == ("queued", 1)
        assert job.error == "the embeddings API answered HTTP 503"
        assert job.run_after > job.updated_at
        state = await indexing(business)
        assert (state["state"], state["reason"]) == ("queued", job.error)


async def test_vectors_of_another_model_are_ignored_and_replaced(
    business: Business, db: Database, settings: Settings, fake_openai: FakeOpenAI, tmp_path: Path
) -> None:
    tenant_id = business.made.tenant.id
    parking = await business.add("Parking", PARKING)
    [chunk] = await chunk_ids(db, parking["id"])
    assert await vector_models(db, tenant_id) == {chunk: (embeddings.LOCAL_MODEL, 384)}

    # The installation moves to another model: the old vectors no longer count.
    moved = make_settings(
        settings.database_url,
        tmp_path,
        embeddings="openai",
        embeddings_base_url=fake_openai.base_url,
        embeddings_model="fake-embed",
    )
    assert await nearest(db, moved, tenant_id, "car park opens") == []
    async with db.transaction() as session:
        state = await vectors.indexing_status(session=session, settings=moved, tenant_id=tenant_id)
    assert (state.state, state.indexed, state.passages) == ("pending", 0, 1)

    assert await vectors.enqueue_missing(db=db, settings=moved) >= 1
    assert (
        await JobRunner(db=db, settings=moved, name="test-worker", work=knowledge_jobs.WORK).drain()
        >= 1
    )
    assert await vector_models(db, tenant_id) == {chunk: ("openai:fake-embed", 64)}
    assert await nearest(db, moved, tenant_id, "car park opens") == [chunk]
    assert await nearest(db, settings, tenant_id, "Where can I park?") == []


# ---- without a usable embedder -------------------------------------------------------------


@pytest.fixture
def migrated_url(settings: Settings) -> str:
    return settings.database_url


@pytest.mark.parametrize("how", ["off", "unloadable"])
async def test_without_an_embedder_bob_searches_by_words_and_says_so(
    how: str, db: Database, tmp_path: Path, migrated_url: str
) -> None:
    overrides: dict[str, Any] = (
        {"embeddings": "off"}
        if how == "off"
        else {"embeddings_local_model": str(tmp_path / "gone" / "model.bin")}
    )
    settings = make_settings(migrated_url, tmp_path, **overrides)
    app = create_app(settings, database=db)
    transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 40000))
    async with httpx.AsyncClient(transport=transport, base_url=PUBLIC_URL) as client:
        made = await make_tenant(db, settings)
        business = Business(made, await bearer(client, made.owner_email), client)
        await business.add("Parking", PARKING)
        assert await vector_models(db, business.made.tenant.id) == {}
        assert await jobs_of(db, business.made.tenant.id) == []
        hits = await business.search("When does the car park open?")
        assert hits
        assert hits[0]["title"] == "Parking"
        assert await nearest(db, settings, business.made.tenant.id, "car park") == []

        health = (await client.get("/api/health")).json()
        state = await indexing(business)
        if how == "off":
            assert health["embeddings"] == {
                "backend": "off",
                "status": "off",
                "model": None,
                "reason": None,
            }
            assert state["state"] == "off"
        else:
            assert health["status"] == "ok"
            assert health["embeddings"]["status"] == "unavailable"
            assert health["embeddings"]["reason"] == (
                "the local embedding model cannot load (FileNotFoundError)"
            )
            assert (state["state"], state["reason"]) == (
                "unavailable",
                health["embeddings"]["reason"],
            )

            admin = await make_admin(db, settings)
            pages = Pages(client)
            await pages.login(admin.email, admin=True)
            page = await pages.get("/mission-control/status")
            assert 'data-testid="embeddings-reason"' in page.text
            assert "Unavailable: words only" in page.text
            portal = Pages(client)
            await portal.login(business.made.owner_email)
            page = await portal.get("/portal/knowledge")
            assert "Search by meaning is unavailable on this server" in page.text


# ---- the portal shows progress ----------------------------------------------------------------


@pytest.fixture
def portal(app: FastAPI) -> Pages:
    transport = httpx.ASGITransport(app=app, client=("203.0.113.9", 40000))
    return Pages(httpx.AsyncClient(transport=transport, base_url=PUBLIC_URL))


async def test_the_knowledge_page_shows_indexing_progress(
    business: Business, db: Database, settings: Settings, portal: Pages
) -> None:
    async with portal.client:
        await portal.login(business.made.owner_email)
        page = await portal.get("/portal/knowledge")
        assert 'data-testid="indexing"' not in page.text  # nothing to index

        await upload(business, "lockers.csv", csv_of(12))
        page = await portal.get("/portal/knowledge", headers={"Accept-Language": "ja"})
        assert "意味検索のために 12 件の文章のインデックス作成を待っています。" in page.text
        assert 'data-source="/portal/knowledge/indexing"' in page.text

        runner = JobRunner(db=db, settings=settings, name="test-worker", work=knowledge_jobs.WORK)
        claim = await runner.claim()
        assert claim is not None
        async with db.transaction() as session:
            await jobs.progress(session=session, claim=claim, done=5, total=12)
        panel = await portal.get("/portal/knowledge/indexing")
        assert "Indexing 5 of 12 passages for search by meaning." in panel.text
        assert '<progress max="12" value="5">' in panel.text
        assert 'data-active="true"' in panel.text

        assert await runner.run(claim) == "done"
        panel = await portal.get("/portal/knowledge/indexing")
        assert panel.status_code == 200
        assert "data-active" not in panel.text


# ---- the worker, with real commits -----------------------------------------------------------


async def test_knowledge_from_before_is_indexed_when_the_worker_starts(
    fresh_database: FreshDatabase, tmp_path: Path
) -> None:
    await asyncio.to_thread(migrate.upgrade, fresh_database.settings)
    db = Database.of(fresh_database.settings)
    try:
        # Written with embeddings off, as by a version of Bob without search by meaning.
        off = make_settings(fresh_database.url, tmp_path, embeddings="off")
        made = await make_tenant(db, off)
        async with db.transaction() as session:
            await knowledge.import_file(
                session=session,
                settings=off,
                tenant_id=made.tenant.id,
                actor=audit.CLI,
                filename="lockers.csv",
                data=csv_of(20),
            )
        assert await vector_models(db, made.tenant.id) == {}

        settings = make_settings(fresh_database.url, tmp_path, webhook_poll_interval_s=0.2)
        stop = asyncio.Event()
        worker = asyncio.create_task(
            Worker(db=db, settings=settings, work=knowledge_jobs.WORK).run(stop)
        )
        try:
            for _ in range(300):
                found = await jobs_of(db, made.tenant.id)
                if found and found[0].status == "done":
                    break
                await asyncio.sleep(0.1)
        finally:
            stop.set()
            await worker
        [job] = found
        assert (job.status, job.progress_done, job.progress_total) == ("done", 20, 20)
        assert job.claimed_by
        assert job.finished_at is not None
        assert len(await vector_models(db, made.tenant.id)) == 20
        async with db.transaction() as session:
            count = await session.scalar(select(func.count()).select_from(Job))
        assert count == 1
    finally:
        await db.dispose()


async def test_a_repeated_question_is_embedded_once(
    fake_openai: FakeOpenAI, tmp_path: Path, migrated_url: str
) -> None:
    settings = make_settings(
        migrated_url,
        tmp_path,
        embeddings="openai",
        embeddings_base_url=fake_openai.base_url,
        # A model of its own: a new embedder, with nothing remembered yet.
        embeddings_model=f"fake-embed-{uuid.uuid4().hex[:8]}",
        embeddings_api_key="embed-key",
    )
    question = "Can I park at the hotel?"
    first = await vectors.embed_query(settings=settings, query=question)
    again = await vectors.embed_query(settings=settings, query=question)
    other = await vectors.embed_query(settings=settings, query="Are dogs welcome?")
    assert first is not None
    assert again is not None
    assert other is not None
    assert len(fake_openai.requests) == 2  # the repeated question cost no call
    assert first.vector.tolist() == again.vector.tolist()
    assert first.vector.tolist() != other.vector.tolist()
    # Each caller gets its own copy to compute with.
    expected = first.vector.tolist()
    again.vector.fill(0)
    third = await vectors.embed_query(settings=settings, query=question)
    assert third is not None
    assert third.vector.tolist() == expected
