"""Webhook endpoints, test events, the delivery log and redelivery: what a tenant manages."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bob import audit
from bob.audit import Actor
from bob.billing import subscriptions
from bob.db import wakeups
from bob.db.types import utcnow
from bob.errors import Conflict, NotFound
from bob.events import catalogue, outbox
from bob.events.models import (
    DeliveryStatus,
    Event,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
from bob.net import guard
from bob.pagination import Cursor, Page
from bob.settings import Settings
from bob.tenants.models import Tenant
from bob.webhooks import signing

ROTATION_OVERLAP = timedelta(hours=24)


async def _checked_url(settings: Settings, url: str) -> str:
    return await guard.check_url(
        url,
        https_only=settings.is_production,
        allow_private=settings.webhook_allow_private_networks,
    )


# ---- endpoints ------------------------------------------------------------------------------


async def list_endpoints(*, session: AsyncSession, tenant_id: uuid.UUID) -> list[WebhookEndpoint]:
    rows = await session.scalars(
        select(WebhookEndpoint)
        .where(WebhookEndpoint.tenant_id == tenant_id)
        .order_by(WebhookEndpoint.created_at, WebhookEndpoint.id)
    )
    return list(rows)


async def get_endpoint(
    *, session: AsyncSession, tenant_id: uuid.UUID, endpoint_id: uuid.UUID
) -> WebhookEndpoint:
    endpoint = await session.scalar(
        select(WebhookEndpoint).where(
            WebhookEndpoint.id == endpoint_id, WebhookEndpoint.tenant_id == tenant_id
        )
    )
    if endpoint is None:
        raise NotFound(f"no webhook endpoint {endpoint_id}")
    return endpoint


async def create_endpoint(
    *,
    session: AsyncSession,
    settings: Settings,
    tenant_id: uuid.UUID,
    actor: Actor,
    url: str,
    event_types: list[str],
    description: str,
    enabled: bool,
) -> tuple[WebhookEndpoint, str]:
    """Returns the endpoint and its signing secret, which is never shown again."""
    checked_url = await _checked_url(settings, url)
    filter_ = catalogue.check_filter(event_types)
    # Under the subscription lock (held until commit): two creations cannot both take the
    # plan's last integration.
    await subscriptions.check_integration_available(session=session, tenant_id=tenant_id)
    secret = signing.new_secret()
    now = utcnow()
    endpoint = WebhookEndpoint(
        tenant_id=tenant_id,
        url=checked_url,
        description=description.strip(),
        event_types=filter_,
        enabled=enabled,
        secret_encrypted=signing.seal(settings, secret),
        disabled_at=None if enabled else now,
        created_at=now,
        updated_at=now,
    )
    session.add(endpoint)
    await session.flush()
    await audit.record(
        session,
        endpoint.tenant_id,
        actor,
        "webhook.endpoint_created",
        target=("webhook_endpoint", endpoint.id),
        data={"url": endpoint.url, "event_types": filter_, "enabled": enabled},
    )
    return endpoint, secret


async def update_endpoint(
    *,
    session: AsyncSession,
    settings: Settings,
    tenant_id: uuid.UUID,
    actor: Actor,
    endpoint_id: uuid.UUID,
    changes: dict[str, Any],
) -> WebhookEndpoint:
    endpoint = await get_endpoint(session=session, tenant_id=tenant_id, endpoint_id=endpoint_id)
    changed: dict[str, object] = {}
    if changes.get("url") is not None:
        url = await _checked_url(settings, changes["url"])
        if url != endpoint.url:
            endpoint.url = changed["url"] = url
    if changes.get("event_types") is not None:
        filter_ = catalogue.check_filter(changes["event_types"])
        if filter_ != endpoint.event_types:
            endpoint.event_types = changed["event_types"] = filter_
    if changes.get("description") is not None:
        description = changes["description"].strip()
        if description != endpoint.description:
            endpoint.description = changed["description"] = description
    enabled = changes.get("enabled")
    if enabled is not None and enabled != endpoint.enabled:
        endpoint.enabled = changed["enabled"] = enabled
        if enabled:
            # A fresh start: the five-day clock and the reason it was switched off are cleared.
            endpoint.failing_since = endpoint.disabled_at = endpoint.disabled_reason = None
            await wakeups.announce(session)  # deliveries waiting for it are due again
        else:
            endpoint.disabled_at = utcnow()
    if changed:
        endpoint.updated_at = utcnow()
        await session.flush()
        await audit.record(
            session,
            endpoint.tenant_id,
            actor,
            "webhook.endpoint_updated",
            target=("webhook_endpoint", endpoint.id),
            data=changed,
        )
    return endpoint


async def delete_endpoint(
    *,
    session: AsyncSession,
    tenant_id: uuid.UUID,
    actor: Actor,
    endpoint_id: uuid.UUID,
) -> None:
    endpoint = await get_endpoint(session=session, tenant_id=tenant_id, endpoint_id=endpoint_id)
    await audit.record(
        session,
        endpoint.tenant_id,
        actor,
        "webhook.endpoint_deleted",
        target=("webhook_endpoint", endpoint.id),
        data={"url": endpoint.url},
    )
    await session.delete(endpoint)
    await session.flush()


async def rotate_secret(
    *,
    session: AsyncSession,
    settings: Settings,
    tenant_id: uuid.UUID,
    actor: Actor,
    endpoint_id: uuid.UUID,
) -> tuple[WebhookEndpoint, str]:
    """A new secret signs from now on; the old one signs too for 24 hours, so a receiver can
    switch without losing a delivery."""
    endpoint = await get_endpoint(session=session, tenant_id=tenant_id, endpoint_id=endpoint_id)
    secret = signing.new_secret()
    now = utcnow()
    endpoint.previous_secret_encrypted = endpoint.secret_encrypted
    endpoint.previous_secret_expires_at = now + ROTATION_OVERLAP
    endpoint.secret_encrypted = signing.seal(settings, secret)
    endpoint.secret_rotated_at = endpoint.updated_at = now
    await session.flush()
    await audit.record(
        session,
        endpoint.tenant_id,
        actor,
        "webhook.secret_rotated",
        target=("webhook_endpoint", endpoint.id),
        data={"previous_valid_until": endpoint.previous_secret_expires_at.isoformat()},
    )
    return endpoint, secret


async def send_test(
    *,
    session: AsyncSession,
    tenant: Tenant,
    actor: Actor,
    endpoint_id: uuid.UUID,
) -> DeliveryView:
    endpoint = await get_endpoint(session=session, tenant_id=tenant.id, endpoint_id=endpoint_id)
    if not endpoint.enabled:
        raise Conflict("this endpoint is disabled; enable it before sending a test event")
    event = await outbox.emit(
        session=session,
        tenant=tenant,
        type="webhook.test",
        data={
            "endpoint": {"id": str(endpoint.id), "url": endpoint.url},
            "message": "A test event from Bob: if you can read this, the endpoint works.",
        },
        only_endpoint=endpoint,
    )
    await audit.record(
        session,
        endpoint.tenant_id,
        actor,
        "webhook.test_sent",
        target=("webhook_endpoint", endpoint.id),
        data={"event_id": str(event.id)},
    )
    delivery = await session.scalar(
        select(WebhookDelivery).where(WebhookDelivery.event_id == event.id)
    )
    assert delivery is not None  # emit() just wrote it
    return DeliveryView(delivery, event, [])


# ---- the delivery log -----------------------------------------------------------------------


@dataclass(frozen=True)
class DeliveryView:
    delivery: WebhookDelivery
    event: Event
    attempts: list[WebhookAttempt]

    @property
    def webhook_id(self) -> str:
        return signing.message_id(self.event.id)


async def _views(
    session: AsyncSession, rows: list[tuple[WebhookDelivery, Event]]
) -> list[DeliveryView]:
    ids = [delivery.id for delivery, _ in rows]
    attempts: dict[uuid.UUID, list[WebhookAttempt]] = {i: [] for i in ids}
    if ids:
        found = await session.scalars(
            select(WebhookAttempt)
            .where(WebhookAttempt.delivery_id.in_(ids))
            .order_by(WebhookAttempt.number)
        )
        for attempt in found:
            attempts[attempt.delivery_id].append(attempt)
    return [DeliveryView(d, e, attempts[d.id]) for d, e in rows]


async def list_deliveries(
    *,
    session: AsyncSession,
    tenant_id: uuid.UUID,
    limit: int,
    cursor: Cursor | None,
    endpoint_id: uuid.UUID | None = None,
    status: DeliveryStatus | None = None,
    event_type: str | None = None,
) -> Page[DeliveryView]:
    """Newest first."""
    query = (
        select(WebhookDelivery, Event)
        .join(Event, Event.id == WebhookDelivery.event_id)
        .where(WebhookDelivery.tenant_id == tenant_id)
    )
    if endpoint_id is not None:
        query = query.where(WebhookDelivery.endpoint_id == endpoint_id)
    if status is not None:
        query = query.where(WebhookDelivery.status == status)
    if event_type:
        query = query.where(WebhookDelivery.event_type == event_type)
    if cursor is not None:
        at, last_id = cursor.as_datetime("at"), cursor.as_uuid("id")
        query = query.where(
            (WebhookDelivery.created_at < at)
            | ((WebhookDelivery.created_at == at) & (WebhookDelivery.id < last_id))
        )
    ordered = query.order_by(WebhookDelivery.created_at.desc(), WebhookDelivery.id.desc())
    rows = [(d, e) for d, e in await session.execute(ordered.limit(limit + 1))]
    page = Page.of(
        rows,
        limit=limit,
        cursor_for=lambda row: {"at": row[0].created_at.isoformat(), "id": str(row[0].id)},
    )
    return Page(await _views(session, page.items), page.next_cursor)


async def get_delivery(
    *, session: AsyncSession, tenant_id: uuid.UUID, delivery_id: uuid.UUID
) -> DeliveryView:
    row = (
        await session.execute(
            select(WebhookDelivery, Event)
            .join(Event, Event.id == WebhookDelivery.event_id)
            .where(WebhookDelivery.id == delivery_id, WebhookDelivery.tenant_id == tenant_id)
        )
    ).first()
    if row is None:
        raise NotFound(f"no webhook delivery {delivery_id}")
    delivery, event = row
    return (await _views(session, [(delivery, event)]))[0]


async def redeliver(
    *,
    session: AsyncSession,
    tenant_id: uuid.UUID,
    actor: Actor,
    delivery_id: uuid.UUID,
) -> DeliveryView:
    """Send it again now, with a fresh retry schedule; same `webhook-id`, so receivers that
    already handled it can tell."""
    view = await get_delivery(session=session, tenant_id=tenant_id, delivery_id=delivery_id)
    delivery = view.delivery
    now = utcnow()
    if delivery.claim_token is not None and (delivery.next_attempt_at or now) > now:
        raise Conflict("this delivery is being sent right now; try again in a moment")
    endpoint = await get_endpoint(
        session=session, tenant_id=tenant_id, endpoint_id=delivery.endpoint_id
    )
    if not endpoint.enabled:
        raise Conflict("the endpoint is disabled; enable it before redelivering")
    delivery.status = DeliveryStatus.PENDING
    delivery.failures_in_run = 0
    delivery.next_attempt_at = now
    delivery.claim_token = None
    delivery.updated_at = now
    await session.flush()
    await wakeups.announce(session)
    await audit.record(
        session,
        endpoint.tenant_id,
        actor,
        "webhook.redelivery_requested",
        target=("webhook_endpoint", endpoint.id),
        data={"delivery_id": str(delivery.id), "event_type": delivery.event_type},
    )
    return view
