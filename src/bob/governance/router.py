from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy.ext.asyncio import AsyncSession

from bob import audit
from bob.auth.deps import Principal, Require
from bob.auth.permissions import Permission
from bob.deps import SessionDep
from bob.governance.schemas import AuditEntryRead, AuditPage
from bob.pagination import PageDep, PageParams
from bob.tenants import service as tenants

router = APIRouter(tags=["audit"])
ActionFilter = Annotated[str | None, Query(max_length=64)]


async def _page(
    session: AsyncSession, tenant_id: uuid.UUID, page: PageParams, action: str | None
) -> AuditPage:
    result = await audit.list_entries(
        session=session, tenant_id=tenant_id, limit=page.limit, cursor=page.cursor, action=action
    )
    return AuditPage(
        items=[AuditEntryRead.model_validate(e) for e in result.items],
        next_cursor=result.next_cursor,
    )


@router.get("/api/audit", summary="The caller's tenant audit log, newest first")
async def list_audit(
    principal: Annotated[Principal, Require(Permission.AUDIT_READ)],
    session: SessionDep,
    page: PageDep,
    action: ActionFilter = None,
) -> AuditPage:
    return await _page(session, principal.tenant_id, page, action)


@router.get("/api/admin/tenants/{tenant_id}/audit", tags=["admin"])
async def admin_tenant_audit(
    tenant_id: uuid.UUID,
    _: Annotated[Principal, Require(Permission.PLATFORM_READ)],
    session: SessionDep,
    page: PageDep,
    action: ActionFilter = None,
) -> AuditPage:
    await tenants.get_tenant(session=session, tenant_id=tenant_id)  # 404 for an unknown tenant
    return await _page(session, tenant_id, page, action)
