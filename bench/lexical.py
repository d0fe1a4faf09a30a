"""Search by words at scale: how long `knowledge.retrieve` takes for one tenant with 10,000
passages, among other tenants' passages.

A fresh database gets one large tenant (10,000 one-passage items, imported as CSV through the
service like a real import) and 40 small ones (250 passages each); the text is generated from a
Zipf-distributed vocabulary of 6,000 made-up words plus English function words, so some words
are in most passages and most words in few, as in real knowledge. Each of 60 questions (4 to 8
words drawn the same way) is asked 5 times of the large tenant and 5 times of a small one,
sequentially, each in its own read transaction; the table gives the median and 95th percentile
latency and the sequential rate. PostgreSQL runs when BOB_TEST_DATABASE_URL (or
BOB_BENCH_DATABASE_URL) is set.

`python -m bench.lexical` prints the section.
"""

from __future__ import annotations

import asyncio
import os
import random
import statistics
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import make_url, text
from sqlalchemy.ext.asyncio import create_async_engine

from bob import audit
from bob.accounts import service as accounts
from bob.db import migrate
from bob.db.session import Database
from bob.knowledge import service as knowledge
from bob.settings import Settings

LARGE = 10_000
SMALL_TENANTS, SMALL = 40, 250
QUESTIONS, REPEATS = 60, 5
VOCABULARY = 6_000
SECRET = "bench-" + "x1y2z3w4" * 6
_FUNCTION = ("the", "a", "of", "to", "and", "in", "is", "for", "on", "with", "you", "at", "by")


def _vocabulary(rng: random.Random) -> tuple[list[str], list[float]]:
    consonants, vowels = "bcdfghklmnprstvz", "aeiou"
    words: set[str] = set()
    while len(words) < VOCABULARY:
        words.add(
            "".join(rng.choice(consonants) + rng.choice(vowels) for _ in range(rng.randint(2, 4)))
        )
    ranked = sorted(words)
    rng.shuffle(ranked)
    return ranked, [1 / (rank + 1) ** 1.05 for rank in range(len(ranked))]


def _sentence(rng: random.Random, words: list[str], weights: list[float], n: int) -> str:
    picked = rng.choices(words, weights, k=n)
    mixed = [w if rng.random() > 0.3 else f"{rng.choice(_FUNCTION)} {w}" for w in picked]
    return " ".join(mixed).capitalize() + "."


def _csv(rng: random.Random, words: list[str], weights: list[float], rows: int) -> bytes:
    lines = ["question,answer"]
    for _ in range(rows):
        question = _sentence(rng, words, weights, 5)[:-1] + "?"
        answer = " ".join(_sentence(rng, words, weights, 12) for _ in range(3))
        lines.append(f"{question},{answer}")
    return "\n".join(lines).encode()


async def _tenant(db: Database, settings: Settings, name: str) -> uuid.UUID:
    async with db.transaction() as session:
        made = await accounts.create_tenant(
            session=session,
            actor=audit.CLI,
            name=name,
            business_id=f"{name}-{uuid.uuid4().hex[:6]}",
            plan="pro",
            owner_email=f"owner-{uuid.uuid4().hex[:8]}@example.com",
            owner_password=None,
        )
    return made.tenant.id


async def _fill(
    db: Database, settings: Settings, tenant_id: uuid.UUID, data: bytes, name: str
) -> None:
    async with db.transaction() as session:
        await knowledge.import_file(
            session=session,
            settings=settings,
            tenant_id=tenant_id,
            actor=audit.CLI,
            filename=name,
            data=data,
        )


async def _measure(db: Database, tenant_id: uuid.UUID, questions: list[str]) -> list[list[float]]:
    """Seconds per retrieval, one list per round over the questions."""
    rounds: list[list[float]] = []
    for _ in range(REPEATS):
        seconds = []
        for question in questions:
            started = time.perf_counter()
            async with db.transaction() as session:
                await knowledge.retrieve(session=session, tenant_id=tenant_id, query=question)
            seconds.append(time.perf_counter() - started)
        rounds.append(seconds)
    return rounds


