"""Search by words: the tenant's passages that hold a question's terms, and how much of it each
covers, every term weighted by how rare it is in the tenant's own knowledge.

A passage's **coverage** is the sum of idf(term) over the question's terms it holds divided by
the sum over all of them, idf computed from the tenant's chunks only: a word found in most of a
tenant's items ("dental" at a dental clinic, "loja" at a shop) counts little, so it cannot make
half of a short question on its own. The counts come from the full-text index, which filters by
tenant inside the index (SQLite: `tenant_id` is an indexed FTS5 column named in MATCH;
PostgreSQL: the GIN index on the stored `search_vector`), so a turn reads the tenant's postings
of the question's terms and never scans chunks or other tenants' matches; and each process keeps
them per tenant until the tenant's knowledge version changes, so a word is counted once.

The question is tokenised once per language the tenant's passages are written in, and each
passage is scored with the terms of its own language: a question meets every passage through the
analyser that passage was indexed with (text/search.py).

Everything that orders the results (document frequencies, the chunk count, average lengths) is
the tenant's own, so another tenant's knowledge never changes them. The database's own ranking
(bm25 on SQLite, whose statistics span the whole index, or ts_rank) only breaks the last ties and
is reported as `rank`.
"""

from __future__ import annotations

import asyncio
import math
import unicodedata
import uuid
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, cast

from sqlalchemy import Table, Uuid, bindparam, func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from bob.knowledge import vectors
from bob.knowledge.models import KnowledgeChunk, KnowledgeItem
from bob.text import search
from bob.text.search import Term

if TYPE_CHECKING:
    from bob.db.session import Database
    from bob.jobs.runner import JobContext

# At most this many of the tenant's matching passages are read and scored per question. The
# question's rarest terms are searched first, so only passages that share nothing but common
# words with the question can be left out, and those cover little of it.
CANDIDATE_BUDGET = 300
# Bounds the index work for a pasted essay; coverage still counts every term.
MAX_QUERY_TERMS = 64
# BM25's usual constants, for ordering passages that cover the question equally; a word of
# the title counts as this many of the passage's own.
_K1, _B = 1.2, 0.75
_TITLE_WEIGHT = 2

RETOKENISE_JOB = "knowledge.retokenise"
_RETOKENISE_ITEMS = 50
# PostgreSQL's planner statistics go stale after a large import until autovacuum catches up.
ANALYZE_AFTER_CHUNKS = 1000


@dataclass(frozen=True)
class LexicalHit:
    chunk_id: int
    coverage: float  # IDF-weighted share of the question's terms the passage holds, 0..1
    matched_terms: tuple[str, ...]  # keys of the question's terms found, in question order
    rank: int  # 1-based position in the full-text index's own ranking
    language: str  # the passage's analyser language


def _dialect(session: AsyncSession) -> str:
    return session.get_bind().dialect.name


def idf(chunks: int, df: int) -> float:
    """Inverse document frequency within the tenant (BM25's, never negative). A term in none of
    the tenant's passages weighs like one in a single passage: the question may well be about
    it, but it is no rarer than the rarest word the knowledge does use."""
    df = max(df, 1)
    chunks = max(chunks, df)
    return math.log(1 + (chunks - df + 0.5) / (df + 0.5))


# ---- the tenant's languages ----------------------------------------------------------------

# A loose index scan over (tenant_id, language): one index probe per language, however many
# chunks the tenant has.
_LANGUAGES = text(
    "WITH RECURSIVE found(language) AS ("
    " SELECT min(language) FROM knowledge_chunks WHERE tenant_id = :tenant"
    " UNION ALL"
    " SELECT (SELECT min(language) FROM knowledge_chunks"
    "         WHERE tenant_id = :tenant AND language > found.language)"
    " FROM found WHERE found.language IS NOT NULL"
    ") SELECT language FROM found WHERE language IS NOT NULL"
).bindparams(bindparam("tenant", type_=Uuid()))


async def tenant_languages(*, session: AsyncSession, tenant_id: uuid.UUID) -> list[str]:
    """The analyser languages the tenant's passages are written in."""
    return [str(row[0]) for row in await session.execute(_LANGUAGES, {"tenant": tenant_id})]


