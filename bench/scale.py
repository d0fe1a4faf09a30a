"""Chat latency at scale: a visitor's question through door 3 for a tenant with 20 passages and
for one with 50,000, searched by words alone and with search by meaning.

Per database (SQLite in a temporary directory; PostgreSQL, in a database of its own that is
dropped afterwards, when BOB_TEST_DATABASE_URL or BOB_BENCH_DATABASE_URL is set), the run
migrates a fresh database and creates two tenants. The small one has the 20 items of a shop's
FAQ (FAQ below), added with `knowledge.create_item`, which embeds them with the local model as
any small change is. The large one has the same 20 items, added the same way, and 49,980 more
passages (9,996 items of 5) inserted in bulk: their text comes from bench/lexical.py's
Zipf-distributed made-up vocabulary, into which the FAQ's own words are mixed at ranks spread
over the whole range, so the questions' words are in many passages (the commonest in about half)
and the full-text index has real work; their search text is made by Bob's analyser. Embedding
them would take hours on 2 cores, so their vectors are made up too, in the stored format
(float16), such that a question's similarities to them have the mean and spread of its
similarities to the FAQ's unrelated items (what Bob makes of a similarity depends on the
others'): random mixtures of the FAQ's own passage vectors plus noise; the vectors of their
units (sentences), stored beside each passage's, are the passage's plus noise. The tenant's
knowledge version is bumped, so search by meaning runs over all 50,000. On PostgreSQL the run
then does what autovacuum does soon after a bulk import (VACUUM ANALYZE).

Two apps (`bob.main.create_app`) share the database: one with `embeddings="off"` (words only),
one with `embeddings="local"` (each question embedded by the local model, its nearest passages
pooled with the full-text ones). Each of QUESTIONS (40: one per FAQ item in its own words and
one reworded) is asked through `POST /api/chat/message` with the owner's Bearer token,
in-process through httpx.ASGITransport, one new session per message, and the whole request is
timed. The first call per app and tenant is timed apart, with a question not measured: it
loads what a process keeps (the tenant's matrix of vectors, its languages, compiled statements
and other caches filled on first use). Then ROUNDS rounds ask every question of every app and
tenant in turn, the order rotating by question so that no app or tenant always goes first (the
first asking of a word counts it in the tenant's index; the count is kept until the knowledge
changes).

The acceptance criteria: latency at 50,000 passages at most 1.5x that at 20 (p50 and p95),
with and without search by meaning; with search by meaning at most 2x words alone (p95).

`python -m bench scale` rewrites this section of bench/RESULTS.md; `python -m bench.scale`
only prints it.
"""

from __future__ import annotations

import asyncio
import math
import os
import random
import re
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import numpy.typing as npt
from fastapi import FastAPI
from sqlalchemy import insert, make_url, select, text
from sqlalchemy.ext.asyncio import create_async_engine

from bench import lexical as generated
from bob import audit
from bob.accounts import service as accounts
from bob.db import migrate
from bob.db.session import Database
from bob.knowledge import embeddings, vectors
from bob.knowledge import lexical as lexical_search
from bob.knowledge import service as knowledge
from bob.knowledge.models import KnowledgeChunk, KnowledgeItem, KnowledgeVector
from bob.main import create_app
from bob.settings import Settings
from bob.text import search

Vectors = npt.NDArray[np.float32]

LARGE = 50_000
PER_ITEM = 5
ROUNDS = 3
SCALE_LIMIT = 1.5
HYBRID_LIMIT = 2.0
PASSWORD = "scale bench password 1"
SECRET = "bench-" + "s5c6a7l8" * 6
# The made-up passages' vectors: mixtures of the FAQ's (Dirichlet weights) plus noise, chosen so
# that a question's similarities to them have the mean and spread of its similarities to the
# FAQ's unrelated items (the report shows both); their units' vectors are their own plus noise.
MIX_ALPHA, PASSAGE_NOISE, UNIT_NOISE = 0.1, 0.4, 0.5
ENGINES = {"words only (embeddings off)": "off", "hybrid (local embeddings)": "local"}