def _row(database: str, tenant: str, rounds: list[list[float]]) -> str:
    every = sorted(s for seconds in rounds for s in seconds)
    p95 = every[int(len(every) * 0.95) - 1]
    first, again = rounds[0], [s for seconds in rounds[1:] for s in seconds]
    return (
        f"| {database} | {tenant} | {statistics.median(first) * 1000:.1f} ms "
        f"| {statistics.median(again) * 1000:.1f} ms | {p95 * 1000:.1f} ms "
        f"| {len(every) / sum(every):.0f} |"
    )


async def _run_on(database: str, url: str, data_dir: Path) -> list[str]:
    values: dict[str, object] = {
        "env": "development",
        "data_dir": data_dir,
        "database_url": url,
        "secret_key": SECRET,
        "inprocess_worker": False,
    }
    if "embeddings" in Settings.model_fields:
        values["embeddings"] = "off"  # words only: this measures the lexical part
    settings = Settings.model_validate(values)
    await asyncio.to_thread(migrate.upgrade, settings)
    db = Database.of(settings)
    try:
        rng = random.Random(20261203)
        words, weights = _vocabulary(rng)
        large = await _tenant(db, settings, "large")
        for part in range(LARGE // 2500):
            await _fill(db, settings, large, _csv(rng, words, weights, 2500), f"large{part}.csv")
        small = []
        for n in range(SMALL_TENANTS):
            small.append(await _tenant(db, settings, f"small{n}"))
            await _fill(db, settings, small[-1], _csv(rng, words, weights, SMALL), "small.csv")
        if database == "PostgreSQL":
            async with db.transaction() as session:
                await session.execute(text("ANALYZE"))
        questions = [
            _sentence(rng, words, weights, rng.randint(4, 8))[:-1] + "?" for _ in range(QUESTIONS)
        ]
        # Load the analysers and the database's caches, with questions not measured.
        unseen = [f"{w} {v}?" for w, v in zip(words[-5:], words[-10:-5], strict=True)]
        await _measure(db, large, unseen)
        return [
            _row(database, f"{LARGE:,} passages", await _measure(db, large, questions)),
            _row(database, f"{SMALL:,} passages", await _measure(db, small[0], questions)),
        ]
    finally:
        await db.dispose()


async def _pg_url() -> str | None:
    base = os.environ.get("BOB_BENCH_DATABASE_URL") or os.environ.get("BOB_TEST_DATABASE_URL")
    if not base:
        return None
    name = f"bob_bench_lexical_{uuid.uuid4().hex[:8]}"
    engine = create_async_engine(base, isolation_level="AUTOCOMMIT")
    async with engine.connect() as connection:
        await connection.execute(text(f'CREATE DATABASE "{name}"'))
    await engine.dispose()
    return make_url(base).set(database=name).render_as_string(hide_password=False)


async def _drop(url: str) -> None:
    base = os.environ.get("BOB_BENCH_DATABASE_URL") or os.environ.get("BOB_TEST_DATABASE_URL")
    assert base is not None
    engine = create_async_engine(base, isolation_level="AUTOCOMMIT")
    async with engine.connect() as connection:
        await connection.execute(
            text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')
        )
    await engine.dispose()


async def _run() -> list[str]:
    rows: list[str] = []
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory)
        rows += await _run_on("SQLite", f"sqlite+aiosqlite:///{path / 'bench.db'}", path)
        pg = await _pg_url()
        if pg is not None:
            try:
                rows += await _run_on("PostgreSQL", pg, path)
            finally:
                await _drop(pg)
    return rows


def run() -> str:
    rows = asyncio.run(_run())
    return "\n".join(
        [
            "## Search by words at scale",
            "",
            f"`knowledge.retrieve` for one tenant with {LARGE:,} passages and for one with "
            f"{SMALL:,}, among {SMALL_TENANTS} other tenants' {SMALL_TENANTS * SMALL:,}; "
            f"{QUESTIONS} questions of 4 to 8 words, each asked {REPEATS} times, one at a time.",
            "",
            "The first round asks each question once; in the later rounds its words have been"
            " asked about before (a process keeps each tenant's word counts until its knowledge"
            " changes).",
            "",
            "| database | tenant | median, first round | median, later rounds | p95, all "
            "| retrievals/s (sequential) |",
            "|---|---|---:|---:|---:|---:|",
            *rows,
            "",
        ]
    )


if __name__ == "__main__":
    print(run())
