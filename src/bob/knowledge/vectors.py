"""Search by meaning: the passages' vectors, kept current, and the nearest ones to a question.

Vectors live in `knowledge_vectors` (float16: half the size of float32, and the similarities
differ by less than 0.001). Each process keeps, per tenant, the matrix of those vectors in
memory (float32, for fast products) and checks the tenant's knowledge version, one primary-key
read, before each use: any change to the tenant's knowledge or vectors changes the version in
the same transaction, so no process answers from a stale matrix.

A few new passages are embedded in the request that adds them (off the event loop); more, or an
embedder that must be called over the network, go to a background job of the worker.
"""

from __future__ import annotations

import logging
import secrets
import uuid
import weakref
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt
from sqlalchemy import ColumnElement, delete, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from bob.db.session import Database
from bob.db.types import utcnow
from bob.jobs import service as jobs
from bob.jobs.models import Job, JobStatus
from bob.jobs.runner import JobContext, JobFailed
from bob.knowledge import embeddings
from bob.knowledge.embeddings import EmbeddingError, Vector
from bob.knowledge.models import KnowledgeChunk, KnowledgeItem, KnowledgeVector, KnowledgeVersion
from bob.settings import Settings
from bob.text.units import split_units

log = logging.getLogger("bob.knowledge")

INDEX_JOB = "knowledge.index"
# Embedded within the request up to this many new passages (about 1 s at most on one core);
# beyond it the worker does it, so an import answers at once.
INLINE_MAX_CHUNKS = 8
# Passages embedded between two progress reports of a job.
JOB_BATCH = 32
STORED = np.dtype("<f2")
# Fewer passages than this have no spread of similarities to stand out from.
MIN_SPREAD = 5


@dataclass(frozen=True)
class DenseHit:
    chunk_id: int
    similarity: float  # cosine similarity, -1 to 1
    # How far above the tenant's other passages this one stands for this question, in standard
    # deviations of their similarities. Questions in another language than the knowledge, or
    # short ones, shift every similarity down together; this measure does not move with them.
    # None when the tenant has too few passages for their spread to mean anything.
    relative: float | None = None


@dataclass(frozen=True)
class QueryVector:
    """A question embedded once per turn, for `dense_candidates` and whoever needs it again."""

    model: str
    vector: Vector


def encode(vector: npt.NDArray[np.float32]) -> bytes:
    return np.asarray(vector, dtype=STORED).tobytes()


def decode(blob: bytes, dim: int) -> Vector:
    return np.frombuffer(blob, dtype=STORED, count=dim).astype(np.float32)


def unit_similarities(blob: bytes | None, dim: int, query: QueryVector) -> tuple[float, ...]:
    """Cosine similarity of the question to each stored unit of a passage (empty: none)."""
    if not blob or dim != len(query.vector):
        return ()
    units = np.frombuffer(blob, dtype=STORED).reshape(-1, dim).astype(np.float32)
    return tuple(float(x) for x in units @ query.vector)


def passage_text(title: str, text: str) -> str:
    # The title often carries the question (CSV imports) or the topic the passage leaves out.
    return text if text.startswith(title) else f"{title}\n\n{text}"


# ---- the tenant's knowledge version ---------------------------------------------------------


async def bump_version(*, session: AsyncSession, tenant_id: uuid.UUID) -> None:
    """Mark the tenant's knowledge as changed, in the caller's transaction.

    The new version is random rather than one more: a rolled-back change then never leaves a
    number that a later change reuses for different content."""
    version = secrets.randbits(62)
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    statement = insert(KnowledgeVersion).values(tenant_id=tenant_id, version=version)
    await session.execute(
        statement.on_conflict_do_update(index_elements=["tenant_id"], set_={"version": version})
    )


async def current_version(*, session: AsyncSession, tenant_id: uuid.UUID) -> int:
    version = await session.scalar(
        select(KnowledgeVersion.version).where(KnowledgeVersion.tenant_id == tenant_id)
    )
    return int(version or 0)


