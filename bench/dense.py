"""Search by meaning: the local embedder's speed, and the per-tenant matrix at 50,000 passages.

Embedding is timed through Bob's own `LocalEmbedder` (thread hop included) on passages of three
lengths. The matrix figures go through `dense_candidates` on a migrated SQLite database holding
50,000 stored vectors of one tenant (random unit vectors: the cost of a product does not depend
on what the vectors mean): the first call loads the matrix, later ones reuse it. The stored
format (float16) is compared with float32 on real embeddings of the bench's own passages.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np
from sqlalchemy import insert

from bob import audit
from bob.accounts import service as accounts
from bob.db import migrate
from bob.db.session import Database
from bob.knowledge import embeddings, vectors
from bob.knowledge.embeddings import LocalEmbedder
from bob.knowledge.models import KnowledgeChunk, KnowledgeItem, KnowledgeVector
from bob.settings import Settings

MATRIX_ROWS = 50_000
TOP = 20

_SUBJECTS = ["the tent", "your order", "the rental bike", "a gift card", "the kayak", "our shop"]
_FACTS = [
    "can be collected from the counter by the main entrance on weekdays",
    "is covered by a two-year warranty against defects in materials",
    "ships within three working days to any address in the country",
    "may be returned unused within thirty days for a full refund",
    "comes with a repair kit and instructions in four languages",
    "is available to try in the store before you decide",
]


def passage(n: int, chars: int) -> str:
    sentences: list[str] = []
    i = n
    while sum(len(sentence) + 1 for sentence in sentences) < chars:
        subject = _SUBJECTS[i % len(_SUBJECTS)]
        fact = _FACTS[(i // len(_SUBJECTS)) % len(_FACTS)]
        sentences.append(f"{subject.capitalize()} {fact}.")
        i += 7
    return " ".join(sentences)[:chars]


async def _embedding(model: LocalEmbedder) -> dict[str, float]:
    questions = [f"How long does {s} take to arrive?" for s in _SUBJECTS] * 5
    await model.query("warm up")
    times = []
    for question in questions:
        started = time.perf_counter()
        await model.query(question)
        times.append((time.perf_counter() - started) * 1000)
    found = {"query_ms": statistics.median(times)}
    for chars in (150, 400, 800):
        batch = [passage(n, chars) for n in range(32)]
        started = time.perf_counter()
        await model.passages(batch)
        found[f"passage_{chars}_ms"] = (time.perf_counter() - started) * 1000 / len(batch)
    return found


async def _precision(model: LocalEmbedder) -> dict[str, float]:
    texts = [passage(n, 150 + (n % 5) * 100) for n in range(300)]
    full = await model.passages(texts)
    half = np.stack([vectors.decode(vectors.encode(row), full.shape[1]) for row in full])
    overlaps, deltas = [], []
    for subject in _SUBJECTS:
        for fact in _FACTS[:3]:
            q = await model.query(f"Which {subject} {fact.split()[0]} {fact.split()[-1]}?")
            exact, stored = full @ q, half @ q
            deltas.append(float(np.abs(exact - stored).max()))
            top_exact = set(np.argsort(-exact)[:10].tolist())
            top_stored = set(np.argsort(-stored)[:10].tolist())
            overlaps.append(len(top_exact & top_stored) / 10)
    return {"max_delta": max(deltas), "top10_overlap": min(overlaps)}


async def _matrix(data_dir: Path) -> dict[str, float]:
    settings = Settings.model_validate(
        {"data_dir": data_dir, "secret_key": "bench-" + "q7w8e9r0" * 6, "env": "development"}
    )
    await asyncio.to_thread(migrate.upgrade, settings)
    db = Database.of(settings)
    try:
        async with db.transaction() as session:
            created = await accounts.create_tenant(
                session=session,
                actor=audit.CLI,
                name="Bench Shop",
                business_id="bench-dense",
                plan="pro",
                owner_email="owner@bench-dense.example.com",
                owner_password="bench-password-123",
            )
        tenant_id = created.tenant.id
        item_id = uuid.uuid4()
        rng = np.random.default_rng(3)
        matrix = embeddings.normalise(rng.standard_normal((MATRIX_ROWS, 384)))
        async with db.transaction() as session:
            await session.execute(
                insert(KnowledgeItem).values(
                    id=item_id, tenant_id=tenant_id, title="Bulk", content="x", tags=[]
                )
            )
            await session.execute(
                insert(KnowledgeChunk),
                [
                    {
                        "id": n + 1,
                        "tenant_id": tenant_id,
                        "item_id": item_id,
                        "ordinal": n,
                        "text": "x",
                        "search_text": "x",
                    }
                    for n in range(MATRIX_ROWS)
                ],
            )
            await session.execute(
                insert(KnowledgeVector),
                [
                    {
                        "chunk_id": n + 1,
                        "tenant_id": tenant_id,
                        "model": embeddings.LOCAL_MODEL,
                        "dim": 384,
                        "vector": vectors.encode(matrix[n]),
                    }
                    for n in range(MATRIX_ROWS)
                ],
            )
            await vectors.bump_version(session=session, tenant_id=tenant_id)
        query = vectors.QueryVector(embeddings.LOCAL_MODEL, matrix[123])
        vectors.cache.clear()
        async with db.transaction() as session:
            started = time.perf_counter()
            hits = await vectors.dense_candidates(
                session=session, settings=settings, tenant_id=tenant_id, query=query, limit=TOP
            )
            load_ms = (time.perf_counter() - started) * 1000
        assert hits[0].chunk_id == 124
        times = []
        async with db.transaction() as session:
            for _ in range(50):
                started = time.perf_counter()
                await vectors.dense_candidates(
                    session=session, settings=settings, tenant_id=tenant_id, query=query, limit=TOP
                )
                times.append((time.perf_counter() - started) * 1000)
        product = []
        for _ in range(50):
            started = time.perf_counter()
            scores = matrix @ matrix[123]
            top = np.argpartition(-scores, TOP)[:TOP]
            top[np.argsort(-scores[top])]
            product.append((time.perf_counter() - started) * 1000)
        return {
            "load_ms": load_ms,
            "cached_ms": statistics.median(times),
            "product_ms": statistics.median(product),
            "memory_mb": vectors.cache.nbytes / 2**20,
            "stored_mb": MATRIX_ROWS * 384 * 2 / 2**20,
        }
    finally:
        await db.dispose()


async def _measure() -> tuple[dict[str, float], dict[str, float], dict[str, float]]:
    model = LocalEmbedder()
    speed = await _embedding(model)
    precision = await _precision(model)
    await model.close()
    with tempfile.TemporaryDirectory() as data_dir:
        matrix = await _matrix(Path(data_dir))
    return speed, precision, matrix


def run() -> str:
    speed, precision, matrix = asyncio.run(_measure())
    load = os.getloadavg()[0]
    return (
        "## Search by meaning (local embedder, per-tenant matrix)\n\n"
        f"{(__doc__ or '').strip()}\n\n"
        f"Load average when it ended: {load:.1f} on {os.cpu_count()} cores (the embedder and "
        "the products slow down in proportion when other work shares the cores).\n\n"
        "| what | measured |\n|---|---:|\n"
        f"| embed a question (median of 30) | {speed['query_ms']:.1f} ms |\n"
        f"| embed a passage of 150 characters (mean of 32) | {speed['passage_150_ms']:.1f} ms |\n"
        f"| embed a passage of 400 characters (mean of 32) | {speed['passage_400_ms']:.1f} ms |\n"
        f"| embed a passage of 800 characters (mean of 32) | {speed['passage_800_ms']:.1f} ms |\n"
        f"| matrix of {MATRIX_ROWS:,} x 384 in memory (float32 + ids) "
        f"| {matrix['memory_mb']:.1f} MiB |\n"
        f"| the same vectors stored (float16) | {matrix['stored_mb']:.1f} MiB |\n"
        f"| first search: read and decode {MATRIX_ROWS:,} vectors from SQLite "
        f"| {matrix['load_ms']:.0f} ms |\n"
        f"| later searches: version check + product + top {TOP} (median) "
        f"| {matrix['cached_ms']:.1f} ms |\n"
        f"| of which product + top {TOP} alone | {matrix['product_ms']:.1f} ms |\n"
        f"| float16 vs float32: largest similarity difference | {precision['max_delta']:.5f} |\n"
        f"| float16 vs float32: worst top-10 overlap over 18 questions "
        f"| {precision['top10_overlap']:.0%} |\n"
    )


if __name__ == "__main__":
    print(run())
