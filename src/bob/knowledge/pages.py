"""Customer Portal: what Bob knows. The list (title filter, pages), add, edit, delete and file
import. Its "What would Bob answer?" box posts to the preview (chat/pages.py), which runs the
chat pipeline this package sits below.

The pages call the same services as /api/knowledge with the same permission (knowledge.manage).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, File, Form, Query, UploadFile
from fastapi.responses import Response

from bob.auth.permissions import Permission
from bob.deps import SessionDep
from bob.engines import service as engines
from bob.errors import BobError
from bob.knowledge import service as knowledge
from bob.knowledge import vectors
from bob.knowledge.models import KnowledgeItem
from bob.pagination import Cursor
from bob.web.page import Page, PortalPage, attempt

router = APIRouter(include_in_schema=False)
Manager = Annotated[Page, PortalPage(Permission.KNOWLEDGE_MANAGE)]
HOME = "/portal/knowledge"
PAGE_SIZE = 25
# Form bounds only cap what a request may carry; the service's own limits give the messages.
TEXT_LIMIT = 2 * knowledge.MAX_CONTENT


@dataclass
class ItemForm:
    title: str = ""
    content: str = ""
    tags: str = ""
    source_url: str = ""

    @classmethod
    def of(cls, item: KnowledgeItem) -> ItemForm:
        return cls(item.title, item.content, ", ".join(item.tags), item.source_url or "")

    def tag_list(self) -> list[str]:
        return [tag.strip() for tag in self.tags.split(",") if tag.strip()]


async def engine_name(page: Page, session: SessionDep) -> str:
    """The engine replies use now, so a preview can say what it costs."""
    engine = await engines.engine_for(
        session=session, settings=page.settings, tenant_id=page.principal_required.tenant_id
    )
    return engine.name


# ---- list -------------------------------------------------------------------------------


@router.get("/portal/knowledge")
async def knowledge_page(
    page: Manager,
    session: SessionDep,
    q: Annotated[str | None, Query(max_length=300)] = None,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> Response:
    result = await knowledge.list_items(
        session=session,
        tenant_id=page.principal_required.tenant_id,
        limit=PAGE_SIZE,
        cursor=Cursor.decode(cursor) if cursor else None,
        q=q or None,
    )
    return page.render(
        "portal/knowledge.html",
        items=result.items,
        next_cursor=result.next_cursor,
        q=q or "",
        engine=await engine_name(page, session),
        import_types=knowledge.IMPORT_TYPES,
        indexing=await indexing(page, session),
    )


async def indexing(page: Page, session: SessionDep) -> vectors.IndexingStatus:
    return await vectors.indexing_status(
        session=session, settings=page.settings, tenant_id=page.principal_required.tenant_id
    )


@router.get("/portal/knowledge/indexing")
async def indexing_panel(page: Manager, session: SessionDep) -> Response:
    """The indexing progress alone, for the page's script to swap in."""
    return page.render("portal/_indexing.html", indexing=await indexing(page, session))


# ---- add, edit, delete --------------------------------------------------------------------


def _item_page(
    page: Page,
    form: ItemForm,
    *,
    item: KnowledgeItem | None = None,
    status: int = 200,
    error: str | None = None,
) -> Response:
    return page.render(
        "portal/knowledge_item.html",
        status=status,
        item=item,
        form=form,
        error=error,
        max_title=knowledge.MAX_TITLE,
        max_content=knowledge.MAX_CONTENT,
    )


@router.get("/portal/knowledge/new")
async def new_item_page(page: Manager) -> Response:
    return _item_page(page, ItemForm())


