"""The tenant itself, below every domain that belongs to one: its business id, finding it,
listing tenants, suspending and resuming it. Creating one, its plan and its team are
accounts/service.py's (creation provisions the domains that stand on this one)."""

from __future__ import annotations

import re
import secrets
import unicodedata
import uuid

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bob import audit
from bob.audit import Actor
from bob.db.types import utcnow
from bob.errors import Conflict, NotFound, ValidationFailed
from bob.pagination import Cursor, Page, like_pattern
from bob.settings import Settings
from bob.tenants.models import Tenant, TenantStatus

BUSINESS_ID = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")


def slugify(name: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")[:50].strip("-")
    # Names in scripts without a Latin transliteration (Japanese, say) still get a usable id.
    return slug or f"business-{secrets.token_hex(3)}"


def check_business_id(value: str) -> str:
    if not BUSINESS_ID.match(value):
        raise ValidationFailed(
            "business_id: use 1 to 63 lowercase letters, digits and '-', "
            "starting and ending with a letter or digit"
        )
    return value


# ---- tenants ------------------------------------------------------------------------------


async def get_tenant(*, session: AsyncSession, tenant_id: uuid.UUID) -> Tenant:
    tenant = await session.get(Tenant, tenant_id)
    if tenant is None:
        raise NotFound(f"no tenant {tenant_id}")
    return tenant


async def get_tenant_by_business_id(*, session: AsyncSession, business_id: str) -> Tenant:
    tenant = await session.scalar(select(Tenant).where(Tenant.business_id == business_id))
    if tenant is None:
        raise NotFound(f"no business {business_id!r}")
    return tenant


async def list_tenants(
    *,
    session: AsyncSession,
    limit: int,
    cursor: Cursor | None,
    status: str | None = None,
    q: str | None = None,
) -> Page[Tenant]:
    query = select(Tenant)
    if status:
        query = query.where(Tenant.status == status)
    if q:
        pattern = like_pattern(q)
        query = query.where(
            or_(
                func.lower(Tenant.name).like(pattern, escape="\\"),
                Tenant.business_id.like(pattern, escape="\\"),
            )
        )
    if cursor is not None:
        query = query.where(Tenant.business_id > cursor.as_str("business_id"))
    rows = list(
        (await session.execute(query.order_by(Tenant.business_id).limit(limit + 1))).scalars()
    )
    return Page.of(rows, limit=limit, cursor_for=lambda t: {"business_id": t.business_id})


async def set_status(
    *,
    session: AsyncSession,
    settings: Settings,
    actor: Actor,
    tenant_id: uuid.UUID,
    status: TenantStatus,
) -> Tenant:
    tenant = await get_tenant(session=session, tenant_id=tenant_id)
    if tenant.business_id == settings.platform_business_id and status is TenantStatus.SUSPENDED:
        raise Conflict("the platform tenant cannot be suspended")
    if tenant.status == status:
        return tenant
    tenant.status = status
    tenant.suspended_at = utcnow() if status is TenantStatus.SUSPENDED else None
    await session.flush()
    action = "tenant.suspended" if status is TenantStatus.SUSPENDED else "tenant.resumed"
    await audit.record(session, tenant.id, actor, action, target=("tenant", tenant.id))
    return tenant