# ---- the in-memory matrices ---------------------------------------------------------------


@dataclass(frozen=True)
class _Matrix:
    version: int
    ids: npt.NDArray[np.int64]
    vectors: npt.NDArray[np.float32]

    @property
    def nbytes(self) -> int:
        return int(self.ids.nbytes + self.vectors.nbytes)


class MatrixCache:
    """Tenants' matrices, least recently used dropped first beyond `max_bytes`."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._entries: OrderedDict[tuple[uuid.UUID, str, int], _Matrix] = OrderedDict()

    def get(self, key: tuple[uuid.UUID, str, int]) -> _Matrix | None:
        found = self._entries.get(key)
        if found is not None:
            self._entries.move_to_end(key)
        return found

    def put(self, key: tuple[uuid.UUID, str, int], matrix: _Matrix) -> None:
        self._entries[key] = matrix
        self._entries.move_to_end(key)
        total = sum(entry.nbytes for entry in self._entries.values())
        # The newest stays even when it alone is over the budget: it is about to be used.
        while total > self.max_bytes and len(self._entries) > 1:
            _, dropped = self._entries.popitem(last=False)
            total -= dropped.nbytes

    @property
    def nbytes(self) -> int:
        return sum(entry.nbytes for entry in self._entries.values())

    def clear(self) -> None:
        self._entries.clear()


cache = MatrixCache(max_bytes=512 * 2**20)


async def _matrix(
    session: AsyncSession, settings: Settings, tenant_id: uuid.UUID, model: str, dim: int
) -> _Matrix:
    # The version is read before the vectors: a change committed in between then only causes
    # one more reload, never a stale matrix labelled as current.
    version = await current_version(session=session, tenant_id=tenant_id)
    key = (tenant_id, model, dim)
    cached = cache.get(key)
    if cached is not None and cached.version == version:
        return cached
    rows = (
        await session.execute(
            select(KnowledgeVector.chunk_id, KnowledgeVector.vector)
            .where(
                KnowledgeVector.tenant_id == tenant_id,
                KnowledgeVector.model == model,
                KnowledgeVector.dim == dim,
            )
            .order_by(KnowledgeVector.chunk_id)
        )
    ).all()
    ids = np.fromiter((row[0] for row in rows), dtype=np.int64, count=len(rows))
    blob = b"".join(row[1] for row in rows)
    vectors = np.frombuffer(blob, dtype=STORED).reshape(len(rows), dim).astype(np.float32)
    matrix = _Matrix(version, ids, vectors)
    cache.max_bytes = settings.embeddings_cache_mb * 2**20
    cache.put(key, matrix)
    return matrix


# ---- search -------------------------------------------------------------------------------


# Visitors ask the same questions again and again. A question's vector depends only on its text
# and the model, so each process keeps the recent ones (about 1.5 KB each with 384 dimensions)
# instead of spending the model's CPU time, or a network call, on them again.
QUERY_CACHE_SIZE = 4096
_recent: weakref.WeakKeyDictionary[embeddings.Embedder, OrderedDict[str, Vector]] = (
    weakref.WeakKeyDictionary()
)


async def embed_query(*, settings: Settings, query: str) -> QueryVector | None:
    """The question as a vector, or None when there is no embedder or it failed (the caller
    then searches by words alone). Embed before opening a transaction where possible: on
    SQLite every transaction holds the write lock."""
    embedder = embeddings.embedder_for(settings)
    if embedder is None or not query.strip():
        return None
    recent = _recent.setdefault(embedder, OrderedDict())
    vector = recent.get(query)
    if vector is None:
        try:
            vector = await embedder.query(query)
        except EmbeddingError as exc:
            log.warning("question not embedded (%s); searching by words only", exc)
            return None
        recent[query] = vector
        if len(recent) > QUERY_CACHE_SIZE:
            recent.popitem(last=False)
    recent.move_to_end(query)
    # A copy: whoever receives it may compute in place.
    return QueryVector(embedder.model, vector.copy())


async def dense_candidates(
    *,
    session: AsyncSession,
    settings: Settings,
    tenant_id: uuid.UUID,
    query: str | QueryVector,
    limit: int,
) -> list[DenseHit]:
    """The tenant's passages nearest in meaning to `query`, most similar first. Passages not
    indexed yet (or indexed with another model) are not among them."""
    if limit < 1:
        return []
    vector = (
        query
        if isinstance(query, QueryVector)
        else await embed_query(settings=settings, query=query)
    )
    if vector is None:
        return []
    matrix = await _matrix(session, settings, tenant_id, vector.model, len(vector.vector))
    if not len(matrix.ids):
        return []
    scores = matrix.vectors @ vector.vector
    count = min(limit, len(scores))
    top = np.argpartition(-scores, count - 1)[:count]
    top = top[np.argsort(-scores[top], kind="stable")]
    if len(scores) < MIN_SPREAD:
        return [DenseHit(int(matrix.ids[i]), float(scores[i]), None) for i in top]
    mean, spread = float(scores.mean()), float(scores.std()) or 1.0
    return [
        DenseHit(int(matrix.ids[i]), float(scores[i]), (float(scores[i]) - mean) / spread)
        for i in top
    ]


# ---- indexing -----------------------------------------------------------------------------


def _missing_query(tenant_id: uuid.UUID, model: str) -> tuple[ColumnElement[bool], ...]:
    return (
        KnowledgeChunk.tenant_id == tenant_id,
        ~select(KnowledgeVector.chunk_id)
        .where(KnowledgeVector.chunk_id == KnowledgeChunk.id, KnowledgeVector.model == model)
        .exists(),
    )


@dataclass(frozen=True)
class Pending:
    """A passage to embed: the text for its own vector (its item's title first) and its units."""

    chunk_id: int
    text: str
    units: tuple[str, ...]


def units_of(text: str) -> tuple[str, ...]:
    """The units whose vectors are stored beside a passage's (none for a one-unit passage), in
    the order `split_units` gives them, which is how the excerpt finds them again."""
    units = tuple(unit.text for unit in split_units(text))
    return units if len(units) > 1 else ()


async def _missing(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    model: str,
    limit: int,
    item_ids: Sequence[uuid.UUID] | None = None,
) -> list[Pending]:
    """Passages of the tenant without a vector of `model`."""
    query = (
        select(KnowledgeChunk.id, KnowledgeItem.title, KnowledgeChunk.text)
        .join(KnowledgeItem, KnowledgeItem.id == KnowledgeChunk.item_id)
        .where(*_missing_query(tenant_id, model))
        .order_by(KnowledgeChunk.id)
        .limit(limit)
    )
    if item_ids is not None:
        query = query.where(KnowledgeChunk.item_id.in_(item_ids))
    rows = await session.execute(query)
    return [
        Pending(int(chunk_id), passage_text(title, text), units_of(text))
        for chunk_id, title, text in rows
    ]


async def embed(
    embedder: embeddings.Embedder, pending: Sequence[Pending]
) -> tuple[npt.NDArray[np.float32], list[bytes | None]]:
    """The passages' vectors, and their units' vectors packed for `store`, in one batch."""
    texts = [p.text for p in pending]
    for p in pending:
        texts.extend(p.units)
    matrix = await embedder.passages(texts)
    own = matrix[: len(pending)]
    units: list[bytes | None] = []
    start = len(pending)
    for p in pending:
        count = len(p.units)
        units.append(encode(matrix[start : start + count]) if count else None)
        start += count
    return own, units


async def count_missing(*, session: AsyncSession, tenant_id: uuid.UUID, model: str) -> int:
    count = await session.scalar(
        select(func.count()).select_from(KnowledgeChunk).where(*_missing_query(tenant_id, model))
    )
    return int(count or 0)


async def store(
    *,
    session: AsyncSession,
    tenant_id: uuid.UUID,
    model: str,
    chunk_ids: Sequence[int],
    vectors: npt.NDArray[np.float32],
    units: Sequence[bytes | None] | None = None,
) -> int:
    """Write (or replace) the passages' vectors (and their units', from `embed`) and bump the
    version; returns how many."""
    if len(chunk_ids) != len(vectors):
        raise EmbeddingError(f"{len(vectors)} vectors for {len(chunk_ids)} passages")
    packed = list(units) if units is not None else [None] * len(chunk_ids)
    # Only passages that still exist, locked against deletion until commit: an edit may have
    # replaced them while they were being embedded.
    present = set(
        await session.scalars(
            select(KnowledgeChunk.id)
            .where(KnowledgeChunk.id.in_(chunk_ids), KnowledgeChunk.tenant_id == tenant_id)
            .with_for_update(read=True)
        )
    )
    now = utcnow()
    rows = [
        {
            "chunk_id": chunk_id,
            "tenant_id": tenant_id,
            "model": model,
            "dim": int(vector.shape[0]),
            "vector": encode(vector),
            "units": unit_vectors,
            "created_at": now,
        }
        for chunk_id, vector, unit_vectors in zip(chunk_ids, vectors, packed, strict=True)
        if chunk_id in present
    ]
    if not rows:
        return 0
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    statement = insert(KnowledgeVector)
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=["chunk_id"],
            set_={
                "model": statement.excluded.model,
                "dim": statement.excluded.dim,
                "vector": statement.excluded.vector,
                "units": statement.excluded.units,
                "created_at": statement.excluded.created_at,
            },
        ),
        rows,
    )
    await bump_version(session=session, tenant_id=tenant_id)
    return len(rows)


