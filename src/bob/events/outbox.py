"""The outbox: events are written in the same transaction as the change that caused them,
together with one delivery row per endpoint that wants them."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Collection
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bob.db import wakeups
from bob.db.session import Database
from bob.db.types import utcnow
from bob.events import catalogue
from bob.events.models import DeliveryStatus, Event, WebhookDelivery, WebhookEndpoint
from bob.tenants.models import Tenant


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


# ---- reading the events back, for the live pages (web/live.py) -------------------------------

LIVE_BATCH = 200


async def events_since(
    db: Database,
    *,
    tenant_id: uuid.UUID | None,
    types: Collection[str] | None,
    since: datetime,
    after: tuple[datetime, uuid.UUID] | None = None,
) -> list[Event]:
    """Up to LIVE_BATCH events from `since` on, oldest first; `after` (the last one's created_at and
    id) continues where a full batch stopped."""
    query = select(Event).where(Event.created_at >= since)
    if after is not None:
        at, last_id = after
        query = query.where(
            or_(Event.created_at > at, and_(Event.created_at == at, Event.id > last_id))
        )
    if tenant_id is not None:
        query = query.where(Event.tenant_id == tenant_id)
    if types:
        query = query.where(Event.type.in_(list(types)))
    async with db.transaction() as session:
        rows = await session.scalars(query.order_by(Event.created_at, Event.id).limit(LIVE_BATCH))
        return list(rows)


async def events_from(
    db: Database,
    *,
    tenant_id: uuid.UUID | None,
    types: Collection[str] | None,
    since: datetime,
) -> list[Event]:
    """Every event from `since` on, a batch at a time: when more than a batch falls inside the
    look-back, reading only the first one would return the same, already sent, rows forever."""
    rows: list[Event] = []
    after: tuple[datetime, uuid.UUID] | None = None
    while True:
        batch = await events_since(db, tenant_id=tenant_id, types=types, since=since, after=after)
        rows.extend(batch)
        if len(batch) < LIVE_BATCH:
            return rows
        after = (batch[-1].created_at, batch[-1].id)


def reader(
    db: Database, *, tenant_id: uuid.UUID | None, types: Collection[str] | None = None
) -> Callable[[datetime], Awaitable[list[Event]]]:
    """What a live page follows: the events of `tenant_id` (None: every tenant, for Mission
    Control), of `types` when given, from a time on."""

    async def read(since: datetime) -> list[Event]:
        return await events_from(db, tenant_id=tenant_id, types=types, since=since)

    return read