FAQ = [
    (
        "Delivery times and costs",
        "Orders placed before 2 pm on a working day leave our roastery the same day. Standard "
        "delivery takes 2 to 3 working days and costs 4.50; orders over 40 are delivered free. "
        "Express delivery arrives the next working day for 8.90.",
    ),
    (
        "Shipping abroad",
        "We ship to every country in the European Union and to Switzerland and Norway. "
        "International delivery takes 4 to 8 working days and costs 12 per parcel; import duties "
        "outside the EU are paid by the recipient.",
    ),
    (
        "Returns and refunds",
        "Unopened tea and coffee can be returned within 30 days of delivery for a full refund. "
        "Brewing equipment can be returned within 30 days if it is unused and in its box. "
        "Refunds reach your account within 5 working days of the parcel arriving back.",
    ),
    (
        "Damaged or wrong items",
        "If a parcel arrives damaged or with the wrong items, send us a photo within 7 days "
        "through the contact form. We send a replacement at no cost and you do not need to "
        "return the damaged goods.",
    ),
    (
        "How the coffee subscription works",
        "Choose a coffee, the grind and a rhythm of every 2, 4 or 6 weeks. Each bag is roasted "
        "for you and shipped within 48 hours of roasting. Subscribers save 10% on every bag and "
        "delivery is always free.",
    ),
    (
        "Pausing or cancelling a subscription",
        "You can pause, skip a delivery or cancel your subscription at any time in your account "
        "under My subscriptions. Changes made before midnight on the day before roasting apply "
        "to the next bag. There is no minimum term and no cancellation fee.",
    ),
    (
        "Grind options",
        "Every coffee comes as whole beans or ground for espresso, moka pot, filter, French "
        "press or cold brew. Whole beans stay fresh longest; ground coffee is best used within "
        "two weeks of opening.",
    ),
    (
        "Roast dates and freshness",
        "Every bag is printed with its roast date. We roast every Monday and Thursday and never "
        "sell coffee roasted more than 10 days earlier. Coffee tastes best between 7 and 30 "
        "days after roasting.",
    ),
    (
        "Storing tea and coffee",
        "Keep tea and coffee in their resealable bags or in an airtight tin, away from light, "
        "heat and strong smells. Do not store coffee in the fridge: the moisture spoils it. "
        "Loose tea keeps its flavour for about a year.",
    ),
    (
        "Decaffeinated coffee",
        "Our decaf is decaffeinated with the Swiss Water process, without chemical solvents. "
        "It keeps at most 0.1% of its caffeine and is roasted the same way as our other "
        "coffees.",
    ),
    (
        "Caffeine in tea",
        "Black tea has about 40 mg of caffeine per cup and green tea about 25 mg. Our herbal "
        "infusions, such as rooibos, peppermint and chamomile, contain no caffeine at all.",
    ),
    (
        "Gift cards",
        "Gift cards are sent by email and are worth 20, 50 or 100. They are valid for two "
        "years, can be used for several orders and cannot be exchanged for cash.",
    ),
    (
        "Payment methods",
        "We accept Visa, Mastercard, American Express, PayPal, Apple Pay and bank transfer. "
        "Orders paid by bank transfer are shipped once the payment arrives, usually after 1 "
        "to 2 working days.",
    ),
    (
        "Wholesale and office orders",
        "Cafés, restaurants and offices can open a business account with prices for orders of "
        "5 kg or more and monthly invoices. Write to trade@kettleandleaf.example with your "
        "company name and expected monthly volume.",
    ),
    (
        "Our shop and opening hours",
        "Our shop and tasting bar is at 14 Mill Lane, next to the old harbour. It is open "
        "Tuesday to Saturday from 9 am to 6 pm and on Sunday from 10 am to 4 pm; closed on "
        "Mondays.",
    ),
    (
        "Brewing green tea",
        "Brew green tea with water at 75 to 80 degrees, not boiling, for 2 to 3 minutes: use 1 "
        "teaspoon of leaves per cup. Boiling water or a long brew makes it bitter. The leaves "
        "can be infused two or three times.",
    ),
    (
        "Allergens and packaging",
        "Our teas and coffees are packed in a room that also handles nuts, so traces of nuts "
        "are possible in flavoured blends. Our bags are compostable at home and our tins can "
        "be recycled.",
    ),
    (
        "Loyalty points",
        "Every order earns one point per euro spent. 100 points are worth a 5 discount on "
        "your next order. Points expire 12 months after the order that earned them.",
    ),
    (
        "Tracking an order",
        "As soon as your parcel leaves the roastery we email you a tracking link. You can also "
        "find it in your account under Orders. Tracking becomes active a few hours after "
        "dispatch.",
    ),
    (
        "Changing the delivery address",
        "You can change the delivery address of an order until it is packed, usually within an "
        "hour of ordering: reply to your order confirmation email or call us on 020 7946 0321. "
        "Once a parcel has left we cannot redirect it.",
    ),
]