async def after_change(
    *,
    session: AsyncSession,
    settings: Settings,
    tenant_id: uuid.UUID,
    item_ids: Sequence[uuid.UUID] = (),
) -> None:
    """Called in the transaction of every change to the tenant's knowledge: bumps the version,
    and gets the passages of `item_ids` (new or re-chunked items) embedded, now or by a job."""
    await bump_version(session=session, tenant_id=tenant_id)
    embedder = embeddings.embedder_for(settings) if item_ids else None
    if embedder is None:
        return
    # The network embedder is never called while the request holds a transaction open.
    inline = embedder.backend == "local" and len(item_ids) <= INLINE_MAX_CHUNKS
    if inline:
        pending = await _missing(
            session, tenant_id, embedder.model, INLINE_MAX_CHUNKS + 1, item_ids=item_ids
        )
        if not pending:
            return
        if len(pending) <= INLINE_MAX_CHUNKS:
            try:
                vectors, units = await embed(embedder, pending)
            except EmbeddingError as exc:
                log.warning("passages not embedded in the request (%s); queued instead", exc)
            else:
                await store(
                    session=session,
                    tenant_id=tenant_id,
                    model=embedder.model,
                    chunk_ids=[p.chunk_id for p in pending],
                    vectors=vectors,
                    units=units,
                )
                return
    await jobs.enqueue(session=session, tenant_id=tenant_id, kind=INDEX_JOB)


