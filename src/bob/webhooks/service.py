"""The outbox: events are written in the same transaction as the change that caused them."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bob.db.types import utcnow
from bob.tenants.models import Tenant
from bob.webhooks.models import Event


async def emit(*, session: AsyncSession, tenant: Tenant, type: str, data: dict[str, Any]) -> Event:
    """Record `type` for delivery after commit. A rolled-back change takes its events with it."""
    now = utcnow()
    payload = {
        "type": type,
        "timestamp": now.isoformat(),
        "data": {"tenant_id": str(tenant.id), "business_id": tenant.business_id, **data},
    }
    event = Event(tenant_id=tenant.id, type=type, payload=payload, created_at=now)
    session.add(event)
    await session.flush()
    return event