# (question, index of the FAQ item that answers it): one in the FAQ's words, one reworded.
QUESTIONS = [
    ("How long does standard delivery take?", 0),
    ("When will my package get here if I order today?", 0),
    ("Do you ship to Switzerland?", 1),
    ("Can I order from Norway and what does it cost to send?", 1),
    ("Can I return unopened coffee for a refund?", 2),
    ("I changed my mind about my purchase, can I send it back?", 2),
    ("My parcel arrived damaged, what should I do?", 3),
    ("You sent me the wrong tea, can you fix it?", 3),
    ("How does the coffee subscription work?", 4),
    ("Is there a discount if I get beans delivered regularly?", 4),
    ("How do I cancel my subscription?", 5),
    ("I'm going on holiday, can I skip next month's bag?", 5),
    ("Can I get the coffee ground for a French press?", 6),
    ("Do you sell whole beans or only ground?", 6),
    ("What is the roast date of the coffee you send?", 7),
    ("How fresh are your beans when they arrive?", 7),
    ("How should I store tea and coffee?", 8),
    ("Should I keep my beans in the fridge?", 8),
    ("How is your decaf coffee decaffeinated?", 9),
    ("Do you use chemicals to remove caffeine?", 9),
    ("How much caffeine is in green tea?", 10),
    ("Which of your teas are caffeine free?", 10),
    ("Do you sell gift cards?", 11),
    ("I'd like to give a voucher as a present, how long is it valid?", 11),
    ("Which payment methods do you accept?", 12),
    ("Can I pay with PayPal or Apple Pay?", 12),
    ("Do you have wholesale prices for offices?", 13),
    ("I run a café, can I buy in bulk with an invoice?", 13),
    ("What are your shop opening hours?", 14),
    ("Where is your store and is it open on Sundays?", 14),
    ("How do I brew green tea?", 15),
    ("What water temperature is best for sencha, it tastes bitter?", 15),
    ("Are there allergens such as nuts in your blends?", 16),
    ("Is your packaging compostable or recyclable?", 16),
    ("How do loyalty points work?", 17),
    ("Do I get rewards for shopping with you regularly?", 17),
    ("How can I track my order?", 18),
    ("Where is my parcel? I never got a tracking email", 18),
    ("Can I change the delivery address of my order?", 19),
    ("I moved house after ordering, can you send it somewhere else?", 19),
]
# Asked once per app and tenant before the measured rounds; not in QUESTIONS.
FIRST_CALL = "Do you sell matcha whisks?"


# ---- the large tenant's made-up passages ---------------------------------------------------


@dataclass(frozen=True)
class Filler:
    """A made-up item: its passages, as Bob would store them."""

    title: str
    passages: tuple[str, ...]
    search_texts: tuple[str, ...]
    vectors: tuple[bytes, ...]
    units: tuple[bytes | None, ...]  # the passage's units' vectors, as vectors.store keeps them


