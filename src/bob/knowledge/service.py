"""Knowledge items: their rules, chunking into passages, file import, and retrieval for chat."""

from __future__ import annotations

import csv
import io
import json
import re
import unicodedata
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import Any, Final, Literal, TypeVar
from urllib.parse import urlsplit

from sqlalchemy import ColumnElement, and_, cast, delete, func, or_, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession

from bob import audit
from bob.audit import Actor
from bob.errors import NotFound, ValidationFailed
from bob.knowledge import lexical, vectors
from bob.knowledge.models import KnowledgeChunk, KnowledgeItem, KnowledgeVector
from bob.pagination import Cursor, Page
from bob.settings import Settings
from bob.text import grounding, search
from bob.text.passage import Passage

MAX_TITLE = 300
MAX_CONTENT = 100_000
MAX_TAGS = 20
MAX_TAG = 50
MAX_URL = 2000
CHUNK_CHARS = 800
MAX_IMPORT_BYTES = 2 * 1024 * 1024
# A 2 MB CSV of one-line answers is tens of thousands of items; past this an import is more
# likely a wrong file than a knowledge base, and it would hold the write lock for long.
MAX_IMPORT_ITEMS = 5000
IMPORT_TYPES = (".md", ".txt", ".csv", ".json")
# Candidates pooled from each kind of search before fusion picks the best.
CANDIDATES = 20
DENSE_POOL = 30

T = TypeVar("T")
R = TypeVar("R")


class _Keep(Enum):
    KEEP = "keep"


KEEP: Final = _Keep.KEEP
"""For `update_item`: leave this field as it is (None would mean "clear it")."""


# ---- field rules (shared by the API schemas and file import) -------------------------------


def _no_nul(value: str) -> str:
    # PostgreSQL cannot store NUL in text; refusing it here is a 422 instead of a 500.
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


def check_title(value: str) -> str:
    value = _no_nul(value).strip()
    if not value:
        raise ValueError("must not be blank")
    if len(value) > MAX_TITLE:
        raise ValueError(f"must be at most {MAX_TITLE} characters")
    return value


def check_content(value: str) -> str:
    value = _no_nul(value).strip()
    if not value:
        raise ValueError("must not be blank")
    if len(value) > MAX_CONTENT:
        raise ValueError(f"must be at most {MAX_CONTENT} characters")
    return value


def check_tags(value: Sequence[str]) -> list[str]:
    tags = list(dict.fromkeys(_no_nul(tag).strip() for tag in value))
    tags = [tag for tag in tags if tag]
    if len(tags) > MAX_TAGS:
        raise ValueError(f"at most {MAX_TAGS} tags")
    too_long = next((tag for tag in tags if len(tag) > MAX_TAG), None)
    if too_long is not None:
        raise ValueError(f"tag {too_long[:20]!r}... is longer than {MAX_TAG} characters")
    return tags


