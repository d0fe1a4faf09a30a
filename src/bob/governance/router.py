from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from bob.auth.deps import Principal, Require
from bob.auth.permissions import Permission
from bob.deps import SessionDep
from bob.governance import service as audit
from bob.governance.schemas import AuditEntryRead, AuditPage
from bob.pagination import PageDep

router = APIRouter(tags=["audit"])


@router.get("/api/audit", summary="The caller's tenant audit log, newest first")
async def list_audit(
    principal: Annotated[Principal, Require(Permission.AUDIT_READ)],
    session: SessionDep,
    page: PageDep,
    action: Annotated[str | None, Query(max_length=64)] = None,
) -> AuditPage:
    result = await audit.list_entries(
        session=session,
        tenant_id=principal.tenant_id,
        limit=page.limit,
        cursor=page.cursor,
        action=action,
    )
    return AuditPage(
        items=[AuditEntryRead.model_validate(e) for e in result.items],
        next_cursor=result.next_cursor,
    )