def _vocabulary(rng: random.Random) -> tuple[list[str], list[float]]:
    """bench/lexical.py's Zipf vocabulary with the FAQ's words planted at evenly spaced ranks
    from 5 on (shuffled), so each question word is in from about half of the passages to a few."""
    words, weights = generated._vocabulary(rng)
    faq_words = sorted(
        {
            word
            for title, body in FAQ
            for word in re.findall(r"[a-z]{3,}", f"{title} {body}".lower())
            if word not in generated._FUNCTION
        }
    )
    rng.shuffle(faq_words)
    stride = (len(words) - 5) // len(faq_words)
    for n, word in enumerate(faq_words):
        words[5 + n * stride] = word
    return words, weights


def _like(faq: Vectors, count: int, noise: float, rng: np.random.Generator) -> Vectors:
    """`count` vectors near the FAQ's: random mixtures of its passages' plus Gaussian noise."""
    mixed = embeddings.normalise(rng.dirichlet([MIX_ALPHA] * len(faq), count) @ faq)
    return _noisy(mixed, noise, rng)


def _noisy(around: Vectors, noise: float, rng: np.random.Generator) -> Vectors:
    scale = noise / math.sqrt(around.shape[-1])
    return embeddings.normalise(around + scale * rng.standard_normal(around.shape))


def _filler(items: int, faq: Vectors) -> list[Filler]:
    rng = random.Random(20261204)
    draw = np.random.default_rng(20261204)
    words, weights = _vocabulary(rng)
    made = []
    for _ in range(items):
        title = generated._sentence(rng, words, weights, 5)[:-1] + "?"
        passages = tuple(
            " ".join(generated._sentence(rng, words, weights, 12) for _ in range(4))
            for _ in range(PER_ITEM)
        )
        own = _like(faq, PER_ITEM, PASSAGE_NOISE, draw)
        units = []
        for passage, vector in zip(passages, own, strict=True):
            count = len(vectors.units_of(passage))
            near = _noisy(np.tile(vector, (count, 1)), UNIT_NOISE, draw) if count else None
            units.append(None if near is None else vectors.encode(near))
        made.append(
            Filler(
                title,
                passages,
                tuple(search.search_text(title, p, "en") for p in passages),
                tuple(vectors.encode(vector) for vector in own),
                tuple(units),
            )
        )
    return made


@dataclass(frozen=True)
class Resemblance:
    """A question's similarity to the made-up passages and to the FAQ's items that do not answer
    it: mean, and mean over questions of the spread."""

    filler: tuple[float, float]
    unrelated: tuple[float, float]


def _resemblance(questions: Vectors, faq: Vectors, filler: Sequence[Filler]) -> Resemblance:
    sample = np.stack([vectors.decode(v, faq.shape[1]) for f in filler[:1000] for v in f.vectors])
    made = questions @ sample.T
    answers = [answer for _, answer in QUESTIONS]
    unrelated = [np.delete(questions[n] @ faq.T, answer) for n, answer in enumerate(answers)]
    return Resemblance(
        (float(made.mean()), float(made.std(axis=1).mean())),
        (float(np.mean(unrelated)), float(np.mean([u.std() for u in unrelated]))),
    )


# ---- one database --------------------------------------------------------------------------


@dataclass(frozen=True)
class Tenant:
    name: str
    chunks: int
    headers: dict[str, str]
    item_ids: tuple[str, ...]  # Bob's ids of the FAQ items, in FAQ order


@dataclass
class Cell:
    """One app and one tenant: what it measured."""

    first_ms: float = 0.0
    latencies: list[float] = field(default_factory=list)
    answered: int = 0
    right_first: int = 0


async def _tenant(
    client: httpx.AsyncClient, db: Database, settings: Settings, name: str
) -> tuple[uuid.UUID, dict[str, str]]:
    business_id = f"scale-{name}-{uuid.uuid4().hex[:6]}"
    email = f"owner@{business_id}.example.com"
    async with db.transaction() as session:
        made = await accounts.create_tenant(
            session=session,
            actor=audit.CLI,
            name=f"Kettle & Leaf ({name})",
            business_id=business_id,
            plan="pro",
            owner_email=email,
            owner_password=PASSWORD,
        )
    login = await client.post(
        "/api/customers/auth/login", json={"email": email, "password": PASSWORD}
    )
    login.raise_for_status()
    return made.tenant.id, {"Authorization": f"Bearer {login.json()['access_token']}"}