# ---- index expressions ---------------------------------------------------------------------


def _fts_term(term: Term) -> str:
    # Tokens are letters, digits and marks only, so quoting them is enough for FTS5.
    forms = [" AND ".join(f'"{token}"' for token in form) for form in term.forms]
    return "(" + " OR ".join(f"({form})" for form in forms) + ")"


def _fts_match(tenant_id: uuid.UUID, terms: Sequence[Term]) -> str:
    # The tenant token first: FTS5 then walks the tenant's postings and the terms' together.
    return (
        f'tenant_id:"{tenant_id.hex}" AND '
        f"search_text:({' OR '.join(_fts_term(term) for term in terms)})"
    )


def _ts_word(token: str) -> str:
    # Nothing tsquery could read as an operator: letters, digits and the marks of letters.
    return "".join(c for c in token if unicodedata.category(c)[0] in "LNM")


def _ts_term(term: Term) -> str | None:
    forms = []
    for form in term.forms:
        words = [_ts_word(token) for token in form]
        if all(words):
            forms.append("(" + " & ".join(words) + ")")
    return "(" + " | ".join(forms) + ")" if forms else None


def _tsquery(terms: Sequence[Term]) -> str | None:
    parts = [part for part in map(_ts_term, terms) if part]
    return " | ".join(parts) if parts else None


# ---- statistics and candidates -------------------------------------------------------------


@dataclass
class _Statistics:
    """What this process knows of a tenant's knowledge at one knowledge version: its languages,
    its chunk count and the document frequencies of the terms asked about so far."""

    version: int
    languages: tuple[str, ...]
    # Counted once per version, with the first terms counted: at 50,000 passages the count
    # is a scan of the tenant's rows (12 to 33 ms on PostgreSQL).
    chunks: int | None = None
    df: dict[Term, int] = field(default_factory=dict)

    def remember(self, counted: Mapping[Term, int]) -> None:
        if len(self.df) + len(counted) > _MAX_CACHED_TERMS:
            self.df.clear()
        self.df.update(counted)


# Per tenant, least recently used dropped first. A chat turn then reads one knowledge version
# (a primary-key read) and counts only terms it has not seen at that version.
_cache: OrderedDict[uuid.UUID, _Statistics] = OrderedDict()
_MAX_CACHED_TENANTS = 2048
_MAX_CACHED_TERMS = 4096


async def _tenant_statistics(session: AsyncSession, tenant_id: uuid.UUID) -> _Statistics:
    # The version is read first: a change committed in between only causes one more count,
    # never counts kept under a version they do not belong to.
    version = await vectors.current_version(session=session, tenant_id=tenant_id)
    cached = _cache.get(tenant_id)
    if cached is not None and cached.version == version:
        _cache.move_to_end(tenant_id)
        return cached
    languages = tuple(await tenant_languages(session=session, tenant_id=tenant_id))
    fresh = _Statistics(version, languages)
    _cache[tenant_id] = fresh
    _cache.move_to_end(tenant_id)
    while len(_cache) > _MAX_CACHED_TENANTS:
        _cache.popitem(last=False)
    return fresh


async def _statistics(
    session: AsyncSession, tenant_id: uuid.UUID, terms: Sequence[Term], *, chunks: bool
) -> tuple[int | None, dict[Term, int]]:
    """Per term, how many of the tenant's chunks hold it; and, when `chunks`, its chunk count."""
    params: dict[str, object] = {"tenant": tenant_id}
    # Only bind parameter names are formatted into the statement (hence the noqa below).
    counts = [
        "(SELECT count(*) FROM knowledge_chunks WHERE tenant_id = :tenant)" if chunks else "NULL"
    ]
    counted: list[Term] = []
    sqlite = _dialect(session) == "sqlite"
    for term in terms:
        name = f"m{len(counted)}"
        if sqlite:
            params[name] = _fts_match(tenant_id, [term])
            count = f"SELECT count(*) FROM knowledge_fts WHERE knowledge_fts MATCH :{name}"  # noqa: S608
            counts.append(f"({count})")
        else:
            query = _ts_term(term)
            if query is None:
                continue
            params[name] = query
            counts.append(
                "(SELECT count(*) FROM knowledge_chunks WHERE tenant_id = :tenant"  # noqa: S608
                f" AND search_vector @@ to_tsquery('simple', :{name}))"
            )
        counted.append(term)
    statement = text(f"SELECT {', '.join(counts)}")
    if ":tenant" in statement.text:
        statement = statement.bindparams(bindparam("tenant", type_=Uuid()))
    else:
        del params["tenant"]
    row = (await session.execute(statement, params)).one()
    total = int(row[0]) if row[0] is not None else None
    return total, {term: int(count) for term, count in zip(counted, row[1:], strict=True)}


