"""The knowledge API: items, file import and a search that shows what the assistant would find."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, File, Query, Response, UploadFile, status

from bob.auth.deps import Principal, Require
from bob.auth.permissions import Permission
from bob.deps import SessionDep, SettingsDep
from bob.knowledge import service as knowledge
from bob.knowledge import vectors
from bob.knowledge.schemas import (
    KnowledgeImportResult,
    KnowledgeIndexingJob,
    KnowledgeIndexingRead,
    KnowledgeItemCreate,
    KnowledgeItemPage,
    KnowledgeItemRead,
    KnowledgeItemUpdate,
    KnowledgeSearchHit,
    KnowledgeSearchResult,
)
from bob.pagination import PageDep
from bob.text import search

router = APIRouter(tags=["knowledge"])

KnowledgeManager = Annotated[Principal, Require(Permission.KNOWLEDGE_MANAGE)]
KnowledgeReader = Annotated[Principal, Require(Permission.CHAT_READ)]


@router.get("/api/knowledge")
async def list_knowledge(
    principal: KnowledgeReader,
    session: SessionDep,
    page: PageDep,
    q: Annotated[str | None, Query(max_length=300, description="Part of the title")] = None,
    tag: Annotated[str | None, Query(max_length=50)] = None,
) -> KnowledgeItemPage:
    result = await knowledge.list_items(
        session=session,
        tenant_id=principal.tenant_id,
        limit=page.limit,
        cursor=page.cursor,
        q=q,
        tag=tag,
    )
    return KnowledgeItemPage(
        items=[KnowledgeItemRead.model_validate(i) for i in result.items],
        next_cursor=result.next_cursor,
    )


@router.post("/api/knowledge", status_code=status.HTTP_201_CREATED)
async def create_knowledge(
    body: KnowledgeItemCreate,
    principal: KnowledgeManager,
    session: SessionDep,
    settings: SettingsDep,
) -> KnowledgeItemRead:
    item = await knowledge.create_item(
        session=session,
        settings=settings,
        tenant_id=principal.tenant_id,
        actor=principal.actor,
        title=body.title,
        content=body.content,
        tags=body.tags,
        source_url=body.source_url,
    )
    return KnowledgeItemRead.model_validate(item)


@router.post(
    "/api/knowledge/import",
    status_code=status.HTTP_201_CREATED,
    summary="Import .md, .txt, .csv (question,answer) or .json; all items or none",
)
async def import_knowledge(
    file: Annotated[UploadFile, File(description="One .md, .txt, .csv or .json file")],
    principal: KnowledgeManager,
    session: SessionDep,
    settings: SettingsDep,
) -> KnowledgeImportResult:
    # One byte over the limit is enough for the service to refuse it by size.
    data = await file.read(knowledge.MAX_IMPORT_BYTES + 1)
    items = await knowledge.import_file(
        session=session,
        settings=settings,
        tenant_id=principal.tenant_id,
        actor=principal.actor,
        filename=file.filename or "",
        data=data,
    )
    return KnowledgeImportResult(count=len(items), item_ids=[i.id for i in items])


@router.get("/api/knowledge/search", summary="The passages the assistant would use, best first")
async def search_knowledge(
    principal: KnowledgeReader,
    session: SessionDep,
    q: Annotated[str, Query(min_length=1, max_length=1000)],
    limit: Annotated[int, Query(ge=1, le=20)] = 5,
) -> KnowledgeSearchResult:
    passages = await knowledge.retrieve(
        session=session, tenant_id=principal.tenant_id, query=q, limit=limit
    )
    return KnowledgeSearchResult(
        terms=search.query_terms(q),
        hits=[KnowledgeSearchHit.model_validate(p) for p in passages],
    )


@router.get(
    "/api/knowledge/indexing",
    summary="How far search by meaning has indexed the knowledge (passages with a vector)",
)
async def knowledge_indexing(
    principal: KnowledgeReader, session: SessionDep, settings: SettingsDep
) -> KnowledgeIndexingRead:
    found = await vectors.indexing_status(
        session=session, settings=settings, tenant_id=principal.tenant_id
    )
    return KnowledgeIndexingRead(
        state=found.state,
        model=found.model,
        passages=found.passages,
        indexed=found.indexed,
        job=KnowledgeIndexingJob.model_validate(found.job) if found.job else None,
        reason=found.reason,
    )


@router.get("/api/knowledge/{item_id}")
async def get_knowledge(
    item_id: uuid.UUID, principal: KnowledgeReader, session: SessionDep
) -> KnowledgeItemRead:
    item = await knowledge.get_item(session=session, tenant_id=principal.tenant_id, item_id=item_id)
    return KnowledgeItemRead.model_validate(item)


@router.patch("/api/knowledge/{item_id}")
async def update_knowledge(
    item_id: uuid.UUID,
    body: KnowledgeItemUpdate,
    principal: KnowledgeManager,
    session: SessionDep,
    settings: SettingsDep,
) -> KnowledgeItemRead:
    item = await knowledge.update_item(
        session=session,
        settings=settings,
        tenant_id=principal.tenant_id,
        actor=principal.actor,
        item_id=item_id,
        title=body.title,
        content=body.content,
        tags=body.tags,
        source_url=body.source_url if "source_url" in body.model_fields_set else knowledge.KEEP,
    )
    return KnowledgeItemRead.model_validate(item)


@router.delete("/api/knowledge/{item_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_knowledge(
    item_id: uuid.UUID, principal: KnowledgeManager, session: SessionDep, settings: SettingsDep
) -> Response:
    await knowledge.delete_item(
        session=session,
        settings=settings,
        tenant_id=principal.tenant_id,
        actor=principal.actor,
        item_id=item_id,
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)