async def _faq(db: Database, settings: Settings, tenant_id: uuid.UUID) -> tuple[str, ...]:
    """The FAQ's items, one create_item each: a passage or two is embedded in its request."""
    ids = []
    for title, body in FAQ:
        async with db.transaction() as session:
            item = await knowledge.create_item(
                session=session,
                settings=settings,
                tenant_id=tenant_id,
                actor=audit.CLI,
                title=title,
                content=body,
            )
            ids.append(str(item.id))
    return tuple(ids)


async def _bulk(
    db: Database, settings: Settings, tenant_id: uuid.UUID, filler: Sequence[Filler]
) -> None:
    """The made-up passages, their search text and vectors, in one transaction."""
    embedder = embeddings.embedder_for(settings)
    assert embedder is not None, "the local embedder does not load here"
    dim = len(filler[0].vectors[0]) // vectors.STORED.itemsize
    async with db.transaction() as session:
        items, chunks = [], []
        for made in filler:
            item_id = uuid.uuid4()
            items.append(
                {
                    "id": item_id,
                    "tenant_id": tenant_id,
                    "title": made.title,
                    "content": "\n\n".join(made.passages),
                    "tags": [],
                }
            )
            chunks += [
                {
                    "tenant_id": tenant_id,
                    "item_id": item_id,
                    "ordinal": ordinal,
                    "text": passage,
                    "search_text": search_text,
                    "language": "en",
                    "analyzer": search.ANALYZER_VERSION,
                }
                for ordinal, (passage, search_text) in enumerate(
                    zip(made.passages, made.search_texts, strict=True)
                )
            ]
        await session.execute(insert(KnowledgeItem), items)
        await session.execute(insert(KnowledgeChunk), chunks)
        chunk_ids = list(
            await session.scalars(
                select(KnowledgeChunk.id)
                .where(KnowledgeChunk.tenant_id == tenant_id)
                .order_by(KnowledgeChunk.id)
            )
        )
        vectors_and_units = [pair for f in filler for pair in zip(f.vectors, f.units, strict=True)]
        rows = [
            {
                "chunk_id": chunk_id,
                "tenant_id": tenant_id,
                "model": embedder.model,
                "dim": dim,
                "vector": vector,
                "units": units,
            }
            for chunk_id, (vector, units) in zip(chunk_ids, vectors_and_units, strict=True)
        ]
        await session.execute(insert(KnowledgeVector), rows)
        await lexical_search.after_bulk_change(session=session, chunks=len(chunk_ids))
        await vectors.bump_version(session=session, tenant_id=tenant_id)


async def _ask(
    app: httpx.AsyncClient, tenant: Tenant, question: str
) -> tuple[float, dict[str, Any]]:
    started = time.perf_counter()
    response = await app.post(
        "/api/chat/message",
        json={"session_id": f"scale-{uuid.uuid4().hex}", "message": question},
        headers={**tenant.headers, "Accept-Language": "en"},
    )
    elapsed = (time.perf_counter() - started) * 1000
    if response.status_code != 200:
        raise RuntimeError(f"{tenant.name}: {question!r}: {response.text}")
    return elapsed, response.json()


def _settings(data_dir: Path, url: str, engine: str) -> Settings:
    return Settings.model_validate(
        {
            "env": "development",
            "data_dir": data_dir,
            "database_url": url,
            "secret_key": SECRET,
            "inprocess_worker": False,
            "embeddings": engine,
        }
    )


def _client(app: FastAPI, settings: Settings) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url=settings.public_url, timeout=120
    )