_SQLITE_CANDIDATES = text(
    "WITH hits AS ("
    " SELECT rowid AS id, bm25(knowledge_fts, 1.0, 0.0) AS score FROM knowledge_fts"
    " WHERE knowledge_fts MATCH :match ORDER BY score LIMIT :limit"
    ") SELECT c.id, c.language, c.search_text FROM hits"
    " JOIN knowledge_chunks AS c ON c.id = hits.id"
    " WHERE c.tenant_id = :tenant ORDER BY hits.score, c.id"
).bindparams(bindparam("tenant", type_=Uuid()))

_POSTGRESQL_CANDIDATES = text(
    "SELECT id, language, search_text FROM knowledge_chunks"
    " WHERE tenant_id = :tenant AND search_vector @@ to_tsquery('simple', :match)"
    " ORDER BY ts_rank(search_vector, to_tsquery('simple', :match)) DESC, id LIMIT :limit"
).bindparams(bindparam("tenant", type_=Uuid()))


async def _candidates(
    session: AsyncSession, tenant_id: uuid.UUID, terms: Sequence[Term], limit: int
) -> list[tuple[int, str, str]]:
    """(chunk id, language, search text) of the tenant's passages holding any of `terms`, in
    the index's own order."""
    if _dialect(session) == "sqlite":
        statement, match = _SQLITE_CANDIDATES, _fts_match(tenant_id, terms)
    else:
        query = _tsquery(terms)
        if query is None:
            return []
        statement, match = _POSTGRESQL_CANDIDATES, query
    rows = await session.execute(statement, {"match": match, "tenant": tenant_id, "limit": limit})
    return [(int(chunk_id), str(language), str(tokens)) for chunk_id, language, tokens in rows]


def _searched(terms: Sequence[Term], df: Mapping[Term, int]) -> tuple[list[Term], int]:
    """The terms to ask the index for, rarest first, while their passages fit the budget; and
    how many rows that can return."""
    chosen: list[Term] = []
    rows = 0
    for term in sorted((t for t in terms if df.get(t, 0) > 0), key=lambda t: df[t]):
        if chosen and rows + df[term] > CANDIDATE_BUDGET:
            break
        chosen.append(term)
        rows += df[term]
    return chosen, min(rows, CANDIDATE_BUDGET)


def _term_frequency(term: Term, tokens: Sequence[str]) -> int:
    return max(
        (min(tokens.count(token) for token in form) for form in term.forms if form),
        default=0,
    )


