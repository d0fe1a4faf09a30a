"""The outbox: events are written in the same transaction as the change that caused them,
together with one delivery row per endpoint that wants them."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bob.db import wakeups
from bob.db.types import utcnow
from bob.tenants.models import Tenant
from bob.webhooks import catalogue
from bob.webhooks.models import DeliveryStatus, Event, WebhookDelivery, WebhookEndpoint


async def emit(
    *,
    session: AsyncSession,
    tenant: Tenant,
    type: str,
    data: dict[str, Any],
    only_endpoint: WebhookEndpoint | None = None,
) -> Event:
    """Record `type` for delivery after commit. A rolled-back change takes its events with it.

    Deliveries go to the tenant's enabled endpoints whose filter matches, or to `only_endpoint`
    (a test event)."""
    if not catalogue.is_known(type):
        raise ValueError(f"{type!r} is not in the webhook event catalogue")
    now = utcnow()
    payload = {
        "type": type,
        "timestamp": now.isoformat(),
        "data": {"tenant_id": str(tenant.id), "business_id": tenant.business_id, **data},
    }
    event = Event(id=uuid.uuid4(), tenant_id=tenant.id, type=type, payload=payload, created_at=now)
    session.add(event)
    if only_endpoint is not None:
        targets = [only_endpoint]
    else:
        endpoints = await session.scalars(
            select(WebhookEndpoint).where(
                WebhookEndpoint.tenant_id == tenant.id, WebhookEndpoint.enabled.is_(True)
            )
        )
        targets = [e for e in endpoints if catalogue.matches(e.event_types, type)]
    for endpoint in targets:
        session.add(
            WebhookDelivery(
                tenant_id=tenant.id,
                endpoint_id=endpoint.id,
                event_id=event.id,
                event_type=type,
                next_attempt_at=now,
                created_at=now,
                updated_at=now,
            )
        )
    await session.flush()
    if targets:
        await wakeups.announce(session)
    return event


async def count_endpoints(session: AsyncSession, tenant_id: uuid.UUID) -> int:
    """Endpoints are integrations: billing counts them against the plan's limit."""
    return int(
        await session.scalar(
            select(func.count())
            .select_from(WebhookEndpoint)
            .where(WebhookEndpoint.tenant_id == tenant_id)
        )
        or 0
    )


async def queue_lag(session: AsyncSession) -> tuple[int, float]:
    """Deliveries due now and how long the oldest has waited (seconds): the worker's lag."""
    now = utcnow()
    count, oldest = (
        await session.execute(
            select(func.count(), func.min(WebhookDelivery.next_attempt_at)).where(
                WebhookDelivery.status == DeliveryStatus.PENDING,
                WebhookDelivery.next_attempt_at <= now,
            )
        )
    ).one()
    if not count or oldest is None:
        return 0, 0.0
    return int(count), max(0.0, (now - oldest).total_seconds())