async def _run_on(
    database: str, url: str, data_dir: Path, filler: Sequence[Filler]
) -> tuple[dict[tuple[str, int], Cell], float]:
    """Per (engine name, tenant size), what was measured; and the seconds setting up took."""
    started = time.perf_counter()
    configured = {name: _settings(data_dir, url, engine) for name, engine in ENGINES.items()}
    hybrid = configured["hybrid (local embeddings)"]
    await asyncio.to_thread(migrate.upgrade, hybrid)
    db = Database.of(hybrid)
    clients = {name: _client(create_app(s, database=db), s) for name, s in configured.items()}
    vectors.cache.clear()
    try:
        some = next(iter(clients.values()))
        small_id, small_headers = await _tenant(some, db, hybrid, "small")
        large_id, large_headers = await _tenant(some, db, hybrid, "large")
        await _bulk(db, hybrid, large_id, filler)
        small = Tenant("small", len(FAQ), small_headers, await _faq(db, hybrid, small_id))
        large = Tenant("large", LARGE, large_headers, await _faq(db, hybrid, large_id))
        async with db.transaction() as session:
            for tenant_id, tenant in ((small_id, small), (large_id, large)):
                state = await vectors.indexing_status(
                    session=session, settings=hybrid, tenant_id=tenant_id
                )
                assert state.passages == state.indexed == tenant.chunks, state
        if not db.is_sqlite:
            # What autovacuum does within a minute or two of a bulk import: the planner's
            # statistics of every table, and the visibility map that allows index-only counts.
            async with db.engine.connect() as connection:
                autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
                await autocommit.execute(text("VACUUM ANALYZE"))
        setup = time.perf_counter() - started
        print(f"scale: {database}: set up in {setup:.0f} s", file=sys.stderr, flush=True)

        cells = {(name, t.chunks): Cell() for name in clients for t in (small, large)}
        # Words only first: the hybrid app's first call then shows what the matrix adds.
        for name, client in clients.items():
            for tenant in (small, large):
                cells[name, tenant.chunks].first_ms, _ = await _ask(client, tenant, FIRST_CALL)
        pairs = [(name, tenant) for name in clients for tenant in (small, large)]
        for round_ in range(ROUNDS):
            for n, (question, answer) in enumerate(QUESTIONS):
                turn = n % len(pairs)
                for name, tenant in pairs[turn:] + pairs[:turn]:
                    elapsed, body = await _ask(clients[name], tenant, question)
                    cell = cells[name, tenant.chunks]
                    cell.latencies.append(elapsed)
                    if round_ == 0 and not body["handoff"]:
                        cell.answered += 1
                        sources = [s["id"] for s in body["sources"]]
                        cell.right_first += int(sources[:1] == [tenant.item_ids[answer]])
        return cells, setup
    finally:
        for client in clients.values():
            await client.aclose()
        vectors.cache.clear()
        await db.dispose()


def _base_url() -> str | None:
    return (
        os.environ.get("BOB_BENCH_DATABASE_URL") or os.environ.get("BOB_TEST_DATABASE_URL") or None
    )


async def _create_database(base: str) -> str:
    name = f"bob_bench_scale_{uuid.uuid4().hex[:8]}"
    engine = create_async_engine(base, isolation_level="AUTOCOMMIT")
    async with engine.connect() as connection:
        await connection.execute(text(f'CREATE DATABASE "{name}"'))
    await engine.dispose()
    return make_url(base).set(database=name).render_as_string(hide_password=False)


async def _drop_database(base: str, url: str) -> None:
    engine = create_async_engine(base, isolation_level="AUTOCOMMIT")
    async with engine.connect() as connection:
        await connection.execute(
            text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')
        )
    await engine.dispose()


Results = dict[str, tuple[dict[tuple[str, int], Cell], float]]