async def lexical_candidates(
    *,
    session: AsyncSession,
    tenant_id: uuid.UUID,
    query: str,
    language: str | None,
    limit: int,
) -> list[LexicalHit]:
    """The tenant's passages holding the question's terms, best covered first (equal coverage:
    the tenant's own BM25, then the index's rank). `language` is the question's own when the
    caller knows it (otherwise it is guessed): its stopwords are dropped and its stemmer gives
    each term a second form for passages in other languages."""
    if limit < 1 or not query.strip():
        return []
    statistics = await _tenant_statistics(session, tenant_id)
    if not statistics.languages:
        return []
    question_language = search.analyser_language(language) if language else None
    question_language = question_language or search.guess_language(query)
    by_language = {
        lang: search.question_terms(query, lang, question_language=question_language)
        for lang in statistics.languages
    }
    distinct = list(dict.fromkeys(t for terms in by_language.values() for t in terms))
    if not distinct:
        return []
    missing = [term for term in distinct[:MAX_QUERY_TERMS] if term not in statistics.df]
    if missing:
        chunk_count, counted = await _statistics(
            session, tenant_id, missing, chunks=statistics.chunks is None
        )
        if chunk_count is not None:
            statistics.chunks = chunk_count
        statistics.remember(counted)
    chunks, df = statistics.chunks or 0, statistics.df
    searched, rows = _searched(distinct, df)
    if not searched:
        return []
    found = await _candidates(session, tenant_id, searched, max(rows, limit))
    if not found:
        return []
    unknown = idf(chunks, 1)
    weights = {term: idf(chunks, df.get(term, 1)) for term in distinct}
    parsed = [(i, lang, *search.stored_tokens(tokens)) for i, lang, tokens in found]
    average = sum(len(title) + len(body) for _, _, title, body in parsed) / len(parsed)
    scored: list[tuple[float, float, LexicalHit]] = []
    for position, (chunk_id, chunk_language, title, body) in enumerate(parsed, start=1):
        terms = by_language.get(chunk_language)
        if terms is None:
            # A passage added in another language since the languages were read.
            terms = by_language[chunk_language] = search.question_terms(
                query, chunk_language, question_language=question_language
            )
        present = {*title, *body}
        matched = [term for term in terms if term.found_in(present)]
        total = sum(weights.get(term, unknown) for term in terms)
        if not matched or total <= 0:
            continue
        covered = sum(weights.get(term, unknown) for term in matched)
        length = (len(title) + len(body)) / average if average else 1.0
        bm25 = 0.0
        for term in matched:
            # The title says what the passage is about (often it is the question itself).
            tf = _term_frequency(term, body) + _TITLE_WEIGHT * _term_frequency(term, title)
            bm25 += weights.get(term, 0.0) * tf * (_K1 + 1) / (tf + _K1 * (1 - _B + _B * length))
        hit = LexicalHit(
            chunk_id=chunk_id,
            coverage=min(covered / total, 1.0),
            matched_terms=tuple(term.key for term in matched),
            rank=position,
            language=chunk_language,
        )
        scored.append((hit.coverage, bm25, hit))
    scored.sort(key=lambda s: (-s[0], -s[1], s[2].rank))
    return [hit for _, _, hit in scored[:limit]]


# ---- keeping the index current -------------------------------------------------------------


def analyse(
    title: str, passages: Sequence[str], content: str, fallback: str = search.DEFAULT_LANGUAGE
) -> list[tuple[str, str]]:
    """(language, search text) of each passage of an item, as chunks store them; `fallback` is
    the language of a passage whose own and whose item's are unclear."""
    languages = search.passage_languages(title, passages, content, fallback)
    return [
        (language, search.search_text(title, passage, language))
        for passage, language in zip(passages, languages, strict=True)
    ]


async def tenant_language(*, session: AsyncSession, tenant_id: uuid.UUID) -> str | None:
    """The language most of the tenant's passages are written in: the one a passage gets when
    neither it nor its item says ("CNPJ 12.345.678/0001-90" in a Brazilian shop's knowledge)."""
    return await session.scalar(
        select(KnowledgeChunk.language)
        .where(
            KnowledgeChunk.tenant_id == tenant_id,
            KnowledgeChunk.analyzer == search.ANALYZER_VERSION,
        )
        .group_by(KnowledgeChunk.language)
        .order_by(func.count().desc(), KnowledgeChunk.language)
        .limit(1)
    )


async def fallback_language(
    *, session: AsyncSession, tenant_id: uuid.UUID, texts: Iterable[str] = ()
) -> str:
    """The language for passages whose own is unclear: the one most of `texts` (what is being
    added with them) are clearly written in, else the tenant's, else the default."""
    return (
        search.dominant_language(texts)
        or await tenant_language(session=session, tenant_id=tenant_id)
        or search.DEFAULT_LANGUAGE
    )


async def after_bulk_change(*, session: AsyncSession, chunks: int) -> None:
    """After a large import or re-tokenising, refresh PostgreSQL's statistics of the tables a
    search reads, in the same transaction, so the next searches are planned for the rows as they
    are (stale item statistics made the passage fetch read every item of a 10,000-item tenant)."""
    if chunks >= ANALYZE_AFTER_CHUNKS and _dialect(session) == "postgresql":
        await session.execute(text("ANALYZE knowledge_chunks, knowledge_items, knowledge_vectors"))