def check_source_url(value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    value = _no_nul(value).strip()
    if len(value) > MAX_URL:
        raise ValueError(f"must be at most {MAX_URL} characters")
    try:
        parts = urlsplit(value)
    except ValueError:
        raise ValueError("is not a valid URL") from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname or " " in value:
        raise ValueError("must be an http:// or https:// URL")
    return value


def _field(name: str, check: Callable[[T], R], value: T) -> R:
    try:
        return check(value)
    except ValueError as exc:
        raise ValidationFailed(f"{name}: {exc}") from None


@dataclass(frozen=True)
class NewItem:
    title: str
    content: str
    tags: list[str] = field(default_factory=list)
    source_url: str | None = None


def _new_item(
    *, title: str, content: str, tags: Sequence[str], source_url: str | None, where: str = ""
) -> NewItem:
    return NewItem(
        title=_field(f"{where}title", check_title, title),
        content=_field(f"{where}content", check_content, content),
        tags=_field(f"{where}tags", check_tags, tags),
        source_url=_field(f"{where}source_url", check_source_url, source_url),
    )


# ---- chunking ------------------------------------------------------------------------------

_HEADING = re.compile(r"^ {0,3}#{1,6}[ \t]+(.+?)(?:[ \t]+#+)?[ \t]*$")
# After sentence punctuation followed by a space, or straight after CJK sentence punctuation;
# "3.5" and "e.g.x" stay whole.
_SENTENCE_END = re.compile("(?<=[.!?\u2026])(?=\\s)|(?<=[\u3002\uff01\uff1f])")


# A line that asks a question, as FAQ pages write them: "What are your opening hours?",
# "**¿Aceptan tarjetas?**", "Q: Can I bring my dog?", 「駐車場はありますか？」.  # noqa: RUF003
_QUESTION_LINE = re.compile(
    r"^\s*(?:[*_]{1,2})?(?:(?:Q|P|Pergunta|Pregunta)\s*[:.]\s*)?.{3,200}[?\uff1f](?:[*_]{1,2})?\s*$"
)
# List items and table rows stay in their list or table even when they end in a question mark.
_ITEM_LINE = re.compile(r"^\s{0,3}(?:[-*+\u2022]|\d{1,3}[.)])\s+|^\s*\|")


def _is_question(line: str) -> bool:
    return _QUESTION_LINE.match(line) is not None and not _ITEM_LINE.match(line)


def _blocks(content: str) -> list[tuple[bool, str]]:
    """(is_heading, text) for each heading line and each paragraph. A question on a line of its
    own counts as a heading: a pasted FAQ page becomes one passage per question and answer, each
    saying what it answers, instead of passages that run several answers together."""
    blocks: list[tuple[bool, str]] = []
    paragraph: list[str] = []

    def end_paragraph() -> None:
        if paragraph:
            blocks.append((False, "\n".join(paragraph).strip()))
            paragraph.clear()

    for line in content.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        heading = _HEADING.match(line)
        if heading:
            end_paragraph()
            blocks.append((True, heading.group(1).strip()))
        elif _is_question(line):
            end_paragraph()
            blocks.append((True, line.strip()))
        elif line.strip():
            paragraph.append(line.rstrip())
        else:
            end_paragraph()
    end_paragraph()
    return blocks


def _hard_split(sentence: str, max_chars: int) -> list[str]:
    pieces: list[str] = []
    rest = sentence.strip()
    while len(rest) > max_chars:
        cut = rest.rfind(" ", max_chars // 2, max_chars + 1)
        cut = cut if cut > 0 else max_chars
        pieces.append(rest[:cut].strip())
        rest = rest[cut:].strip()
    if rest:
        pieces.append(rest)
    return pieces


def _fit(paragraph: str, max_chars: int) -> list[str]:
    if len(paragraph) <= max_chars:
        return [paragraph]
    pieces: list[str] = []
    current = ""
    for sentence in _SENTENCE_END.split(paragraph):
        if len(current) + len(sentence) <= max_chars:
            current += sentence
            continue
        if current.strip():
            pieces.append(current.strip())
        current = ""
        if len(sentence.strip()) > max_chars:
            *whole, current = _hard_split(sentence, max_chars)
            pieces.extend(whole)
        else:
            current = sentence
    if current.strip():
        pieces.append(current.strip())
    return pieces


def chunk_text(content: str, *, max_chars: int = CHUNK_CHARS) -> list[str]:
    """Split content into passages of about `max_chars`: at headings, then paragraphs, then
    sentences. A heading starts a passage and stays with the text under it, so a passage read
    alone still says what it is about."""
    chunks: list[str] = []
    parts: list[str] = []
    has_body = False

    def flush() -> None:
        nonlocal has_body
        if parts:
            chunks.append("\n\n".join(parts))
        parts.clear()
        has_body = False

    for is_heading, block in _blocks(content):
        if is_heading:
            if has_body:
                flush()
            parts.append(block)
            continue
        for piece in _fit(block, max_chars):
            # A heading may push its first passage a little over the limit rather than be
            # left alone in a passage of its own.
            if has_body and len("\n\n".join(parts)) + 2 + len(piece) > max_chars:
                flush()
            parts.append(piece)
            has_body = True
    flush()
    return chunks


def _chunks(
    tenant_id: uuid.UUID, item_id: uuid.UUID, title: str, content: str, language: str
) -> list[KnowledgeChunk]:
    """The item's passages, each analysed in its own language; `language` is for passages whose
    own (and whose item's) is unclear."""
    passages = chunk_text(content)
    return [
        KnowledgeChunk(
            tenant_id=tenant_id,
            item_id=item_id,
            ordinal=ordinal,
            text=passage,
            search_text=tokens,
            language=language,
            analyzer=search.ANALYZER_VERSION,
        )
        for ordinal, (passage, (language, tokens)) in enumerate(
            zip(passages, lexical.analyse(title, passages, content, language), strict=True)
        )
    ]


# ---- items ---------------------------------------------------------------------------------


def _add(
    session: AsyncSession, tenant_id: uuid.UUID, new: NewItem, language: str
) -> tuple[KnowledgeItem, int]:
    # The id is set here, not at flush, so the chunks can point at it without a flush per item.
    item = KnowledgeItem(
        id=uuid.uuid4(),
        tenant_id=tenant_id,
        title=new.title,
        content=new.content,
        tags=new.tags,
        source_url=new.source_url,
    )
    chunks = _chunks(tenant_id, item.id, new.title, new.content, language)
    session.add(item)
    session.add_all(chunks)
    return item, len(chunks)


async def create_item(
    *,
    session: AsyncSession,
    settings: Settings,
    tenant_id: uuid.UUID,
    actor: Actor,
    title: str,
    content: str,
    tags: Sequence[str] = (),
    source_url: str | None = None,
) -> KnowledgeItem:
    new = _new_item(title=title, content=content, tags=tags, source_url=source_url)
    language = await lexical.fallback_language(
        session=session, tenant_id=tenant_id, texts=[f"{new.title}\n{new.content}"]
    )
    item, chunks = _add(session, tenant_id, new, language)
    await session.flush()
    await vectors.after_change(
        session=session, settings=settings, tenant_id=tenant_id, item_ids=[item.id]
    )
    await audit.record(
        session,
        tenant_id,
        actor,
        "knowledge.created",
        target=("knowledge_item", item.id),
        data={"title": item.title, "chunks": chunks},
    )
    return item


async def get_item(
    *, session: AsyncSession, tenant_id: uuid.UUID, item_id: uuid.UUID
) -> KnowledgeItem:
    # Filtering by tenant makes another tenant's item indistinguishable from a missing one.
    item = await session.scalar(
        select(KnowledgeItem).where(
            KnowledgeItem.id == item_id, KnowledgeItem.tenant_id == tenant_id
        )
    )
    if item is None:
        raise NotFound(f"no knowledge item {item_id}")
    return item


def _dialect(session: AsyncSession) -> str:
    return session.get_bind().dialect.name


def _has_tag(dialect: str, tag: str) -> ColumnElement[bool]:
    if dialect == "sqlite":
        each = func.json_each(KnowledgeItem.tags).table_valued("value")
        return select(each.c.value).where(each.c.value == tag).exists()
    # The column is JSON, which has no containment operator; JSONB does.
    return cast(KnowledgeItem.tags, JSONB).contains([tag])


def _position(cursor: Cursor) -> tuple[datetime, uuid.UUID]:
    at, last_id = cursor.as_datetime("at"), cursor.as_uuid("id")
    if at.tzinfo is None:
        raise ValidationFailed("cursor: not a cursor this API returned")
    return at, last_id


async def list_items(
    *,
    session: AsyncSession,
    tenant_id: uuid.UUID,
    limit: int,
    cursor: Cursor | None,
    q: str | None = None,
    tag: str | None = None,
) -> Page[KnowledgeItem]:
    """Newest first; `q` matches part of the title (case-insensitively), `tag` one exact tag."""
    query = select(KnowledgeItem).where(KnowledgeItem.tenant_id == tenant_id)
    if q and q.strip():
        query = query.where(
            func.lower(KnowledgeItem.title).contains(q.strip().lower(), autoescape=True)
        )
    if tag:
        query = query.where(_has_tag(_dialect(session), tag))
    if cursor is not None:
        at, last_id = _position(cursor)
        query = query.where(
            or_(
                KnowledgeItem.created_at < at,
                and_(KnowledgeItem.created_at == at, KnowledgeItem.id < last_id),
            )
        )
    query = query.order_by(KnowledgeItem.created_at.desc(), KnowledgeItem.id.desc())
    rows = list((await session.execute(query.limit(limit + 1))).scalars())
    return Page.of(
        rows, limit=limit, cursor_for=lambda i: {"at": i.created_at.isoformat(), "id": str(i.id)}
    )


async def _rechunk(session: AsyncSession, item: KnowledgeItem) -> int:
    await session.execute(
        delete(KnowledgeChunk).where(
            KnowledgeChunk.item_id == item.id, KnowledgeChunk.tenant_id == item.tenant_id
        )
    )
    language = await lexical.fallback_language(
        session=session, tenant_id=item.tenant_id, texts=[f"{item.title}\n{item.content}"]
    )
    chunks = _chunks(item.tenant_id, item.id, item.title, item.content, language)
    session.add_all(chunks)
    return len(chunks)


async def update_item(
    *,
    session: AsyncSession,
    settings: Settings,
    tenant_id: uuid.UUID,
    actor: Actor,
    item_id: uuid.UUID,
    title: str | None = None,
    content: str | None = None,
    tags: Sequence[str] | None = None,
    source_url: str | Literal[_Keep.KEEP] | None = KEEP,
) -> KnowledgeItem:
    """None leaves a field as it is; for `source_url`, KEEP does, and None clears it."""
    item = await get_item(session=session, tenant_id=tenant_id, item_id=item_id)
    changes: dict[str, object] = {}
    if title is not None:
        title = _field("title", check_title, title)
        if title != item.title:
            changes["title"] = [item.title, title]
            item.title = title
    if content is not None:
        content = _field("content", check_content, content)
        if content != item.content:
            # Only the size: the audit log is no place for a second copy of the content.
            changes["content"] = {"chars": [len(item.content), len(content)]}
            item.content = content
    if tags is not None:
        new_tags = _field("tags", check_tags, tags)
        if new_tags != item.tags:
            changes["tags"] = [item.tags, new_tags]
            item.tags = new_tags
    if source_url is not KEEP:
        url = _field("source_url", check_source_url, source_url)
        if url != item.source_url:
            changes["source_url"] = [item.source_url, url]
            item.source_url = url
    if not changes:
        return item
    if "title" in changes or "content" in changes:
        changes["chunks"] = await _rechunk(session, item)
    await session.flush()
    if "chunks" in changes:
        await vectors.after_change(
            session=session, settings=settings, tenant_id=tenant_id, item_ids=[item.id]
        )
    await audit.record(
        session,
        tenant_id,
        actor,
        "knowledge.updated",
        target=("knowledge_item", item.id),
        data=changes,
    )
    return item


async def delete_item(
    *,
    session: AsyncSession,
    settings: Settings,
    tenant_id: uuid.UUID,
    actor: Actor,
    item_id: uuid.UUID,
) -> None:
    item = await get_item(session=session, tenant_id=tenant_id, item_id=item_id)
    await audit.record(
        session,
        tenant_id,
        actor,
        "knowledge.deleted",
        target=("knowledge_item", item.id),
        data={"title": item.title},
    )
    # Deleted explicitly rather than left to ON DELETE CASCADE, so the search index triggers
    # see each chunk go on every database.
    await session.execute(
        delete(KnowledgeChunk).where(
            KnowledgeChunk.item_id == item.id, KnowledgeChunk.tenant_id == tenant_id
        )
    )
    await session.delete(item)
    await session.flush()
    # The vectors went with the chunks (ON DELETE CASCADE); the version tells the caches.
    await vectors.after_change(session=session, settings=settings, tenant_id=tenant_id)


# ---- import --------------------------------------------------------------------------------


def _basename(filename: str) -> str:
    # Some browsers send the path the file had on the visitor's machine.
    return unicodedata.normalize("NFC", re.split(r"[/\\]", filename)[-1].strip())


def _file_title(filename: str) -> str:
    stem = filename.rsplit(".", 1)[0]
    return re.sub(r"[_\s-]+", " ", stem).strip()[:MAX_TITLE].strip() or "Untitled"


def _parse_text(filename: str, content: str) -> list[NewItem]:
    return [_new_item(title=_file_title(filename), content=content, tags=(), source_url=None)]


def _parse_markdown(filename: str, content: str) -> list[NewItem]:
    lines = content.split("\n")
    for number, line in enumerate(lines):
        heading = re.match(r"^ {0,3}#[ \t]+(.+?)(?:[ \t]+#+)?[ \t]*$", line)
        if heading:
            # The title lives on the item; leaving it in the body too would repeat it in the
            # first passage.
            body = "\n".join(lines[:number] + lines[number + 1 :])
            title = heading.group(1)
            break
    else:
        body, title = content, _file_title(filename)
    return [_new_item(title=title, content=body, tags=(), source_url=None)]


def _parse_csv(content: str) -> list[NewItem]:
    first_line = content.split("\n", 1)[0]
    # Spreadsheets in many European locales save CSV with semicolons.
    delimiter = ";" if "," not in first_line and ";" in first_line else ","
    try:
        rows = list(csv.reader(io.StringIO(content, newline=""), delimiter=delimiter, strict=True))
    except csv.Error as exc:
        raise ValidationFailed(f"file: not valid CSV ({exc})") from None
    numbered = [(n, row) for n, row in enumerate(rows, start=1) if any(c.strip() for c in row)]
    if numbered and [c.strip().lower() for c in numbered[0][1]] == ["question", "answer"]:
        numbered = numbered[1:]
    if not numbered:
        raise ValidationFailed("file: the CSV has no rows of question,answer")
    items: list[NewItem] = []
    for number, row in numbered:
        if len(row) != 2:
            raise ValidationFailed(
                f"file: row {number} has {len(row)} columns; expected 2 (question, answer)"
            )
        items.append(
            _new_item(
                title=row[0], content=row[1], tags=(), source_url=None, where=f"row {number}: "
            )
        )
    return items


def _string(value: Any, where: str, *, optional: bool = False) -> str | None:
    if value is None and optional:
        return None
    if not isinstance(value, str):
        raise ValidationFailed(f"{where}: must be a string")
    return value


def _parse_json(content: str) -> list[NewItem]:
    try:
        data = json.loads(content)
    except json.JSONDecodeError as exc:
        raise ValidationFailed(f"file: not valid JSON ({exc})") from None
    if isinstance(data, dict) and "items" in data:
        data = data["items"]
    if not isinstance(data, list):
        raise ValidationFailed(
            'file: expected a JSON list of {"title", "content"} objects, or {"items": [...]}'
        )
    if not data:
        raise ValidationFailed("file: the JSON list of items is empty")
    items: list[NewItem] = []
    for index, entry in enumerate(data):
        where = f"items[{index}]"
        if not isinstance(entry, dict):
            raise ValidationFailed(f"{where}: must be an object with title and content")
        tags = entry.get("tags") or []
        if not isinstance(tags, list) or not all(isinstance(tag, str) for tag in tags):
            raise ValidationFailed(f"{where}.tags: must be a list of strings")
        items.append(
            _new_item(
                title=_string(entry.get("title"), f"{where}.title") or "",
                content=_string(entry.get("content"), f"{where}.content") or "",
                tags=tags,
                source_url=_string(entry.get("source_url"), f"{where}.source_url", optional=True),
                where=f"{where}.",
            )
        )
    return items


def parse_import(filename: str, data: bytes) -> list[NewItem]:
    """Read an uploaded file into validated items; any problem refuses the whole file."""
    filename = _basename(filename)
    extension = "." + filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if extension not in IMPORT_TYPES:
        raise ValidationFailed(
            f"file: {filename or 'the file'} is not a supported type; use {', '.join(IMPORT_TYPES)}"
        )
    if len(data) > MAX_IMPORT_BYTES:
        raise ValidationFailed(f"file: larger than {MAX_IMPORT_BYTES // (1024 * 1024)} MB")
    try:
        content = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValidationFailed(
            f"file: not valid UTF-8 text (byte {exc.start}); save it as UTF-8"
        ) from None
    content = content.replace("\r\n", "\n").replace("\r", "\n")
    if not content.strip():
        raise ValidationFailed("file: is empty")
    if "\x00" in content:
        raise ValidationFailed("file: contains NUL characters; is it a text file?")
    parse: dict[str, Callable[[], list[NewItem]]] = {
        ".md": lambda: _parse_markdown(filename, content),
        ".txt": lambda: _parse_text(filename, content),
        ".csv": lambda: _parse_csv(content),
        ".json": lambda: _parse_json(content),
    }
    items = parse[extension]()
    if len(items) > MAX_IMPORT_ITEMS:
        raise ValidationFailed(
            f"file: {len(items)} items; at most {MAX_IMPORT_ITEMS} per import, split the file"
        )
    return items


async def import_file(
    *,
    session: AsyncSession,
    settings: Settings,
    tenant_id: uuid.UUID,
    actor: Actor,
    filename: str,
    data: bytes,
) -> list[KnowledgeItem]:
    new_items = parse_import(filename, data)
    language = await lexical.fallback_language(
        session=session, tenant_id=tenant_id, texts=[f"{n.title}\n{n.content}" for n in new_items]
    )
    added = [_add(session, tenant_id, new, language) for new in new_items]
    await session.flush()
    await lexical.after_bulk_change(session=session, chunks=sum(chunks for _, chunks in added))
    await vectors.after_change(
        session=session, settings=settings, tenant_id=tenant_id, item_ids=[i.id for i, _ in added]
    )
    await audit.record(
        session,
        tenant_id,
        actor,
        "knowledge.imported",
        data={
            "filename": _basename(filename)[-200:],
            "items": len(added),
            "chunks": sum(chunks for _, chunks in added),
        },
    )
    return [item for item, _ in added]


# ---- retrieval -----------------------------------------------------------------------------


async def retrieve(
    *,
    session: AsyncSession,
    tenant_id: uuid.UUID,
    query: str,
    limit: int = 5,
    language: str | None = None,
    settings: Settings | None = None,
    query_vector: vectors.QueryVector | None = None,
) -> list[Passage]:
    """The tenant's passages that best answer `query`, best first.

    Full-text candidates (knowledge/lexical.py, IDF-weighted coverage) and, when the question
    was embedded (`query_vector`, or `settings` to embed it here), the passages nearest in
    meaning are pooled; each gets both kinds of evidence and their fused score
    (text/grounding.py). `language` is the question's, when known."""
    if limit < 1 or not query.strip():
        return []
    if query_vector is None and settings is not None:
        query_vector = await vectors.embed_query(settings=settings, query=query)
    pool = max(limit, CANDIDATES)
    hits = await lexical.lexical_candidates(
        session=session, tenant_id=tenant_id, query=query, language=language, limit=pool
    )
    similarity: dict[int, float] = {}
    relative: dict[int, float | None] = {}
    if query_vector is not None and settings is not None:
        dense = await vectors.dense_candidates(
            session=session,
            settings=settings,
            tenant_id=tenant_id,
            query=query_vector,
            limit=DENSE_POOL,
        )
        similarity = {hit.chunk_id: hit.similarity for hit in dense}
        relative = {hit.chunk_id: hit.relative for hit in dense}
    lexical_hits = {hit.chunk_id: hit for hit in hits}
    # A passage the nearest-in-meaning list did not reach is at most as similar as its last.
    floor = min(similarity.values()) if similarity else None
    measured = [r for r in relative.values() if r is not None]
    relative_floor = min(measured) if measured else None
    ids = list(dict.fromkeys([*lexical_hits, *list(similarity)[:pool]]))
    if not ids:
        return []
    model = query_vector.model if query_vector is not None and similarity else ""
    rows = await session.execute(
        select(
            KnowledgeChunk.id,
            KnowledgeChunk.item_id,
            KnowledgeChunk.text,
            KnowledgeChunk.language,
            KnowledgeItem.title,
            KnowledgeItem.source_url,
            KnowledgeVector.units,
            KnowledgeVector.dim,
        )
        .join(KnowledgeItem, KnowledgeItem.id == KnowledgeChunk.item_id)
        .outerjoin(
            KnowledgeVector,
            (KnowledgeVector.chunk_id == KnowledgeChunk.id) & (KnowledgeVector.model == model),
        )
        # The candidates are already this tenant's; filtering again costs nothing and keeps
        # isolation from resting on one query.
        .where(
            KnowledgeChunk.id.in_(ids),
            KnowledgeChunk.tenant_id == tenant_id,
            KnowledgeItem.tenant_id == tenant_id,
        )
    )
    found = {row[0]: row for row in rows}
    passages: list[Passage] = []
    for chunk_id in ids:
        row = found.get(chunk_id)
        if row is None:
            continue
        hit = lexical_hits.get(chunk_id)
        coverage = hit.coverage if hit is not None else 0.0
        near = similarity.get(chunk_id, floor)
        passages.append(
            Passage(
                chunk_id=chunk_id,
                item_id=row.item_id,
                title=row.title,
                text=row.text,
                score=grounding.fused_score(coverage, near),
                source_url=row.source_url,
                language=hit.language if hit is not None else row.language,
                coverage=coverage,
                similarity=near,
                relative=relative.get(chunk_id, relative_floor),
                unit_similarities=(
                    vectors.unit_similarities(row.units, row.dim, query_vector)
                    if query_vector is not None and row.units is not None
                    else ()
                ),
            )
        )
    # Ties keep the pooled order (full-text rank first), so results are deterministic.
    order = {p.chunk_id: i for i, p in enumerate(passages)}
    passages.sort(key=lambda p: (-p.score, order[p.chunk_id]))
    return passages[:limit]
