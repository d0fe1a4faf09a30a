"""Customer Portal: the audit log, newest first, a page at a time."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response

from bob import audit
from bob.auth.permissions import Permission
from bob.deps import SessionDep
from bob.pagination import Cursor
from bob.web.page import Page, PortalPage

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50


@router.get("/portal/audit")
async def audit_log(
    page: Annotated[Page, PortalPage(Permission.AUDIT_READ)],
    session: SessionDep,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
    action: Annotated[str | None, Query(max_length=64)] = None,
) -> Response:
    result = await audit.list_entries(
        session=session,
        tenant_id=page.principal_required.tenant_id,
        limit=PAGE_SIZE,
        cursor=Cursor.decode(cursor) if cursor else None,
        action=action or None,
    )
    return page.render(
        "portal/audit.html",
        # Readable details: Jinja's tojson escapes every non-ASCII letter (a Japanese title).
        entries=[
            (e, json.dumps(e.data, ensure_ascii=False) if e.data else "") for e in result.items
        ],
        next_cursor=result.next_cursor,
        action=action,
    )