async def run_index_job(context: JobContext) -> None:
    """Embed the tenant's passages that have no vector of the installation's model, in
    batches, reporting progress. Stopped midway, the next run carries on where it left off."""
    embedder = embeddings.embedder_for(context.settings)
    if embedder is None:
        state = embeddings.status(context.settings)
        if state.status == "off":
            return
        raise JobFailed(state.reason or "no embedder")
    tenant_id = context.claim.tenant_id
    done = 0
    while True:
        context.check_stop()
        async with context.db.transaction() as session:
            batch = await _missing(session, tenant_id, embedder.model, JOB_BATCH)
            left = (
                await count_missing(session=session, tenant_id=tenant_id, model=embedder.model)
                if batch
                else 0
            )
            await context.progress(session=session, done=done, total=done + left)
        if not batch:
            return
        try:
            vectors, units = await embed(embedder, batch)
        except EmbeddingError as exc:
            raise JobFailed(str(exc)) from exc
        async with context.db.transaction() as session:
            await store(
                session=session,
                tenant_id=tenant_id,
                model=embedder.model,
                chunk_ids=[p.chunk_id for p in batch],
                vectors=vectors,
                units=units,
            )
            done += len(batch)
            await context.progress(session=session, done=done, total=done + left - len(batch))


async def enqueue_missing(*, db: Database, settings: Settings) -> int:
    """Queue an index job for every tenant with passages lacking a vector of the installation's
    model (knowledge from before search by meaning, or after a change of model)."""
    embedder = embeddings.embedder_for(settings)
    if embedder is None:
        return 0
    async with db.transaction() as session:
        tenant_ids = list(
            await session.scalars(
                select(KnowledgeChunk.tenant_id)
                .where(
                    ~select(KnowledgeVector.chunk_id)
                    .where(
                        KnowledgeVector.chunk_id == KnowledgeChunk.id,
                        KnowledgeVector.model == embedder.model,
                    )
                    .exists()
                )
                .distinct()
            )
        )
        for tenant_id in tenant_ids:
            await jobs.enqueue(session=session, tenant_id=tenant_id, kind=INDEX_JOB)
    if tenant_ids:
        log.info("queued indexing for %d tenants with passages not yet embedded", len(tenant_ids))
    return len(tenant_ids)