async def _measure() -> tuple[Results, Resemblance]:
    results: Results = {}
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory)
        sqlite = f"sqlite+aiosqlite:///{path / 'scale.db'}"
        embedder = embeddings.embedder_for(_settings(path, sqlite, "local"))
        assert embedder is not None, "the local embedder does not load here"
        faq = await embedder.passages([vectors.passage_text(t, body) for t, body in FAQ])
        questions = np.stack([await embedder.query(q) for q, _ in QUESTIONS])
        filler = await asyncio.to_thread(_filler, (LARGE - len(FAQ)) // PER_ITEM, faq)
        assert len(filler) * PER_ITEM + len(FAQ) == LARGE
        resemblance = _resemblance(questions, faq, filler)
        results["SQLite"] = await _run_on("SQLite", sqlite, path, filler)
        base = _base_url()
        if base is not None:
            url = await _create_database(base)
            try:
                results["PostgreSQL"] = await _run_on("PostgreSQL", url, path, filler)
            finally:
                await _drop_database(base, url)
    return results, resemblance


# ---- the report ----------------------------------------------------------------------------


def quantile(values: Sequence[float], q: float) -> float:
    """Nearest rank: the smallest value with at least q of them at or below it."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def _verdict(ratio: float, limit: float) -> str:
    return "**PASS**" if ratio <= limit else "**FAIL**"


def report(results: Results, resemblance: Resemblance, seconds: float) -> str:
    lines = [
        "## Chat latency at scale",
        "",
        f"{(__doc__ or '').strip()}",
        "",
        f"Measured in {seconds:.0f} s (setting up: "
        + ", ".join(f"{database} {setup:.0f} s" for database, (_, setup) in results.items())
        + f"); load average when it ended: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores "
        "(other work on the cores slows every row alike, the ratios less).",
        "",
        f"Latency of the whole request in ms; p50 and p95 over {len(QUESTIONS)} questions x "
        f"{ROUNDS} rounds. Answered and right item first: of the {len(QUESTIONS)} questions, "
        "first round (a handoff is not an answer). A question's similarity by meaning to the "
        f"made-up passages: {resemblance.filler[0]:.3f}, spread {resemblance.filler[1]:.3f}; "
        f"to the FAQ's items that do not answer it: {resemblance.unrelated[0]:.3f}, spread "
        f"{resemblance.unrelated[1]:.3f} (mean; standard deviation per question, averaged).",
        "",
        "| database | retrieval | passages | first call | p50 | p95 | answered "
        "| right item first |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    verdicts = []
    for database, (cells, _) in results.items():
        for (name, chunks), cell in cells.items():
            lines.append(
                f"| {database} | {name} | {chunks:,} | {cell.first_ms:.0f} "
                f"| {quantile(cell.latencies, 0.5):.1f} | {quantile(cell.latencies, 0.95):.1f} "
                f"| {cell.answered}/{len(QUESTIONS)} | {cell.right_first}/{len(QUESTIONS)} |"
            )
        for name in ENGINES:
            small, large = cells[name, len(FAQ)].latencies, cells[name, LARGE].latencies
            p50 = quantile(large, 0.5) / quantile(small, 0.5)
            p95 = quantile(large, 0.95) / quantile(small, 0.95)
            verdicts.append(
                f"| {database} | {name}: {LARGE:,} vs {len(FAQ)} passages, p50 / p95 "
                f"| {p50:.2f}x / {p95:.2f}x | at most {SCALE_LIMIT}x "
                f"| {_verdict(max(p50, p95), SCALE_LIMIT)} |"
            )
        words, meaning = ENGINES
        for chunks in (len(FAQ), LARGE):
            ratio = quantile(cells[meaning, chunks].latencies, 0.95) / quantile(
                cells[words, chunks].latencies, 0.95
            )
            verdicts.append(
                f"| {database} | hybrid vs words only at {chunks:,} passages, p95 "
                f"| {ratio:.2f}x | at most {HYBRID_LIMIT}x | {_verdict(ratio, HYBRID_LIMIT)} |"
            )
    lines += [
        "",
        "| database | criterion | measured | limit | verdict |",
        "|---|---|---:|---:|---|",
        *verdicts,
        "",
    ]
    return "\n".join(lines)


def run() -> str:
    started = time.perf_counter()
    results, resemblance = asyncio.run(_measure())
    return report(results, resemblance, time.perf_counter() - started)


if __name__ == "__main__":
    print(run())