async def enqueue_stale(*, db: Database) -> int:
    """Queue a re-tokenising job for every tenant with chunks made by an older analyser (the
    migration that introduced the analyser version marks every existing chunk so)."""
    from bob.jobs import service as jobs

    async with db.transaction() as session:
        tenant_ids = list(
            await session.scalars(
                select(KnowledgeChunk.tenant_id)
                .where(KnowledgeChunk.analyzer != search.ANALYZER_VERSION)
                .distinct()
            )
        )
        for tenant_id in tenant_ids:
            await jobs.enqueue(session=session, tenant_id=tenant_id, kind=RETOKENISE_JOB)
    return len(tenant_ids)


_CHUNKS = cast(Table, KnowledgeChunk.__table__)
_RETOKENISE = (
    update(_CHUNKS)
    .where(
        _CHUNKS.c.id == bindparam("chunk_id"),
        _CHUNKS.c.analyzer != search.ANALYZER_VERSION,
    )
    .values(
        search_text=bindparam("tokens"),
        language=bindparam("chunk_language"),
        analyzer=search.ANALYZER_VERSION,
    )
)


def _retokenised(
    items: Sequence[tuple[str, str, list[tuple[int, str]]]], fallback: str
) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    for title, content, chunks in items:
        analysed = analyse(title, [passage for _, passage in chunks], content, fallback)
        rows.extend(
            {"chunk_id": chunk_id, "tokens": tokens, "chunk_language": language}
            for (chunk_id, _), (language, tokens) in zip(chunks, analysed, strict=True)
        )
    return rows


async def run_retokenise_job(context: JobContext) -> None:
    """Re-tokenise the tenant's chunks made by an older analyser, a few items at a time (off the
    event loop), reporting progress; stopped midway, the next run carries on."""
    tenant_id = context.claim.tenant_id
    stale = (
        KnowledgeChunk.tenant_id == tenant_id,
        KnowledgeChunk.analyzer != search.ANALYZER_VERSION,
    )
    async with context.db.transaction() as session:
        total = await session.scalar(select(func.count()).select_from(KnowledgeChunk).where(*stale))
    done = 0
    fallback: str | None = None
    while True:
        context.check_stop()
        async with context.db.transaction() as session:
            item_ids = list(
                await session.scalars(
                    select(KnowledgeChunk.item_id)
                    .where(*stale)
                    .group_by(KnowledgeChunk.item_id)
                    .order_by(KnowledgeChunk.item_id)
                    .limit(_RETOKENISE_ITEMS)
                )
            )
            items = []
            for item_id, title, content in await session.execute(
                select(KnowledgeItem.id, KnowledgeItem.title, KnowledgeItem.content).where(
                    KnowledgeItem.id.in_(item_ids), KnowledgeItem.tenant_id == tenant_id
                )
            ):
                chunks = await session.execute(
                    select(KnowledgeChunk.id, KnowledgeChunk.text)
                    .where(KnowledgeChunk.item_id == item_id, *stale)
                    .order_by(KnowledgeChunk.ordinal)
                )
                items.append((title, content, [(int(i), str(t)) for i, t in chunks]))
        if not items:
            break
        if fallback is None:
            # Decided once, from the first items: the stale chunks' stored languages are only
            # the migration's default.
            fallback = await asyncio.to_thread(
                search.dominant_language, (f"{title}\n{content}" for title, content, _ in items)
            )
            fallback = fallback or search.DEFAULT_LANGUAGE
        rows = await asyncio.to_thread(_retokenised, items, fallback)
        async with context.db.transaction() as session:
            # Chunks replaced meanwhile by an edit are gone or current; the WHERE skips them.
            await session.execute(_RETOKENISE, rows)
            await vectors.bump_version(session=session, tenant_id=tenant_id)
            done += len(rows)
            await context.progress(session=session, done=done, total=max(total or 0, done))
    async with context.db.transaction() as session:
        await after_bulk_change(session=session, chunks=done)