async def request_reindex(
    *, session: AsyncSession, tenant_id: uuid.UUID, everything: bool = False
) -> Job:
    """Queue indexing for the tenant; `everything` drops its vectors first, so every passage is
    embedded again (until then the tenant is searched by words only)."""
    if everything:
        await session.execute(
            delete(KnowledgeVector)
            .where(KnowledgeVector.tenant_id == tenant_id)
            .execution_options(synchronize_session=False)
        )
        await bump_version(session=session, tenant_id=tenant_id)
    job = await jobs.enqueue(session=session, tenant_id=tenant_id, kind=INDEX_JOB)
    # Asked for now: a job waiting out a retry delay is due at once.
    job.run_after = min(job.run_after, utcnow())
    await session.flush()
    return job


# ---- how far along ------------------------------------------------------------------------

IndexingState = Literal["ready", "indexing", "queued", "pending", "failed", "off", "unavailable"]


@dataclass(frozen=True)
class IndexingStatus:
    state: IndexingState
    model: str | None
    passages: int
    indexed: int
    job: Job | None
    reason: str | None = None


async def indexing_status(
    *, session: AsyncSession, settings: Settings, tenant_id: uuid.UUID
) -> IndexingStatus:
    passages = int(
        await session.scalar(
            select(func.count())
            .select_from(KnowledgeChunk)
            .where(KnowledgeChunk.tenant_id == tenant_id)
        )
        or 0
    )
    embedder = embeddings.embedder_for(settings)
    if embedder is None:
        about = embeddings.status(settings)
        state: IndexingState = "off" if about.status == "off" else "unavailable"
        return IndexingStatus(state, None, passages, 0, None, about.reason)
    indexed = passages - await count_missing(
        session=session, tenant_id=tenant_id, model=embedder.model
    )
    job = await jobs.current(session=session, tenant_id=tenant_id, kind=INDEX_JOB)
    if job is not None and job.status == JobStatus.RUNNING:
        state = "indexing"
    elif job is not None and job.status == JobStatus.QUEUED:
        state = "queued"
    elif indexed >= passages:
        state = "ready"
    elif job is not None and job.status == JobStatus.FAILED:
        state = "failed"
    else:
        state = "pending"
    reason = job.error if job is not None and state in ("failed", "queued") else None
    return IndexingStatus(state, embedder.model, passages, indexed, job, reason)