@router.post("/portal/knowledge")
async def add_item(
    page: Manager,
    session: SessionDep,
    title: Annotated[str, Form(max_length=TEXT_LIMIT)] = "",
    content: Annotated[str, Form(max_length=TEXT_LIMIT)] = "",
    tags: Annotated[str, Form(max_length=TEXT_LIMIT)] = "",
    source_url: Annotated[str, Form(max_length=TEXT_LIMIT)] = "",
) -> Response:
    form = ItemForm(title, content, tags, source_url)
    principal = page.principal_required
    result = await attempt(
        session,
        knowledge.create_item(
            session=session,
            settings=page.settings,
            tenant_id=principal.tenant_id,
            actor=principal.actor,
            title=form.title,
            content=form.content,
            tags=form.tag_list(),
            source_url=form.source_url or None,
        ),
    )
    if isinstance(result, BobError):
        return _item_page(page, form, status=result.status_code, error=result.message)
    return page.redirect(HOME, notice=page.t("Added “{title}”.", title=result.title))


@router.get("/portal/knowledge/import")
async def import_page(page: Manager) -> Response:
    return page.render(
        "portal/knowledge_import.html", import_types=knowledge.IMPORT_TYPES, error=None
    )


@router.post("/portal/knowledge/import")
async def import_file(
    page: Manager,
    session: SessionDep,
    file: Annotated[UploadFile | None, File()] = None,
) -> Response:
    principal = page.principal_required
    data = await file.read(knowledge.MAX_IMPORT_BYTES + 1) if file is not None else b""
    filename = file.filename or "" if file is not None else ""
    result = await attempt(
        session,
        knowledge.import_file(
            session=session,
            settings=page.settings,
            tenant_id=principal.tenant_id,
            actor=principal.actor,
            filename=filename,
            data=data,
        ),
    )
    if isinstance(result, BobError):
        return page.render(
            "portal/knowledge_import.html",
            status=result.status_code,
            import_types=knowledge.IMPORT_TYPES,
            error=result.message,
        )
    return page.redirect(
        HOME,
        notice=page.t("Imported {n} items from {file}.", n=len(result), file=filename),
    )


@router.get("/portal/knowledge/{item_id}")
async def item_page(page: Manager, session: SessionDep, item_id: uuid.UUID) -> Response:
    item = await knowledge.get_item(
        session=session, tenant_id=page.principal_required.tenant_id, item_id=item_id
    )
    return _item_page(page, ItemForm.of(item), item=item)


@router.post("/portal/knowledge/{item_id}")
async def update_item(
    page: Manager,
    session: SessionDep,
    item_id: uuid.UUID,
    title: Annotated[str, Form(max_length=TEXT_LIMIT)] = "",
    content: Annotated[str, Form(max_length=TEXT_LIMIT)] = "",
    tags: Annotated[str, Form(max_length=TEXT_LIMIT)] = "",
    source_url: Annotated[str, Form(max_length=TEXT_LIMIT)] = "",
) -> Response:
    form = ItemForm(title, content, tags, source_url)
    principal = page.principal_required
    # Loaded first so another tenant's id is a 404 page, not a form with an error.
    item = await knowledge.get_item(session=session, tenant_id=principal.tenant_id, item_id=item_id)
    result = await attempt(
        session,
        knowledge.update_item(
            session=session,
            settings=page.settings,
            tenant_id=principal.tenant_id,
            actor=principal.actor,
            item_id=item.id,
            title=form.title,
            content=form.content,
            tags=form.tag_list(),
            source_url=form.source_url or None,
        ),
    )
    if isinstance(result, BobError):
        item = await knowledge.get_item(
            session=session, tenant_id=principal.tenant_id, item_id=item_id
        )
        return _item_page(page, form, item=item, status=result.status_code, error=result.message)
    return page.redirect(HOME, notice=page.t("Saved “{title}”.", title=result.title))


@router.post("/portal/knowledge/{item_id}/delete")
async def delete_item(page: Manager, session: SessionDep, item_id: uuid.UUID) -> Response:
    principal = page.principal_required
    item = await knowledge.get_item(session=session, tenant_id=principal.tenant_id, item_id=item_id)
    title = item.title
    await knowledge.delete_item(
        session=session,
        settings=page.settings,
        tenant_id=principal.tenant_id,
        actor=principal.actor,
        item_id=item.id,
    )
    return page.redirect(HOME, notice=page.t("Deleted “{title}”.", title=title))
